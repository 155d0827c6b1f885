"""Mask (segm) similarity for the COCO evaluation engine, on :mod:`nblabel.geometry` RLE helpers.

The RLE helpers are imported lazily so that bbox and keypoint evaluation never depend on them.
Polygons are rasterised at the image size (``height``/``width`` columns or ``image_sizes``), like
pycocotools' ``annToRLE``: all polygons of one object merged into one mask.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import geometry as _geo
from ..errors import ValidationError

__all__ = ["mask_area", "rle_box", "segm_iou_pairs", "segm_rles"]


def _size_lookup(
    frame: pd.DataFrame, image_sizes: Mapping[Any, tuple[int, int]] | pd.DataFrame | None
) -> Any:
    if isinstance(image_sizes, pd.DataFrame):
        image_sizes = {
            i: (h, w)
            for i, h, w in zip(
                image_sizes["image_id"], image_sizes["height"], image_sizes["width"], strict=False
            )
        }
    return image_sizes


def segm_rles(
    frame: pd.DataFrame,
    rows: np.ndarray,
    image_ids: np.ndarray,
    image_sizes: Mapping[Any, tuple[int, int]] | pd.DataFrame | None,
    name: str,
) -> list[Any]:
    """Compressed RLE of each selected row's ``segmentation`` (polygons, uncompressed or compressed RLE).

    Example:
        >>> f = pd.DataFrame({"segmentation": [{"size": [2, 2], "counts": "04"}]})
        >>> segm_rles(f, np.array([0]), np.array([1]), None, "gt")[0]["size"]
        [2, 2]
    """
    sizes = _size_lookup(frame, image_sizes)
    segs = frame["segmentation"].to_numpy(dtype=object)[rows]
    has_hw = "height" in frame.columns and "width" in frame.columns
    hs = frame["height"].to_numpy(dtype=object)[rows] if has_hw else None
    ws = frame["width"].to_numpy(dtype=object)[rows] if has_hw else None
    out: list[Any] = []
    geo = None
    for i, seg in enumerate(segs):
        if isinstance(seg, Mapping) and isinstance(seg.get("counts"), (str, bytes)):
            out.append(seg)
            continue
        geo = geo or _geo
        if isinstance(seg, Mapping):
            out.append(geo.rle_from_uncompressed(seg))
            continue
        if hs is not None and hs[i] is not None and not pd.isna(hs[i]):
            h, w = int(hs[i]), int(ws[i])
        elif sizes is not None and image_ids[i] in sizes:
            h, w = (int(v) for v in sizes[image_ids[i]])
        else:
            raise ValidationError(
                f"{name} row {int(rows[i])} has a polygon segmentation but no image size; pass "
                f"image_sizes={{image_id: (height, width)}} or add height/width columns"
            )
        out.append(geo.polygons_to_rle(seg, h, w))
    return out


def mask_area(rles: list[Any]) -> np.ndarray:
    """Pixel area of each RLE.

    Example:
        >>> mask_area([]).tolist()
        []
    """
    if not rles:
        return np.zeros(0)
    geo = _geo
    return np.array([float(np.asarray(geo.rle_area(r)).ravel()[0]) for r in rles], dtype=np.float64)


def rle_box(rle: Any) -> list[float]:
    """``[x, y, w, h]`` of an RLE's set pixels, as pycocotools' ``toBbox`` (``loadRes`` uses it).

    Example:
        >>> rle_box({"size": [3, 4], "counts": "42102"})
        [1.0, 1.0, 2.0, 2.0]
    """
    geo = _geo
    return [float(v) for v in np.asarray(geo.rle_to_bbox(rle)).ravel()]


def segm_iou_pairs(d_rle: list[Any], g_rle: list[Any], g_crowd: np.ndarray, pairs: Any) -> np.ndarray:
    """Mask IoU of every pair (crowd: intersection / detection area), one ``rle_iou`` call per group.

    Example:
        >>> from nblabel.geometry import build_pairs
        >>> segm_iou_pairs([], [], np.zeros(0, bool), build_pairs(np.zeros(0), np.zeros(0))).tolist()
        []
    """
    sim = np.zeros(len(pairs.dt), dtype=np.float64)
    if len(sim) == 0:
        return sim
    geo = _geo
    has = np.flatnonzero(pairs.dt_count > 0)
    # detections of one group are consecutive and share the same gt range
    first_gt = pairs.gt[pairs.dt_start[has]]
    new = np.ones(len(has), dtype=bool)
    new[1:] = first_gt[1:] != first_gt[:-1]
    bounds = [*np.flatnonzero(new).tolist(), len(has)]
    for b0, b1 in itertools.pairwise(bounds):
        d_idx = has[b0:b1]
        g0 = int(first_gt[b0])
        n_g = int(pairs.dt_count[d_idx[0]])
        g_idx = range(g0, g0 + n_g)
        ious = np.asarray(
            geo.rle_iou(
                [d_rle[i] for i in d_idx], [g_rle[j] for j in g_idx], [int(g_crowd[j]) for j in g_idx]
            ),
            dtype=np.float64,
        ).reshape(len(d_idx), n_g)
        start = int(pairs.dt_start[d_idx[0]])
        sim[start : start + ious.size] = ious.ravel()
    return sim
