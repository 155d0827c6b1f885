"""The image ranking of ``disagreements`` finds corrupted images at least as well as a simple baseline.

Small fixed synthetic sets (their own generator, not the benchmark's): ground truth, 25% of the
annotations corrupted (removed, shifted, class-swapped, a spurious box added), a model simulated
from the CLEAN ground truth. The baseline is the two-line score of issue 8:

    sum over predictions scored > 0.5 of (1 - max IoU with a same-class GT box)
  + sum over GT boxes of (1 - max IoU with a same-class prediction scored > 0.3)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nblabel.debug import find_disagreements, image_scores
from nblabel.debug._reads import Boxes

W, H, N_CLS = 640, 480, 6
BOX = ["x0", "y0", "x1", "y1"]


def _boxes(n: int, rng: np.random.Generator) -> np.ndarray:
    w, h = np.exp(rng.uniform(np.log(6), np.log(300), (2, n)))
    x, y = rng.uniform(0, 1, n) * (W - w), rng.uniform(0, 1, n) * (H - h)
    return np.stack([x, y, x + w, y + h], 1)


def _dataset(seed: int, n_images: int = 400, rate: float = 0.2, boxes: float = 7.0):
    """(noisy GT frame, prediction frame, media ids, is-corrupted per image)."""
    rng = np.random.default_rng(seed)
    k = rng.negative_binomial(1, 1 / boxes, n_images)  # busy images are rarer, as in COCO
    media = np.repeat(np.arange(1, n_images + 1), k)
    clean = pd.DataFrame(_boxes(len(media), rng), columns=BOX).assign(
        media_id=media, label_id=rng.integers(1, N_CLS + 1, len(media)))
    # the model, from the clean GT: size-dependent recall, jitter, scores, confusions, clutter
    side = np.sqrt((clean.x1 - clean.x0) * (clean.y1 - clean.y0)).to_numpy()
    tp = clean[rng.random(len(clean)) < np.clip(0.3 + side / 100, 0, 0.97)].copy()
    wh = np.repeat((tp[["x1", "y1"]].to_numpy() - tp[["x0", "y0"]].to_numpy()), 2, axis=1)[:, [0, 2, 1, 3]]
    tp[BOX] = tp[BOX].to_numpy() + rng.normal(0, 0.06, (len(tp), 4)) * wh
    tp["score"] = rng.beta(6, 2, len(tp))
    conf = rng.random(len(tp)) < 0.05
    tp.loc[conf, "label_id"] = rng.integers(1, N_CLS + 1, int(conf.sum()))
    n_fp = rng.poisson(1.0, n_images)
    fp = pd.DataFrame(_boxes(int(n_fp.sum()), rng), columns=BOX).assign(
        media_id=np.repeat(np.arange(1, n_images + 1), n_fp), label_id=rng.integers(1, N_CLS + 1, int(n_fp.sum())),
        score=rng.beta(1.5, 6, int(n_fp.sum())))
    pred = pd.concat([tp, fp], ignore_index=True).sort_values("media_id", kind="stable").reset_index(drop=True)
    # corruption, per annotation
    kind = np.where(rng.random(len(clean)) < rate, rng.choice(["remove", "shift", "swap", "spurious"], len(clean)), "")
    noisy = clean.copy()
    sh = kind == "shift"
    d = (noisy.loc[sh, ["x1", "y1"]].to_numpy() - noisy.loc[sh, ["x0", "y0"]].to_numpy()) * rng.choice([-0.7, 0.7], (sh.sum(), 2))
    noisy.loc[sh, BOX] = noisy.loc[sh, BOX].to_numpy() + np.c_[d, d]
    sw = kind == "swap"
    noisy.loc[sw, "label_id"] = (noisy.loc[sw, "label_id"] % N_CLS) + 1
    extra = pd.DataFrame(_boxes(int((kind == "spurious").sum()), rng), columns=BOX).assign(
        media_id=media[kind == "spurious"], label_id=rng.integers(1, N_CLS + 1, int((kind == "spurious").sum())))
    noisy = pd.concat([noisy[kind != "remove"], extra], ignore_index=True)
    noisy = noisy.sort_values("media_id", kind="stable").reset_index(drop=True)
    mids = np.arange(1, n_images + 1)
    return noisy, pred, mids, np.isin(mids, media[kind != ""])


def _as_boxes(f: pd.DataFrame) -> Boxes:
    score = f["score"].to_numpy(float) if "score" in f else np.full(len(f), np.nan)
    return Boxes(np.arange(len(f)), f["media_id"].to_numpy(np.int64), f["label_id"].to_numpy(np.int64),
                 f[BOX].to_numpy(float), score, np.zeros(len(f), bool))


def _baseline(gt: pd.DataFrame, pred: pd.DataFrame, mids: np.ndarray) -> np.ndarray:
    j = gt.reset_index(names="g").merge(pred.reset_index(names="p"), on=["media_id", "label_id"], suffixes=("", "_p"))
    iw = (np.minimum(j.x1, j.x1_p) - np.maximum(j.x0, j.x0_p)).clip(lower=0)
    ih = (np.minimum(j.y1, j.y1_p) - np.maximum(j.y0, j.y0_p)).clip(lower=0)
    inter = iw * ih
    j["iou"] = inter / ((j.x1 - j.x0) * (j.y1 - j.y0) + (j.x1_p - j.x0_p) * (j.y1_p - j.y0_p) - inter)
    g_best = j[j.score > 0.3].groupby("g")["iou"].max().reindex(range(len(gt)), fill_value=0.0)
    p_best = j.groupby("p")["iou"].max().reindex(range(len(pred)), fill_value=0.0)
    terms = pd.concat([pd.Series(1 - g_best.to_numpy(), index=gt["media_id"].to_numpy()),
                       pd.Series(1 - p_best.to_numpy(), index=pred["media_id"].to_numpy())[pred["score"].to_numpy() > 0.5]])
    return terms.groupby(level=0).sum().reindex(mids, fill_value=0.0).to_numpy()


def _auroc(positive: np.ndarray, score: np.ndarray) -> float:
    r = pd.Series(score).rank().to_numpy()
    n1, n0 = positive.sum(), (~positive).sum()
    return float((r[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def test_auroc_helper() -> None:
    assert _auroc(np.array([True, False, True, False]), np.array([0.9, 0.1, 0.8, 0.85])) == pytest.approx(0.75)


def test_image_ranking_beats_the_two_line_baseline() -> None:
    ours, base = [], []
    for seed in (0, 1, 2):
        noisy, pred, mids, bad = _dataset(seed, n_images=1000, rate=0.25)
        rows = find_disagreements(_as_boxes(noisy), _as_boxes(pred), mids)
        g, p = rows["gt"].to_numpy(), rows["pred"].to_numpy()
        media = np.where(g >= 0, noisy["media_id"].to_numpy()[np.maximum(g, 0)],
                         pred["media_id"].to_numpy()[np.maximum(p, 0)])
        ours.append(_auroc(bad, image_scores(media, rows["score"].to_numpy(), mids)))
        base.append(_auroc(bad, _baseline(noisy, pred, mids)))
    assert all(0.6 < b < 0.99 for b in base)  # the sets are neither trivial nor noise
    assert all(o >= b for o, b in zip(ours, base, strict=True)), f"ours {ours} vs baseline {base}"
    assert np.mean(ours) >= np.mean(base) + 0.005
