"""Benchmark ``proj.disagreements`` (GT vs a model run, ranked) against what a user would write.

Builds a seeded synthetic project on disk: N images (default 100,000) x ~10 ground truths x ~15
predictions (jittered true positives, class swaps, localisation errors, false positives, misses),
written straight into the store (setup is not timed). Then times, median of ``--repeat`` runs:

* nblabel: ``proj.disagreements(run)`` (per instance) and ``per="image"``: reads the store,
  pairs boxes, classifies and scores -- everything included;
* a straightforward pandas/numpy loop a user would write: ``groupby("media_id")``, an IoU matrix
  per image, the same four kinds (input DataFrames already in memory, not timed);
* pycocotools' ``COCOeval.evaluate()`` (its per-image, per-class matcher ``evaluateImg``) at IoU
  0.5, maxDets 100, area 'all' only -- a matcher only: it does not find cross-class errors.

The competitors run on the first ``--baseline-images`` images (default 20,000) and are
extrapolated linearly to N (said so in the output) unless ``--full-baselines``.

Usage::

    .venv/bin/python benchmarks/disagreements.py            # 100k images
    .venv/bin/python benchmarks/disagreements.py --quick    # 5k images, CI-sized
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

import nblabel as nl
from nblabel.store._instances import insert_rows as write_instances
from nblabel.store._prepare import COLUMNS

W, H = 640, 480
N_LABELS = 10


def synth(n_images: int, seed: int = 0, n_gt: float = 10.0, n_pred: float = 15.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic ground truth and predictions (absolute xyxy), vectorised.

    Example:
        >>> g, p = synth(10, seed=1)
        >>> set(g.columns) >= {"media_id", "label_id", "x0", "y1"}, len(p) > len(g)
        (True, True)
    """
    rng = np.random.default_rng(seed)
    k = rng.poisson(n_gt, n_images)
    media = np.repeat(np.arange(1, n_images + 1), k)
    n = len(media)
    w = np.exp(rng.uniform(np.log(12), np.log(300), n))
    h = np.exp(rng.uniform(np.log(12), np.log(300), n))
    x0 = rng.uniform(0, W - w)
    y0 = rng.uniform(0, H - h)
    gt = pd.DataFrame({"media_id": media, "label_id": rng.integers(1, N_LABELS + 1, n),
                       "x0": x0, "y0": y0, "x1": x0 + w, "y1": y0 + h})
    # predictions: ~88% of GT found (jittered, 5% class swaps), the rest false positives
    found = rng.random(n) < 0.88
    tp = gt[found].copy()
    m = len(tp)
    bw, bh = (tp.x1 - tp.x0).to_numpy(), (tp.y1 - tp.y0).to_numpy()
    jit = rng.normal(0, 0.07, (m, 4)) * np.stack([bw, bh, bw, bh], axis=1)
    tp[["x0", "y0", "x1", "y1"]] = tp[["x0", "y0", "x1", "y1"]].to_numpy() + jit
    swap = rng.random(m) < 0.05
    tp.loc[swap, "label_id"] = rng.integers(1, N_LABELS + 1, int(swap.sum()))
    tp["score"] = np.clip(rng.beta(5, 2, m), 0.01, 1.0)
    n_fp = np.maximum(rng.poisson(max(n_pred - n_gt * 0.88, 0.5), n_images), 0)
    fm = np.repeat(np.arange(1, n_images + 1), n_fp)
    f = len(fm)
    fw = np.exp(rng.uniform(np.log(10), np.log(200), f))
    fh = np.exp(rng.uniform(np.log(10), np.log(200), f))
    fx, fy = rng.uniform(0, W - fw), rng.uniform(0, H - fh)
    fp = pd.DataFrame({"media_id": fm, "label_id": rng.integers(1, N_LABELS + 1, f), "x0": fx, "y0": fy,
                       "x1": fx + fw, "y1": fy + fh, "score": np.clip(rng.beta(1.5, 5, f), 0.01, 1.0)})
    pred = pd.concat([tp, fp], ignore_index=True).sort_values("media_id", kind="stable").reset_index(drop=True)
    pred[["x0", "x1"]] = pred[["x0", "x1"]].clip(0, W)
    pred[["y0", "y1"]] = pred[["y0", "y1"]].clip(0, H)
    pred = pred[(pred.x1 - pred.x0 > 1) & (pred.y1 - pred.y0 > 1)].reset_index(drop=True)
    return gt, pred


