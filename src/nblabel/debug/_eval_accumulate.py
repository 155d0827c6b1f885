"""Precision / recall accumulation for the COCO evaluation engine (see :mod:`nblabel.debug._cocoeval`).

Reproduces pycocotools' ``COCOeval.accumulate`` without a Python loop over categories:

* detections of all categories are put in one order: category, score descending (stable), image
  position, rank in the image -- the order pycocotools' per-category ``mergesort`` produces;
* true/false positive counts are cumulated per (IoU threshold, category) segment;
* pycocotools' ``np.searchsorted(rc, recThrs, side='left')`` is answered with integer keys: since
  ``rc = tp / npig`` is monotone in ``tp``, ``rc >= r`` iff ``tp >= c(r)`` with ``c(r)`` the smallest
  integer whose float quotient reaches ``r``;
* the "precision made monotone from the right" value at each recall position is the maximum of the
  precision from that position to the end of the segment: computed from per-block maxima
  (``np.maximum.reduceat`` between consecutive query positions) followed by a right-to-left running
  maximum over the at most 101 blocks of each segment.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accumulate"]


def _min_counts(rec_thrs: np.ndarray, npig: np.ndarray) -> np.ndarray:
    """``c[k, r]``: the smallest integer ``c`` with ``c / npig[k] >= rec_thrs[r]`` (float division)."""
    n = np.maximum(npig, 1).astype(np.float64)[:, None]
    thr = rec_thrs[None, :]
    c = np.ceil(thr * n)
    for _ in range(2):
        c = np.where((c - 1 >= 0) & ((c - 1) / n >= thr), c - 1, c)
        c = np.where(c / n < thr, c + 1, c)
    return np.maximum(c, 0).astype(np.int64)


def accumulate(
    match: np.ndarray,
    gt_ignore: np.ndarray,
    gt_id: np.ndarray,
    gt_k: np.ndarray,
    dt_area_out: np.ndarray,
    dt_k: np.ndarray,
    dt_img: np.ndarray,
    dt_rank: np.ndarray,
    dt_score: np.ndarray,
    n_cat: int,
    max_dets: list[int],
    rec_thrs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision ``[T,R,K,A,M]``, recall ``[T,K,A,M]`` and scores ``[T,R,K,A,M]`` like pycocotools.

    ``match`` is the ``(A, T, n_dt)`` matched-gt index from :func:`greedy_match` (``-1``: none),
    ``gt_ignore`` ``(A, n_gt)``, ``dt_area_out`` ``(A, n_dt)`` (detection area outside the range).

    Example:
        >>> p, r, s = accumulate(np.array([[[0]]]), np.array([[False]]), np.array([1]), np.array([0]),
        ...                      np.array([[False]]), np.array([0]), np.array([0]), np.array([0]),
        ...                      np.array([.9]), 1, [100], np.linspace(0, 1, 3))
        >>> p[0, :, 0, 0, 0].round(6).tolist(), r.ravel().tolist()
        ([1.0, 1.0, 1.0], [1.0])
    """
    n_area, n_thr, _ = match.shape
    n_rec = len(rec_thrs)
    n_m = len(max_dets)
    # filled as [A, M, T, K, R] (contiguous writes), returned as pycocotools' [T, R, K, A, M]
    precision = -np.ones((n_area, n_m, n_thr, n_cat, n_rec))
    recall = -np.ones((n_area, n_m, n_thr, n_cat))
    scores = -np.ones((n_area, n_m, n_thr, n_cat, n_rec))
    order_all = np.lexsort((dt_rank, dt_img, -dt_score, dt_k))
    rank_all = dt_rank[order_all]
    cats = np.arange(n_cat)
    per_m = []
    for md in max_dets:
        cols = np.flatnonzero(rank_all < md)
        order = order_all[cols]
        ks = dt_k[order]
        cstart = np.searchsorted(ks, cats, side="left")
        cend = np.searchsorted(ks, cats, side="right")
        per_m.append((cols, len(cols) == len(order_all), order, cstart, cend))
    for a in range(n_area):
        npig = np.bincount(gt_k[~gt_ignore[a]], minlength=n_cat)
        present = npig > 0
        if not present.any():
            continue
        m_a = match[a]
        matched = m_a >= 0
        g_safe = np.maximum(m_a, 0)
        dtm = matched & (gt_id[g_safe] != 0) if len(gt_id) else matched
        g_ig = gt_ignore[a][g_safe] if len(gt_id) else matched
        dt_ig = (matched & g_ig) | (~dtm & dt_area_out[a][None, :])
        tp_o = (dtm & ~dt_ig)[:, order_all]
        nonig_o = (~dt_ig)[:, order_all]
        c_need = _min_counts(rec_thrs, npig)  # (K, R)
        keep = present[None, :]
        for mi, (cols, full, order, cstart, cend) in enumerate(per_m):
            tp_m = tp_o if full else tp_o[:, cols]
            nonig_m = nonig_o if full else nonig_o[:, cols]
            q, ss, rec = _precision_at_recall(tp_m, nonig_m, dt_score[order], cstart, cend, npig, c_need)
            recall[a, mi] = np.where(keep, rec, -1.0)
            precision[a, mi] = np.where(keep[:, :, None], q, -1.0)
            scores[a, mi] = np.where(keep[:, :, None], ss, -1.0)
    return (
        np.ascontiguousarray(precision.transpose(2, 4, 3, 0, 1)),
        np.ascontiguousarray(recall.transpose(2, 3, 0, 1)),
        np.ascontiguousarray(scores.transpose(2, 4, 3, 0, 1)),
    )


