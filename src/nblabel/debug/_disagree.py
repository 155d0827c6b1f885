"""Where ground truth and a model run disagree, ranked worst first (a label-error detector).

Every (prediction, ground truth) pair of an image is scored by IoU in vectorised numpy over chunks
of whole images (no Python loop per image). Then each non-crowd ground truth and each prediction
gets at most one verdict:

* a ground truth with a same-label prediction at IoU >= ``iou`` is fine; else, looking only at
  predictions that are *not* explained by a same-label ground truth of their own (IoU >= ``iou``):
  ``class_mismatch`` if such a prediction of another label overlaps it at IoU >= ``iou`` (or, weaker,
  at IoU >= 0.1 when no same-label prediction overlaps at all); ``poor_localization`` if a
  same-label one overlaps at IoU in [0.1, ``iou``); ``missed`` when none overlaps at IoU >= 0.1;
* a prediction left unexplained (no same-label ground truth at IoU >= 0.1, not the partner of a
  row above, not inside a crowd region) is ``missing_gt``: the label is probably missing.

A row's score estimates the probability that it points at a real label error: the logistic
``1 / (1 + exp(-z))`` of its own evidence -- prediction score ``s``, IoU, ``L = ln(sqrt(area of
the ground truth box))`` (pixels) -- never of the other images in the batch, so the score of an
image does not change when the slice around it does:

* ``missing_gt``: ``z = -4.6 + 6.1 s``: only a confident box on empty ground is a likely missing label;
* ``missed``: ``z = -4.1 + 0.72 L``: a large object no prediction touches is suspicious, a small
  one is often just hard for the model;
* ``class_mismatch`` (strong and weak form): ``z = -3.8 + 4.0 s + 0.26 L``: it needs a more
  confident prediction than a missing label does, because models confuse classes often;
* ``poor_localization``: ``z = -1.7 + 4.6 s - 7.4 IoU + 0.62 L``: a confident same-class box next to
  the label is strong evidence that the label was drawn in the wrong place.

The coefficients are a logistic regression of "this row names a corrupted box" on the TUNING half of
``benchmarks/label_errors.py`` (its reporting half, other images and seeds, measures the result).
An image's score is the noisy-or ``1 - prod(1 - s_i)`` of its rows: the probability that the image
holds at least one error if the rows were independent. It is bounded in [0, 1], order-independent,
equal to ``s`` for a single row and never below the strongest row; several suspicious rows add up,
which ranks busy images with several errors above an image with one doubtful box -- on the
benchmark it beat a maximum (more errors per image are more likely where there are more boxes).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ValidationError
from ..geometry import box_iou_pairs
from ._reads import Boxes, load_boxes, load_media

if TYPE_CHECKING:
    from ..query import MediaSlice
    from ..store import Session

__all__ = ["KINDS", "disagreements", "find_disagreements", "image_scores"]

KINDS = ("missing_gt", "missed", "class_mismatch", "poor_localization")
_TOUCH = 0.1  # IoU below which two boxes "do not overlap"
_CHUNK_PAIRS = 2_000_000


# logistic coefficients per kind: (intercept, pred score, IoU, ln(sqrt(GT area))); see the module docstring
_COEF = {"missing_gt": (-4.6, 6.1, 0.0, 0.0), "missed": (-4.1, 0.0, 0.0, 0.72),
         "class_mismatch": (-3.8, 4.0, 0.0, 0.26), "poor_localization": (-1.7, 4.6, -7.4, 0.62)}


def _row_score(kind: str, pred_score: np.ndarray | float, iou: np.ndarray | float,
               gt_area: np.ndarray | float) -> np.ndarray:
    """The probability-like score of rows of ``kind`` (see the module docstring).

    Example:
        >>> round(float(_row_score("missing_gt", 0.9, 0.0, 0.0)), 4)
        0.7089
    """
    b0, b_s, b_iou, b_l = _COEF[kind]
    log_side = 0.5 * np.log(np.maximum(gt_area, 1.0))
    z = b0 + b_s * np.asarray(pred_score, float) + b_iou * np.asarray(iou, float) + b_l * log_side
    return 1.0 / (1.0 + np.exp(-z))


def _area(b: np.ndarray) -> np.ndarray:
    return np.maximum(b[:, 2] - b[:, 0], 0.0) * np.maximum(b[:, 3] - b[:, 1], 0.0)


def overlapping_pairs(gt: Boxes, pr: Boxes, media_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (pred index, gt index, similarity) of boxes that intersect, within each image.

    Similarity is IoU, or intersection / prediction area for a crowd ground truth (as COCO does).
    Built chunk by chunk over whole images, vectorised inside a chunk.

    Example:
        >>> b = lambda *r: Boxes(np.arange(len(r)), np.ones(len(r), int), np.ones(len(r), int),
        ...                      np.array(r, float), np.ones(len(r)), np.zeros(len(r), bool))
        >>> p, g, s = overlapping_pairs(b([0, 0, 10, 10]), b([5, 0, 15, 10], [50, 50, 60, 60]), np.array([1]))
        >>> p.tolist(), g.tolist(), round(float(s[0]), 4)
        ([0], [0], 0.3333)
    """
    g_start = np.searchsorted(gt.media, media_ids, "left")
    g_cnt = np.searchsorted(gt.media, media_ids, "right") - g_start
    p_start = np.searchsorted(pr.media, media_ids, "left")
    p_cnt = np.searchsorted(pr.media, media_ids, "right") - p_start
    n_pairs = g_cnt.astype(np.int64) * p_cnt
    keep = n_pairs > 0
    g_start, g_cnt, p_start, p_cnt, n_pairs = g_start[keep], g_cnt[keep], p_start[keep], p_cnt[keep], n_pairs[keep]
    out_p, out_g, out_s = [], [], []
    if not len(n_pairs):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    cum = np.cumsum(n_pairs)
    bounds = [0]
    while bounds[-1] < len(n_pairs):
        lo = bounds[-1]
        base = cum[lo - 1] if lo else 0
        hi = int(np.searchsorted(cum, base + _CHUNK_PAIRS, "right"))
        bounds.append(max(hi, lo + 1))
    for lo, hi in itertools.pairwise(bounds):
        pc, gc = p_cnt[lo:hi], g_cnt[lo:hi]
        # every prediction of these images (images without gt or predictions were dropped)
        per_img_p = np.repeat(np.arange(hi - lo), pc)
        preds = np.repeat(p_start[lo:hi], pc) + (np.arange(pc.sum()) - np.repeat(np.cumsum(pc) - pc, pc))
        gcp = gc[per_img_p]
        total = int(gcp.sum())
        pi = np.repeat(preds, gcp)
        off = np.arange(total) - np.repeat(np.cumsum(gcp) - gcp, gcp)
        gi = np.repeat(g_start[lo:hi][per_img_p], gcp) + off
        sim = box_iou_pairs(pr.box[pi], gt.box[gi], gt.crowd[gi])
        hit = sim > 0
        out_p.append(pi[hit])
        out_g.append(gi[hit])
        out_s.append(sim[hit])
    return np.concatenate(out_p), np.concatenate(out_g), np.concatenate(out_s)


