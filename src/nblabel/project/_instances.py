"""Project methods that add, edit and read instances; each delegates to the store's one write path."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._report import ImportReport
from ..store import _edits

if TYPE_CHECKING:
    from ..store import Session


class InstancesMixin:
    """Project methods that write and read instances."""

    _session: Session

    def add_instance(
        self,
        media: int | str,
        label: str,
        *,
        box: Any = None,
        polygon: Any = None,
        keypoints: Any = None,
        point: Any = None,
        line: Any = None,
        tag: bool = False,
        attributes: dict[str, Any] | None = None,
        run: Any = None,
        score: float | None = None,
        track_id: int | None = None,
        box_format: str = "xyxy",
        strict: bool = False,
        author: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> int:
        """Add one instance (ground truth, or a prediction of ``run``); returns its stable id.

        Coordinates are absolute pixels of the upright image. This is a person drawing, so a box
        reaching outside the image is clipped with a warning (``strict=True`` refuses it); NaN/inf or
        zero-size geometry is refused. (Batches, ``add_instances`` and the importers, store
        geometry as given instead.)

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car", spatial=["box", "polygon"])
            >>> p.add_instance(1, "car", box=[5, 5, 20, 30])
            1
            >>> p.add_instance(1, "car", polygon=[[1, 1], [10, 1], [10, 8]])
            2
        """
        return _edits.add_instance(self._session, media, label, box=box, polygon=polygon, keypoints=keypoints,
                                   point=point, line=line, tag=tag, attributes=attributes, run=run, score=score,
                                   track_id=track_id, box_format=box_format, strict=strict, author=author,
                                   extra=extra)


    def add_instances(self, df: pd.DataFrame | str | os.PathLike[str], *, run: Any = None, box_format: str = "xyxy",
                      coords: str = "absolute", strict: bool = False, errors: str = "raise",
                      author: str | None = None, clip: bool = False, mode: str = "skip-existing") -> ImportReport:
        """Add many instances in one transaction.

        ``df`` columns: ``media_id`` or ``file_name``; ``label``; ``kind`` (default box); box
        columns named after ``box_format`` (``x0,y0,x1,y1`` / ``x,y,w,h`` / ``cx,cy,w,h``);
        optional ``points``, ``attributes`` (dicts), ``score`` (finite, in [0, 1]), ``track_id``.
        ``df`` may also be the path of a Parquet file with those columns (``export_parquet`` writes
        one). Geometry reaching past the image border is stored as given and counted in the
        report's notes; ``clip=True`` clips it, ``strict=True`` refuses it. Absolute boxes whose
        every coordinate is at most 1 get a warning (they look like ``coords="relative"``).

        Args:
            errors: ``"raise"`` (default) refuses the whole batch if any row is bad, naming the rows;
                ``"report"`` stores the good rows and lists the bad ones in the report (a row whose
                ``media_id``/``file_name`` is not in the project is one of them).
            strict: refuse geometry reaching outside the image, and refuse the whole batch (nothing
                stored) when a row names media that is not in the project.
            clip: clip geometry to the image instead of storing it as given.
            mode: what to do with rows the project has already, from the same source (ground
                truth, or ``run``): ``"skip-existing"`` (default) leaves out a row with the same media
                item, label and box (within 1e-6 px; a polygon's is its extent) as a stored instance — or the same
                COCO annotation id in ``extra["coco_id"]`` on that media item — and says how many in
                the report's notes; ``"replace"`` deletes that source's instances on the media items of
                ``df`` first (as new versions: history keeps them); ``"append"`` adds every row.

        Example:
            >>> import nblabel as nl, numpy as np, pandas as pd
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car")
            >>> df = pd.DataFrame({"media_id": [1, 1], "label": ["car", "car"],
            ...                    "x0": [1, 5], "y0": [1, 5], "x1": [9, 20], "y1": [9, 30]})
            >>> p.add_instances(df).added
            2
            >>> r = p.add_instances(df)  # the same rows again: skipped, and said so
            >>> r.added, r.notes
            (0, ["skipped 2 instances already in the project (same image, label and geometry); pass mode='append' to add them again"])
            >>> p.add_instances(df, mode="replace").notes[0]
            'replaced 2 instances on 1 media item(s) (deleted as new versions: proj.history(id) still has them)'
        """
        if isinstance(df, (str, os.PathLike)):
            from ..io._parquet import read_instances_parquet

            df = read_instances_parquet(df)
        return _edits.add_instances(self._session, df, run=run, box_format=box_format, coords=coords,
                                    strict=strict, errors=errors, author=author, clip=clip, mode=mode)


    # -- edits -------------------------------------------------------------------------------
    def update_instance(self, instance_id: int, *, expected_version: int | None = None, **changes: Any) -> int:
        """Change an instance; appends a new version and returns its number.

        Changes: ``label``, one geometry (``box``/``polygon``/``keypoints``/``point``/``line``),
        ``attributes`` (replaces the dict), ``score``, ``track_id``. ``expected_version`` refuses
        the edit if someone else changed the instance meanwhile.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); i = p.add_instance(1, "car", box=[5, 5, 20, 30])
            >>> p.update_instance(i, box=[6, 6, 21, 31])
            2
        """
        return _edits.update_instance(self._session, instance_id, expected_version=expected_version, **changes)


    def delete_instance(self, instance_id: int, *, author: str | None = None) -> int:
        """Delete an instance: appends a tombstone version (nothing is erased); returns its version.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); i = p.add_instance(1, "car", box=[5, 5, 20, 30])
            >>> p.delete_instance(i)
            2
        """
        return _edits.delete_instance(self._session, instance_id, author=author)


    def history(self, instance_id: int) -> pd.DataFrame:
        """Every version of an instance, oldest first, with author, time and whether it is a deletion.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); i = p.add_instance(1, "car", box=[5, 5, 20, 30])
            >>> _ = p.update_instance(i, box=[6, 6, 20, 30]); len(p.history(i))
            2
        """
        return _edits.history(self._session, instance_id)


    def restore(self, instance_id: int, version: int, *, author: str | None = None) -> int:
        """Make an old version current again (as a new version); returns the new version number.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); i = p.add_instance(1, "car", box=[5, 5, 20, 30])
            >>> _ = p.delete_instance(i); p.restore(i, 1)
            3
        """
        return _edits.restore(self._session, instance_id, version, author=author)
