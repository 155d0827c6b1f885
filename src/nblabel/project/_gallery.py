"""Project method for the gallery widget (thumbnail grid); the widget and its tables live in widgets/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..query import MediaSlice
    from ..widgets._gallery import Gallery

__all__ = ["GalleryMixin"]


class GalleryMixin:
    """Project methods for the gallery widget (thumbnail grid)."""

    def gallery(self, media_slice: MediaSlice | None = None, *, runs: Sequence[Any] | str | None = None,
                size: int = 160, sort: str | None = None, columns: Sequence[str] | None = None,
                stage: str = "label") -> Gallery:
        """A scrolling thumbnail grid over a slice of media, with GT / prediction overlays.

        Args:
            media_slice: the media to show (default: every item), in the slice's order.
            runs: model run(s) whose predictions are drawn, matched to GT at IoU 0.5 exactly as
                ``proj.evaluate(run).matches`` matches them (tp green, fp red, missed GT orange;
                a prediction the evaluation ignores, e.g. on a crowd region, in the GT colour);
                ``"*"`` for every run.
            size: longest side of a thumbnail in pixels (thumbnails are cached per size).
            sort: a column to sort by first (``"-width"`` for descending); the grid can re-sort.
            columns: slice columns shown under each thumbnail and offered for sorting.
            stage: the stage that "mark for review" writes to.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> g = p.gallery(size=96)
            >>> g.count, g.size
            (1, 96)
        """
        from ..widgets._gallery import Gallery

        return Gallery(self._session, media_slice, runs=runs, size=size, sort=sort, columns=columns, stage=stage)
