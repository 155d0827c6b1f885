"""Project methods for import/export (COCO, YOLO, VOC, Parquet) and snapshots.

The format logic lives in ``nblabel.io``; these methods are the documented entry points.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:

    from ..io._report import ImportReport
    from ..store import Store

PathLike = str | os.PathLike[str]


class FormatsMixin:
    """Project methods for import/export (COCO, YOLO, VOC, Parquet) and snapshots."""

    store: Store

    # -- COCO --------------------------------------------------------------------------------
    def import_coco(self, json_path: PathLike, images: PathLike | None = None, *, complete: bool = True,
                    errors: str = "report", allow_outside_root: bool = False, strict: bool = False) -> ImportReport:
        """Import COCO ground truth (categories, images, annotations) in one transaction.

        Categories become labels (an existing label of the same name is reused) with
        ``meta={"coco_id", "supercategory"}``; keypoint categories get a keypoint template. Images
        are added as media (``meta.coco_id`` keeps the COCO image id, ``file_name`` is kept exactly
        as in the JSON). Annotations become instances: ``bbox`` → box, polygons (every ring), RLE
        masks (kept exactly as given), keypoints; ``area``, ``iscrowd`` and, in ``extra``, the
        annotation id and any non-standard field are kept.

        Args:
            json_path: the COCO instances/keypoints JSON file.
            images: the folder the ``file_name`` entries are relative to (default: the JSON's folder).
            complete: mark every imported image complete in stage ``"label"`` (an image without
                annotations is then a labeled background image). Images whose annotations were
                refused are not marked.
            errors: ``"report"`` (default): good rows go in, each bad image/annotation is listed in
                the report with its id; ``"raise"``: any problem refuses the whole import
                (:class:`~nblabel.FormatError`) and leaves the project exactly as it was.
            allow_outside_root: accept file names that resolve outside ``images`` (``../x.jpg``,
                absolute paths elsewhere); refused by default.
            strict: refuse boxes/points outside the image instead of clipping them with a warning.

        Raises:
            FormatError: the file is missing, not JSON, lacks ``images``/``annotations``/
                ``categories``, has malformed categories, or (``errors="raise"``) any row is bad.

        Example:
            >>> import nblabel as nl, json, tempfile, os
            >>> from PIL import Image
            >>> d = tempfile.mkdtemp(); Image.new("RGB", (64, 48)).save(os.path.join(d, "a.png"))
            >>> coco = {"images": [{"id": 7, "file_name": "a.png", "width": 64, "height": 48}],
            ...         "categories": [{"id": 3, "name": "car"}],
            ...         "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 10, 20],
            ...                          "area": 200, "iscrowd": 0}]}
            >>> _ = open(os.path.join(d, "gt.json"), "w").write(json.dumps(coco))
            >>> p = nl.open(":memory:")
            >>> p.import_coco(os.path.join(d, "gt.json"), images=d)
            <ImportReport COCO gt.json: 1 added, 0 skipped, 0 problems>
        """
        from ..io._coco import import_coco

        return import_coco(self, json_path, images, complete=complete, errors=errors,  # type: ignore[arg-type]
                           allow_outside_root=allow_outside_root, strict=strict)

    def export_coco(self, path: PathLike, slice: Any = None, *, include_incomplete: bool = False,
                    run: Any = None) -> Path:
        """Write ground truth as a COCO JSON file (or, with ``run=``, that run's predictions as a COCO
        results list); returns the path.

        Only media complete in stage ``"label"`` are written unless ``include_incomplete=True``: an
        incomplete image written without its missing annotations would read as background. A
        ``UserWarning`` says how many were left out. Ids are preserved: categories from the label's
        ``meta.coco_id`` (else the label id), images from ``meta.coco_id`` (else the media id),
        annotations from ``extra.coco_id`` (else new ids). ``area`` is written as stored (else
        computed from the polygon, mask or box). The output is deterministic (sorted ids and keys).

        Args:
            path: the JSON file to write (folders are created).
            slice: a :class:`~nblabel.query.MediaSlice` (``proj.media().where(...)``) or media ids
                restricting the images.
            include_incomplete: also write media not complete in stage "label".
            run: a run (name or :class:`Run`): write its predictions as ``[{image_id, category_id,
                bbox, score, ...}]`` instead.

        Example:
            >>> import nblabel as nl, numpy as np, tempfile, os, json
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[5, 5, 20, 30]); p.complete(1)
            >>> out = p.export_coco(os.path.join(tempfile.mkdtemp(), "gt.json"))
            >>> json.loads(out.read_text())["annotations"][0]["bbox"]
            [5.0, 5.0, 15.0, 25.0]
        """
        from ..io._coco import export_coco, warn_notes

        info = export_coco(self, path, slice=slice, include_incomplete=include_incomplete,  # type: ignore[arg-type]
                           run=run)
        warn_notes(info)
        return info.path