def build_project(path: Path, n_images: int, gt: pd.DataFrame, pred: pd.DataFrame,
                  labels: list[str] | None = None) -> nl.Project:
    """A project file with ``n_images`` media rows (no files), the labels, GT and one run 'model'.

    Example:
        >>> import tempfile
        >>> g, p = synth(3)
        >>> build_project(Path(tempfile.mkdtemp()) / "x.duckdb", 3, g, p).media().count()
        3
    """
    proj = nl.open(path, author="bench")
    for name in labels or [f"class{i}" for i in range(1, N_LABELS + 1)]:
        proj.schema.add_label(name)
    proj.add_run("model")
    with proj.store.transaction() as con:
        ids = np.arange(1, n_images + 1)
        media = pd.DataFrame({"media_id": ids, "uri": [f"synthetic://{i}.jpg" for i in ids],
                              "file_name": [f"{i:07d}.jpg" for i in ids], "sha256": [f"{i:064x}" for i in ids],
                              "width": W, "height": H})
        con.register("_bench_media", media)
        con.execute("INSERT INTO media SELECT media_id, uri, file_name, sha256, width, height, 'jpeg', 1, 0, "
                    "NULL, now() FROM _bench_media")
        con.unregister("_bench_media")
        sv = int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0])
        for frame, run_id in ((gt, None), (pred, 1)):
            f = frame.copy()
            f["run_id"] = run_id
            f["kind"] = "box"
            for c, default in (("points", None), ("attributes", None), ("score", np.nan), ("track_id", pd.NA),
                               ("area", np.nan), ("iscrowd", False), ("extra", None)):
                if c not in f.columns:
                    f[c] = default
            write_instances(con, f[COLUMNS], author="bench", schema_version=sv)
    return proj


# -- what a user would write ---------------------------------------------------------------------
def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (aa[:, None] + ab[None, :] - inter)


def pandas_loop(gt: pd.DataFrame, pred: pd.DataFrame, iou: float = 0.5) -> pd.DataFrame:
    """Per image: IoU matrix, then missing_gt / missed / class_mismatch / poor_localization rows.

    Example:
        >>> g, p = synth(5)
        >>> set(pandas_loop(g, p)["kind"]) <= {"missing_gt", "missed", "class_mismatch", "poor_localization"}
        True
    """
    rows = []
    cols = ["x0", "y0", "x1", "y1"]
    pg = dict(tuple(pred.groupby("media_id")))
    for mid, g in gt.groupby("media_id"):
        p = pg.get(mid)
        if p is None or p.empty:
            rows += [(mid, "missed", i, -1, 0.5) for i in g.index]
            continue
        m = _iou_matrix(g[cols].to_numpy(), p[cols].to_numpy())
        same = g["label_id"].to_numpy()[:, None] == p["label_id"].to_numpy()[None, :]
        ok = (m >= iou) & same
        p_ok = ok.any(axis=0)
        for gi in range(len(g)):
            if ok[gi].any():
                continue
            other = (m[gi] >= iou) & ~same[gi] & ~p_ok
            loc = (m[gi] >= 0.1) & same[gi] & ~p_ok
            if other.any():
                j = int(np.argmax(np.where(other, p["score"].to_numpy(), -1)))
                rows.append((mid, "class_mismatch", g.index[gi], p.index[j], p["score"].iat[j]))
            elif loc.any():
                j = int(np.argmax(np.where(loc, m[gi], -1)))
                rows.append((mid, "poor_localization", g.index[gi], p.index[j], p["score"].iat[j] * (1 - m[gi, j])))
            else:
                rows.append((mid, "missed", g.index[gi], -1, 0.5))
        lonely = (m.max(axis=0) < 0.1) & ~p_ok
        for j in np.flatnonzero(lonely):
            rows.append((mid, "missing_gt", -1, p.index[j], p["score"].iat[j]))
    out = pd.DataFrame(rows, columns=["media_id", "kind", "gt", "pred", "score"])
    return out.sort_values("score", ascending=False)


