"""How well does ``proj.disagreements`` find label errors on data it was NOT tuned on?

The data (``label_errors_data.py``): real COCO images (``tests/data``) plus synthetic layouts with
COCO box statistics, split by a hash of the image key into a TUNING and a REPORTING half; errors
per annotation (remove / shift / swap / spurious) or per image (drop_all / shift_all /
relabel_all / other_image) at two rates; a detector simulated from the CLEAN ground truth. The
two halves also use different seeds (tuning ``0..``, reporting ``1000..``). The scoring of
``nblabel.debug._disagree`` was chosen on the tuning half only; this reports the other half unless
``--split tuning``.

In the same run, rank images with

* ``ours``: ``proj.disagreements(run, per="image")`` score;
* ``baseline``: sum over predictions scored > 0.5 of (1 - max IoU with a same-class GT box) plus
  sum over GT boxes of (1 - max IoU with a same-class prediction scored > 0.3);
* ``cleanlab`` 2.9: ``cleanlab.object_detection.rank.get_label_quality_scores`` (low = bad);
* ``count``: the floor ``|#GT - #predictions scored >= 0.5|``.

Report image-level AUROC overall and per error type (clean images vs images with an error of that
type), and instance-level precision@K (K = number of errors, 50, 100) of the methods with
per-instance scores (ours: the rows of ``proj.disagreements(run)``; baseline: its terms; cleanlab:
its per-box badloc / swap / overlooked scores). A row is a hit when it names a corrupted GT box or
its prediction covers (IoU >= 0.3) where a removed or moved box belongs. Medians over ``--seeds``.

Usage::

    .venv/bin/python benchmarks/label_errors.py                  # reporting half, 5 seeds, +2,000 images
    .venv/bin/python benchmarks/label_errors.py --split tuning   # the half the weights were chosen on
    .venv/bin/python benchmarks/label_errors.py --quick          # CI-sized (a few seconds)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))
from disagreements import machine
from label_errors_data import ANN_TYPES, BOX, IMG_TYPES, Pool, corrupt, image_set, simulate_model

import nblabel as nl
from nblabel.store._instances import insert_rows as write_instances
from nblabel.store._prepare import COLUMNS

SEED_BASE = {"tuning": 0, "reporting": 1000}
SETTINGS = (("annotation", 0.05), ("annotation", 0.2), ("image", 0.05), ("image", 0.2))
METHODS = ("ours", "baseline", "cleanlab", "count")


def project(gt: pd.DataFrame, pred: pd.DataFrame, sizes: pd.DataFrame, n_cls: int) -> tuple[nl.Project, np.ndarray]:
    """An in-memory project with media rows, GT and run 'model'; returns it and the GT instance ids."""
    proj = nl.open(":memory:", author="bench")
    for c in range(1, n_cls + 1):
        proj.schema.add_label(f"c{c}")
    proj.add_run("model")
    with proj.store.transaction() as con:
        m = sizes.assign(uri=[f"synthetic://{i}" for i in sizes.media_id], file_name=[f"{i}.jpg" for i in sizes.media_id],
                         sha256=[f"{i:064x}" for i in sizes.media_id])
        con.register("_m", m)
        con.execute("INSERT INTO media SELECT media_id, uri, file_name, sha256, width, height, 'jpeg', 1, 0, NULL, "
                    "now() FROM _m")
        con.unregister("_m")
        ids = []
        for frame, run_id in ((gt, None), (pred, 1)):
            f = frame[[c for c in ("media_id", "label_id", *BOX, "score") if c in frame]].copy()
            f["run_id"], f["kind"] = run_id, "box"
            for c, dflt in (("points", None), ("attributes", None), ("score", np.nan), ("track_id", pd.NA),
                            ("area", np.nan), ("iscrowd", False), ("extra", None)):
                if c not in f.columns:
                    f[c] = dflt
            ids.append(write_instances(con, f[COLUMNS], author="bench", schema_version=1))
    return proj, np.asarray(ids[0])


# -- the rankings --------------------------------------------------------------------------------
def _pair_iou(gt: pd.DataFrame, pred: pd.DataFrame) -> pd.DataFrame:
    """Every same-class (GT position ``g``, prediction position ``p``) pair of an image with its IoU."""
    g = gt[["media_id", "label_id", *BOX]].reset_index(drop=True).rename_axis("g").reset_index()
    p = pred[["media_id", "label_id", *BOX, "score"]].reset_index(drop=True).rename_axis("p").reset_index()
    j = g.merge(p, on=["media_id", "label_id"], suffixes=("", "_p"))
    iw = (np.minimum(j.x1, j.x1_p) - np.maximum(j.x0, j.x0_p)).clip(lower=0)
    ih = (np.minimum(j.y1, j.y1_p) - np.maximum(j.y0, j.y0_p)).clip(lower=0)
    inter = iw * ih
    j["iou"] = inter / ((j.x1 - j.x0) * (j.y1 - j.y0) + (j.x1_p - j.x0_p) * (j.y1_p - j.y0_p) - inter)
    return j[["g", "p", "iou", "score"]]


def baseline_rows(gt: pd.DataFrame, pred: pd.DataFrame) -> pd.DataFrame:
    """The baseline's terms, one row each: ``media_id, score, g`` (GT position or -1), pred box."""
    j = _pair_iou(gt, pred)
    g_best = j[j.score > 0.3].groupby("g")["iou"].max().reindex(np.arange(len(gt))).fillna(0.0)
    p_best = j.groupby("p")["iou"].max().reindex(np.arange(len(pred))).fillna(0.0)
    strong = (pred["score"] > 0.5).to_numpy()
    gr = pd.DataFrame({"media_id": gt["media_id"].to_numpy(), "score": 1.0 - g_best.to_numpy(), "g": np.arange(len(gt))})
    pr = pred.loc[strong, ["media_id", *BOX]].rename(columns={c: "pred_" + c for c in BOX})
    pr = pr.assign(score=1.0 - p_best.to_numpy()[strong], g=-1)
    return pd.concat([gr, pr], ignore_index=True)


