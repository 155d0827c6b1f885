"""Project method for the gallery widget (thumbnail grid); the widget and its tables live in widgets/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

    from ..query import MediaSlice
    from ..select import NearDuplicates
    from ..store import Session
    from ..widgets._gallery import Gallery

__all__ = ["GalleryMixin"]


class GalleryMixin:
    """Project methods for the gallery widget (thumbnail grid)."""

    _session: Session

    def gallery(self, media_slice: MediaSlice | NearDuplicates | None = None, *, runs: Sequence[Any] | str | None = None,
                size: int = 160, sort: str | None = None, columns: Sequence[str] | None = None,
                stage: str = "label", extra: pd.DataFrame | None = None, color_by: str | None = None,
                group_by: str | None = None, split: str | None = None) -> Gallery:
        """A scrolling thumbnail grid over a slice of media, with GT / prediction overlays.

        Args:
            media_slice: the media to show (default: every item), in the slice's order; a selection
                (``proj.select(...)``) shows its picks in pick order. A ``NearDuplicates``
                (``proj.near_duplicates()``) shows its grouped media with ``extra=dups.groups``,
                ``group_by="group"`` and each group's kept member marked.
            runs: model run(s) whose predictions are drawn, matched to GT at IoU 0.5 exactly as
                ``proj.evaluate(run).matches`` matches them (tp green, fp red, missed GT orange;
                a prediction the evaluation ignores, e.g. on a crowd region, in the GT colour);
                ``"*"`` for every run.
            size: longest side of a thumbnail in pixels (thumbnails are cached per size).
            sort: a column to sort by first (``"-width"`` for descending; a slice or ``extra`` column);
                the grid can re-sort.
            columns: slice columns shown under each thumbnail and offered for sorting.
            stage: the stage that "mark for review" writes to.
            extra: a DataFrame with ``media_id`` and more columns (``dups.groups``,
                ``proj.split_of(name)``, ``sel.reasons``), joined onto the items by ``media_id`` and
                shown and sortable like ``columns``; items without a row get empty values, rows of
                media outside the slice are not shown. Ids that are not media of the project, a
                repeated ``media_id``, or a column named like a built-in or slice column
                (``width``, ``n_gt``, ``@...``, ``tp:<run>``) are refused.
            color_by: a column (of ``extra`` or ``columns``) whose value colours each thumbnail's
                frame: a fixed categorical palette assigned by the sorted distinct values (the same
                values, the same colours); the toolbar lists value → colour.
            group_by: a column whose equal values form groups: items ordered group by group (groups in
                order of their first item; items without a value last), each group starting a new
                grid row; re-sorting in the grid orders members within their group. With a boolean
                ``keep`` column in ``extra``, the kept member has a ★ before its name and a thicker frame.
            split: a split's name (``proj.split(name, ...)``): shows its media (or ``media_slice``)
                with ``extra=proj.split_of(split)`` and ``color_by="split"``.

        Example:
            >>> import nblabel as nl, numpy as np, pandas as pd
            >>> p = nl.open(":memory:"); _ = p.add_images([np.full((40, 60, 3), v, np.uint8) for v in range(3)])
            >>> g = p.gallery(size=96)
            >>> g.count, g.size
            (3, 96)
            >>> groups = pd.DataFrame({"media_id": [1, 2, 3], "group": [0, 1, 0], "keep": [True, True, False]})
            >>> items = p.gallery(extra=groups, group_by="group", color_by="group").tables()[0]
            >>> items["media_id"].to_pylist(), items["@keep"].to_pylist()
            ([1, 3, 2], [1, 0, 1])
        """
        from ..query import MediaSlice
        from ..select import NearDuplicates
        from ..select._splits import split_table
        from ..widgets._gallery import Gallery

        session = self._session
        if isinstance(media_slice, NearDuplicates):
            if extra is not None or split is not None:
                raise ValidationError("gallery(dups) shows the near-duplicate groups as extra=; "
                                      "pass extra= or split= with a media slice instead")
            extra = media_slice.groups.reset_index(drop=True)
            media_slice = MediaSlice(session).ids_in([int(i) for i in extra["media_id"]])
            group_by = "group" if group_by is None else group_by
        if split is not None:
            if extra is not None:
                raise ValidationError("gallery(split=...) shows the split as extra=; pass one of extra= or split=")
            extra = split_table(session, split)
            if media_slice is None:
                media_slice = MediaSlice(session).ids_in([int(i) for i in extra["media_id"]])
            color_by = "split" if color_by is None else color_by
        return Gallery(session, media_slice, runs=runs, size=size, sort=sort, columns=columns, stage=stage,
                       extra=extra, color_by=color_by, group_by=group_by)
