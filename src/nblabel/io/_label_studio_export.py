"""Label Studio export: a tasks JSON (one task per media item) and its labeling config XML beside it.

Each task is ``{"id": media_id, "data": {"image": <reference>}, "annotations": [...], "predictions": [...]}``.
The image reference is ``url_prefix + <relative path>`` (default ``/data/local-files/?d=``: Label
Studio's Local Storage, whose document root is the folder the paths are relative to), or with
``url_prefix=None`` a plain path. The relative path is the media file relative to ``image_root``
when given, else the media's ``file_name`` (as imported).

Ground truth of a complete media item (stage ``label``) is one annotation (an empty result is a
labeled background image); an incomplete item gets none unless ``include_incomplete=True``. Each
run becomes one prediction per media item it has predictions on, ``model_version`` = the run's
name, every result carrying its ``score`` (the prediction's ``score`` is their mean).

Coordinates are percent of ``original_width``/``original_height`` (the media's upright size), as
Label Studio stores them: a box is a rectangle (``x, y, width, height``, rotation 0), a polygon one
``polygonlabels`` result per ring (rings after the first carry ``parentID`` = the first ring's id),
a keypoint instance one ``keypointlabels`` result per labeled point (the point's name as label,
``hidden`` for visibility 1, ``parentID`` = the instance's first point), a point one keypoint with
the instance's label, a whole-image tag a ``choices`` result of the ``tags`` control, an RLE mask a
``brushlabels`` result (Label Studio's own RLE: :mod:`._label_studio_brush`). Attribute values are
per-region results of the attribute's control with the region's ``id``. Lines have no Label Studio
image region and are left out (counted in the notes).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import pandas as pd

from ..errors import FormatError, ValidationError
from ..geometry import rle_decode
from ..store import load_state
from ..store._runs import list_runs
from ._coco import _assign_ids
from ._exports import ExportInfo, check_target, export_instances, export_media, write_atomic
from ._label_studio_brush import encode_brush
from ._label_studio_config import (
    ATTRIBUTE_CONTROLS,
    BRUSH_CONTROL,
    GEOMETRY_CONTROLS,
    build_config,
    keypoint_control,
)
from ._paths import safe_relative

if TYPE_CHECKING:
    from ..schema import SchemaState
    from ..store import Session

__all__ = ["LOCAL_FILES", "LabelStudioExport", "export_label_studio"]

LOCAL_FILES = "/data/local-files/?d="
_POINT_WIDTH = 0.5  # the size Label Studio draws a keypoint with (percent of the width); not geometry


@dataclass
class LabelStudioExport(ExportInfo):
    """What ``export_label_studio`` wrote: the tasks file (``path``), the labeling ``config`` beside it, the counts.

    Example:
        >>> LabelStudioExport(Path("t.json"), 2, 5, config=Path("t.xml")).config.name
        't.xml'
    """

    config: Path = Path()
    n_predictions: int = 0


def _pct(v: float, size: int) -> float:
    return float(v) / size * 100.0


class _Regions:
    """The results of one media item's instances (one annotation or one prediction)."""

    def __init__(self, state: SchemaState, w: int, h: int, with_score: bool) -> None:
        self.state, self.w, self.h, self.with_score = state, w, h, with_score
        self.results: list[dict[str, Any]] = []
        self.used: set[str] = set()
        self.left_out = 0
        self.scores: list[float] = []

    def _base(self, rid: str, tag_type: str, from_name: str, value: dict[str, Any], score: Any) -> dict[str, Any]:
        r = {"id": rid, "type": tag_type, "from_name": from_name, "to_name": "image", "original_width": self.w,
             "original_height": self.h, "image_rotation": 0, "value": value}
        if self.with_score and score is not None and not pd.isna(score):
            r["score"] = float(score)
        return r

    def _id(self, r: Any) -> str:
        ls_id = (r.extra or {}).get("ls_id")
        rid = str(ls_id) if isinstance(ls_id, (str, int)) and str(ls_id) not in self.used else f"nbl{r.instance_id}"
        self.used.add(rid)
        return rid

    def add(self, r: Any) -> None:
        """The results of one instance row (from ``export_instances``)."""
        w, h = self.w, self.h
        if r.kind == "line":
            self.left_out += 1
            return
        rid = self._id(r)
        geo: dict[str, Any]
        if r.kind == "mask":
            rle = encode_brush(rle_decode(r.points))
            geo = {}
            self.results.append(self._base(rid, "brushlabels", BRUSH_CONTROL,
                                           {"format": "rle", "rle": rle, "brushlabels": [r.label]}, r.score))
        elif r.kind == "box":
            geo = {"x": _pct(r.x0, w), "y": _pct(r.y0, h), "width": _pct(r.x1 - r.x0, w),
                   "height": _pct(r.y1 - r.y0, h), "rotation": 0}
            self.results.append(self._base(rid, "rectanglelabels", "box", {**geo, "rectanglelabels": [r.label]},
                                           r.score))
        elif r.kind == "polygon":
            for k, ring in enumerate(r.points):
                pts = [[_pct(x, w), _pct(y, h)] for x, y in ring]
                res = self._base(rid if k == 0 else f"{rid}_{k}", "polygonlabels", "polygon",
                                 {"points": pts, "closed": True, "polygonlabels": [r.label]}, r.score)
                if k:
                    res["parentID"] = rid
                self.results.append(res)
            geo = {"points": [[_pct(x, w), _pct(y, h)] for x, y in r.points[0]]}
        elif r.kind == "keypoints":
            tpl = self.state.template_for(int(r.label_id))
            names = list(tpl.points) if tpl is not None else []
            first: dict[str, Any] | None = None
            for j, (x, y, v) in enumerate(r.points):
                if v <= 0 or j >= len(names):
                    continue
                value = {"x": _pct(x, w), "y": _pct(y, h), "width": _POINT_WIDTH, "keypointlabels": [names[j]]}
                if v == 1:
                    value["hidden"] = True
                res = self._base(rid if first is None else f"{rid}_{j}", "keypointlabels",
                                 keypoint_control(r.label), value, r.score)
                if first is None:
                    first = value
                else:
                    res["parentID"] = rid
                self.results.append(res)
            if first is None:  # no labeled point: nothing Label Studio can show
                self.left_out += 1
                return
            geo = {k: first[k] for k in ("x", "y", "width")}
        elif r.kind == "point":
            (x, y), = r.points
            geo = {"x": _pct(x, w), "y": _pct(y, h), "width": _POINT_WIDTH}
            self.results.append(self._base(rid, "keypointlabels", GEOMETRY_CONTROLS["point"][1],
                                           {**geo, "keypointlabels": [r.label]}, r.score))
        else:  # tag
            geo = {}
            self.results.append(self._base(rid, "choices", GEOMETRY_CONTROLS["tag"][1], {"choices": [r.label]},
                                           r.score))
        if r.score is not None and not pd.isna(r.score):
            self.scores.append(float(r.score))
        for name, v in sorted((r.attributes or {}).items()):
            self._attribute(rid, geo, name, v)

    def _attribute(self, rid: str, geo: dict[str, Any], name: str, v: Any) -> None:
        try:
            attr = self.state.attribute(name)
        except Exception:  # a value of a group no longer in the schema: nothing to write it under
            return
        tag, key = ATTRIBUTE_CONTROLS[attr.kind]
        if attr.kind == "bool":
            value: Any = ["true" if v else "false"]
        elif attr.kind == "select":
            value = [str(v)]
        elif attr.kind == "multiselect":
            value = [str(x) for x in v]
        elif attr.kind == "text":
            value = [str(v)]
        else:
            value = v
        self.results.append(self._base(rid, tag.lower(), name, {**geo, key: value}, None))


