"""One media item's instances as a detection training target: numpy arrays in torchvision's layout.

The layout (the one ``proj.training_items`` and ``nblabel.torch.Dataset`` hand out; torchvision's
detection models read ``boxes``/``labels``/``masks``/``keypoints`` by these names):

========================  ==============  =========================================================
key                       dtype / shape   meaning
========================  ==============  =========================================================
``boxes``                 float32 [N, 4]  ``x0, y0, x1, y1`` in pixels of the upright image
``labels``                int64 [N]       label ids (stable across renames; 0 is never a label id,
                                          so it is free for torchvision's background class)
``area``                  float32 [N]     the stored area, else COCO's: pixel count of the
                                          rasterised polygon/mask, box area otherwise
``iscrowd``               int64 [N]       1 for crowd regions (COCO ``iscrowd``)
``instance_ids``          int64 [N]       the instances' ids in the project
``media_id``/``image_id`` int64 scalar    the media item (``image_id``: torchvision's name for it)
``image_labels``          int64 [T]       label ids of whole-image tags
``attributes``            list of N dict  each instance's attribute values
``keypoints``             float32 [N,K,3] ``x, y, visibility`` (0 absent, 1 occluded, 2 visible);
                                          only when the items have keypoints; K is the largest
                                          template, rows of other instances are zeros
``masks``                 uint8 [N, H, W] only when asked (``masks=True``): polygons and RLE
                                          masks rasterised as pycocotools' ``annToMask``; a box
                                          (or keypoints without a segmentation) fills its box
``scores``                float32 [N]     only for a run's predictions
========================  ==============  =========================================================

Objects are the instances of kinds box, polygon, mask and keypoints (what COCO holds); tags go to
``image_labels``; points and lines are left out (their extent is no detection box).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..geometry import polygons_to_rle, rle_area, rle_decode

__all__ = ["OBJECT_KINDS", "areas", "item_target", "keypoints_array", "masks_array"]

#: the kinds that become objects of a detection target (what COCO holds)
OBJECT_KINDS = ("box", "polygon", "mask", "keypoints")


def _flat_rings(points: Any) -> list[list[float]]:
    return [[float(c) for xy in ring for c in xy] for ring in points]


def _segmentation(kind: str, points: Any, extra: Any) -> Any:
    """The COCO segmentation of an object: rings (flat lists), an RLE dict, or None (use the box)."""
    if kind == "polygon":
        return _flat_rings(points)
    if kind == "mask":
        return points
    seg = (extra or {}).get("segmentation") if isinstance(extra, dict) else None
    if isinstance(seg, dict) or (isinstance(seg, list) and seg and isinstance(seg[0], list)):
        return seg
    return None


def _rle(seg: Any, box: np.ndarray, h: int, w: int) -> dict[str, Any]:
    if seg is None:  # pycocotools reads a 4-number polygon list as [x, y, w, h]: the box, rasterised as COCO does
        x0, y0, x1, y1 = (float(v) for v in box)
        return polygons_to_rle([[x0, y0, x1 - x0, y1 - y0]], h, w)
    if isinstance(seg, dict):
        return seg
    return polygons_to_rle(seg, h, w)


def areas(inst: pd.DataFrame, h: int, w: int) -> np.ndarray:
    """float32 [N]: the stored area where there is one, else COCO's (mask pixel count, box area).

    Example:
        >>> df = pd.DataFrame({"kind": ["box"], "x0": [0.0], "y0": [0.0], "x1": [4.0], "y1": [2.0],
        ...                    "points": [None], "extra": [None], "area": [float("nan")]})
        >>> areas(df, 10, 10).tolist()
        [8.0]
    """
    out = np.empty(len(inst), np.float32)
    boxes = _boxes(inst)
    cols = (inst[c].tolist() for c in ("area", "kind", "points", "extra"))
    for i, (area, kind, points, extra) in enumerate(zip(*cols, strict=True)):
        if area is not None and not (isinstance(area, float) and math.isnan(area)):
            out[i] = float(area)
        elif kind in ("polygon", "mask"):
            out[i] = float(rle_area(_rle(_segmentation(kind, points, extra), boxes[i], h, w)))
        else:
            out[i] = float((boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1]))
    return out


def _boxes(inst: pd.DataFrame) -> np.ndarray:
    """float64 [N, 4] of the rows' ``x0, y0, x1, y1``."""
    return inst[["x0", "y0", "x1", "y1"]].to_numpy(np.float64).reshape(len(inst), 4)


