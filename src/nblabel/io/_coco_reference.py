"""The reference conversion of COCO annotations: one at a time, every problem worded.

What a COCO annotation means in nblabel (see :mod:`._coco`): ``bbox`` (xywh) becomes the box
(xyxy), a polygon list kind ``polygon``, an RLE dict kind ``mask``, keypoints kind ``keypoints``;
``extra`` keeps the COCO id and every non-standard key. The bulk path (:mod:`._coco_columns`,
:mod:`._coco_fast`) stages the rows that need no problem worded as columns; the rest come here,
and the tests check that the bulk path equals this one row for row and problem for problem.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

import numpy as np
import pandas as pd

__all__ = ["STANDARD", "annotation_rows", "is_num"]

STANDARD = {"id", "image_id", "category_id", "bbox", "segmentation", "area", "iscrowd", "keypoints",
            "num_keypoints"}
_ROW_COLUMNS = ("media_id", "label_id", "kind", "x0", "y0", "x1", "y1", "points", "area", "iscrowd", "extra")


def is_num(v: Any) -> TypeGuard[int | float]:
    """A plain JSON number (``bool`` is not one)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)




def annotation_rows(anns: list[Any], positions: list[int], problems: list[tuple[int, str, str]], seen: set[Any], *,
                     media: dict[Any, int], failed: dict[Any, str], cats: dict[int, int]
                     ) -> tuple[pd.DataFrame, list[int], list[Any], list[Any], list[Any]]:
    """The reference conversion, one annotation at a time, with every problem worded: the rows
    :mod:`._coco_columns` did not stage as columns (``positions``: their places in the file).

    Returns their instance frame, each row's place, COCO annotation and image id, and the COCO
    image ids of refused annotations; problems go to ``problems`` as ``(place, item, reason)``.
    ``seen``: annotation ids used before (updated), so a repeated id is found.
    """
    cols: dict[str, list[Any]] = {c: [] for c in _ROW_COLUMNS}
    rows = _Rows(cols, [], [], [])
    images: list[Any] = []
    k = 0

    def add(item: str, reason: str) -> None:
        problems.append((k, item, reason))

    for k, a in zip(positions, anns, strict=True):
        if not isinstance(a, dict):
            add(f"annotation #{k}", f"an annotation must be an object, got {type(a).__name__}")
            continue
        aid, iid = a.get("id"), a.get("image_id")
        item = f"annotation {aid} (image {iid})" if aid is not None else f"annotation #{k} (image {iid})"
        missing = [key for key in ("id", "image_id", "category_id") if key not in a]
        if missing:
            add(item, f"missing {missing}; every COCO annotation needs id, image_id and category_id")
            images.append(iid)
            continue
        if not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in (aid, iid, a["category_id"])):
            add(item, "id, image_id and category_id must be integers")
            continue
        if aid in seen:
            add(item, f"annotation id {aid} is used twice; ids must be unique")
            images.append(iid)
            continue
        seen.add(aid)
        if iid not in media:
            why = failed.get(iid)
            add(item, f"its image was not imported ({why})" if why else f"image_id {iid!r} is not listed in 'images'")
            images.append(iid)
            continue
        if a["category_id"] not in cats:
            add(item, f"category_id {a['category_id']!r} is not listed in 'categories'")
            images.append(iid)
            continue
        bbox = a.get("bbox")
        box = [math.nan] * 4
        if bbox is not None:
            if not isinstance(bbox, list) or len(bbox) != 4 or not all(is_num(v) for v in bbox):
                add(item, f"bbox {bbox!r} is not [x, y, width, height] (4 numbers)")
                images.append(iid)
                continue
            x, y, w, h = (float(v) for v in bbox)
            if not all(math.isfinite(v) for v in (x, y, w, h)):
                add(item, f"bbox {bbox!r} has NaN or infinite values")
                images.append(iid)
                continue
            if w < 0 or h < 0:
                add(item, f"bbox {bbox!r} has a negative width or height; COCO boxes are "
                                   "[x, y, width, height]")
                images.append(iid)
                continue
            box = [x, y, x + w, y + h]
        seg, kps = a.get("segmentation"), a.get("keypoints")
        extra: dict[str, Any] = {"coco_id": aid}
        extra.update({key: v for key, v in a.items() if key not in STANDARD})
        if "num_keypoints" in a:
            extra["num_keypoints"] = a["num_keypoints"]
        points: Any = None
        if kps:
            if not isinstance(kps, list) or len(kps) % 3 or not all(is_num(v) for v in kps):
                add(item, "keypoints must be a flat list of x, y, v numbers (a multiple of 3)")
                images.append(iid)
                continue
            kind, points = "keypoints", [kps[i:i + 3] for i in range(0, len(kps), 3)]
            if seg:
                extra["segmentation"] = seg
        elif isinstance(seg, dict):
            if "counts" not in seg or "size" not in seg:
                add(item, "an RLE segmentation needs 'size' and 'counts'")
                images.append(iid)
                continue
            kind, points = "mask", seg
        elif isinstance(seg, list) and seg:
            rings_ok = all(isinstance(r, list) and len(r) >= 6 and len(r) % 2 == 0 and all(is_num(v) for v in r)
                           for r in seg)
            if not rings_ok:
                add(item, "polygon segmentation must be a list of rings [x0, y0, x1, y1, ...] "
                                   "with at least 3 points each")
                images.append(iid)
                continue
            kind, points = "polygon", seg
        else:
            kind = "box"
            if bbox is None:
                add(item, "has neither a bbox nor a segmentation nor keypoints")
                images.append(iid)
                continue
        area = a.get("area")
        for c, v in zip(_ROW_COLUMNS, (media[iid], cats[a["category_id"]], kind, box[0], box[1], box[2], box[3],
                                       points, float(area) if is_num(area) else math.nan,
                                       bool(a.get("iscrowd", 0)), extra), strict=True):
            cols[c].append(v)
        rows.pos.append(k)
        rows.aid.append(aid)
        rows.iid.append(iid)
    return rows.frame(), rows.pos, rows.aid, rows.iid, images


class _Rows:
    """Converted annotations as columns, with each row's place in the file and COCO ids."""

    def __init__(self, cols: dict[str, Any], pos: list[int], aid: list[Any], iid: list[Any]) -> None:
        self.cols, self.pos, self.aid, self.iid = cols, pos, aid, iid

    def frame(self) -> pd.DataFrame:
        c = self.cols
        return pd.DataFrame({
            "media_id": np.asarray(c["media_id"], dtype=np.int64), "label_id": np.asarray(c["label_id"], dtype=np.int64),
            "kind": pd.Series(list(c["kind"]), dtype=object),
            **{k: np.asarray(c[k], dtype=float) for k in ("x0", "y0", "x1", "y1")},
            "points": pd.Series(list(c["points"]), dtype=object), "area": np.asarray(c["area"], dtype=float),
            "iscrowd": np.asarray(c["iscrowd"], dtype=bool), "extra": pd.Series(list(c["extra"]), dtype=object)})

