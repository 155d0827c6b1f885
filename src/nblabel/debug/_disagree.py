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

Scores lie in [0, 1] and depend only on the row's own evidence -- prediction score, IoU, box size
-- never on the other images in the batch, so the score of an image does not change when the
slice around it does:

* ``missing_gt``: ``pred_score * size(pred)`` (times ``1 - IoU/iou`` when it grazes another label);
* ``missed``: ``0.8 * size_large(gt)``: a large object no prediction touches is suspicious, a small
  one is often just hard for the model;
* ``class_mismatch``: ``0.7 * pred_score * (0.6 + 0.4 * IoU)`` (weak form: ``0.7 * pred_score * IoU``);
  weaker than a confident box on empty ground, because models confuse classes far more often than
  they hallucinate objects;
* ``poor_localization``: ``pred_score * (1 - IoU) * size(box)``;

with ``size(a) = 1 - exp(-sqrt(a) / 16)`` and ``size_large(a) = 1 - exp(-sqrt(a) / 80)`` (pixels).
An image's score is the soft maximum ``(1 - prod(1 - s_i**3)) ** (1/3)`` over its rows: bounded in
[0, 1], order-independent, equal to ``s`` for a single row and never below the strongest row; many
weak rows (small boxes the model missed, low-score false positives) add up less than in a plain
noisy-or. The weights were chosen on ``benchmarks/label_errors.py`` (see its output).
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


def _size(area: np.ndarray, scale: float) -> np.ndarray:
    return 1.0 - np.exp(-np.sqrt(np.maximum(area, 0.0)) / scale)


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
    g_area, p_area = _area(gt.box), _area(pr.box)

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
    rows.append(("class_mismatch", np.flatnonzero(sel), c_p, c_s, 0.7 * p_score[c_p] * (0.6 + 0.4 * c_s)))
    decided = decided | sel
    # poor localization: same label, IoU in [0.1, iou)
    cand = free & same & (sim >= _TOUCH)
    best = _group_argbest(gi[cand], sim[cand], n_g)
    sel = (best >= 0) & ~decided
    idx = best[sel]
    l_g, l_p, l_s = np.flatnonzero(sel), pi[cand][idx], sim[cand][idx]
    size = _size(np.maximum(g_area[l_g], p_area[l_p]), 16.0)
    rows.append(("poor_localization", l_g, l_p, l_s, p_score[l_p] * (1.0 - l_s) * size))
    decided = decided | sel
    # weak class mismatch: only other labels overlap, at IoU in [0.1, iou)
    cand = free & ~same & (sim >= _TOUCH)
    best = _group_argbest(gi[cand], p_score[pi[cand]] * 4 + sim[cand], n_g)
    sel = (best >= 0) & ~decided
    idx = best[sel]
    w_p, w_s = pi[cand][idx], sim[cand][idx]
    rows.append(("class_mismatch", np.flatnonzero(sel), w_p, w_s, 0.7 * p_score[w_p] * w_s))
    decided = decided | sel
    # missed: nothing unexplained touches it
    m_g = np.flatnonzero(~decided)
    g_best_any = _group_max(gi[nc], sim[nc], n_g)
    rows.append(("missed", m_g, np.full(len(m_g), -1), g_best_any[m_g], 0.8 * _size(g_area[m_g], 80.0)))

    # predictions nobody explains: a missing label
    partner = np.zeros(n_p, dtype=bool)
    partner[c_p] = True
    partner[l_p] = True
    partner[w_p] = True
    miss = ~p_matched & ~partner & ~p_in_crowd & (p_best_same < _TOUCH) & (p_best_any < iou)
    mp = np.flatnonzero(miss)
    s = p_score[mp] * _size(p_area[mp], 16.0) * np.clip(1.0 - p_best_any[mp] / iou, 0.0, 1.0)
    rows.append(("missing_gt", np.full(len(mp), -1), mp, p_best_any[mp], s))

    out = pd.DataFrame({
        "kind": np.concatenate([np.full(len(r[1]), r[0], dtype=object) for r in rows]),
        "gt": np.concatenate([r[1] for r in rows]).astype(np.int64),
        "pred": np.concatenate([r[2] for r in rows]).astype(np.int64),
        "iou": np.concatenate([r[3] for r in rows]).astype(float),
        "score": np.clip(np.concatenate([r[4] for r in rows]).astype(float), 0.0, 1.0),
    })
    return out


IMAGE_POWER = 3.0


def image_scores(media: np.ndarray, score: np.ndarray, media_ids: np.ndarray, *,
                 power: float = IMAGE_POWER) -> np.ndarray:
    """Per image the soft maximum ``(1 - prod(1 - s**p)) ** (1/p)`` of its rows' scores
    (0 for an image without rows; ``p = 1`` is the noisy-or, ``p -> inf`` the maximum).

    Example:
        >>> image_scores(np.array([1, 1, 2]), np.array([.5, .5, .2]), np.array([1, 2, 3])).round(4).tolist()
        [0.6166, 0.2, 0.0]
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