def masks_array(inst: pd.DataFrame, h: int, w: int) -> np.ndarray:
    """uint8 [N, H, W]: every object's mask (polygon or RLE rasterised as pycocotools does; else its box).

    Example:
        >>> df = pd.DataFrame({"kind": ["polygon"], "x0": [1.0], "y0": [1.0], "x1": [3.0], "y1": [3.0],
        ...                    "points": [[[[1, 1], [3, 1], [3, 3], [1, 3]]]], "extra": [None]})
        >>> masks_array(df, 4, 4)[0].tolist()
        [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    """
    out = np.zeros((len(inst), h, w), np.uint8)
    boxes = _boxes(inst)
    cols = (inst[c].tolist() for c in ("kind", "points", "extra"))
    for i, (kind, points, extra) in enumerate(zip(*cols, strict=True)):
        m = rle_decode(_rle(_segmentation(kind, points, extra), boxes[i], h, w))
        out[i] = np.asarray(m, dtype=np.uint8).reshape(h, w)
    return out


def keypoints_array(inst: pd.DataFrame, k: int) -> np.ndarray:
    """float32 [N, K, 3]: keypoint instances' ``x, y, v`` (NaN coordinates become 0); other rows zeros.

    Example:
        >>> df = pd.DataFrame({"kind": ["keypoints", "box"], "points": [[[1, 2, 2], [3, 4, 0]], None]})
        >>> keypoints_array(df, 2).tolist()
        [[[1.0, 2.0, 2.0], [3.0, 4.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]
    """
    out = np.zeros((len(inst), k, 3), np.float32)
    for i, (kind, pts) in enumerate(zip(inst["kind"], inst["points"], strict=True)):
        if kind == "keypoints" and pts:
            a = np.asarray(pts, dtype=np.float64).reshape(-1, 3)[:k]
            out[i, : len(a)] = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    return out


def item_target(media_id: int, h: int, w: int, objects: pd.DataFrame, tags: np.ndarray, *, k: int,
                masks: bool, scores: bool) -> dict[str, Any]:
    """The target dict of one item (see the module docstring for the layout).

    Example:
        >>> df = pd.DataFrame({"instance_id": [7], "label_id": [2], "kind": ["box"], "x0": [1.0], "y0": [2.0],
        ...                    "x1": [5.0], "y1": [6.0], "points": [None], "extra": [None], "attributes": [None],
        ...                    "area": [None], "iscrowd": [False], "score": [None]})
        >>> t = item_target(3, 10, 10, df, np.zeros(0, np.int64), k=0, masks=False, scores=False)
        >>> t["boxes"].tolist(), t["labels"].dtype.name, t["area"].tolist(), int(t["image_id"])
        ([[1.0, 2.0, 5.0, 6.0]], 'int64', [16.0], 3)
    """
    n = len(objects)
    t: dict[str, Any] = {
        "boxes": np.array(objects[["x0", "y0", "x1", "y1"]].to_numpy(np.float64), np.float32).reshape(n, 4),
        "labels": np.array(objects["label_id"].to_numpy(np.int64)),  # copies: pandas may hand out read-only views
        "area": areas(objects, h, w),
        "iscrowd": objects["iscrowd"].to_numpy(dtype=bool, na_value=False).astype(np.int64),
        "instance_ids": np.array(objects["instance_id"].to_numpy(np.int64)),
        "media_id": np.int64(media_id),
        "image_id": np.int64(media_id),
        "image_labels": np.asarray(tags, np.int64),
        "attributes": [dict(a) if isinstance(a, dict) else {} for a in objects["attributes"]],
    }
    if k:
        t["keypoints"] = keypoints_array(objects, k)
    if masks:
        t["masks"] = masks_array(objects, h, w)
    if scores:
        t["scores"] = np.array(pd.to_numeric(objects["score"], errors="coerce").to_numpy(np.float64), np.float32)
    return t
