"""Project methods for import/export (COCO, YOLO, VOC, Parquet) and snapshots.

The format logic lives in ``nblabel.io``; these methods are the documented entry points.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from .._report import ImportReport
    from ..store import Session

PathLike = str | os.PathLike[str]


class FormatsMixin:
    """Project methods for import/export (COCO, YOLO, VOC, Parquet) and snapshots."""

    _session: Session

    # -- COCO --------------------------------------------------------------------------------
    def import_coco(self, json_path: PathLike, images: PathLike | None = None, *, complete: bool = True,
                    errors: str = "report", allow_outside_root: bool = False, strict: bool = False,
                    clip: bool = False, mode: str = "skip-existing") -> ImportReport:
        """Import COCO ground truth (categories, images, annotations) in one transaction.

        Categories become labels (an existing label of the same name is reused) with
        ``meta={"coco_id", "supercategory"}``; keypoint categories get a keypoint template. Images
        are added as media (``meta.coco_id`` keeps the COCO image id, ``file_name`` is kept exactly
        as in the JSON). Annotations become instances: ``bbox`` → box, polygons (every ring), RLE
        masks (kept exactly as given), keypoints; ``area``, ``iscrowd`` and, in ``extra``, the
        annotation id and any non-standard field are kept. Geometry reaching past the image border is stored as the file gives it and counted in
        the report's notes (as pycocotools evaluates the file); ``clip=True`` clips it to the image,
        ``strict=True`` refuses it. Annotations lying entirely
        outside their image are kept too (pycocotools counts them).

        Large files: the JSON is read once and never held whole, the images are probed before the
        project file is locked, and the rows are written a DuckDB row group at a time, so the import
        holds less than three times the file's size at its peak (100,000 images × 10 boxes, a 135 MB
        file: ~16 s, ~2.3×, the write lock held ~8 s; ``benchmarks/RESULTS.md``).

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
            strict: refuse boxes/points reaching outside the image (each named in the report).
            clip: clip boxes/points to the image instead of storing them as given.
            mode: what to do with annotations the project has already (see "Importing twice" in the README):
                ``"skip-existing"`` (default) leaves out annotations that repeat a ground-truth instance of
                the same image (same label and box within 1e-6 px, or the same COCO annotation id — so a box
                fixed since the first import is not brought back) and says how many in the report's notes;
                ``"replace"`` deletes the ground truth of every image the import lists first (as new versions:
                ``proj.history`` keeps it), so the project holds what the file says; ``"append"`` adds every
                annotation, repeats included.

        Raises:
            FormatError: the file is missing, not JSON, lacks ``images``/``annotations``/
                ``categories``, has malformed categories, or (``errors="raise"``) any row is bad.

        Example:
            >>> import nblabel as nl, json, tempfile, os, pathlib
            >>> from PIL import Image
            >>> d = tempfile.mkdtemp(); Image.new("RGB", (64, 48)).save(os.path.join(d, "a.png"))
            >>> coco = {"images": [{"id": 7, "file_name": "a.png", "width": 64, "height": 48}],
            ...         "categories": [{"id": 3, "name": "car"}],
            ...         "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 10, 20],
            ...                          "area": 200, "iscrowd": 0}]}
            >>> _ = pathlib.Path(d, "gt.json").write_text(json.dumps(coco))
            >>> p = nl.open(":memory:")
            >>> p.import_coco(os.path.join(d, "gt.json"), images=d)
            <ImportReport COCO gt.json: 1 added, 0 skipped, 0 problems>
        """
        from ..io._coco import import_coco

        return import_coco(self._session, json_path, images, complete=complete, errors=errors,
                           allow_outside_root=allow_outside_root, strict=strict, clip=clip, mode=mode)

    def export_coco(self, path: PathLike, slice: Any = None, *, include_incomplete: bool = False,
                    run: Any = None) -> Path:
        """Write ground truth as a COCO JSON file (or, with ``run=``, that run's predictions as a COCO
        results list); returns the path.

        Only media complete in stage ``"label"`` are written unless ``include_incomplete=True``: an
        incomplete image written without its missing annotations would read as background. A
        ``UserWarning`` says how many were left out. Ids are preserved: categories from the label's
        ``meta.coco_id`` (else the label id), images from ``meta.coco_id`` (else the media id),
        annotations from ``extra.coco_id`` (else new ids). ``area`` is written as stored, else
        computed as COCO does: the pixel count of the rasterised polygon or RLE mask (box area for
        boxes and keypoints). The output is deterministic (sorted ids and keys).

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
        from ..io._coco import export_coco
        from ..io._exports import warn_notes

        info = export_coco(self._session, path, slice=slice, include_incomplete=include_incomplete,
                           run=run)
        warn_notes(info)
        return info.path

    # -- YOLO --------------------------------------------------------------------------------
    def import_yolo(self, labels_dir: PathLike, images: PathLike | None = None, names: Any = None,
                    task: str | None = None, *, complete: bool = True, errors: str = "report",
                    kpt_shape: Any = None, allow_outside_root: bool = False, strict: bool = False,
                    clip: bool = False, mode: str = "skip-existing", split_name: str | None = None) -> ImportReport:
        """Import YOLO label files (detect, segment or pose) as ground truth in one transaction:
        a labels folder, or an Ultralytics ``data.yaml`` with its train/val/test splits.

        **A labels folder** (``import_yolo(labels_dir, images, names)``): each
        ``labels_dir/<sub>/<stem>.txt`` belongs to the image ``images/<sub>/<stem>.<suffix>``
        (any image suffix). Every image under ``images`` is added; one without a label file is a
        background image.

        **A data.yaml** (``import_yolo("data.yaml")``): read as Ultralytics reads it. ``path`` is
        the dataset root (relative to the yaml's folder; ``images=`` replaces it); ``train`` /
        ``val`` / ``test`` are each a folder of images, a ``.txt`` list of image paths or a list of
        those; the label file of ``.../images/.../a.jpg`` is ``.../labels/.../a.txt``; ``names``
        (or ``names=``), ``nc``, ``kpt_shape``. The task is ``"pose"`` when the file gives
        ``kpt_shape``, ``"segment"`` when a line holds a polygon, else ``"detect"`` (or pass
        ``task=``). The parts become a split, as ``proj.split`` makes one: static datasets
        ``"<split name>/train"`` etc., the split name being the yaml's stem (``coco8.yaml`` →
        ``coco8/train``) or ``split_name=``; ``proj.split_of`` and ``proj.split_report`` work on
        it. A missing folder, list file or listed image is a problem in the report; an image in
        two parts goes to the first (a note says how many).

        Lines are ``class cx cy w h`` (detect), ``class x1 y1 x2 y2 ...`` (segment) or
        ``class cx cy w h`` + keypoints ``x y [v]`` (pose), normalised to 0–1.
        Geometry reaching past the image border is stored as the file gives it and counted in
        the report's notes (as pycocotools evaluates the file); ``clip=True`` clips it to the image,
        ``strict=True`` refuses it.

        Args:
            labels_dir: folder of ``.txt`` label files (searched recursively), or a ``.yaml``/``.yml``
                Ultralytics dataset file.
            images: the image root (the same sub-paths as the label files); for a data.yaml the
                dataset root instead of its ``path``.
            names: class names: a list (index = class id), a ``{id: name}`` dict, or a
                ``data.yaml`` path (``names``; ``kpt_shape`` for pose); for a data.yaml its own
                ``names`` unless given.
            task: ``"detect"`` (the default for a folder), ``"segment"`` or ``"pose"``.
            complete: mark the images complete in stage "label" (images with refused lines are not).
            errors: ``"report"`` (default): good lines go in, bad ones are listed as
                ``file:line`` with the reason (column count, NaN, class out of range, coordinates
                entirely outside [0, 1]); ``"raise"``: any problem refuses the whole import.
            kpt_shape: ``[K, 2 or 3]`` for pose when ``names`` is not a data.yaml with it.
            allow_outside_root: accept images (and data.yaml entries) that resolve outside the
                image or dataset root (``../x``, absolute paths elsewhere, symlinks).
            strict: refuse geometry reaching outside the image (each line named in the report).
            clip: clip geometry to the image instead of storing it as given.
            mode: what to do with annotations the project has already (see "Importing twice" in the README):
                ``"skip-existing"`` (default) leaves out lines that repeat a ground-truth instance of the same
                image (same label and box within 1e-3 px, the precision a YOLO file keeps: re-importing
                ``export_yolo``'s output adds nothing) and says how many in the report's notes; ``"replace"``
                deletes the ground truth of every image the import lists first (as new versions:
                ``proj.history`` keeps it), so the project holds what the file says; ``"append"`` adds every
                line, repeats included.
            split_name: the split a data.yaml's parts are stored as (default: the yaml's stem).

        Raises:
            FormatError: a folder is missing, the names are bad, the data.yaml is not safe YAML (it is
                read with ``yaml.safe_load``: no Python tags) or names no images, or
                (``errors="raise"``) any problem.

        Example:
            >>> import nblabel as nl, tempfile, os, pathlib
            >>> from PIL import Image
            >>> d = tempfile.mkdtemp(); os.makedirs(f"{d}/images"); os.makedirs(f"{d}/labels")
            >>> Image.new("RGB", (100, 50)).save(f"{d}/images/a.png")
            >>> _ = pathlib.Path(f"{d}/labels/a.txt").write_text("0 0.5 0.5 0.2 0.4\\n")
            >>> p = nl.open(":memory:")
            >>> p.import_yolo(f"{d}/labels", images=f"{d}/images", names=["car"])
            <ImportReport YOLO labels: 1 added, 0 skipped, 0 problems>
            >>> _ = pathlib.Path(f"{d}/ds.yaml").write_text("train: images\\nval: images\\nnames: [car]\\n")
            >>> q = nl.open(":memory:"); q.import_yolo(f"{d}/ds.yaml")
            <ImportReport YOLO ds.yaml: 1 added, 0 skipped, 0 problems>
            >>> q.split_of("ds").to_dict("list")
            {'media_id': [1], 'split': ['train']}
        """
        from ..io._yolo import import_yolo

        return import_yolo(self._session, labels_dir, images, names, task, complete=complete,
                           errors=errors, kpt_shape=kpt_shape, allow_outside_root=allow_outside_root, strict=strict,
                           clip=clip, mode=mode, split_name=split_name)

    def export_yolo(self, out_dir: PathLike, *, task: str = "detect", copy_images: bool | None = None,
                    slice: Any = None, include_incomplete: bool = False, split: str | None = None,
                    link: str = "copy") -> Path:
        """Write a YOLO dataset: ``labels/<stem>.txt``, ``data.yaml`` (names, nc, kpt_shape for pose),
        and with ``copy_images=True`` the images under ``images/``; returns ``out_dir``.

        With ``split=`` (a split made by ``proj.split`` or imported from a data.yaml) a
        training-ready Ultralytics tree: ``images/<part>/`` and ``labels/<part>/`` per part
        and a ``data.yaml`` with ``train: images/train``, ``val: images/val``, ``test:`` when the
        split has it, ``names``, ``nc`` and ``kpt_shape`` for pose. It has no ``path:`` line, so
        Ultralytics takes the yaml's own folder as the root wherever the tree is moved (``path: .``
        would mean the working directory). The images are written too unless
        ``copy_images=False``.

        Classes are the active labels in id order. Coordinates have 8 decimals (boxes round-trip
        within 1e-3 px). Only media complete in stage "label" are written unless
        ``include_incomplete=True`` (a ``UserWarning`` says how many were left out); a complete
        image without instances gets an empty label file (a background image). Every source image
        is checked before anything is written, and the tree is built aside and moved in at the end.

        Args:
            out_dir: the folder to write (created; files of a former export are replaced).
            task: ``"detect"``, ``"segment"`` or ``"pose"``.
            copy_images: write the images too (default: only with ``split=``).
            slice: restrict the media (a ``proj.media()`` slice or media ids).
            include_incomplete: also write media not complete in stage "label".
            split: the split whose parts become the tree's parts.
            link: how images are written: ``"copy"`` (default), ``"hardlink"`` (a copy where a link
                cannot cross file systems) or ``"symlink"``.

        Example:
            >>> import nblabel as nl, numpy as np, tempfile
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[6, 4, 30, 20]); p.complete(1)
            >>> out = p.export_yolo(tempfile.mkdtemp())
            >>> sorted(f.name for f in out.iterdir())
            ['data.yaml', 'labels']
            >>> _ = p.add_images([np.ones((40, 60, 3), np.uint8)]); p.complete(2)
            >>> _ = p.split("v1", {"train": 0.5, "val": 0.5})
            >>> out = p.export_yolo(tempfile.mkdtemp(), split="v1")
            >>> print((out / "data.yaml").read_text())
            names:
              0: car
            nc: 1
            train: images/train
            val: images/val
            <BLANKLINE>
        """
        from ..io._exports import warn_notes
        from ..io._yolo import export_yolo

        info = export_yolo(self._session, out_dir, task=task, copy_images=copy_images, slice=slice,
                           include_incomplete=include_incomplete, split=split, link=link)
        warn_notes(info)
        return info.path

    # -- Pascal VOC --------------------------------------------------------------------------
    def import_voc(self, xml_dir: PathLike, images: PathLike, *, complete: bool = True, errors: str = "report",
                   allow_outside_root: bool = False, strict: bool = False, clip: bool = False,
                   mode: str = "skip-existing") -> ImportReport:
        """Import a folder of Pascal VOC XML files (boxes) as ground truth in one transaction.

        The image of each XML is its ``<filename>`` (else ``<path>``) under ``images``; a name that
        escapes the root is refused unless ``allow_outside_root=True``. VOC's 1-based inclusive
        pixel boxes become 0-based ``x0 = xmin - 1, x1 = xmax``. ``difficult``, ``truncated``,
        ``pose`` and other simple object fields are kept in the instance's ``extra``. Files with a
        DOCTYPE/ENTITY declaration are refused (entity expansion attacks). Geometry reaching past the image border is stored as the file gives it and counted in
        the report's notes (as pycocotools evaluates the file); ``clip=True`` clips it to the image,
        ``strict=True`` refuses it.

        Args:
            xml_dir: folder of ``.xml`` files (searched recursively).
            images: the image root.
            complete: mark the images complete in stage "label" (images with refused objects are not).
            errors: ``"report"`` (default): good files/objects go in, bad ones are listed by file
                (and object number); ``"raise"``: any problem refuses the whole import.
            allow_outside_root: accept image paths outside ``images``.
            strict: refuse boxes reaching outside the image (each object named in the report).
            clip: clip boxes to the image instead of storing them as given.
            mode: what to do with annotations the project has already (see "Importing twice" in the README):
                ``"skip-existing"`` (default) leaves out objects that repeat a ground-truth instance of the
                same image (same label and box within 0.5 px: VOC keeps whole pixels, so re-importing
                ``export_voc``'s output adds nothing) and says how many in the report's notes; ``"replace"``
                deletes the ground truth of every image the import lists first (as new versions:
                ``proj.history`` keeps it), so the project holds what the file says; ``"append"`` adds every
                object, repeats included.

        Example:
            >>> import nblabel as nl, tempfile, pathlib
            >>> from PIL import Image
            >>> d = tempfile.mkdtemp(); Image.new("RGB", (100, 50)).save(f"{d}/a.png")
            >>> _ = pathlib.Path(f"{d}/a.xml").write_text("<annotation><filename>a.png</filename><object><name>dog</name>"
            ...     "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>20</ymax></bndbox></object></annotation>")
            >>> nl.open(":memory:").import_voc(d, images=d)
            <ImportReport VOC ...: 1 added, 0 skipped, 0 problems>
        """
        from ..io._voc import import_voc

        return import_voc(self._session, xml_dir, images, complete=complete, errors=errors,
                          allow_outside_root=allow_outside_root, strict=strict, clip=clip, mode=mode)

    def export_voc(self, out_dir: PathLike, *, slice: Any = None, include_incomplete: bool = False) -> Path:
        """Write one Pascal VOC XML per media item into ``out_dir``; returns ``out_dir``.

        Boxes are written as 1-based whole pixels (``xmin = round(x0) + 1, xmax = round(x1)``),
        with ``pose``/``truncated``/``difficult`` from the instance's ``extra``. Polygons and other
        shapes are written as their boxes. Only media complete in stage "label" are written unless
        ``include_incomplete=True`` (a ``UserWarning`` says how many were left out).

        Example:
            >>> import nblabel as nl, numpy as np, tempfile
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[6, 4, 30, 20]); p.complete(1)
            >>> out = p.export_voc(tempfile.mkdtemp())
            >>> len(list(out.glob("*.xml")))
            1
        """
        from ..io._exports import warn_notes
        from ..io._voc import export_voc

        info = export_voc(self._session, out_dir, slice=slice, include_incomplete=include_incomplete)
        warn_notes(info)
        return info.path

    # -- Parquet and snapshots ---------------------------------------------------------------
    def export_parquet(self, path: PathLike, *, slice: Any = None, run: Any = None) -> Path:
        """Write current instances (ground truth, or ``run``'s predictions) as one Parquet table.

        One row per instance with its media's ``file_name``/``width``/``height``, its ``label``
        name, geometry (``x0..y1`` and ``points`` as JSON text), attributes, score, area, iscrowd,
        extra, author, time and the media's ``status`` in stage "label" (so incomplete items can be
        filtered out downstream). Rows are sorted by media and instance id.

        Example:
            >>> import nblabel as nl, numpy as np, tempfile, pandas as pd, os
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[5, 5, 20, 30])
            >>> out = p.export_parquet(os.path.join(tempfile.mkdtemp(), "gt.parquet"))
            >>> pd.read_parquet(out)[["label", "x0", "status"]].values.tolist()
            [['car', 5.0, 'new']]
        """
        from ..io._parquet import export_parquet

        return export_parquet(self._session, path, slice=slice, run=run).path

    def snapshot(self, name: str, format: str | None = None, **export_kwargs: Any) -> Path:
        """Freeze an export under a name; the same name always gives the same bytes.

        The first call exports (``format``: ``"coco"`` by default, or ``"yolo"``, ``"voc"``,
        ``"parquet"``; ``export_kwargs`` go to that export, e.g. ``slice=``, ``task=``,
        ``include_incomplete=``) into ``<project file stem>.snapshots/<name>/`` and records the
        sha256 of the bytes, the options, the counts and the time. Later calls with that name
        return the same path after checking the sha256, whatever was edited since.

        Raises:
            StoreError: the snapshot's files are missing or were modified (they are never silently
                re-exported: restore them, or snapshot under a new name).
            ValidationError: the name exists with another format or other options.

        Example:
            >>> import nblabel as nl, numpy as np, tempfile, os
            >>> p = nl.open(os.path.join(tempfile.mkdtemp(), "p.duckdb"))
            >>> _ = p.add_images([np.zeros((40, 60, 3), np.uint8)]); _ = p.schema.add_label("car")
            >>> _ = p.add_instance(1, "car", box=[5, 5, 20, 30]); p.complete(1)
            >>> a = p.snapshot("v1"); _ = p.add_instance(1, "car", box=[1, 1, 4, 4])
            >>> p.snapshot("v1") == a, a.name
            (True, 'annotations.json')
        """
        from ..io._exports import warn_notes
        from ..io._snapshot import snapshot

        path, info = snapshot(self._session, name, format, export_kwargs)
        if info is not None:
            warn_notes(info)
        return path

    def snapshots(self) -> pd.DataFrame:
        """All snapshots of this project: name, format, query (options), created_at, sha256, path,
        n_media, n_instances.

        Example:
            >>> import nblabel as nl
            >>> list(nl.open(":memory:").snapshots().columns)[:3]
            ['name', 'format', 'query']
        """
        from ..io._snapshot import list_snapshots

        return list_snapshots(self._session)
