"""Greedy one-to-one matching of detections to ground truth, COCO's rules (the one matcher of nblabel).

Ground truth and detections arrive as flat numpy arrays sorted by group (an (image, category)
pair, or any grouping). :func:`build_pairs` lists every (detection, ground truth) candidate of the
same group with ``np.repeat``; the caller computes one similarity per pair (box IoU from
:mod:`nblabel.geometry._boxes`, mask IoU, keypoint OKS); :func:`greedy_match` then matches
greedily, looping over the detection *rank* inside its group (at most ``maxDets`` iterations),
each iteration matching the rank-``r`` detection of every group, at every IoU threshold and every
ignore set (COCO area range) at once.

The rules are pycocotools': ground truths are walked in "not ignored first" order and the candidate
with the highest IoU that is ``>=`` the threshold is kept (a later candidate with an equal IoU
replaces an earlier one), stopping at the first ignored ground truth once a regular one matched.
That is the candidate with the lexicographically largest ``(not ignored, iou, original position)``,
which :func:`greedy_match` computes with two segmented maxima. A crowd ground truth can absorb any
number of detections. The evaluation engine (:mod:`nblabel.debug._cocoeval`) and the gallery's
tp/fp/fn overlays both match through it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Pairs", "build_pairs", "greedy_match"]


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