def _cleanlab_inputs(gt: pd.DataFrame, pred: pd.DataFrame, sizes: pd.DataFrame, n_cls: int):
    labels, preds, order = [], [], []
    g_by, p_by = gt.groupby("media_id").indices, pred.groupby("media_id").indices
    gb, gl = gt[BOX].to_numpy(float), gt["label_id"].to_numpy() - 1
    pb, pl = pred[[*BOX, "score"]].to_numpy(float), pred["label_id"].to_numpy() - 1
    none = np.zeros(0, int)
    for m in sizes["media_id"]:
        gi, pi = g_by.get(m, none), p_by.get(m, none)
        labels.append({"bboxes": gb[gi].astype(np.float32).reshape(-1, 4), "labels": gl[gi].astype(int)})
        per = [pi[pl[pi] == k] for k in range(n_cls)]
        preds.append(np.array([pb[i].astype(np.float32).reshape(-1, 5) for i in per], dtype=object))
        order.append(np.concatenate(per))  # cleanlab flattens predictions class by class
    return labels, preds, order


def cleanlab_scores(gt: pd.DataFrame, pred: pd.DataFrame, sizes: pd.DataFrame, n_cls: int) -> tuple[np.ndarray, pd.DataFrame]:
    """cleanlab's per-image label quality (lower = worse, ``sizes`` order) and per-box rows
    (``score`` = 1 - the box's worst badloc / swap / overlooked score)."""
    from cleanlab.object_detection import rank

    labels, preds, order = _cleanlab_inputs(gt, pred, sizes, n_cls)
    seen: dict[str, list[np.ndarray]] = {}

    def keep(name: str):  # the per-box scores cleanlab computes on the way to the image score
        f = getattr(rank, name)
        return mock.patch.object(rank, name, lambda **kw: seen.setdefault(name, f(**kw)))

    with (contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), keep("compute_badloc_box_scores"),
          keep("compute_swap_box_scores"), keep("compute_overlooked_box_scores")):
        warnings.simplefilter("ignore")
        img = np.asarray(rank.get_label_quality_scores(labels, preds, verbose=False), dtype=float)
    bad, swap, over = (seen[f"compute_{k}_box_scores"] for k in ("badloc", "swap", "overlooked"))
    g_score = np.nan_to_num(np.minimum(np.concatenate(bad), np.concatenate(swap)), nan=1.0)
    pos = np.concatenate(order)
    ov = np.nan_to_num(np.concatenate(over), nan=1.0)
    pr = pred.iloc[pos][["media_id", *BOX]].rename(columns={c: "pred_" + c for c in BOX})
    rows = pd.concat([pd.DataFrame({"media_id": gt["media_id"].to_numpy(), "score": 1.0 - g_score,
                                    "g": np.arange(len(gt))}),
                      pr.assign(score=1.0 - ov, g=-1)], ignore_index=True)
    return img, rows


