"""How well does ``proj.disagreements`` find label errors? Measured against cleanlab, same run.

For each seed: take ground truth (the 100-image COCO val2014 reference set and/or a larger
synthetic set), corrupt a quarter of its images with one error each -- a box removed, a box
shifted off its object, a class swapped, a spurious box added -- then simulate a good model from
the CLEAN ground truth (jittered boxes, size-dependent recall, some class confusion, a few
low-score false positives). Rank the images by

* nblabel: ``proj.disagreements(run, per="image")`` score (highest first);
* cleanlab 2.9: ``cleanlab.object_detection.rank.get_label_quality_scores`` (lowest first);
* a floor: ``|#GT - #predictions with score >= 0.5|`` per image;

and report AUROC and precision@K (K = number of corrupted images) of each ranking, overall and
per error type (AUROC on the clean images plus the images of that type), plus instance-level
precision@K of nblabel's per-instance list (does a top row point at a corrupted box?), and the
time each ranking takes. Medians over ``--seeds`` seeds (default 5).

Usage::

    .venv/bin/python benchmarks/label_errors.py               # COCO-100 + 2,000 synthetic images, 5 seeds
    .venv/bin/python benchmarks/label_errors.py --quick       # COCO-100 only, 3 seeds (CI)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))
from disagreements import machine, synth

import nblabel as nl
from nblabel.store._instances import insert_rows as write_instances
from nblabel.store._prepare import COLUMNS

REF = Path(__file__).parents[1] / "tests" / "data" / "coco-eval-reference" / "instances_val2014_100.json"
TYPES = ("remove", "shift", "swap", "spurious")


def coco_gt() -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The reference COCO GT (crowd boxes left out) as (gt, image sizes, number of classes)."""
    d = json.loads(REF.read_text())
    ids = {im["id"]: i + 1 for i, im in enumerate(sorted(d["images"], key=lambda x: x["id"]))}
    cats = {c["id"]: i + 1 for i, c in enumerate(sorted(d["categories"], key=lambda c: c["id"]))}
    rows = [(ids[a["image_id"]], cats[a["category_id"]], *a["bbox"]) for a in d["annotations"] if not a["iscrowd"]]
    g = pd.DataFrame(rows, columns=["media_id", "label_id", "x", "y", "w", "h"])
    gt = pd.DataFrame({"media_id": g.media_id, "label_id": g.label_id, "x0": g.x, "y0": g.y,
                       "x1": g.x + g.w, "y1": g.y + g.h})
    sizes = pd.DataFrame([(ids[im["id"]], im["width"], im["height"]) for im in d["images"]],
                         columns=["media_id", "width", "height"]).sort_values("media_id")
    return gt.sort_values("media_id", kind="stable").reset_index(drop=True), sizes, len(cats)