def _group_max(group: np.ndarray, values: np.ndarray, n: int, fill: float = 0.0) -> np.ndarray:
    out = np.full(n, fill)
    if len(group):
        np.maximum.at(out, group, values)
    return out


def _group_argbest(group: np.ndarray, key: np.ndarray, n: int) -> np.ndarray:
    """Per group, the position (into group/key) of the largest key (ties: the first); -1 if empty."""
    out = np.full(n, -1, dtype=np.int64)
    if len(group):
        order = np.lexsort((-np.arange(len(group)), key, group))
        last = np.r_[group[order][1:] != group[order][:-1], True]
        out[group[order][last]] = order[last]
    return out


def find_disagreements(gt: Boxes, pr: Boxes, media_ids: np.ndarray, *, iou: float = 0.5) -> pd.DataFrame:
    """The disagreement rows (ids as array positions) of ground truth ``gt`` and predictions ``pr``.

    Returns columns ``kind, score, gt, pred, iou`` where ``gt`` / ``pred`` are positions into the
    inputs (-1: none). See the module docstring for the rules and scores.

    Example:
        >>> b = lambda lab, *r: Boxes(np.arange(len(r)), np.ones(len(r), int), np.full(len(r), lab),
        ...                           np.array(r, float), np.full(len(r), .9), np.zeros(len(r), bool))
        >>> find_disagreements(b(1, [0, 0, 50, 50]), b(2, [0, 0, 50, 50]), np.array([1])).kind.tolist()
        ['class_mismatch']
    """
    if not 0.1 < iou <= 1.0:
        raise ValidationError(f"iou must be in (0.1, 1], got {iou!r}")
    n_g, n_p = len(gt), len(pr)
    pi, gi, sim = overlapping_pairs(gt, pr, media_ids)
    same = gt.label[gi] == pr.label[pi]
    crowd = gt.crowd[gi]
    p_score = np.clip(np.nan_to_num(pr.score, nan=1.0), 0.0, 1.0)
    g_area = _area(gt.box)

    # predictions explained by a same-label ground truth (crowd: by intersection over its area)
    good = same & (sim >= iou)
    p_matched = _group_max(pi[good], np.ones(int(good.sum())), n_p) > 0
    nc = ~crowd
    p_best_same = _group_max(pi[same & nc], sim[same & nc], n_p)
    p_best_any = _group_max(pi[nc], sim[nc], n_p)
    p_in_crowd = _group_max(pi[crowd], sim[crowd], n_p) >= 0.5

    # ground truth verdicts, looking at unexplained predictions only
    g_ok = _group_max(gi[good & nc], np.ones(int((good & nc).sum())), n_g) > 0
    free = nc & ~p_matched[pi]
    rows = []
    decided = g_ok | gt.crowd
    # class mismatch: another label at IoU >= iou (best by score, then IoU)
    cand = free & ~same & (sim >= iou)
    best = _group_argbest(gi[cand], p_score[pi[cand]] * 4 + sim[cand], n_g)
    sel = (best >= 0) & ~decided
    idx = best[sel]
    c_p, c_s = pi[cand][idx], sim[cand][idx]
    c_g = np.flatnonzero(sel)
    rows.append(("class_mismatch", c_g, c_p, c_s, _row_score("class_mismatch", p_score[c_p], c_s, g_area[c_g])))
    decided = decided | sel
    # poor localization: same label, IoU in [0.1, iou)
    cand = free & same & (sim >= _TOUCH)
    best = _group_argbest(gi[cand], sim[cand], n_g)
    sel = (best >= 0) & ~decided
    idx = best[sel]
    l_g, l_p, l_s = np.flatnonzero(sel), pi[cand][idx], sim[cand][idx]
    rows.append(("poor_localization", l_g, l_p, l_s, _row_score("poor_localization", p_score[l_p], l_s, g_area[l_g])))
    decided = decided | sel
    # weak class mismatch: only other labels overlap, at IoU in [0.1, iou)
    cand = free & ~same & (sim >= _TOUCH)
    best = _group_argbest(gi[cand], p_score[pi[cand]] * 4 + sim[cand], n_g)
    sel = (best >= 0) & ~decided
    idx = best[sel]
    w_p, w_s = pi[cand][idx], sim[cand][idx]
    w_g = np.flatnonzero(sel)
    rows.append(("class_mismatch", w_g, w_p, w_s, _row_score("class_mismatch", p_score[w_p], w_s, g_area[w_g])))
    decided = decided | sel
    # missed: nothing unexplained touches it
    m_g = np.flatnonzero(~decided)
    g_best_any = _group_max(gi[nc], sim[nc], n_g)
    rows.append(("missed", m_g, np.full(len(m_g), -1), g_best_any[m_g], _row_score("missed", 0.0, 0.0, g_area[m_g])))

    # predictions nobody explains: a missing label
    partner = np.zeros(n_p, dtype=bool)
    partner[c_p] = True
    partner[l_p] = True
    partner[w_p] = True
    miss = ~p_matched & ~partner & ~p_in_crowd & (p_best_same < _TOUCH) & (p_best_any < iou)
    mp = np.flatnonzero(miss)
    s = _row_score("missing_gt", p_score[mp], p_best_any[mp], 0.0)
    rows.append(("missing_gt", np.full(len(mp), -1), mp, p_best_any[mp], s))

    out = pd.DataFrame({
        "kind": np.concatenate([np.full(len(r[1]), r[0], dtype=object) for r in rows]),
        "gt": np.concatenate([r[1] for r in rows]).astype(np.int64),
        "pred": np.concatenate([r[2] for r in rows]).astype(np.int64),
        "iou": np.concatenate([r[3] for r in rows]).astype(float),
        "score": np.clip(np.concatenate([r[4] for r in rows]).astype(float), 0.0, 1.0),
    })
    return out


