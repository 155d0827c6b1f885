"""FiftyOne labels as instance rows: which fields make which source, and each label as one row.

A source is a base field and the sibling fields :mod:`._fiftyone_common` names. Labels sharing an
``nblabel_id`` within a source and sample are one instance (a polygon's box and its polyline, a
keypoint's box and its points). Coordinates stay relative here; :mod:`._fiftyone_in` turns them
into pixels once the media (and so their sizes) are in the project.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._report import ImportReport
from ..errors import NotFoundError, did_you_mean
from ._fiftyone_common import LABEL_RESERVED, SIBLINGS, load_fiftyone

__all__ = ["Row", "Source", "label_fields", "read_source", "sources"]

READABLE = ("Detections", "Detection", "Polylines", "Polyline", "Keypoints", "Keypoint", "Classifications",
            "Classification")
LIST_ATTR = {"Detections": "detections", "Polylines": "polylines", "Keypoints": "keypoints",
             "Classifications": "classifications"}


@dataclass
class Source:
    """A run (or the ground truth, ``run=None``) and the label fields it is read from."""

    run: str | None
    fields: list[str]


@dataclass
class Row:
    """One instance as read: relative geometry, until the media sizes are known."""

    sample: int  # position of the sample
    item: str  # how the report names it
    label: str
    kind: str
    box: list[float] | None = None  # relative x, y, w, h
    points: Any = None  # relative; a mask's crop for kind "mask"
    score: float | None = None
    track_id: int | None = None
    iscrowd: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)


def label_fields(dataset: Any, report: ImportReport, skip: set[str]) -> dict[str, str]:
    """``{field: label class name}`` of the readable label fields; the others go into the report."""
    fo = load_fiftyone()
    fol = importlib.import_module("fiftyone.core.labels")
    out = {}
    for name, f in dataset.get_field_schema().items():
        if name in skip or not isinstance(f, fo.EmbeddedDocumentField):
            continue
        doc = f.document_type
        if not (isinstance(doc, type) and issubclass(doc, fol.Label)):
            continue
        if doc.__name__ in READABLE:
            out[name] = doc.__name__
        else:
            report.add_problem(f"field {name!r}", f"{doc.__name__} labels are not read (nblabel reads Detections, "
                               "Polylines, Keypoints and Classifications); convert them first or leave them out")
    return out


def _with_siblings(base: str, fields: dict[str, str]) -> list[str]:
    return [f for f in (base, *(base + s for s in SIBLINGS)) if f in fields]


def _unknown(name: str, fields: dict[str, str], what: str) -> NotFoundError:
    hint = f"the dataset's label fields are {sorted(fields)}" if fields else "the dataset has no label fields"
    return NotFoundError(f"{what} {name!r} is not a label field of the dataset{did_you_mean(name, list(fields))}; "
                         f"{hint}")


def sources(fields: dict[str, str], gt_field: str | None, pred_fields: Any,
            run_names: dict[str, str]) -> list[Source]:
    """Ground truth first, then one source per prediction field (``run_names``: field → run, as
    ``to_fiftyone`` recorded them)."""
    out: list[Source] = []
    used: set[str] = set()
    if gt_field is not None:
        if gt_field not in fields:
            raise _unknown(gt_field, fields, "gt_field")
        out.append(Source(None, _with_siblings(gt_field, fields)))
        used |= set(out[0].fields)
    if pred_fields is None:
        rest = [f for f in fields if f not in used]
        bases = [f for f in rest if not any(f.endswith(s) and f[: -len(s)] in fields for s in SIBLINGS)]
        wanted = {b: run_names.get(b, b) for b in bases}
    elif isinstance(pred_fields, dict):
        wanted = {str(k): str(v) for k, v in pred_fields.items()}
    else:
        names = [pred_fields] if isinstance(pred_fields, str) else list(pred_fields)
        wanted = {str(f): run_names.get(str(f), str(f)) for f in names}
    for f, run in wanted.items():
        if f not in fields:
            raise _unknown(f, fields, "pred_fields entry")
        out.append(Source(run, [s for s in _with_siblings(f, fields) if s not in used]))
        used |= set(out[-1].fields)
    return out


def _attrs(lab: Any, drop: set[str], names: dict[str, str]) -> dict[str, Any]:
    """A label's custom attributes (FiftyOne's own fields, ``drop``ped ones and None left out)."""
    d = lab.to_dict()
    return {names.get(k, k): v for k, v in d.items()
            if k not in LABEL_RESERVED and k not in drop and not k.startswith("_") and v is not None}


def _score(v: Any) -> float | None:
    if isinstance(v, (list, tuple)):  # a keypoint's per-point confidences
        vals = [float(x) for x in v if x is not None and math.isfinite(float(x))]
        return float(np.mean(vals)) if vals else None
    return None if v is None else float(v)


def read_source(values: dict[str, list[Any]], classes: dict[str, str], src: Source, n: int, items: list[str],
                drop: set[str], names: dict[str, str], report: ImportReport) -> list[Row]:
    """Every label of ``src``'s fields as a :class:`Row` (``values``: field → one value per sample)."""
    rows: list[Row] = []
    for i in range(n):
        labs: list[tuple[str, Any]] = []
        for f in src.fields:
            v = values[f][i]
            if v is not None:
                found = (getattr(v, LIST_ATTR[classes[f]]) or []) if classes[f] in LIST_ATTR else [v]
                labs.extend((f, lab) for lab in found)
        is_det = [classes[f] in ("Detections", "Detection") for f, _ in labs]
        nids = [_nid(lab) for _, lab in labs]
        elsewhere = {nid for nid, d in zip(nids, is_det, strict=True) if nid is not None and not d}
        boxes: dict[int, Any] = {}  # nblabel_id -> the Detection that goes with a label of another field
        here: list[tuple[Row, int | None]] = []
        for k, ((f, lab), d, nid) in enumerate(zip(labs, is_det, nids, strict=True)):
            if d and nid is not None and nid in elsewhere:
                boxes[nid] = lab
                continue
            row = _row(lab, classes[f], i, f"{items[i]} {f}[{k}]", drop, names, report)
            if row is not None:
                here.append((row, nid))
        for row, nid in here:
            if row.kind == "keypoints" and nid is not None and nid in boxes:
                det = boxes[nid]
                row.box = [float(x) for x in det.bounding_box]
                row.score = row.score if det.confidence is None else float(det.confidence)
            rows.append(row)
    return rows


