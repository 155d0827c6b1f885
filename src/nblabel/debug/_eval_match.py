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


def _first_eligible(
    reg: np.ndarray, ign: np.ndarray, seg_starts: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Per detection segment and column, the first row where ``reg`` holds, else the first ``ign`` row.

    ``reg`` / ``ign`` are ``(n + 1, C)`` with an all-False padding row ``n``; rows of a segment are in
    preference order. Segments are handled densely, bucketed by power-of-two length so padding never
    more than doubles the work. Returns ``(n_segments, C)`` rows, ``-1`` where nothing is eligible.
    """
    n_pad = reg.shape[0] - 1
    n_seg = len(seg_starts)
    out = np.full((n_seg, reg.shape[1]), -1, dtype=np.int64)
    width = np.ones(n_seg, dtype=np.int64)
    big = counts > 1
    if big.any():
        width[big] = 1 << np.ceil(np.log2(counts[big])).astype(np.int64)
    for w in np.unique(width).tolist():
        sel = np.flatnonzero(width == w)
        if w == 1:
            rows = seg_starts[sel]
            ok_r, ok_i = reg[rows], ign[rows]
            out[sel] = np.where(ok_r | ok_i, rows[:, None], -1)
            continue
        k = np.arange(w)
        idx = np.where(k[None, :] < counts[sel][:, None], seg_starts[sel][:, None] + k[None, :], n_pad)
        pick = np.full((len(sel), reg.shape[1]), -1, dtype=np.int64)
        sel_rows = np.arange(len(sel))[:, None]
        for flags in (ign, reg):  # regular matches override ignored ones
            dense = flags[idx]  # (n_sel, w, C)
            first = dense.argmax(axis=1)
            ok = np.take_along_axis(dense, first[:, None, :], axis=1)[:, 0, :]
            pick = np.where(ok, idx[sel_rows, first], pick)
        out[sel] = pick
    return out


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
    n_at = n_area * n_thr
    n_dt = len(dt_rank)
    match = np.full((n_dt, n_at), -1, dtype=np.int64)  # columns: (area, threshold)
    out_shape = (n_area, n_thr, n_dt)
    if len(sim) == 0:
        return np.ascontiguousarray(match.T).reshape(out_shape)
    # Pairs under the lowest threshold can never match: drop them once.
    keep = sim >= thr.min()
    p_dt, p_gt, p_sim = pairs.dt[keep], pairs.gt[keep], sim[keep]
    if len(p_dt) == 0:
        return np.ascontiguousarray(match.T).reshape(out_shape)
    # Order the surviving pairs by (detection rank, detection, gt): every rank is one slice.
    p_rank = dt_rank[p_dt]
    order = np.lexsort((p_gt, p_dt, p_rank))
    p_dt, p_gt, p_sim, p_rank = p_dt[order], p_gt[order], p_sim[order], p_rank[order]
    rank_bounds = np.flatnonzero(np.diff(p_rank)) + 1
    rank_starts = np.concatenate(([0], rank_bounds))
    rank_ends = np.concatenate((rank_bounds, [len(p_rank)]))
    # row per gt, column per (area, threshold): gathers of whole rows are cheap
    taken = np.zeros((len(gt_crowd), n_at), dtype=bool)
    ignore_at = np.repeat(gt_ignore.T, n_thr, axis=1)  # (n_gt, A*T)
    thr_at = np.tile(thr, n_area)[None, :]
    claims = dt_id > 0
    for r, (s, e) in enumerate(zip(rank_starts.tolist(), rank_ends.tolist(), strict=True)):
        r_dt = p_dt[s:e]
        new_dt = np.empty(len(r_dt), dtype=bool)
        new_dt[0] = True
        np.not_equal(r_dt[1:], r_dt[:-1], out=new_dt[1:])
        seg_starts = np.flatnonzero(new_dt)
        counts = np.diff(np.append(seg_starts, len(r_dt)))
        # preference inside each detection: highest IoU first, ties to the later gt (pycocotools
        # replaces its candidate on equal IoU)
        pref = np.lexsort((-p_gt[s:e], -p_sim[s:e], np.cumsum(new_dt)))
        r_gt = p_gt[s:e][pref]
        r_sim = p_sim[s:e][pref][:, None]
        dts = r_dt[seg_starts]
        elig = r_sim >= thr_at  # (n, A*T)
        if r:  # the first rank finds every gt free
            elig &= ~taken[r_gt] | gt_crowd[r_gt][:, None]
        ig = ignore_at[r_gt]
        pad = np.zeros((1, n_at), dtype=bool)
        reg = np.concatenate((elig & ~ig, pad))
        ign = np.concatenate((elig & ig, pad))
        best = _first_eligible(reg, ign, seg_starts, counts)
        hit = best >= 0
        g_hit = np.where(hit, r_gt[np.maximum(best, 0)], -1)
        match[dts] = g_hit
        d_i, c_i = np.nonzero(hit & claims[dts][:, None])
        taken[g_hit[d_i, c_i], c_i] = True
    return np.ascontiguousarray(match.T).reshape(out_shape)
