"""Project methods for FiftyOne: the project as a ``fiftyone.Dataset``, and a dataset back as a project.

The conversion lives in ``nblabel.io._fiftyone_out`` / ``_fiftyone_in``; FiftyOne is imported only
when one of these is called (a :class:`~nblabel.errors.MissingDependencyError` says how to install it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._warnings import warn
from ..errors import ConflictError

if TYPE_CHECKING:
    from ..store import Session
    from ._project import Project

__all__ = ["FiftyOneMixin", "from_fiftyone"]


class FiftyOneMixin:
    """Project methods for FiftyOne."""

    _session: Session

    def to_fiftyone(self, name: str, *, slice: Any = None, runs: Any = None, overwrite: bool = False,
                    include_incomplete: bool = False) -> Any:
        """The project as a new ``fiftyone.Dataset`` called ``name``: one sample per media item.

        Each sample has ``filepath`` (the image's absolute path), ``metadata`` (width, height), the
        fields ``nblabel_media_id``, ``file_name``, ``nblabel_status`` (stage "label"), the media
        metadata's simple values as fields, and the parts of the project's splits as tags (``train``;
        ``<split>/<part>`` when there are several splits). Ground truth goes into ``ground_truth`` and
        each run into a field named after it (``yolo-v8n@640`` → ``yolo_v8n_640``):

        - ``<field>``: ``Detections`` (relative ``[x, y, w, h]``), one per box, polygon, mask and
          keypoints instance, so ``dataset.evaluate_detections`` sees every object; a mask instance
          carries its mask; ``confidence`` is the score, ``index`` the track id, ``iscrowd`` (ground
          truth) as FiftyOne's COCO evaluation reads it;
        - ``<field>_polylines``: ``Polylines``: polygons closed and filled, lines open;
        - ``<field>_keypoints``: ``Keypoints`` (points not visible are ``[nan, nan]``, the flags in
          ``visibility``);
        - ``<field>_tags``: ``Classifications`` for whole-image tags.

        Attribute values are custom attributes on the labels (named as in the schema; a name FiftyOne
        uses already, such as ``label``, becomes ``attr_label``). Every label carries ``nblabel_id``
        (the instance id). ``dataset.info["nblabel"]`` keeps the schema and the field of each source, so
        :func:`nblabel.from_fiftyone` brings it back. The dataset is not persistent unless you set
        ``dataset.persistent = True``.

        Args:
            name: the FiftyOne dataset name.
            slice: a media slice or media ids to send (default: all).
            runs: run names (or :class:`Run` objects) to send; ``None`` (default) sends every run, ``[]`` none.
            overwrite: replace a FiftyOne dataset of that name (default: refused with
                :class:`~nblabel.ConflictError`).
            include_incomplete: also send media not complete in stage "label" (by default they are left
                out with a warning, as every export does: without their missing labels they would look like
                background images).

        Raises:
            MissingDependencyError: FiftyOne is not installed.
            ConflictError: a dataset called ``name`` exists and ``overwrite`` is false.
            NotFoundError: a run in ``runs`` does not exist.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[6, 4, 30, 20]); p.complete(1)
            >>> try:
            ...     ds = p.to_fiftyone("cars-demo", overwrite=True)
            ...     print(ds.count("ground_truth.detections")); ds.delete()
            ... except nl.MissingDependencyError:
            ...     print(1)
            1
        """
        from ..io._fiftyone_out import to_fiftyone

        ds, notes = to_fiftyone(self._session, name, slice=slice, runs=runs, overwrite=overwrite,
                                include_incomplete=include_incomplete)
        if notes:
            warn(f"to_fiftyone({name!r}): " + "; ".join(notes))
        return ds


def from_fiftyone(dataset: Any, path: str | os.PathLike[str], *, gt_field: str | None = "ground_truth",
                  pred_fields: Any = None, split: str | None = None, errors: str = "report") -> Project:
    """A new project at ``path`` made from a FiftyOne dataset (or view).

    Every sample becomes a media item (its ``filepath``; the file is read as ``add_images`` reads it),
    its simple fields media metadata. Labels come from the label strings. ``gt_field`` (with its
    ``_polylines`` / ``_keypoints`` / ``_tags`` fields when present, as :meth:`Project.to_fiftyone`
    writes them) becomes ground truth and every media item is marked complete in stage "label";
    each field of ``pred_fields`` becomes a run with the confidences as scores. ``Detections``,
    ``Polylines`` (closed: polygons, open: lines), ``Keypoints`` and ``Classifications`` (and their
    single forms) are read; a detection's mask becomes a mask instance. Custom label attributes become
    attribute values (attribute groups are made from the values: bool, number, text, multiselect for
    lists). Sample tags ``train``/``val``/``validation``/``test`` become the split ``split``; other tags
    static datasets of the same name. A dataset written by ``to_fiftyone`` comes back with its schema,
    run names and instance by instance.

    Fields of other label types (segmentations, heatmaps, ...) are not read: each is named in a
    warning, as is every label or sample that could not go in.

    Args:
        dataset: a ``fiftyone.Dataset`` or view.
        path: the new project file (it must not exist yet), or ``":memory:"``.
        gt_field: the ground-truth field (``None``: no ground truth).
        pred_fields: fields to bring in as runs: ``None`` (default) every other label field, a list of
            field names, or ``{field: run_name}``.
        split: the name of the split the train/val/test tags make (default: the split's own name when
            ``to_fiftyone`` wrote them, else ``"fiftyone"``); ``<split>/<part>`` tags keep their split name.
        errors: ``"report"`` (default): what can go in goes in, the rest is named in a warning;
            ``"raise"``: any problem refuses the import (:class:`~nblabel.FormatError`) and no project
            file is left behind.

    Raises:
        MissingDependencyError: FiftyOne is not installed.
        ConflictError: ``path`` exists already.
        NotFoundError: ``gt_field`` or a field of ``pred_fields`` is not a label field of the dataset.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[6, 4, 30, 20]); p.complete(1)
        >>> try:
        ...     ds = p.to_fiftyone("cars-back", overwrite=True)
        ...     print(nl.from_fiftyone(ds, ":memory:").instances().df()[["label", "x0", "x1"]].values.tolist())
        ...     ds.delete()
        ... except nl.MissingDependencyError:
        ...     print([["car", 6.0, 30.0]])
        [['car', 6.0, 30.0]]
    """
    from ..io._fiftyone_common import load_fiftyone
    from ..io._fiftyone_in import import_fiftyone
    from ._project import open as open_project

    load_fiftyone()
    memory = str(path) == ":memory:"
    target = None if memory else Path(path)
    if target is not None and (target.exists() or Path(str(target) + ".wal").exists()):
        raise ConflictError(f"from_fiftyone makes a new project, but {str(target)!r} exists already; give a new "
                            "path (or open it with nl.open and add to it)")
    proj = open_project(path)
    try:
        report = import_fiftyone(proj.session, dataset, gt_field=gt_field, pred_fields=pred_fields, split=split,
                                 errors=errors)
    except BaseException:
        proj.close()
        if target is not None:
            for f in (target, Path(str(target) + ".wal")):
                f.unlink(missing_ok=True)
        raise
    if report.problems or report.notes:
        warn(f"from_fiftyone: {report}; " + "; ".join([*report.notes, *(f"{p.item}: {p.reason}" for p in
                                                                         report.problems[:20])]))
    return proj