def _nid(lab: Any) -> int | None:
    """The ``nblabel_id`` a label carries (``to_fiftyone`` writes it), or ``None``."""
    v = lab["nblabel_id"] if lab.has_field("nblabel_id") else None
    return None if v is None else int(v)


def _row(lab: Any, cls: str, i: int, item: str, drop: set[str], names: dict[str, str],
         report: ImportReport) -> Row | None:
    """One label as a row, or ``None`` (and a problem) when it cannot be one."""
    if not isinstance(lab.label, str) or not lab.label:
        report.add_problem(item, f"has no label string ({lab.label!r}); give every label a class name")
        return None
    attrs = _attrs(lab, drop, names)
    base = Row(i, item, lab.label, "box", score=_score(getattr(lab, "confidence", None)),
               track_id=None if getattr(lab, "index", None) is None else int(lab.index), attributes=attrs)
    if cls in ("Detections", "Detection"):
        bb = lab.bounding_box
        if bb is None or len(bb) != 4:
            report.add_problem(item, f"has no bounding_box ([x, y, w, h] in 0-1), got {bb!r}")
            return None
        base.box = [float(x) for x in bb]
        base.iscrowd = bool(lab["iscrowd"]) if lab.has_field("iscrowd") and lab["iscrowd"] is not None else False
        if lab.mask is not None:
            base.kind, base.points = "mask", np.asarray(lab.mask).astype(bool)
        elif getattr(lab, "mask_path", None):
            report.add_problem(item, "its mask is in a file (mask_path); load the masks into the dataset "
                               "(or leave them out) first")
            return None
    elif cls in ("Polylines", "Polyline"):
        shapes = [[[float(x), float(y)] for x, y in s] for s in (lab.points or [])]
        if not shapes:
            report.add_problem(item, "is a polyline without points")
            return None
        if lab.closed or lab.filled:
            base.kind, base.points = "polygon", shapes
        else:
            if len(shapes) > 1:
                report.add_problem(item, f"is an open polyline of {len(shapes)} shapes; nblabel lines are one "
                                   "shape each: split it into one polyline per shape")
                return None
            base.kind, base.points = "line", shapes[0]
    elif cls in ("Keypoints", "Keypoint"):
        pts = np.asarray(lab.points or [], dtype=float).reshape(-1, 2)
        vis = lab["visibility"] if lab.has_field("visibility") else None  # to_fiftyone's flags (v = 1 or 2)
        if vis is None or len(vis) != len(pts):
            vis = np.where(np.isfinite(pts).all(axis=1), 2, 0)
        base.kind = "keypoints"
        base.points = [[float(x), float(y), float(v)] if v > 0 else [0.0, 0.0, 0.0]
                       for (x, y), v in zip(pts, np.asarray(vis, dtype=float), strict=True)]
    else:
        base.kind = "tag"
    return base
