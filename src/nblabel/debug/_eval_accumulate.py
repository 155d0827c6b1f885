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
    n_area, n_thr, _n_dt = match.shape
    n_rec = len(rec_thrs)
    n_m = len(max_dets)
    precision = -np.ones((n_thr, n_rec, n_cat, n_area, n_m))
    recall = -np.ones((n_thr, n_cat, n_area, n_m))
    scores = -np.ones((n_thr, n_rec, n_cat, n_area, n_m))
    order_all = np.lexsort((dt_rank, dt_img, -dt_score, dt_k))
    orders = [order_all[dt_rank[order_all] < md] for md in max_dets]
    t_idx = np.arange(n_thr)
    for a in range(n_area):
        npig = np.bincount(gt_k[~gt_ignore[a]], minlength=n_cat)
        present = npig > 0
        if not present.any():
            continue
        m_a = match[a]
        matched = m_a >= 0
        g_safe = np.maximum(m_a, 0)
        dtm = matched & (gt_id[g_safe] != 0)
        dt_ig = (matched & gt_ignore[a][g_safe]) | (~dtm & dt_area_out[a][None, :])
        tp_all = dtm & ~dt_ig
        fp_all = ~dtm & ~dt_ig
        c_need = _min_counts(rec_thrs, npig)  # (K, R)
        npig_f = np.maximum(npig, 1)
        for mi, order in enumerate(orders):
            n = len(order)
            ks = dt_k[order]
            cstart = np.searchsorted(ks, np.arange(n_cat), side="left")
            cend = np.searchsorted(ks, np.arange(n_cat), side="right")
            nd = cend - cstart  # (K,)
            tps = tp_all[:, order]
            fps = fp_all[:, order]
            tp_c = np.cumsum(tps, axis=1)
            fp_c = np.cumsum(fps, axis=1)
            if n:
                # restart the cumulative sums at each category boundary
                tp_base = np.concatenate((np.zeros((n_thr, 1), np.int64), tp_c), axis=1)[:, cstart]
                fp_base = np.concatenate((np.zeros((n_thr, 1), np.int64), fp_c), axis=1)[:, cstart]
                tp_c = tp_c - tp_base[:, ks]
                fp_c = fp_c - fp_base[:, ks]
            tp_f = tp_c.astype(np.float64)
            fp_f = fp_c.astype(np.float64)
            rc = tp_f / npig_f[ks][None, :]
            pr = tp_f / (fp_f + tp_f + np.spacing(1))
            # recall = rc[-1] of each (t, k) segment, 0 when the segment is empty
            last = np.maximum(cend - 1, 0)
            rec_tk = np.where(nd[None, :] > 0, rc[:, last] if n else 0.0, 0.0)
            recall[:, :, a, mi] = np.where(present[None, :], rec_tk, -1.0)
            # integer search keys: segment id (t, k) then tp count
            big = n + 2
            seg_col = (t_idx[:, None] * n_cat + ks[None, :]).astype(np.int64)
            keys = (seg_col * big + tp_c).ravel()
            q_seg = (t_idx[:, None] * n_cat + np.arange(n_cat)[None, :]).astype(np.int64)  # (T, K)
            q_keys = q_seg[:, :, None] * big + c_need[None, :, :]  # (T, K, R)
            pos = np.searchsorted(keys, q_keys.ravel(), side="left").reshape(n_thr, n_cat, n_rec)
            seg_end = (t_idx[:, None] * n + cend[None, :])[:, :, None]  # flat index of segment end
            valid = pos < seg_end
            idx = np.where(valid, pos, seg_end)
            idx = np.concatenate((idx, seg_end), axis=2).ravel()
            pr_pad = np.concatenate((pr.ravel(), [0.0]))
            blocks = np.maximum.reduceat(pr_pad, idx).reshape(n_thr, n_cat, n_rec + 1)[:, :, :n_rec]
            blocks = np.where(valid, blocks, 0.0)
            q = np.maximum.accumulate(blocks[:, :, ::-1], axis=2)[:, :, ::-1]
            q = np.where(valid, q, 0.0)
            col = pos - (t_idx * n)[:, None, None]
            sc_sorted = np.concatenate((dt_score[order], [0.0]))
            ss = np.where(valid, sc_sorted[np.where(valid, col, n)], 0.0)
            q = np.where(present[None, :, None], q, -1.0)
            ss = np.where(present[None, :, None], ss, -1.0)
            precision[:, :, :, a, mi] = q.transpose(0, 2, 1)
            scores[:, :, :, a, mi] = ss.transpose(0, 2, 1)
    return precision, recall, scores
