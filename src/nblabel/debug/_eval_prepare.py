"""Input validation and flattening for the COCO evaluation engine (see :mod:`nblabel.debug._cocoeval`).

Turns the ``gt`` / ``dt`` DataFrames into sorted numpy arrays:

* ground truths sorted by (group, category position, row order); a group is an (image, category)
  pair (one image when ``use_cats=False``), which is the order pycocotools' ``_gts`` lists have;
* detections sorted by (group, score descending, category position, row order) -- pycocotools'
  stable ``mergesort`` on ``-score`` over the file order -- and cut to ``maxDets[-1]`` per group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nblabel.errors import ValidationError

__all__ = ["COCO_KEYPOINT_SIGMAS", "Flat", "flatten"]

#: pycocotools' default OKS sigmas for COCO's 17 person keypoints.
COCO_KEYPOINT_SIGMAS = (
    np.array(
        [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]
    )
    / 10.0
)

_GT_REQUIRED = ("gt_id", "image_id", "category_id", "x", "y", "w", "h", "area", "iscrowd")
_DT_REQUIRED = ("dt_id", "image_id", "category_id", "x", "y", "w", "h", "score")


@dataclass
class Flat:
    """Sorted, filtered arrays of one evaluation (see module docstring).

    Example:
        >>> Flat.__name__
        'Flat'
    """

    images: np.ndarray
    categories: np.ndarray
    g_row: np.ndarray  # row position in the gt frame
    g_img: np.ndarray
    g_k: np.ndarray  # category position (0 when use_cats=False)
    g_cat: np.ndarray  # category position, always
    g_group: np.ndarray
    g_id: np.ndarray
    g_box: np.ndarray
    g_area: np.ndarray
    g_crowd: np.ndarray
    g_ignore: np.ndarray
    d_row: np.ndarray
    d_img: np.ndarray
    d_k: np.ndarray
    d_cat: np.ndarray
    d_group: np.ndarray
    d_rank: np.ndarray
    d_id: np.ndarray
    d_box: np.ndarray
    d_area: np.ndarray
    d_score: np.ndarray


def _check_columns(df: pd.DataFrame, required: Iterable[str], name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValidationError(
            f"{name} is missing column(s) {missing}; it needs {list(required)} "
            f"(use gt_from_coco / dt_from_coco_results to build the frames from COCO json)"
        )


def _sorted_unique(values: Any, name: str) -> np.ndarray:
    """Sorted distinct ids (numpy's ``unique`` for numbers, like pycocotools; Python order otherwise)."""
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(list(values))
    if arr.dtype.kind in "iuf":
        return np.unique(arr)
    uniq = pd.unique(pd.Series(arr, dtype=object))
    try:
        return np.array(sorted(uniq.tolist()), dtype=object)
    except TypeError as e:
        raise ValidationError(
            f"{name} mixes ids that cannot be sorted together ({e}); pass {name} explicitly"
        ) from e


def _float_col(df: pd.DataFrame, col: str, name: str) -> np.ndarray:
    try:
        return df[col].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as e:
        raise ValidationError(f"{name}[{col!r}] must be numeric: {e}") from e


def keypoint_array(values: Sequence[Any], name: str, n_kp: int | None = None) -> np.ndarray:
    """``(n, K, 3)`` float array from flat ``[x, y, v] * K`` lists.

    Example:
        >>> keypoint_array([[1, 2, 2, 3, 4, 0]], "gt").shape
        (1, 2, 3)
    """
    try:
        arr = np.array([np.asarray(v, dtype=np.float64) for v in values])
    except (TypeError, ValueError) as e:
        raise ValidationError(
            f"{name}['keypoints'] must be flat [x, y, v] * K lists of one length: {e}"
        ) from e
    if len(values) == 0:
        k = n_kp or 0
        return np.zeros((0, k, 3))
    if arr.ndim != 2 or arr.shape[1] % 3:
        raise ValidationError(f"{name}['keypoints'] must be flat [x, y, v] * K lists of one length")
    return arr.reshape(len(values), -1, 3)


def flatten(
    gt: pd.DataFrame,
    dt: pd.DataFrame,
    iou_type: str,
    images: Iterable[Any] | None,
    categories: Iterable[Any] | None,
    use_cats: bool,
    max_det: int,
) -> Flat:
    """Validate the frames and build the sorted arrays (see module docstring).

    Example:
        >>> gt = pd.DataFrame(dict(gt_id=[1], image_id=[1], category_id=[1], x=[0.], y=[0.], w=[2.],
        ...                        h=[2.], area=[4.], iscrowd=[0]))
        >>> dt = pd.DataFrame(dict(dt_id=[1], image_id=[1], category_id=[1], x=[0.], y=[0.], w=[2.],
        ...                        h=[2.], score=[.9]))
        >>> flatten(gt, dt, "bbox", None, None, True, 100).d_area.tolist()
        [4.0]
    """
    _check_columns(gt, _GT_REQUIRED, "gt")
    _check_columns(dt, _DT_REQUIRED, "dt")
    if iou_type == "keypoints":
        _check_columns(gt, ("keypoints", "num_keypoints"), "gt")
        _check_columns(dt, ("keypoints",), "dt")
    if iou_type == "segm":
        _check_columns(gt, ("segmentation",), "gt")
        _check_columns(dt, ("segmentation",), "dt")
    if images is None:
        img_arr = _sorted_unique(
            pd.concat([c for c in (gt["image_id"], dt["image_id"]) if len(c)] or [gt["image_id"]]),
            "images",
        )
    else:
        img_arr = _sorted_unique(images, "images")
    if categories is None:
        cat_arr = _sorted_unique(gt["category_id"], "categories")
    else:
        cat_arr = (
            _sorted_unique(categories, "categories")
            if use_cats
            else np.array(pd.unique(pd.Series(list(categories), dtype=object)), dtype=object)
        )
    img_index = pd.Index(img_arr)
    cat_index = pd.Index(cat_arr)
    n_cat = len(cat_arr)

    g_img_all = img_index.get_indexer(gt["image_id"].to_numpy())
    g_cat_all = cat_index.get_indexer(gt["category_id"].to_numpy())
    g_keep = np.flatnonzero((g_img_all >= 0) & (g_cat_all >= 0))
    d_img_all = img_index.get_indexer(dt["image_id"].to_numpy())
    d_cat_all = cat_index.get_indexer(dt["category_id"].to_numpy())
    d_keep = np.flatnonzero((d_img_all >= 0) & (d_cat_all >= 0))

    g_img = g_img_all[g_keep].astype(np.int64)
    g_cat = g_cat_all[g_keep].astype(np.int64)
    d_img = d_img_all[d_keep].astype(np.int64)
    d_cat = d_cat_all[d_keep].astype(np.int64)
    if use_cats:
        g_group = g_img * n_cat + g_cat
        d_group = d_img * n_cat + d_cat
    else:
        g_group = g_img
        d_group = d_img
    g_order = np.lexsort((g_keep, g_cat, g_group))
    d_score_all = _float_col(dt, "score", "dt")[d_keep]
    d_order = np.lexsort((d_keep, d_cat, -d_score_all, d_group))

    g_rows = g_keep[g_order]
    d_rows = d_keep[d_order]
    d_group = d_group[d_order]
    # rank of each detection inside its group, then pycocotools' cut to maxDets[-1]
    starts = np.searchsorted(d_group, d_group, side="left")
    d_rank = np.arange(len(d_group)) - starts
    cut = d_rank < max_det
    d_rows, d_group, d_rank = d_rows[cut], d_group[cut], d_rank[cut]
    d_img = d_img[d_order][cut]
    d_cat = d_cat[d_order][cut]

    g_box = np.stack([_float_col(gt, c, "gt")[g_rows] for c in ("x", "y", "w", "h")], axis=1)
    d_box = np.stack([_float_col(dt, c, "dt")[d_rows] for c in ("x", "y", "w", "h")], axis=1)
    g_crowd = gt["iscrowd"].to_numpy()[g_rows].astype(bool)
    g_ignore = g_crowd.copy()
    if "ignore" in gt.columns:
        g_ignore |= gt["ignore"].fillna(False).to_numpy()[g_rows].astype(bool)
    if iou_type == "keypoints":
        g_ignore |= gt["num_keypoints"].to_numpy()[g_rows] == 0
    d_area = _float_col(dt, "area", "dt")[d_rows] if "area" in dt.columns else np.full(len(d_rows), np.nan)
    if iou_type == "bbox":
        default_area = d_box[:, 2] * d_box[:, 3]
        d_area = np.where(np.isnan(d_area), default_area, d_area)
    g_id = gt["gt_id"].to_numpy()[g_rows]
    d_id = dt["dt_id"].to_numpy()[d_rows]
    return Flat(
        images=img_arr,
        categories=cat_arr,
        g_row=g_rows,
        g_img=g_img[g_order],
        g_k=g_cat[g_order] if use_cats else np.zeros(len(g_rows), np.int64),
        g_cat=g_cat[g_order],
        g_group=g_group[g_order],
        g_id=g_id,
        g_box=g_box,
        g_area=_float_col(gt, "area", "gt")[g_rows],
        g_crowd=g_crowd,
        g_ignore=g_ignore,
        d_row=d_rows,
        d_img=d_img,
        d_k=d_cat if use_cats else np.zeros(len(d_rows), np.int64),
        d_cat=d_cat,
        d_group=d_group,
        d_rank=d_rank,
        d_id=d_id,
        d_box=d_box,
        d_area=d_area,
        d_score=_float_col(dt, "score", "dt")[d_rows],
    )


def area_ranges_of(
    area_ranges: Mapping[str, Sequence[float]] | Sequence[Sequence[float]] | None, iou_type: str
) -> tuple[list[str], np.ndarray]:
    """Labels and ``(A, 2)`` bounds; COCO's defaults when ``None``.

    Example:
        >>> area_ranges_of(None, "keypoints")[0]
        ['all', 'medium', 'large']
    """
    if area_ranges is None:
        if iou_type == "keypoints":
            return ["all", "medium", "large"], np.array(
                [[0**2, 1e5**2], [32**2, 96**2], [96**2, 1e5**2]], dtype=np.float64
            )
        return ["all", "small", "medium", "large"], np.array(
            [[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]], dtype=np.float64
        )
    if isinstance(area_ranges, Mapping):
        labels = [str(k) for k in area_ranges]
        values = list(area_ranges.values())
    else:
        values = list(area_ranges)
        defaults = area_ranges_of(None, iou_type)[0]
        labels = defaults if len(values) == len(defaults) else [f"range{i}" for i in range(len(values))]
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) == 0:
        raise ValidationError(
            f"area_ranges must be (lo, hi) pairs, e.g. {{'all': (0, 1e10)}}; got {area_ranges!r}"
        )
    return labels, arr
