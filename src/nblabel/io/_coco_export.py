"""COCO out: ground truth (or a run's predictions as a COCO results list) written as COCO JSON.

The same shapes the import reads (:mod:`._coco`) are written back with the ids preserved,
deterministically (sorted ids and keys, no timestamps) so the same data gives the same bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import FormatError
from ..store import load_state, run_id
from ._coco_images import IMAGE_STANDARD
from ._coco_reference import STANDARD, is_num
from ._exports import ExportInfo, check_target, export_instances, export_media, write_atomic

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["export_coco", "rle_area"]


def rle_area(rle: dict[str, Any]) -> float:
    """Pixel area of a COCO RLE mask, compressed (string counts) or not (list counts), as a float.

    Example:
        >>> rle_area({"size": [2, 2], "counts": [1, 2, 1]})
        2.0
    """
    from ..geometry import rle_area as _rle_area

    return float(_rle_area(rle))


def _assign_ids(preferred: list[Any], fallback: list[int]) -> list[int]:
    """Keep preferred ids where given and unique; others get the fallback, or fresh ids past the max."""
    out: list[int | None] = []
    used: set[int] = set()
    for p in preferred:
        v = int(p) if is_num(p) and float(p).is_integer() else None
        if v is not None and v in used:
            v = None
        if v is not None:
            used.add(v)
        out.append(v)
    nxt = max(used | set(fallback) | {0}) + 1
    for i, v in enumerate(out):
        if v is None:
            f = fallback[i]
            if f in used:
                f, nxt = nxt, nxt + 1
            used.add(f)
            out[i] = f
    return [int(v) for v in out if v is not None]


def _flat_rings(points: Any) -> list[list[float]]:
    return [[float(c) for xy in ring for c in xy] for ring in points]


def _area(kind: str, r: Any, hw: tuple[int, int]) -> float:
    """COCO's own convention: a polygon's area is the pixel count of its rasterised mask."""
    if kind == "polygon":
        from ..geometry import polygons_to_rle

        return rle_area(polygons_to_rle(_flat_rings(r.points), *hw))
    if kind == "mask":
        return rle_area(r.points)
    return float((r.x1 - r.x0) * (r.y1 - r.y0))


def _categories_out(state: Any, used: set[int]) -> tuple[list[dict[str, Any]], dict[int, int]]:
    labels = [lab for lab in state.labels.values() if not lab.retired or lab.id in used]
    ids = _assign_ids([lab.meta.get("coco_id") for lab in labels], [lab.id for lab in labels])
    cats = []
    for lab, cid in zip(labels, ids, strict=False):
        c: dict[str, Any] = {"id": cid, "name": lab.name}
        if "supercategory" in lab.meta:
            c["supercategory"] = lab.meta["supercategory"]
        tpl = state.template_for(lab.id)
        if tpl is not None:
            c["keypoints"] = list(tpl.points)
            c["skeleton"] = [[a + 1, b + 1] for a, b in tpl.skeleton]
        cats.append(c)
    return sorted(cats, key=lambda c: c["id"]), {lab.id: cid for lab, cid in zip(labels, ids, strict=False)}


def export_coco(session: Session, path: str | os.PathLike[str], *, slice: Any = None,
                include_incomplete: bool = False, run: Any = None) -> ExportInfo:
    """Write ground truth (or a run's predictions as a COCO results list) as COCO JSON."""

    out = Path(path)
    check_target(out, "export_coco")  # before any work: a folder as the file path is refused up front
    with session.store.read() as con:
        state = load_state(con)
        rid = run_id(con, run) if run is not None else None
        mdf, left_out = export_media(con, slice, include_incomplete=include_incomplete or run is not None)
        inst = export_instances(con, mdf["media_id"].tolist(), rid)
    img_ids = _assign_ids([m.get("coco_id") for m in mdf["meta"]], mdf["media_id"].astype(int).tolist())
    hw_of = {int(m): (int(h), int(w)) for m, h, w in zip(mdf["media_id"], mdf["height"], mdf["width"], strict=True)}
    img_of = dict(zip(mdf["media_id"].astype(int).tolist(), img_ids, strict=False))
    cats, cat_of = _categories_out(state, set(inst["label_id"].astype(int)))
    writable = inst["kind"].isin(["box", "polygon", "mask", "keypoints"]).to_numpy()
    skipped = int((~writable).sum())
    inst = inst[writable].reset_index(drop=True)
    notes: list[str] = []
    if skipped:
        notes.append(f"{skipped} instance(s) of kinds point/line/tag have no COCO form and were left out")
    # rounded at 1e-10 px: x1 - x0 brings float noise (111.33000000000004) that the source did not have
    xywh = np.round(np.column_stack([inst["x0"], inst["y0"], inst["x1"] - inst["x0"], inst["y1"] - inst["y0"]]),
                    10) if len(inst) else np.zeros((0, 4))
    if run is not None:
        results = []
        for r, b in zip(inst.itertuples(), xywh.tolist(), strict=False):
            d: dict[str, Any] = {"image_id": img_of[int(r.media_id)], "category_id": cat_of[int(r.label_id)],
                                 "bbox": b, "score": None if pd.isna(r.score) else float(r.score)}
            if r.kind == "polygon":
                d["segmentation"] = _flat_rings(r.points)
            elif r.kind == "mask":
                d["segmentation"] = r.points
            elif r.kind == "keypoints":
                d["keypoints"] = [float(v) for p in r.points for v in p]
            results.append(d)
        write_atomic(out, json.dumps(results, sort_keys=True, separators=(",", ":"), allow_nan=False).encode())
        return ExportInfo(out, len(mdf), len(results), 0, skipped, notes)
    ann_ids = _assign_ids([(e or {}).get("coco_id") for e in inst["extra"]], list(range(1, len(inst) + 1)))
    anns = []
    for r, b, aid in zip(inst.itertuples(), xywh.tolist(), ann_ids, strict=False):
        extra = dict(r.extra or {})
        extra.pop("coco_id", None)
        seg_kp = extra.pop("segmentation", None)
        extra.pop("num_keypoints", None)
        a: dict[str, Any] = {k: v for k, v in extra.items() if k not in STANDARD}
        a.update({"id": aid, "image_id": img_of[int(r.media_id)], "category_id": cat_of[int(r.label_id)],
                  "bbox": b, "iscrowd": int(bool(r.iscrowd))})
        if r.kind == "polygon":
            a["segmentation"] = _flat_rings(r.points)
        elif r.kind == "mask":
            a["segmentation"] = r.points
        elif r.kind == "keypoints":
            a["segmentation"] = seg_kp if seg_kp is not None else []
            a["keypoints"] = [float(v) if not float(v).is_integer() else int(v) for p in r.points for v in p]
            a["num_keypoints"] = int(sum(1 for p in r.points if p[2] > 0))
        else:
            a["segmentation"] = []
        a["area"] = float(r.area) if not pd.isna(r.area) else _area(r.kind, r, hw_of[int(r.media_id)])
        if r.attributes:
            a["attributes"] = r.attributes
        anns.append(a)
    images = []
    sizes = (mdf[c].to_numpy(np.int64) for c in ("width", "height"))
    for meta, file_name, width, height, iid in zip(mdf["meta"], mdf["file_name"], *sizes, img_ids, strict=False):
        im = {k: v for k, v in meta.items() if k not in IMAGE_STANDARD and k != "coco_id" and v is not None}
        im.update({"id": iid, "file_name": file_name, "width": int(width), "height": int(height)})
        images.append(im)
    doc = {"info": {"description": "exported by nblabel"}, "licenses": [],
           "images": sorted(images, key=lambda d: d["id"]), "annotations": sorted(anns, key=lambda d: d["id"]),
           "categories": cats}
    try:
        data = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    except ValueError as e:
        raise FormatError(f"cannot write {str(out)!r}: a value is NaN or infinite ({e})") from None
    write_atomic(out, data)
    if left_out:
        notes.append(f"{left_out} media item(s) not complete in stage 'label' were left out "
                     "(pass include_incomplete=True to export them too)")
    return ExportInfo(out, len(images), len(anns), left_out, skipped, notes)