# -- metrics -------------------------------------------------------------------------------------
def instance_hits(rows: pd.DataFrame, bad_gt: np.ndarray, targets: pd.DataFrame) -> np.ndarray:
    """Per row: does it name a corrupted GT position (``g``), or does its prediction cover
    (IoU >= 0.3) a place where a removed or moved box belongs?"""
    g = rows["g"].to_numpy()
    hit = (g >= 0) & bad_gt[np.maximum(g, 0)]
    if len(targets) and "pred_x0" in rows:
        p = rows[rows["pred_x0"].notna()][["media_id", *("pred_" + c for c in BOX)]].reset_index()
        j = p.merge(targets, on="media_id")
        iw = (np.minimum(j.pred_x1, j.x1) - np.maximum(j.pred_x0, j.x0)).clip(lower=0)
        ih = (np.minimum(j.pred_y1, j.y1) - np.maximum(j.pred_y0, j.y0)).clip(lower=0)
        inter = iw * ih
        u = (j.pred_x1 - j.pred_x0) * (j.pred_y1 - j.pred_y0) + (j.x1 - j.x0) * (j.y1 - j.y0) - inter
        hit[j.loc[inter / u >= 0.3, "index"].unique()] = True
    return hit


def error_targets(noisy: pd.DataFrame, removed: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Which GT rows are corrupted, and the boxes where a removed or moved box belongs (what a row hits)."""
    bad_gt = (noisy["corrupt"] != "").to_numpy()
    moved = noisy[noisy["orig_x0"].notna()][["media_id", *("orig_" + c for c in BOX)]]
    targets = pd.concat([removed[["media_id", *BOX]], moved.set_axis(["media_id", *BOX], axis=1)], ignore_index=True)
    return bad_gt, targets


def top_k_precision(rows: pd.DataFrame, hits: np.ndarray, k: int) -> float:
    order = np.argsort(-rows["score"].to_numpy(), kind="stable")[:k]
    return float(hits[order].mean()) if len(order) else float("nan")


def one_run(split: str, mode: str, rate: float, seed: int, n_synth: int) -> dict[str, float]:
    """All rankings on one corrupted image set."""
    rng = np.random.default_rng([SEED_BASE[split] + seed, int(rate * 1000), mode == "image"])
    pool: Pool
    pool, clean, sizes = image_set(split, n_synth, rng)
    noisy, removed, errors = corrupt(clean, sizes, pool, mode, rate, rng)
    pred = simulate_model(clean, sizes, pool, rng)
    mids = sizes["media_id"].to_numpy()
    is_bad = np.isin(mids, errors["media_id"])
    types = ANN_TYPES if mode == "annotation" else IMG_TYPES
    out: dict[str, float] = {"n_images": len(mids), "n_bad": int(is_bad.sum()), "n_errors": len(errors)}

    proj, gt_ids = project(noisy, pred, sizes, pool.n_cls)
    t = time.perf_counter()
    img = proj.disagreements("model", per="image")
    out["t_ours"] = time.perf_counter() - t
    rows = proj.disagreements("model")
    proj.store.close()
    ours = img.set_index("media_id")["score"].reindex(mids).to_numpy()
    ours_rows = rows.assign(g=pd.Index(gt_ids).get_indexer(rows["gt_id"].fillna(-1).astype(np.int64)))
    t = time.perf_counter()
    brows = baseline_rows(noisy, pred)
    base = brows.groupby("media_id")["score"].sum().reindex(mids).fillna(0.0).to_numpy()
    out["t_baseline"] = time.perf_counter() - t
    t = time.perf_counter()
    cl, crows = cleanlab_scores(noisy, pred, sizes, pool.n_cls)
    out["t_cleanlab"] = time.perf_counter() - t
    cnt_g = np.bincount(noisy["media_id"], minlength=mids.max() + 1)[mids]
    cnt_p = np.bincount(pred.loc[pred.score >= 0.5, "media_id"], minlength=mids.max() + 1)[mids]
    count = np.abs(cnt_g - cnt_p) + 1e-6 * rng.random(len(mids))  # random tie-break

    has_type = {t_: np.isin(mids, errors.loc[errors.type == t_, "media_id"]) for t_ in types}
    for name, s in (("ours", ours), ("baseline", base), ("cleanlab", 1.0 - cl), ("count", count)):
        out[f"auroc_{name}"] = roc_auc_score(is_bad, s)
        for t_, sel in has_type.items():
            if sel.any():
                keep = ~is_bad | sel
                out[f"auroc_{name}_{t_}"] = roc_auc_score(sel[keep], s[keep])

    bad_gt, targets = error_targets(noisy, removed)
    n_err = int(bad_gt.sum()) + len(removed)
    out["n_err_instances"] = n_err
    for name, r in (("ours", ours_rows), ("baseline", brows), ("cleanlab", crows)):
        r = r.reset_index(drop=True)
        hits = instance_hits(r, bad_gt, targets)
        for k_name, k in (("K", n_err), ("50", 50), ("100", 100)):
            out[f"p@{k_name}_{name}"] = top_k_precision(r, hits, k)
    return out


def summarize(res: list[dict[str, float]], types: tuple[str, ...]) -> list[str]:
    med = {k: statistics.median([r[k] for r in res if k in r]) for k in res[0]}
    for r in res[1:]:
        med.update({k: statistics.median([x[k] for x in res if k in x]) for k in r if k not in med})
    lines = [f"{'ranking':<9} {'AUROC':>6} " + " ".join(f"{t:>11}" for t in types)
             + f" {'P@K':>6} {'P@50':>6} {'P@100':>6}"]
    for name in METHODS:
        per = " ".join(f"{med.get(f'auroc_{name}_{t}', float('nan')):>11.3f}" for t in types)
        pk = " ".join(f"{med.get(f'p@{k}_{name}', float('nan')):>6.3f}" for k in ("K", "50", "100"))
        lines.append(f"{name:<9} {med[f'auroc_{name}']:>6.3f} {per} {pk}")
    lines.append(f"images {med['n_images']:.0f}, with errors {med['n_bad']:.0f}, erroneous instances (K) "
                 f"{med['n_err_instances']:.0f}; time per image ranking: ours {med['t_ours'] * 1000:.0f} ms, "
                 f"baseline {med['t_baseline'] * 1000:.0f} ms, cleanlab {med['t_cleanlab'] * 1000:.0f} ms")
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("reporting", "tuning"), default="reporting")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--synthetic-images", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="the real images of the split only, 1 seed, the 20%% settings (CI)")
    a = ap.parse_args(argv)
    n_synth, seeds = (0, 1) if a.quick else (a.synthetic_images, a.seeds)
    print(machine())
    print(f"split '{a.split}' (seeds {SEED_BASE[a.split]}..{SEED_BASE[a.split] + seeds - 1}), real COCO images of "
          f"the split + {n_synth} synthetic layouts; model simulated from the clean GT; medians over {seeds} seed(s)")
    for mode, rate in SETTINGS[1::2] if a.quick else SETTINGS:
        res = [one_run(a.split, mode, rate, s, n_synth) for s in range(seeds)]
        what = "of the annotations get an error" if mode == "annotation" else "of the images get an image-level error"
        print(f"\n== per {mode}: {rate:.0%} {what} ==")
        print("\n".join(summarize(res, ANN_TYPES if mode == "annotation" else IMG_TYPES)))


if __name__ == "__main__":
    main()