def synthetic_gt(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Synthetic GT (640x480, 10 classes, ~10 boxes per image)."""
    gt, _ = synth(n, seed=10_000 + seed)
    sizes = pd.DataFrame({"media_id": np.arange(1, n + 1), "width": 640, "height": 480})
    return gt.reset_index(drop=True), sizes, 10


def corrupt(gt: pd.DataFrame, sizes: pd.DataFrame, n_cls: int, rng: np.random.Generator,
            frac: float = 0.25) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Corrupt ``frac`` of the images with one error each.

    Returns (noisy gt with a ``corrupt`` column naming the error of a box, the removed boxes,
    per-image truth: ``media_id, type``).
    """
    gt = gt.assign(corrupt="", orig_x0=gt.x0, orig_y0=gt.y0, orig_x1=gt.x1, orig_y1=gt.y1)
    mids = sizes["media_id"].to_numpy()
    chosen = rng.choice(mids, round(frac * len(mids)), replace=False)
    types = rng.choice(TYPES, len(chosen))
    has = set(gt["media_id"])
    types = np.where(np.isin(chosen, list(has)), types, "spurious")
    removed, extra = [], []
    wh = sizes.set_index("media_id")
    by_media = gt.groupby("media_id").indices
    for m, t in zip(chosen, types, strict=True):
        W, H = wh.loc[m, "width"], wh.loc[m, "height"]
        if t == "spurious":
            w, h = rng.uniform(30, min(160, W - 1)), rng.uniform(30, min(160, H - 1))
            x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
            extra.append({"media_id": m, "label_id": int(rng.integers(1, n_cls + 1)), "x0": x, "y0": y,
                          "x1": x + w, "y1": y + h, "corrupt": "spurious"})
            continue
        i = gt.index[rng.choice(by_media[m])]
        if t == "remove":
            removed.append(gt.loc[i, ["media_id", "label_id", "x0", "y0", "x1", "y1"]].to_dict())
            gt = gt.drop(index=i)
            by_media = gt.groupby("media_id").indices
        elif t == "swap":
            old = gt.at[i, "label_id"]
            gt.at[i, "label_id"] = int((old - 1 + rng.integers(1, n_cls)) % n_cls + 1)
            gt.at[i, "corrupt"] = "swap"
        else:  # shift by 0.6-1.0 of the box along one axis (IoU with the object <= 0.25)
            b = gt.loc[i, ["x0", "y0", "x1", "y1"]].to_numpy(float)
            w, h = b[2] - b[0], b[3] - b[1]
            dx, dy = (rng.uniform(0.6, 1.0) * w, 0.0) if rng.random() < 0.5 else (0.0, rng.uniform(0.6, 1.0) * h)
            sx, sy = rng.choice([-1, 1], 2)
            nb = b + np.array([sx * dx, sy * dy, sx * dx, sy * dy])
            nb[[0, 2]] = np.clip(nb[[0, 2]], 0, W)
            nb[[1, 3]] = np.clip(nb[[1, 3]], 0, H)
            if nb[2] - nb[0] < 2 or nb[3] - nb[1] < 2:  # shifted out of the image: shift the other way
                nb = b - np.array([sx * dx, sy * dy, sx * dx, sy * dy])
                nb[[0, 2]] = np.clip(nb[[0, 2]], 0, W)
                nb[[1, 3]] = np.clip(nb[[1, 3]], 0, H)
            gt.loc[i, ["x0", "y0", "x1", "y1"]] = nb
            gt.at[i, "corrupt"] = "shift"
    if extra:
        gt = pd.concat([gt, pd.DataFrame(extra)], ignore_index=True)
    gt = gt.sort_values("media_id", kind="stable").reset_index(drop=True)
    truth = pd.DataFrame({"media_id": chosen, "type": types})
    return gt, pd.DataFrame(removed, columns=["media_id", "label_id", "x0", "y0", "x1", "y1"]), truth


def simulate_model(clean: pd.DataFrame, sizes: pd.DataFrame, n_cls: int, rng: np.random.Generator,
                   profile: str = "moderate") -> pd.DataFrame:
    """A good detector's output on the clean GT: size-dependent recall, jitter, confusion, FPs.

    ``profile``: the scores of true detections: ``"moderate"`` Beta(8, 2) (mean 0.8) or
    ``"confident"`` 1 - Beta(1, 30) (mean 0.97; cleanlab only trusts predictions >= 0.95).
    """
    n = len(clean)
    area = ((clean.x1 - clean.x0) * (clean.y1 - clean.y0)).to_numpy()
    p_det = np.where(area < 32 ** 2, 0.7, np.where(area < 96 ** 2, 0.9, 0.97))
    det = rng.random(n) < p_det
    tp = clean[det].copy()
    bw, bh = (tp.x1 - tp.x0).to_numpy(), (tp.y1 - tp.y0).to_numpy()
    jit = rng.normal(0, 0.05, (len(tp), 4)) * np.stack([bw, bh, bw, bh], axis=1)
    tp[["x0", "y0", "x1", "y1"]] = tp[["x0", "y0", "x1", "y1"]].to_numpy() + jit
    conf = rng.random(len(tp)) < 0.03
    tp.loc[conf, "label_id"] = rng.integers(1, n_cls + 1, int(conf.sum()))
    tp["score"] = rng.beta(8, 2, len(tp)) if profile == "moderate" else 1.0 - rng.beta(1, 30, len(tp))
    k = rng.poisson(0.6, len(sizes))
    fm = np.repeat(sizes["media_id"].to_numpy(), k)
    W = np.repeat(sizes["width"].to_numpy(float), k)
    H = np.repeat(sizes["height"].to_numpy(float), k)
    fw, fh = rng.uniform(10, 120, len(fm)), rng.uniform(10, 120, len(fm))
    fx, fy = rng.uniform(0, 1, len(fm)) * (W - fw), rng.uniform(0, 1, len(fm)) * (H - fh)
    fp = pd.DataFrame({"media_id": fm, "label_id": rng.integers(1, n_cls + 1, len(fm)), "x0": fx, "y0": fy,
                       "x1": fx + fw, "y1": fy + fh, "score": rng.beta(2, 6, len(fm))})
    pred = pd.concat([tp[["media_id", "label_id", "x0", "y0", "x1", "y1", "score"]], fp], ignore_index=True)
    s = sizes.set_index("media_id")
    pred["x0"] = pred["x0"].clip(lower=0)
    pred["y0"] = pred["y0"].clip(lower=0)
    pred["x1"] = np.minimum(pred["x1"], s.loc[pred.media_id, "width"].to_numpy())
    pred["y1"] = np.minimum(pred["y1"], s.loc[pred.media_id, "height"].to_numpy())
    pred = pred[(pred.x1 - pred.x0 > 1) & (pred.y1 - pred.y0 > 1)]
    return pred.sort_values("media_id", kind="stable").reset_index(drop=True)


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
            f = frame[[c for c in ("media_id", "label_id", "x0", "y0", "x1", "y1", "score") if c in frame]].copy()
            f["run_id"], f["kind"] = run_id, "box"
            for c, dflt in (("points", None), ("attributes", None), ("score", np.nan), ("track_id", pd.NA),
                            ("area", np.nan), ("iscrowd", False), ("extra", None)):
                if c not in f.columns:
                    f[c] = dflt
            ids.append(write_instances(con, f[COLUMNS], author="bench", schema_version=1))
    return proj, ids[0]


def cleanlab_scores(gt: pd.DataFrame, pred: pd.DataFrame, sizes: pd.DataFrame, n_cls: int) -> np.ndarray:
    """cleanlab's per-image label quality (lower = more likely wrong), images in ``sizes`` order."""
    from cleanlab.object_detection.rank import get_label_quality_scores

    labels, preds = [], []
    g_by = gt.groupby("media_id").indices
    p_by = pred.groupby("media_id").indices
    gb = gt[["x0", "y0", "x1", "y1"]].to_numpy(float)
    gl = gt["label_id"].to_numpy() - 1
    pb = pred[["x0", "y0", "x1", "y1", "score"]].to_numpy(float)
    pl = pred["label_id"].to_numpy() - 1
    empty = np.zeros((0, 5), dtype=np.float32)
    for m in sizes["media_id"]:
        gi = g_by.get(m, np.zeros(0, int))
        labels.append({"bboxes": gb[gi].astype(np.float32).reshape(-1, 4), "labels": gl[gi].astype(int)})
        pi = p_by.get(m, np.zeros(0, int))
        preds.append(np.array([pb[pi][pl[pi] == k].astype(np.float32) if len(pi) else empty
                               for k in range(n_cls)], dtype=object))
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(get_label_quality_scores(labels, preds, verbose=False), dtype=float)


def precision_at_k(score: np.ndarray, truth: np.ndarray, k: int) -> float:
    order = np.argsort(-score, kind="stable")
    return float(truth[order[:k]].mean()) if k else float("nan")


def _hits(rows: pd.DataFrame, corrupt_ids: set[int], targets: pd.DataFrame) -> np.ndarray:
    """Does each instance row point at a corruption (a corrupted GT id, or a prediction on the
    place of a removed box / of a shifted box's object)?"""
    hit = rows["gt_id"].isin(list(corrupt_ids)).fillna(False).to_numpy(dtype=bool)
    if len(targets):
        p = rows[rows["gt_id"].isna()]
        if len(p):
            j = p[["media_id", "pred_x0", "pred_y0", "pred_x1", "pred_y1"]].reset_index().merge(
                targets, on="media_id")
            iw = (np.minimum(j.pred_x1, j.x1) - np.maximum(j.pred_x0, j.x0)).clip(lower=0)
            ih = (np.minimum(j.pred_y1, j.y1) - np.maximum(j.pred_y0, j.y0)).clip(lower=0)
            inter = iw * ih
            u = (j.pred_x1 - j.pred_x0) * (j.pred_y1 - j.pred_y0) + (j.x1 - j.x0) * (j.y1 - j.y0) - inter
            ok = j.loc[(inter / u) >= 0.3, "index"].unique()
            hit[rows.index.get_indexer(ok)] = True
    return hit


def one_seed(source: str, seed: int, n_synth: int, profile: str = "moderate") -> dict[str, float]:
    rng = np.random.default_rng(seed)
    gt0, sizes, n_cls = coco_gt() if source == "coco100" else synthetic_gt(n_synth, seed)
    noisy, removed, truth = corrupt(gt0, sizes, n_cls, rng)
    pred = simulate_model(gt0, sizes, n_cls, rng, profile)
    proj, gt_ids = project(noisy, pred, sizes, n_cls)
    mids = sizes["media_id"].to_numpy()
    is_bad = np.isin(mids, truth["media_id"])
    type_of = pd.Series(truth["type"].to_numpy(), index=truth["media_id"]).reindex(mids).fillna("").to_numpy()
    out: dict[str, float] = {}

    t = time.perf_counter()
    img = proj.disagreements("model", per="image")
    out["t_nblabel"] = time.perf_counter() - t
    ours = img.set_index("media_id")["score"].reindex(mids).to_numpy()
    t = time.perf_counter()
    cl = cleanlab_scores(noisy, pred, sizes, n_cls)
    out["t_cleanlab"] = time.perf_counter() - t
    cnt_g = np.bincount(noisy["media_id"], minlength=mids.max() + 1)[mids]
    cnt_p = np.bincount(pred.loc[pred.score >= 0.5, "media_id"], minlength=mids.max() + 1)[mids]
    floor = np.abs(cnt_g - cnt_p).astype(float) + 1e-6 * rng.random(len(mids))  # random tie-break
    k = int(is_bad.sum())
    for name, s in (("nblabel", ours), ("cleanlab", 1.0 - cl), ("count", floor)):
        out[f"auroc_{name}"] = roc_auc_score(is_bad, s)
        out[f"p@k_{name}"] = precision_at_k(s, is_bad, k)
        for t_ in TYPES:
            sel = ~is_bad | (type_of == t_)
            if (type_of == t_).any():
                out[f"auroc_{name}_{t_}"] = roc_auc_score(is_bad[sel], s[sel])
    # instance level: the top of nblabel's per-instance list
    rows = proj.disagreements("model")
    corrupt_ids = set(gt_ids[noisy["corrupt"].isin(["shift", "swap", "spurious"]).to_numpy()].tolist())
    shifted = noisy[noisy["corrupt"] == "shift"][["media_id", "orig_x0", "orig_y0", "orig_x1", "orig_y1"]]
    shifted.columns = ["media_id", "x0", "y0", "x1", "y1"]
    targets = pd.concat([removed[["media_id", "x0", "y0", "x1", "y1"]], shifted], ignore_index=True)
    n_err = len(truth)
    hits = _hits(rows.head(n_err).reset_index(drop=True), corrupt_ids, targets)
    out["inst_p@k_nblabel"] = float(hits.mean()) if n_err else float("nan")
    proj.store.close()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--synthetic-images", type=int, default=2000)
    ap.add_argument("--profiles", default="moderate,confident",
                    help="model score profiles to run (moderate: TP scores ~Beta(8,2); confident: ~0.97)")
    ap.add_argument("--quick", action="store_true", help="COCO-100 only, moderate scores, 3 seeds (CI)")
    a = ap.parse_args(argv)
    sources = ["coco100"] if a.quick else ["coco100", "synthetic"]
    profiles = ["moderate"] if a.quick else a.profiles.split(",")
    seeds = 3 if a.quick else a.seeds
    print(machine())
    print("errors: a quarter of the images get one of", ", ".join(TYPES), "; model simulated from the clean GT")
    for profile in profiles:
        for src in sources:
            res = [one_seed(src, s, a.synthetic_images, profile) for s in range(seeds)]
            med = {k: statistics.median([r[k] for r in res if k in r]) for k in res[0]}
            n = 100 if src == "coco100" else a.synthetic_images
            print(f"\n== {src}: {n} images, model scores '{profile}', median over {seeds} seeds ==")
            print(f"{'ranking':<10} {'AUROC':>6} {'P@K':>6} " + " ".join(f"{'AUROC ' + t:>15}" for t in TYPES))
            for name in ("nblabel", "cleanlab", "count"):
                per_type = " ".join(f"{med.get(f'auroc_{name}_{t}', float('nan')):>15.3f}" for t in TYPES)
                print(f"{name:<10} {med[f'auroc_{name}']:>6.3f} {med[f'p@k_{name}']:>6.3f} {per_type}")
            print(f"nblabel instance-level precision@K (K = #corruptions): {med['inst_p@k_nblabel']:.3f}")
            print(f"time per ranking: nblabel {med['t_nblabel'] * 1000:.0f} ms, cleanlab {med['t_cleanlab'] * 1000:.0f} ms "
                  f"({med['t_cleanlab'] / med['t_nblabel']:.1f}x)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
