"""Project methods for Label Studio: export a tasks JSON with its labeling config, import Label Studio's JSON export.

The format logic lives in ``nblabel.io._label_studio_*``; these methods are the documented entry points.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._report import ImportReport
    from ..io._label_studio_export import LabelStudioExport
    from ..store import Session

PathLike = str | os.PathLike[str]


class LabelStudioMixin:
    """Project methods for Label Studio's JSON tasks and labeling config."""

    _session: Session

    def export_label_studio(self, path: PathLike, *, slice: Any = None, runs: Any = None,
                            image_root: PathLike | None = None, url_prefix: str | None = "/data/local-files/?d=",
                            include_incomplete: bool = False) -> LabelStudioExport:
        """Write a Label Studio tasks JSON at ``path`` and its labeling config at ``path.with_suffix(".xml")``.

        One task per media item (``data.image`` = ``url_prefix`` + the image's path relative to
        ``image_root``, else its ``file_name``; ``url_prefix=None`` writes the plain path: the
        absolute file path without ``image_root``). Ground truth of complete media items is the
        task's annotation; each run (``runs=None``: every run; a name, a :class:`Run` or a list)
        is a prediction with ``model_version`` = the run's name and each result's ``score``.
        Coordinates are percent of ``original_width``/``original_height``: boxes as rectangles,
        polygons (one result per ring), keypoints (one result per labeled point, named as the
        template's point), points, whole-image tags (``choices``), RLE masks as brushes
        (``brushlabels`` in Label Studio's own RLE), attributes as per-region controls with the
        region's id. Lines are left out (a ``UserWarning`` says how many). To serve the images
        from Label Studio, point its Local Storage at ``image_root``
        (``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``) and paste the config XML into the project's
        labeling setup (see docs/label-studio.md).

        Args:
            path: the tasks file to write (``.json``); the config goes beside it as ``.xml``.
            slice: a media slice or media ids restricting the tasks.
            runs: which runs' predictions to write (default: all; ``[]`` for none).
            image_root: the folder image paths are made relative to (every media file must lie in it).
            url_prefix: prepended to the relative path (Label Studio Local Storage by default).
            include_incomplete: also write the ground truth of media not complete in stage "label"
                as annotations (by default they are tasks to label, without an annotation).

        Returns:
            the written paths (``.path``, ``.config``) and counts (``n_media``, ``n_instances``,
            ``n_predictions``) with ``notes`` on what was left out.

        Example:
            >>> import nblabel as nl, numpy as np, tempfile, os, json
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 80, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[8, 4, 40, 20]); p.complete(1)
            >>> out = p.export_label_studio(os.path.join(tempfile.mkdtemp(), "tasks.json"))
            >>> r = json.loads(out.path.read_text())[0]["annotations"][0]["result"][0]["value"]
            >>> [round(r[k], 6) for k in ("x", "y", "width", "height")], out.config.suffix
            ([10.0, 10.0, 40.0, 40.0], '.xml')
        """
        from ..io._exports import warn_notes
        from ..io._label_studio_export import export_label_studio

        info = export_label_studio(self._session, path, slice=slice, runs=runs, image_root=image_root,
                                   url_prefix=url_prefix, include_incomplete=include_incomplete)
        warn_notes(info)
        return info

    def import_label_studio(self, path: PathLike, images: PathLike | None = None, *, config: PathLike | None = None,
                            errors: str = "report", allow_outside_root: bool = False, new_labels: bool = True,
                            strict: bool = False, clip: bool = False, mode: str = "skip-existing") -> ImportReport:
        """Import Label Studio's JSON export (a list of tasks) in one transaction.

        Each task's image (``data.image``: a ``/data/local-files/?d=`` URL, a ``/data/upload/...``
        name, a URL's file name or a plain path) is found under ``images`` and added as media; a
        path escaping ``images`` is refused unless ``allow_outside_root=True``. The newest
        annotation not cancelled is the task's ground truth (the media item is marked complete);
        each prediction goes to the run named by its ``model_version`` (created if missing), with
        its results' scores. Rectangles become boxes (rotated ones 4-point polygons, counted in
        the report's notes), polygons polygons, keypoints of a ``<label>_keypoints`` control
        keypoint instances (else points), brushes RLE masks, whole-image choices tags; per-region
        results sharing a region's id are its attribute values (the control's name is the
        attribute group). Labels missing from the schema are added (``new_labels=False``
        refuses their regions instead). With a labeling config (``config=``, else the ``.xml``
        beside the JSON if there is one), a region whose label its control does not declare is
        refused; the labels, keypoint templates and attribute groups it declares are added to the
        schema first (with ``new_labels=True``). Geometry reaching past the image border is stored
        as given and counted in the notes (``clip=True`` clips, ``strict=True`` refuses).

        Args:
            path: the JSON export.
            images: the folder image references are relative to (default: the JSON's folder).
            config: the labeling config XML (its schema is added; labels are checked against it).
            errors: ``"report"`` (default): good regions go in, bad ones are listed by task and
                region id; ``"raise"``: any problem refuses the whole import, nothing is stored.
            allow_outside_root: accept image paths outside ``images``.
            new_labels: add labels the schema lacks (default) or refuse their regions.
            strict: refuse geometry reaching outside the image.
            clip: clip geometry to the image instead of storing it as given.
            mode: ``"skip-existing"`` (default; a region repeating a stored instance of the same
                source is left out), ``"replace"`` or ``"append"`` (see "Importing twice" in the README).

        Raises:
            FormatError: the file is missing or not JSON (the message has the line and column),
                not a list of tasks, the config is malformed, or (``errors="raise"``) any problem.

        Example:
            >>> import nblabel as nl, json, tempfile, os, pathlib
            >>> from PIL import Image
            >>> d = tempfile.mkdtemp(); Image.new("RGB", (80, 40)).save(os.path.join(d, "a.png"))
            >>> box = {"id": "r1", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
            ...        "original_width": 80, "original_height": 40,
            ...        "value": {"x": 10, "y": 10, "width": 40, "height": 40, "rectanglelabels": ["car"]}}
            >>> task = {"data": {"image": "/data/local-files/?d=a.png"}, "annotations": [{"result": [box]}]}
            >>> _ = pathlib.Path(d, "export.json").write_text(json.dumps([task]))
            >>> p = nl.open(":memory:"); p.import_label_studio(os.path.join(d, "export.json"), images=d)
            <ImportReport Label Studio export.json: 1 added, 0 skipped, 0 problems>
            >>> p.instances().df()[["x0", "y0", "x1", "y1"]].values.tolist()
            [[8.0, 4.0, 40.0, 20.0]]
        """
        from ..io._label_studio_import import import_label_studio

        return import_label_studio(self._session, path, images, config=config, errors=errors,
                                   allow_outside_root=allow_outside_root, new_labels=new_labels, strict=strict,
                                   clip=clip, mode=mode)