IMAGE_POWER = 1.0


def image_scores(media: np.ndarray, score: np.ndarray, media_ids: np.ndarray, *,
                 power: float = IMAGE_POWER) -> np.ndarray:
    """Per image ``(1 - prod(1 - s**p)) ** (1/p)`` of its rows' scores (0 for an image without
    rows): the default ``p = 1`` is the noisy-or, larger ``p`` a soft maximum (``p -> inf``: the maximum).

    Example:
        >>> image_scores(np.array([1, 1, 2]), np.array([.5, .5, .2]), np.array([1, 2, 3])).round(4).tolist()
        [0.75, 0.2, 0.0]
    """
    pos = np.searchsorted(media_ids, media)
    log_keep = np.zeros(len(media_ids))
    np.add.at(log_keep, pos, np.log1p(-np.minimum(np.clip(score, 0.0, 1.0) ** power, 1.0 - 1e-15)))
    out = np.clip(-np.expm1(log_keep), 0.0, 1.0) ** (1.0 / power)
    return out + 0.0  # + 0.0: no "-0.0" for images without rows


def disagreements(session: Session, run: Any, iou: float = 0.5, *, per: str = "instance",
                  slice: MediaSlice | None = None, min_score: float = 0.0,
                  complete_only: bool = False, stage: str = "label",
                  kinds: tuple[str, ...] | list[str] | None = None) -> pd.DataFrame:
    """Rank where ground truth and ``run`` disagree (see :meth:`nblabel.Project.disagreements`).

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> disagreements(p.session, "m").empty
        True
    """
    if per not in ("instance", "image"):
        raise ValidationError(f"per must be 'instance' or 'image', got {per!r}")
    if kinds is not None:
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            raise ValidationError(f"unknown disagreement kind(s) {bad}; choose from {list(KINDS)}")
    cstage = stage if complete_only else None
    media = load_media(session, slice, complete_stage=cstage)
    gt = load_boxes(session, run=None, slice=slice, complete_stage=cstage)
    pr = load_boxes(session, run=run, slice=slice, complete_stage=cstage, min_score=min_score)
    mids = media["media_id"].to_numpy(np.int64)
    rows = find_disagreements(gt, pr, mids, iou=float(iou))
    if kinds is not None:
        rows = rows[rows["kind"].isin(list(kinds))]
    g, p = rows["gt"].to_numpy(), rows["pred"].to_numpy()
    has_g, has_p = g >= 0, p >= 0
    row_media = np.where(has_g, gt.media[np.maximum(g, 0)] if len(gt) else 0,
                         pr.media[np.maximum(p, 0)] if len(pr) else 0)
    if per == "image":
        score = image_scores(row_media, rows["score"].to_numpy(), mids)
        out = pd.DataFrame({"media_id": mids, "file_name": media["file_name"].to_numpy(), "score": score})
        kind_col = rows["kind"].to_numpy()
        pos = np.searchsorted(mids, row_media)
        for k in KINDS:
            out[f"n_{k}"] = np.bincount(pos[kind_col == k], minlength=len(mids)).astype(np.int64)
        out["n_gt"] = np.bincount(np.searchsorted(mids, gt.media), minlength=len(mids)).astype(np.int64)
        out["n_pred"] = np.bincount(np.searchsorted(mids, pr.media), minlength=len(mids)).astype(np.int64)
        out = out.sort_values(["score", "media_id"], ascending=[False, True], kind="stable")
        return out.reset_index(drop=True)

    names = {lab.id: lab.name for lab in session.schema_state().labels.values()}
    gs, ps = np.maximum(g, 0), np.maximum(p, 0)

    def pick(arr: np.ndarray, idx: np.ndarray, ok: np.ndarray, fill: Any = np.nan) -> np.ndarray:
        if not len(arr):
            return np.full(len(idx), fill, dtype=float)
        return np.where(ok, arr[idx], fill)

    fname = pd.Series(media["file_name"].to_numpy(), index=mids)
    out = pd.DataFrame({
        "media_id": row_media.astype(np.int64),
        "file_name": fname.reindex(row_media).to_numpy(),
        "kind": rows["kind"].to_numpy(),
        "score": rows["score"].to_numpy(),
        "gt_id": pd.array(np.where(has_g, gt.id[gs] if len(gt) else 0, 0), dtype="Int64"),
        "pred_id": pd.array(np.where(has_p, pr.id[ps] if len(pr) else 0, 0), dtype="Int64"),
        "iou": rows["iou"].to_numpy(),
        "pred_score": pick(pr.score, ps, has_p),
        "gt_label": pd.Series(pick(gt.label.astype(float), gs, has_g)).map(names).to_numpy(dtype=object),
        "pred_label": pd.Series(pick(pr.label.astype(float), ps, has_p)).map(names).to_numpy(dtype=object),
    })
    out.loc[~has_g, "gt_id"] = pd.NA
    out.loc[~has_p, "pred_id"] = pd.NA
    for i, c in enumerate(("x0", "y0", "x1", "y1")):
        out[f"gt_{c}"] = pick(gt.box[:, i], gs, has_g)
    for i, c in enumerate(("x0", "y0", "x1", "y1")):
        out[f"pred_{c}"] = pick(pr.box[:, i], ps, has_p)
    out["_g"] = np.where(has_g, out["gt_id"].fillna(0).to_numpy(np.int64), 0)
    out["_p"] = np.where(has_p, out["pred_id"].fillna(0).to_numpy(np.int64), 0)
    out = out.sort_values(["score", "media_id", "_g", "_p"], ascending=[False, True, True, True], kind="stable")
    return out.drop(columns=["_g", "_p"]).reset_index(drop=True)
