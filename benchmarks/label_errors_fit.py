"""Refit the label-error row scores of ``nblabel.debug._disagree`` on the TUNING half only.

``_disagree._COEF`` holds, per row kind, the coefficients of a logistic regression of "this row
names a real label error" (a hit, as ``label_errors.py`` defines it) on the row's own evidence:
prediction score ``s``, ``IoU`` and ``L = ln(sqrt(GT area))``. Each kind uses only the evidence it
has (``missing_gt``: s; ``missed``: L; ``class_mismatch``: s, L; ``poor_localization``: s, IoU, L).
This script rebuilds those rows from the tuning half of the benchmark data (its images and seeds,
never the reporting ones), fits the regressions with scikit-learn and prints the fitted
coefficients next to the shipped ones, with the log-loss of both on the same rows. So the shipped
numbers can be reproduced, and checked for drift when the ranking or the data change.

Usage::

    .venv/bin/python benchmarks/label_errors_fit.py            # 4 settings x 5 seeds, +2,000 images
    .venv/bin/python benchmarks/label_errors_fit.py --quick    # CI-sized (real images, 1 seed)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

sys.path.insert(0, str(Path(__file__).parent))
from disagreements import machine
from label_errors import SEED_BASE, SETTINGS, error_targets, instance_hits, project
from label_errors_data import corrupt, image_set, simulate_model

from nblabel.debug import _disagree

# which of (s, IoU, L) each kind's score uses (the others are fixed at 0 in _COEF)
FEATURES = {"missing_gt": (0,), "missed": (2,), "class_mismatch": (0, 2), "poor_localization": (0, 1, 2)}


def rows_of(mode: str, rate: float, seed: int, n_synth: int) -> pd.DataFrame:
    """The disagreement rows of one corrupted tuning set, with their evidence and whether each is a hit."""
    rng = np.random.default_rng([SEED_BASE["tuning"] + seed, int(rate * 1000), mode == "image"])
    pool, clean, sizes = image_set("tuning", n_synth, rng)
    noisy, removed, _errors = corrupt(clean, sizes, pool, mode, rate, rng)
    pred = simulate_model(clean, sizes, pool, rng)
    proj, gt_ids = project(noisy, pred, sizes, pool.n_cls)
    rows = proj.disagreements("model")
    proj.store.close()
    rows = rows.assign(g=pd.Index(gt_ids).get_indexer(rows["gt_id"].fillna(-1).astype(np.int64))).reset_index(drop=True)
    bad_gt, targets = error_targets(noisy, removed)
    area = ((rows["gt_x1"] - rows["gt_x0"]).clip(lower=0) * (rows["gt_y1"] - rows["gt_y0"]).clip(lower=0)).fillna(0.0)
    return pd.DataFrame({"kind": rows["kind"], "s": rows["pred_score"].fillna(0.0).astype(float),
                         "iou": rows["iou"].fillna(0.0).astype(float),
                         "L": 0.5 * np.log(np.maximum(area.to_numpy(float), 1.0)),
                         "hit": instance_hits(rows, bad_gt, targets)})


def shipped_probability(kind: str, x: pd.DataFrame) -> np.ndarray:
    return _disagree._row_score(kind, x["s"].to_numpy(), x["iou"].to_numpy(), np.exp(2 * x["L"].to_numpy()))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--synthetic-images", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="the real images of the tuning half, 1 seed (CI)")
    a = ap.parse_args(argv)
    n_synth, seeds = (0, 1) if a.quick else (a.synthetic_images, a.seeds)
    print(machine())
    print(f"tuning half only (seeds {SEED_BASE['tuning']}..{SEED_BASE['tuning'] + seeds - 1}), "
          f"{len(SETTINGS)} settings, +{n_synth} synthetic layouts")
    with mock.patch("warnings.warn"):
        data = pd.concat([rows_of(m, r, s, n_synth) for m, r in SETTINGS for s in range(seeds)], ignore_index=True)
    cols = ("s", "iou", "L")
    print(f"{'kind':<18} {'rows':>6} {'hits':>6}  {'shipped (b0, s, IoU, L)':<34} {'fitted':<34} loss shipped/fitted")
    for kind, use in FEATURES.items():
        x = data[data["kind"] == kind]
        y = x["hit"].to_numpy()
        shipped = _disagree._COEF[kind]
        if len(x) < 10 or y.all() or not y.any():
            print(f"{kind:<18} {len(x):>6} {int(y.sum()):>6}  too few rows (or one class) to fit")
            continue
        feats = x[[cols[i] for i in use]].to_numpy()
        fit = LogisticRegression(C=1e6, max_iter=2000).fit(feats, y)
        coef = [0.0, 0.0, 0.0]
        for i, c in zip(use, fit.coef_[0], strict=True):
            coef[i] = float(c)
        fitted = (float(fit.intercept_[0]), *coef)
        loss_shipped = log_loss(y, np.clip(shipped_probability(kind, x), 1e-9, 1 - 1e-9), labels=[False, True])
        loss_fitted = log_loss(y, fit.predict_proba(feats)[:, 1], labels=[False, True])
        fmt = lambda c: "(" + ", ".join(f"{v:+.2f}" for v in c) + ")"  # noqa: E731
        print(f"{kind:<18} {len(x):>6} {int(y.sum()):>6}  {fmt(shipped):<34} {fmt(fitted):<34} "
              f"{loss_shipped:.3f}/{loss_fitted:.3f}")


if __name__ == "__main__":
    main()
