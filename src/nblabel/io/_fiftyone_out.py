"""A project into a FiftyOne dataset: one sample per media item, each source as label fields.

The field layout is in :mod:`._fiftyone_common`. Coordinates become FiftyOne's: relative
``[x, y, w, h]`` boxes and ``(x, y)`` points in [0, 1] of the image size; keypoints that are not
visible (``v == 0``) are ``[nan, nan]`` as FiftyOne keeps them, with the visibility flags in a
``visibility`` attribute. A score becomes ``confidence``, a track id ``index``, ``iscrowd`` an
attribute (FiftyOne's COCO evaluation reads it), and each attribute value a custom label attribute.
Samples carry the media id, file name, status (stage "label"), simple media metadata, and the parts
of the project's splits as tags. ``dataset.info["nblabel"]`` keeps the schema and which field is
which source, so :mod:`._fiftyone_in` brings the dataset back as it was.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ConflictError, ValidationError
from ..geometry import rle_decode
from ..store import Schema, run_id
from ..store import _runs as runs_rows
from ..store._splits import split_members, split_names
from ._exports import export_instances, export_media
from ._fiftyone_common import INFO_KEY, SAMPLE_RESERVED, attribute_field, field_name, load_fiftyone

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["to_fiftyone"]

BOXED = ("box", "polygon", "mask", "keypoints")  # kinds that get a Detection (evaluate_detections sees them)


def _runs(con: Any, runs: Any) -> list[tuple[int, str]]:
    """``(run_id, name)`` of the runs to write: every run for ``None``, else the ones named."""
    table = runs_rows.list_runs(con)
    names = dict(zip(table["run_id"].astype(int), table["name"], strict=True))
    if runs is None:
        return list(names.items())
    if isinstance(runs, str) or hasattr(runs, "run_id"):
        runs = [runs]
    out = []
    for r in runs:
        rid = run_id(con, getattr(r, "name", r))
        assert rid is not None
        if (rid, names[rid]) not in out:
            out.append((rid, names[rid]))
    return out


def _simple(v: Any) -> bool:
    return isinstance(v, (str, bool, int)) or (isinstance(v, float) and math.isfinite(v))


def _label_kwargs(r: Any, attr_fields: dict[str, str]) -> dict[str, Any]:
    """The label name, confidence, index, iscrowd, nblabel id and attribute values of one instance row."""
    kw: dict[str, Any] = {"label": r.label, "nblabel_id": int(r.instance_id)}
    if r.score is not None and not pd.isna(r.score):
        kw["confidence"] = float(r.score)
    if r.track_id is not None and not pd.isna(r.track_id):
        kw["index"] = int(r.track_id)
    for k, v in (r.attributes or {}).items():
        if v is not None:
            kw[attr_fields.get(k, attribute_field(k))] = v
    return kw


def _mask_crop(points: Any, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """A mask from the top-left pixel of its box on, as FiftyOne's ``Detection.mask`` holds it: up to the
    box's far edge, or further where the mask has pixels past it (a COCO bbox may be a pixel short)."""
    m = rle_decode(points).astype(bool)
    ys, xs = np.nonzero(m)
    top, left = math.floor(y0), math.floor(x0)
    bottom = max(math.ceil(y1), int(ys.max()) + 1 if len(ys) else 0)
    right = max(math.ceil(x1), int(xs.max()) + 1 if len(xs) else 0)
    return m[top:bottom, left:right]


def _labels(fo: Any, inst: pd.DataFrame, w: float, h: float, attr_fields: dict[str, str],
            is_gt: bool) -> dict[str, list[Any]]:
    """One media item's instances of one source as FiftyOne labels, by field suffix."""
    out: dict[str, list[Any]] = {"": [], "_polylines": [], "_keypoints": [], "_tags": []}
    records: list[Any] = list(inst.itertuples(index=False))
    for r in records:
        kw = _label_kwargs(r, attr_fields)
        if r.kind in BOXED:
            box = [r.x0 / w, r.y0 / h, (r.x1 - r.x0) / w, (r.y1 - r.y0) / h]
            extra: dict[str, Any] = {}
            if is_gt:
                extra["iscrowd"] = int(bool(r.iscrowd))
            if r.kind == "mask":
                extra["mask"] = _mask_crop(r.points, r.x0, r.y0, r.x1, r.y1)
            out[""].append(fo.Detection(bounding_box=box, **kw, **extra))
        if r.kind in ("polygon", "line"):
            rings = r.points if r.kind == "polygon" else [r.points]
            shapes = [[(float(x) / w, float(y) / h) for x, y, *_ in ring] for ring in rings]
            closed = r.kind == "polygon"
            out["_polylines"].append(fo.Polyline(points=shapes, closed=closed, filled=closed, **kw))
        elif r.kind in ("keypoints", "point"):
            kp = np.asarray(r.points, dtype=float)
            if r.kind == "point":  # [[x, y]]: one visible point
                kp = np.column_stack([kp.reshape(-1, 2), np.full(len(kp.reshape(-1, 2)), 2.0)])
            vis = kp[:, 2].astype(int).tolist()
            pts = [(float(x) / w, float(y) / h) if v > 0 else (math.nan, math.nan) for x, y, v in kp]
            kkw = dict(kw)
            if "confidence" in kkw:  # FiftyOne keeps one confidence per point
                kkw["confidence"] = [kkw["confidence"]] * len(pts)
            out["_keypoints"].append(fo.Keypoint(points=pts, visibility=vis, **kkw))
        elif r.kind == "tag":
            out["_tags"].append(fo.Classification(**kw))
    return out


