"""Per-image matching for the COCO evaluation engine (see :mod:`nblabel.debug._cocoeval`).

The ground truth and detections arrive as flat, sorted numpy arrays (one row per object). All
(image, category) groups are processed together:

* candidate pairs (detection x ground truth of the same group) are built with ``np.repeat``;
* similarities (box IoU, mask IoU or keypoint OKS) are computed for all pairs in one vectorised pass,
  with the same floating point operations, in the same order, as pycocotools' C / numpy code;
* the greedy matching loops over the detection *rank* inside its group (at most ``maxDets[-1]``
  iterations), each iteration matching the rank-``r`` detection of every group, at every IoU threshold
  and every area range at once.

Pycocotools walks the ground truths of a group in "not ignored first" order and keeps the candidate
with the highest IoU that is ``>=`` the threshold (a later candidate with an equal IoU replaces an
earlier one) and stops at the first ignored ground truth once a regular one matched. That is the same
as taking the candidate with the lexicographically largest ``(not ignored, iou, original position)``,
which is what :func:`greedy_match` computes with two segmented maxima.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Pairs", "box_iou_pairs", "build_pairs", "greedy_match", "oks_pairs"]


@dataclass
class Pairs:
    """Candidate (detection, ground truth) pairs of the same group, ordered by detection then gt.

    Example:
        >>> p = build_pairs(np.array([0, 0]), np.array([0]))
        >>> p.dt.tolist(), p.gt.tolist()
        ([0, 0], [0, 1])
    """

    dt: np.ndarray  # detection index of each pair
    gt: np.ndarray  # ground-truth index of each pair
    dt_start: np.ndarray  # first pair of each detection (len n_dt)
    dt_count: np.ndarray  # number of pairs of each detection (len n_dt)


def build_pairs(gt_group: np.ndarray, dt_group: np.ndarray) -> Pairs:
    """All (dt, gt) pairs sharing a group id; both inputs sorted by group.

    Example:
        >>> p = build_pairs(np.array([0, 0, 1]), np.array([0, 1, 2]))
        >>> list(zip(p.dt.tolist(), p.gt.tolist()))
        [(0, 0), (0, 1), (1, 2)]
    """
    g_lo = np.searchsorted(gt_group, dt_group, side="left")
    g_hi = np.searchsorted(gt_group, dt_group, side="right")
    count = (g_hi - g_lo).astype(np.int64)
    n_pairs = int(count.sum())
    start = np.zeros(len(dt_group), dtype=np.int64)
    if len(dt_group):
        np.cumsum(count[:-1], out=start[1:])
    dt = np.repeat(np.arange(len(dt_group), dtype=np.int64), count)
    gt = np.arange(n_pairs, dtype=np.int64) - np.repeat(start - g_lo, count)
    return Pairs(dt=dt, gt=gt, dt_start=start, dt_count=count)


def box_iou_pairs(dt_box: np.ndarray, gt_box: np.ndarray, gt_crowd: np.ndarray, pairs: Pairs) -> np.ndarray:
    """Box IoU of every pair, bit-identical to pycocotools' ``bbIou`` (crowd: intersection / dt area).

    Example:
        >>> p = build_pairs(np.array([0]), np.array([0]))
        >>> box_iou_pairs(np.array([[0., 0, 2, 2]]), np.array([[1., 0, 2, 2]]), np.array([False]), p)
        array([0.33333333])
    """
    d = dt_box[pairs.dt]
    g = gt_box[pairs.gt]
    dx, dy, dw, dh = d[:, 0], d[:, 1], d[:, 2], d[:, 3]
    gx, gy, gw, gh = g[:, 0], g[:, 1], g[:, 2], g[:, 3]
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    inter = w * h
    da = dw * dh
    ga = gw * gh
    union = np.where(gt_crowd[pairs.gt], da, (da + ga) - inter)
    ok = (w > 0) & (h > 0)
    out = np.zeros(len(d), dtype=np.float64)
    np.divide(inter, union, out=out, where=ok)
    return out


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
    used = np.where(has_vis, visible, True)
    ex = np.where(used, np.exp(-e), 0.0)
    n_used = np.where(k1 > 0, k1, len(sigmas))
    return ex.sum(axis=1) / n_used


def _last_argmax(
    values: np.ndarray, seg_of_pair: np.ndarray, starts: np.ndarray, pair_pos: np.ndarray
) -> np.ndarray:
    """Per segment (last axis), the position of the last maximum of ``values`` (>= 0), or -1."""
    best = np.maximum.reduceat(values, starts, axis=-1)
    hit = (values == best[..., seg_of_pair]) & (values >= 0)
    cand = np.where(hit, pair_pos, -1)
    return np.maximum.reduceat(cand, starts, axis=-1)


def greedy_match(
    sim: np.ndarray,
    pairs: Pairs,
    dt_rank: np.ndarray,
    dt_id: np.ndarray,
    gt_crowd: np.ndarray,
    gt_ignore: np.ndarray,
    iou_thresholds: np.ndarray,
) -> np.ndarray:
    """COCO greedy matching at every area range (rows of ``gt_ignore``) and IoU threshold.

    ``gt_ignore`` is ``(A, n_gt)`` (crowd, ignore flag or outside the area range). Returns the matched
    ground-truth index, ``(A, T, n_dt)``, ``-1`` where the detection is unmatched. Detections are
    processed rank by rank so earlier (higher scoring) detections claim ground truths first; a
    ground truth stays claimable when it is a crowd region or when the claiming detection's id is
    not positive (pycocotools stores the dt id as the "matched" flag, so id 0 never claims).

    Example:
        >>> p = build_pairs(np.array([0]), np.array([0, 0]))
        >>> m = greedy_match(np.array([.9, .8]), p, np.array([0, 1]), np.array([1, 2]),
        ...                  np.array([False]), np.array([[False]]), np.array([.5]))
        >>> m.tolist()
        [[[0, -1]]]
    """
    n_area = gt_ignore.shape[0]
    thr = np.minimum(iou_thresholds, 1 - 1e-10)
    n_thr = len(thr)
    n_dt = len(dt_rank)
    match = np.full((n_area, n_thr, n_dt), -1, dtype=np.int64)
    if len(sim) == 0:
        return match
    # Pairs under the lowest threshold can never match: drop them once.
    keep = sim >= thr.min()
    p_dt, p_gt, p_sim = pairs.dt[keep], pairs.gt[keep], sim[keep]
    if len(p_dt) == 0:
        return match
    # Order the surviving pairs by (detection rank, detection, gt): every rank is one slice.
    p_rank = dt_rank[p_dt]
    order = np.lexsort((p_gt, p_dt, p_rank))
    p_dt, p_gt, p_sim, p_rank = p_dt[order], p_gt[order], p_sim[order], p_rank[order]
    rank_bounds = np.flatnonzero(np.diff(p_rank)) + 1
    rank_starts = np.concatenate(([0], rank_bounds))
    rank_ends = np.concatenate((rank_bounds, [len(p_rank)]))
    taken = np.zeros((n_area, n_thr, len(gt_crowd)), dtype=bool)
    for s, e in zip(rank_starts.tolist(), rank_ends.tolist(), strict=False):
        r_dt = p_dt[s:e]
        r_gt = p_gt[s:e]
        r_sim = p_sim[s:e]
        new_dt = np.empty(len(r_dt), dtype=bool)
        new_dt[0] = True
        np.not_equal(r_dt[1:], r_dt[:-1], out=new_dt[1:])
        seg_starts = np.flatnonzero(new_dt)
        seg_of_pair = np.cumsum(new_dt) - 1
        dts = r_dt[seg_starts]
        pos = np.arange(len(r_dt))
        free = ~taken[:, :, r_gt] | gt_crowd[r_gt]  # (A, T, n)
        elig = free & (r_sim[None, :] >= thr[:, None])[None]
        ig = gt_ignore[:, r_gt][:, None, :]  # (A, 1, n)
        v_reg = np.where(elig & ~ig, r_sim, -1.0)
        best = _last_argmax(v_reg, seg_of_pair, seg_starts, pos)
        if ig.any():
            v_ign = np.where(elig & ig, r_sim, -1.0)
            best_ign = _last_argmax(v_ign, seg_of_pair, seg_starts, pos)
            best = np.where(best >= 0, best, best_ign)
        hit = best >= 0
        g_hit = np.where(hit, r_gt[np.maximum(best, 0)], -1)
        match[:, :, dts] = g_hit
        claim = hit & (dt_id[dts] > 0)[None, None, :]
        a_i, t_i, d_i = np.nonzero(claim)
        taken[a_i, t_i, g_hit[a_i, t_i, d_i]] = True
    return match