def _by_media(df: pd.DataFrame) -> dict[int, Any]:
    """Row positions of each media item's instances."""
    return {int(cast(int, k)): v for k, v in df.groupby("media_id").indices.items()}


def _image_ref(uri: str, file_name: str, image_root: Path | None, url_prefix: str | None) -> str:
    if image_root is not None:
        try:
            rel = Path(uri).resolve().relative_to(image_root.resolve()).as_posix()
        except ValueError:
            raise ValidationError(f"media file {uri!r} is not under image_root {str(image_root)!r}; pass the folder "
                                  "that holds every exported image (Label Studio's document root)") from None
    else:
        rel = safe_relative(file_name)
    if url_prefix is None:
        return rel if image_root is not None else str(uri)
    return url_prefix + quote(rel, safe="/")


def export_label_studio(session: Session, path: str | os.PathLike[str], *, slice: Any = None,
                        runs: Any = None, image_root: str | os.PathLike[str] | None = None,
                        url_prefix: str | None = LOCAL_FILES, include_incomplete: bool = False) -> LabelStudioExport:
    """Write the tasks JSON at ``path`` and the labeling config at ``path.with_suffix(".xml")``
    (see ``Project.export_label_studio``)."""
    out = Path(path)
    if out.suffix.lower() == ".xml":
        raise ValidationError(f"export path {str(out)!r} ends in .xml; give the tasks file (e.g. 'tasks.json'): "
                              "the labeling config is written beside it with the suffix .xml")
    config_path = out.with_suffix(".xml")
    check_target(out, "export_label_studio")
    check_target(config_path, "export_label_studio")
    root = Path(image_root) if image_root is not None else None
    with session.store.read() as con:
        state = load_state(con)
        mdf, _ = export_media(con, slice, include_incomplete=True)
        done = (mdf["state"] == "complete").to_numpy()
        ids = mdf["media_id"].astype(int).tolist()
        gt = export_instances(con, ids)
        all_runs = list_runs(con)
        names = all_runs["name"].tolist() if runs is None else [getattr(r, "name", r) for r in
                                                                (runs if isinstance(runs, (list, tuple)) else [runs])]
        unknown = [n for n in names if n not in set(all_runs["name"])]
        if unknown:
            raise ValidationError(f"run {unknown[0]!r} is not in the project; its runs are {all_runs['name'].tolist()}")
        run_ids = dict(zip(all_runs["name"], all_runs["run_id"].astype(int), strict=True))
        preds = {n: export_instances(con, ids, run_ids[n]) for n in names}
    labels = list(state.labels.values())
    category_ids = dict(zip([lab.id for lab in labels], _assign_ids([lab.meta.get("coco_id") for lab in labels],
                                                                    [lab.id for lab in labels]), strict=True))
    masks = pd.concat([gt, *preds.values()])
    config = build_config(state, category_ids, sorted(set(masks.loc[masks["kind"] == "mask", "label_id"].astype(int))))
    gt_by, pred_by = _by_media(gt), {n: _by_media(df) for n, df in preds.items()}
    tasks, left_out, n_gt, n_pred, incomplete_gt = [], 0, 0, 0, 0
    for i, (mid, uri, fname, w, h) in enumerate(zip(ids, mdf["uri"], mdf["file_name"], mdf["width"].astype(int),
                                                    mdf["height"].astype(int), strict=True)):
        task: dict[str, Any] = {"id": mid, "data": {"image": _image_ref(uri, fname, root, url_prefix)},
                                "annotations": [], "predictions": []}
        rows = gt_by.get(mid, [])
        if done[i] or include_incomplete:
            reg = _Regions(state, w, h, with_score=False)
            for j in rows:
                reg.add(gt.iloc[j])
            left_out += reg.left_out
            n_gt += len(rows) - reg.left_out
            task["annotations"].append({"id": mid, "result": reg.results, "was_cancelled": False,
                                        "ground_truth": False})
        else:
            incomplete_gt += len(rows)
        for n in names:
            prow = pred_by[n].get(mid)
            if prow is None:
                continue
            reg = _Regions(state, w, h, with_score=True)
            for j in prow:
                reg.add(preds[n].iloc[j])
            left_out += reg.left_out
            n_pred += len(prow) - reg.left_out
            p: dict[str, Any] = {"model_version": n, "result": reg.results}
            if reg.scores:
                p["score"] = math.fsum(reg.scores) / len(reg.scores)
            task["predictions"].append(p)
        tasks.append(task)
    notes: list[str] = []
    if left_out:
        notes.append(f"{left_out} line instance(s) (or keypoints without a labeled point) have no Label Studio "
                     "image region and were left out")
    n_incomplete = int((~done).sum())
    if n_incomplete and not include_incomplete:
        notes.append(f"{n_incomplete} media item(s) not complete in stage 'label' went out as tasks without an "
                     f"annotation ({incomplete_gt} ground-truth instance(s) of theirs not written; pass "
                     "include_incomplete=True to write them as annotations)")
    try:
        data = json.dumps(tasks, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    except ValueError as e:
        raise FormatError(f"cannot write {str(out)!r}: a value is NaN or infinite ({e})") from None
    write_atomic(out, data)
    write_atomic(config_path, config.encode() + b"\n")
    return LabelStudioExport(out, len(tasks), n_gt, n_incomplete if not include_incomplete else 0, left_out, notes,
                             config=config_path, n_predictions=n_pred)
