"""Keypoint similarity (OKS) of candidate pairs for the COCO evaluation engine (see :mod:`nblabel.debug._cocoeval`).

The candidate pairs and the greedy matcher are :mod:`nblabel.geometry._match`; box IoU is
:func:`nblabel.geometry.box_iou_coco_pairs`; mask IoU is :mod:`nblabel.debug._eval_segm`. This
module computes the object keypoint similarity of every pair with the same floating point
operations, in the same order, as pycocotools' ``computeOks``.
"""

from __future__ import annotations

import numpy as np

from ..geometry._match import Pairs

__all__ = ["oks_pairs"]


def oks_pairs(
    dt_kp: np.ndarray,
    gt_kp: np.ndarray,
    gt_box: np.ndarray,
    gt_area: np.ndarray,
    sigmas: np.ndarray,
    pairs: Pairs,
) -> np.ndarray:
    """Object keypoint similarity of every pair, as pycocotools' ``computeOks``.

    ``dt_kp``/``gt_kp`` are ``(n, K, 3)`` arrays. Ground truths without a visible keypoint measure
    the distance to the box doubled around the gt box, as pycocotools does.

    Example:
        >>> from nblabel.geometry._match import build_pairs
        >>> p = build_pairs(np.array([0]), np.array([0]))
        >>> kp = np.array([[[10., 10., 2.]]])
        >>> oks_pairs(kp, kp, np.array([[0., 0, 20, 20]]), np.array([400.]), np.array([.1]), p)
        array([1.])
    """
    variances = (sigmas * 2) ** 2
    d = dt_kp[pairs.dt]
    g = gt_kp[pairs.gt]
    bb = gt_box[pairs.gt]
    xd, yd = d[:, :, 0], d[:, :, 1]
    xg, yg, vg = g[:, :, 0], g[:, :, 1], g[:, :, 2]
    visible = vg > 0
    k1 = np.count_nonzero(visible, axis=1)
    x0 = (bb[:, 0] - bb[:, 2])[:, None]
    x1 = (bb[:, 0] + bb[:, 2] * 2)[:, None]
    y0 = (bb[:, 1] - bb[:, 3])[:, None]
    y1 = (bb[:, 1] + bb[:, 3] * 2)[:, None]
    has_vis = (k1 > 0)[:, None]
    zero = np.zeros_like(xd)
    dx = np.where(has_vis, xd - xg, np.maximum(zero, x0 - xd) + np.maximum(zero, xd - x1))
    dy = np.where(has_vis, yd - yg, np.maximum(zero, y0 - yd) + np.maximum(zero, yd - y1))
    e = (dx**2 + dy**2) / variances / (gt_area[pairs.gt] + np.spacing(1))[:, None] / 2
    ex = np.exp(-e)
    used = np.where(has_vis, visible, True)
    n_used = np.where(k1 > 0, k1, len(sigmas))
    # pycocotools sums the compressed array of used keypoints; numpy's (pairwise) sum depends on the
    # length, so sum rows of equal length together for bit-identical results
    total = np.zeros(len(ex))
    for n_k in np.unique(n_used).tolist():
        rows = np.flatnonzero(n_used == n_k)
        total[rows] = ex[rows][used[rows]].reshape(len(rows), n_k).sum(axis=1)
    return total / n_used