def pycocotools_match(gt: pd.DataFrame, pred: pd.DataFrame) -> Callable[[], Any]:
    """A callable running pycocotools' evaluate() (per-image matching) on the given boxes."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    mids = sorted(set(gt["media_id"]) | set(pred["media_id"]))
    ds = {"images": [{"id": int(i), "width": W, "height": H} for i in mids],
          "categories": [{"id": i} for i in range(1, N_LABELS + 1)],
          "annotations": [{"id": k + 1, "image_id": int(r.media_id), "category_id": int(r.label_id),
                           "bbox": [r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0], "area": (r.x1 - r.x0) * (r.y1 - r.y0),
                           "iscrowd": 0} for k, r in enumerate(gt.itertuples())]}
    res = [{"image_id": int(r.media_id), "category_id": int(r.label_id),
            "bbox": [r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0], "score": float(r.score)} for r in pred.itertuples()]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = ds
        coco.createIndex()
        dt = coco.loadRes(copy.deepcopy(res))

    def run() -> Any:
        with contextlib.redirect_stdout(io.StringIO()):
            ev = COCOeval(coco, dt, "bbox")
            ev.params.iouThrs = np.array([0.5])
            ev.params.maxDets = [100]
            ev.params.areaRng = [[0, 1e10]]
            ev.params.areaRngLbl = ["all"]
            ev.evaluate()
        return ev

    return run


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def machine() -> str:
    """One line about the machine and library versions."""
    return (f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
            f"duckdb {duckdb.__version__}, nblabel {nl.__version__}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-images", type=int, default=20_000)
    ap.add_argument("--full-baselines", action="store_true")
    ap.add_argument("--skip-pycocotools", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="5k images, 1 repeat (CI)")
    a = ap.parse_args(argv)
    if a.quick:
        a.images, a.repeat, a.baseline_images = 5_000, 1, 2_000
    print(machine())
    t = time.perf_counter()
    gt, pred = synth(a.images, seed=a.seed)
    with tempfile.TemporaryDirectory() as d:
        proj = build_project(Path(d) / "bench.duckdb", a.images, gt, pred)
        print(f"{a.images:,} images, {len(gt):,} GT, {len(pred):,} predictions "
              f"(setup {time.perf_counter() - t:.1f} s, not timed)")
        t_inst, rows = timed(lambda: proj.disagreements("model"), a.repeat)
        t_img, per_img = timed(lambda: proj.disagreements("model", per="image"), a.repeat)
        print(f"nblabel disagreements per instance: {t_inst:.2f} s (median of {a.repeat}), {len(rows):,} rows; "
              f"kinds {rows['kind'].value_counts().to_dict()}")
        print(f"nblabel disagreements per image:    {t_img:.2f} s, {len(per_img):,} rows")
        proj.store.close()
    nb = a.images if a.full_baselines else min(a.baseline_images, a.images)
    scale = a.images / nb
    note = "" if scale == 1 else f" (run on {nb:,} images, x{scale:.1f} extrapolated to {a.images:,})"
    g_sub, p_sub = gt[gt.media_id <= nb], pred[pred.media_id <= nb]
    t_loop, _loop_rows = timed(lambda: pandas_loop(g_sub, p_sub), 1)
    t_loop *= scale
    print(f"pandas/numpy per-image loop:         {t_loop:.2f} s{note}; ratio {t_loop / t_inst:.1f}x slower than nblabel")
    if not a.skip_pycocotools:
        try:
            run = pycocotools_match(g_sub, p_sub)
        except ImportError:
            print("pycocotools not installed: skipped")
        else:
            t_coco, _ = timed(run, 1)
            t_coco *= scale
            print(f"pycocotools evaluate() (matching only, IoU .5, one area, maxDets 100): {t_coco:.2f} s{note}; "
                  f"ratio {t_coco / t_inst:.1f}x slower than nblabel")
    goal = 20.0 * a.images / 100_000
    print(f"goal: <= {goal:.1f} s at this size -> {'met' if t_inst <= goal else 'MISSED'}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
