"""The data behind an evaluation's plots, as DataFrames: precision per recall point, confusion
counts, and the IoU histogram. The figures in :mod:`._plots` draw exactly these tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ValidationError
from ._disagree import _group_argbest, _group_max, overlapping_pairs
from ._reads import load_boxes, load_media

if TYPE_CHECKING:
    from ._evaluation import Evaluation

__all__ = ["confusion_table", "iou_table", "pr_table"]


def _thr_index(ev: Evaluation, iou: float) -> int:
    thr = ev.params.iou_thresholds
    hit = np.flatnonzero(np.isclose(thr, iou))
    if not len(hit):
        raise ValidationError(f"iou={iou} is not one of the evaluated thresholds {np.round(thr, 2).tolist()}")
    return int(hit[0])


def pr_table(ev: Evaluation, *, iou: float = 0.5) -> pd.DataFrame:
    """Precision at each recall point (area 'all', the largest max_dets) per label and the mean;
    a label's AP at ``iou`` is the mean of its column.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> len(pr_table(p.evaluate("m")))
        101
    """
    t = _thr_index(ev, iou)
    a = ev.params.area_labels.index("all") if "all" in ev.params.area_labels else 0
    pr = ev.precision[t, :, :, a, -1]  # (R, K)
    names = ev._names()
    cats = ev.params.categories
    out = pd.DataFrame({"recall": ev.params.rec_thresholds})
    valid = pr > -1
    with np.errstate(invalid="ignore"):
        mean = np.where(valid.any(axis=1), np.where(valid, pr, 0).sum(axis=1) / np.maximum(valid.sum(axis=1), 1),
                        np.nan)
    out["mean"] = mean
    for k, c in enumerate(cats):
        if valid[:, k].any():
            out[names.get(int(c), str(c)) if ev.params.use_cats else "all"] = pr[:, k]
    return out


def _confusion_pairs(ev: Evaluation, iou: float, min_score: float) -> pd.DataFrame:
    """One row per counted outcome: (ground-truth label id, predicted label id), -1 for background."""
    proj = ev.session
    cstage = ev.stage if ev.complete_only else None
    media = load_media(proj, ev.slice, complete_stage=cstage)
    gt = load_boxes(proj, slice=ev.slice, complete_stage=cstage)
    pr = load_boxes(proj, run=ev.run, slice=ev.slice, complete_stage=cstage, min_score=min_score)
    mids = media["media_id"].to_numpy(np.int64)
    pi, gi, sim = overlapping_pairs(gt, pr, mids)
    n_g, n_p = len(gt), len(pr)
    same = gt.label[gi] == pr.label[pi]
    crowd = gt.crowd[gi]
    p_score = np.nan_to_num(pr.score, nan=1.0)
    good = same & (sim >= iou)
    p_ok = _group_max(pi[good], np.ones(int(good.sum())), n_p) > 0
    g_ok = _group_max(gi[good & ~crowd], np.ones(int((good & ~crowd).sum())), n_g) > 0
    cand = ~crowd & ~same & (sim >= iou) & ~p_ok[pi]
    best = _group_argbest(gi[cand], p_score[pi[cand]] * 4 + sim[cand], n_g)
    conf = (best >= 0) & ~g_ok & ~gt.crowd
    partner = np.zeros(n_p, dtype=bool)
    partner[pi[cand][best[conf]]] = True
    in_crowd = _group_max(pi[crowd], sim[crowd], n_p) >= 0.5
    rows_t = np.concatenate([gt.label[~gt.crowd], np.full(int((~p_ok & ~partner & ~in_crowd).sum()), -1)])
    pred_of_g = np.full(n_g, -1, dtype=np.int64)
    pred_of_g[g_ok] = gt.label[g_ok]
    pred_of_g[conf] = pr.label[pi[cand][best[conf]]]
    rows_p = np.concatenate([pred_of_g[~gt.crowd], pr.label[~p_ok & ~partner & ~in_crowd]])
    return pd.DataFrame({"gt": rows_t, "pred": rows_p})


def confusion_table(ev: Evaluation, *, iou: float = 0.5, min_score: float = 0.25,
                    normalize: bool = False) -> pd.DataFrame:
    """Confusion counts (rows: ground truth, columns: prediction) with a ``background`` row and column.

    A ground truth counts under the prediction label that matches it (IoU >= ``iou``; its own label
    first), else under ``background`` (missed); a prediction of score >= ``min_score`` that no
    ground truth explains counts in the ``background`` row. ``normalize`` divides each row by its sum.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> confusion_table(p.evaluate("m")).index.tolist()
        ['background']
    """
    pairs = _confusion_pairs(ev, iou, min_score)
    names = ev._names()
    used = sorted((set(pairs["gt"]) | set(pairs["pred"])) - {-1})
    order = [names.get(int(u), str(u)) for u in used] + ["background"]
    lab = {**{u: names.get(int(u), str(u)) for u in used}, -1: "background"}
    tab = pd.crosstab(pairs["gt"].map(lab), pairs["pred"].map(lab))
    tab = tab.reindex(index=order, columns=order, fill_value=0).astype(np.int64)
    tab.loc["background", "background"] = 0
    tab.index.name, tab.columns.name = "ground truth", "prediction"
    return normalize_rows(tab) if normalize else tab


def normalize_rows(counts: pd.DataFrame) -> pd.DataFrame:
    """Each row divided by its sum (an all-zero row stays zero).

    Example:
        >>> normalize_rows(pd.DataFrame([[1, 3], [0, 0]])).values.tolist()
        [[0.25, 0.75], [0.0, 0.0]]
    """
    return counts.div(counts.sum(axis=1).replace(0, 1), axis=0)


def top_labels(counts: pd.DataFrame, max_labels: int) -> list[str]:
    """The rows of a confusion ``counts`` table to draw: its ``max_labels`` most frequent labels (by
    row and column sum, in table order) and ``background``; all of them when there are no more.

    Example:
        >>> t = pd.DataFrame([[5, 0, 1], [0, 1, 0], [2, 0, 0]], index=["a", "b", "background"],
        ...                  columns=["a", "b", "background"])
        >>> top_labels(t, 1), top_labels(t, 2)
        (['a', 'background'], ['a', 'b', 'background'])
    """
    if len(counts) <= max_labels + 1:
        return [str(r) for r in counts.index]
    inner = counts.drop(index="background", columns="background")
    freq = (inner.sum(axis=0) + inner.sum(axis=1)).sort_values(ascending=False, kind="stable")
    chosen = set(freq.index[:max_labels])
    return [*[str(c) for c in counts.index if c in chosen], "background"]


def iou_table(ev: Evaluation, *, bins: int = 20, min_score: float = 0.0) -> pd.DataFrame:
    """Histogram of each detection's IoU with its matched (else best same-label) ground truth at
    the lowest threshold: ``count`` detections per bin, ``tp`` of them true positives. Detections
    with no same-label ground truth around count at 0.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> iou_table(p.evaluate("m"), bins=10).columns.tolist()
        ['bin_lo', 'bin_hi', 'count', 'tp']
    """
    if int(bins) < 1:
        raise ValidationError(f"bins={bins} must be a positive number of histogram bins, e.g. bins=20")
    m = ev.matches
    if len(m):
        m = m[(m["iou_threshold"] == m["iou_threshold"].min()) & m["pred_id"].notna()]
        m = m[m["score"] >= min_score]
    iou = np.nan_to_num(m["iou"].to_numpy(dtype=float), nan=0.0) if len(m) else np.zeros(0)
    tp = (m["status"].astype(str) == "tp").to_numpy() if len(m) else np.zeros(0, dtype=bool)
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    count = np.histogram(iou, bins=edges)[0]
    count_tp = np.histogram(iou[tp], bins=edges)[0]
    return pd.DataFrame({"bin_lo": edges[:-1], "bin_hi": edges[1:], "count": count, "tp": count_tp})