def _precision_at_recall(
    tp: np.ndarray,
    nonig: np.ndarray,
    score: np.ndarray,
    cstart: np.ndarray,
    cend: np.ndarray,
    npig: np.ndarray,
    c_need: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision / score at every recall threshold and final recall, per (threshold, category).

    ``tp`` / ``nonig`` are ``(T, n)`` flags of the detections in accumulation order (categories in
    contiguous column blocks ``cstart:cend``). Only true positives matter: between two of them the
    precision can only fall, and ignored detections repeat the previous value, so the right-to-left
    maximum from the first position reaching a recall equals the maximum over the true positives
    from there on. Each true positive's precision is ``c / ((fp + c) + eps)`` with ``c`` its rank
    and ``fp`` the non-ignored detections before it that are not true positives.
    """
    n_thr, n = tp.shape
    n_cat = len(cstart)
    n_rec = c_need.shape[1]
    n_seg = n_thr * n_cat
    nd = cend - cstart
    t_off = (np.arange(n_thr) * n)[:, None]
    seg_start = (t_off + cstart[None, :]).ravel()  # flat start of each (t, k) segment
    seg_end = (t_off + cend[None, :]).ravel()
    sub_pos = np.flatnonzero(nonig.ravel())  # non-ignored detections, flat positions
    tp_sub = np.flatnonzero(tp.ravel()[sub_pos])  # true positives, as index into sub_pos
    tp_pos = sub_pos[tp_sub]
    sub_base = np.searchsorted(sub_pos, seg_start)
    tp_base = np.searchsorted(tp_pos, seg_start)
    tp_end = np.searchsorted(tp_pos, seg_end)
    n_tp = tp_end - tp_base
    seg_of_tp = np.repeat(np.arange(n_seg), n_tp)
    c = (np.arange(len(tp_pos)) - tp_base[seg_of_tp] + 1).astype(np.float64)
    j = (tp_sub - sub_base[seg_of_tp]).astype(np.float64)
    fp = (j + 1) - c
    pr = c / (fp + c + np.spacing(1))

    n_tp_tk = n_tp.reshape(n_thr, n_cat).astype(np.float64)
    recall = np.where(nd[None, :] > 0, n_tp_tk / np.maximum(npig, 1)[None, :], 0.0)

    cq = np.broadcast_to(c_need[None, :, :], (n_thr, n_cat, n_rec)).reshape(n_seg, n_rec)
    nt = n_tp[:, None]
    nd_seg = np.broadcast_to(nd[None, :], (n_thr, n_cat)).reshape(n_seg, 1)
    valid = ((cq >= 1) & (cq <= nt)) | ((cq == 0) & (nd_seg > 0))
    use_tp = valid & (nt > 0)
    q_idx = tp_base[:, None] + np.maximum(cq, 1) - 1
    end = tp_end[:, None]
    idx = np.concatenate((np.where(use_tp, q_idx, end), end), axis=1).ravel()
    pr_pad = np.concatenate((pr, [0.0]))
    blocks = np.maximum.reduceat(pr_pad, idx).reshape(n_seg, n_rec + 1)[:, :n_rec]
    blocks = np.where(use_tp, blocks, 0.0)
    q = np.maximum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1]
    q = np.where(use_tp, q, 0.0)

    score_pad = np.concatenate((score, [0.0]))
    tp_pos_pad = np.concatenate((tp_pos, [0]))
    t_of_seg = np.repeat(np.arange(n_thr), n_cat)[:, None]
    col_tp = tp_pos_pad[np.where(use_tp & (cq >= 1), q_idx, len(tp_pos))] - t_of_seg * n
    first_col = np.broadcast_to(cstart[None, :], (n_thr, n_cat)).reshape(n_seg, 1)
    col = np.where(cq >= 1, col_tp, first_col)
    ss = np.where(valid, score_pad[np.where(valid, col, n)], 0.0)
    return q.reshape(n_thr, n_cat, n_rec), ss.reshape(n_thr, n_cat, n_rec), recall