def _sample_tags(con: Any, media: list[int]) -> dict[int, list[str]]:
    """Each media item's split parts: ``part`` with one split, ``split/part`` with several."""
    names = split_names(con)
    tags: dict[int, list[str]] = {m: [] for m in media}
    for name in names:
        members = split_members(con, name)
        for mid, part in zip(members["media_id"].astype(int), members["split"], strict=True):
            if mid in tags:
                tags[mid].append(part if len(names) == 1 else f"{name}/{part}")
    return tags


def to_fiftyone(session: Session, name: str, *, slice: Any = None, runs: Any = None, overwrite: bool = False,
                include_incomplete: bool = False) -> tuple[Any, list[str]]:
    """The FiftyOne dataset ``name`` made from the project (see ``Project.to_fiftyone``), and notes on what
    was left out."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"to_fiftyone needs a dataset name (a non-empty string), got {name!r}")
    fo = load_fiftyone()
    with session.store.read() as con:
        mdf, left_out = export_media(con, slice, include_incomplete=include_incomplete)
        ids = mdf["media_id"].astype(int).tolist()
        sources: list[tuple[int | None, str]] = [(None, "ground truth"), *_runs(con, runs)]
        frames = {rid: export_instances(con, ids, rid) for rid, _ in sources}
        tags = _sample_tags(con, ids)
        split_list = {n: sorted(set(split_members(con, n)["split"])) for n in split_names(con)}
    schema = Schema(session.store).to_dict()
    attr_fields = {a["name"]: attribute_field(a["name"]) for a in schema["attributes"]}
    fields: dict[str, str] = {}
    taken: set[str] = set(SAMPLE_RESERVED)
    for rid, rname in sources:
        f = "ground_truth" if rid is None else field_name(rname, taken)
        taken.add(f)
        fields[rname] = f
    if fo.dataset_exists(name):
        if not overwrite:
            raise ConflictError(f"a FiftyOne dataset named {name!r} exists already; pass overwrite=True to replace "
                                "it, or choose another name")
        fo.load_dataset(name).delete()
    by_media = {rid: dict(tuple(df.groupby("media_id"))) if len(df) else {} for rid, df in frames.items()}
    empty = frames[None].iloc[0:0]
    samples = []
    media_rows: list[Any] = list(mdf.itertuples(index=False))
    for m in media_rows:
        w, h, mid = float(m.width), float(m.height), int(m.media_id)
        s = fo.Sample(filepath=str(m.uri), tags=tags.get(mid, []),
                      metadata=fo.ImageMetadata(width=int(m.width), height=int(m.height)))
        s["nblabel_media_id"] = mid
        s["file_name"] = str(m.file_name)
        s["nblabel_status"] = m.state if isinstance(m.state, str) else "new"
        for k, v in (m.meta or {}).items():
            if _simple(v) and isinstance(k, str) and k and not k.startswith("_"):
                s[f"meta_{k}" if k in SAMPLE_RESERVED or k in taken else k] = v
        for rid, rname in sources:
            labs = _labels(fo, by_media[rid].get(mid, empty), w, h, attr_fields, rid is None)
            base = fields[rname]
            s[base] = fo.Detections(detections=labs[""])
            kinds = set(frames[rid]["kind"])
            if kinds & {"polygon", "line"}:
                s[base + "_polylines"] = fo.Polylines(polylines=labs["_polylines"])
            if kinds & {"keypoints", "point"}:
                s[base + "_keypoints"] = fo.Keypoints(keypoints=labs["_keypoints"])
            if "tag" in kinds:
                s[base + "_tags"] = fo.Classifications(classifications=labs["_tags"])
        samples.append(s)
    ds = fo.Dataset(name)
    try:
        if samples:
            ds.add_samples(samples, progress=False)
        ds.info[INFO_KEY] = {"format": 1, "gt_field": fields["ground truth"],
                             "runs": {k: v for k, v in fields.items() if k != "ground truth"},
                             "attributes": attr_fields, "schema": schema, "splits": split_list}
        templates = [lab["keypoints"] for lab in schema["labels"] if lab.get("keypoints")]
        if len(templates) == 1:
            ds.default_skeleton = fo.KeypointSkeleton(labels=list(templates[0]["points"]),
                                                      edges=[list(e) for e in templates[0]["skeleton"]])
        ds.save()
    except BaseException:
        ds.delete()  # no half-made dataset left behind
        raise
    notes = []
    if left_out:
        notes.append(f"{left_out} media item(s) not complete in stage 'label' were left out "
                     "(pass include_incomplete=True to send them too)")
    return ds, notes
