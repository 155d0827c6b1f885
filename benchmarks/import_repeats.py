"""What the repeat check of ``mode="skip-existing"`` (the default of every import) costs.

100k boxes on 1,000 images through ``add_instances``, three cases, each timed with the default
``mode="skip-existing"`` and with ``mode="append"`` (the write path without the check: what every
import did before issue 8) on fresh projects in the same process, alternating:

- ``empty``: into a project without instances (the check finds nothing stored and stops early);
- ``busy``: 100k other boxes onto images already holding 100k (the check runs its join, finds no
  repeat, every row is written);
- ``repeat``: the same 100k boxes again (the default skips them all; append writes them again).

Goal (issue 8 §5): the first two not measurably slower than append.

Run:  .venv/bin/python benchmarks/import_repeats.py [--quick] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import nblabel as nl

W, H = 64, 48


def _project(n_images: int, folder: Path) -> nl.Project:
    proj = nl.open(":memory:", author="bench", media_dir=folder)
    imgs = []
    for i in range(n_images):  # distinct bytes per image
        a = np.zeros((H, W, 3), np.uint8)
        a[0, 0, 0], a[0, 0, 1] = i % 256, i // 256
        imgs.append(a)
    assert proj.add_images(imgs, progress=False).added == n_images
    proj.schema.add_label("car")
    return proj


def _boxes(n: int, n_images: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cx, cy = rng.uniform(5, W - 5, n), rng.uniform(5, H - 5, n)
    return pd.DataFrame({"media_id": rng.integers(1, n_images + 1, n), "label": "car", "x0": cx - 4, "y0": cy - 3,
                         "x1": cx + 4, "y1": cy + 3})


def _time(proj: nl.Project, df: pd.DataFrame, mode: str) -> float:
    t = time.perf_counter()
    proj.add_instances(df, mode=mode)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10k boxes on 100 images, 1 repetition")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n, n_images, reps = (10_000, 100, 1) if args.quick else (100_000, 1_000, args.repeat)
    first, other = _boxes(n, n_images, 0), _boxes(n, n_images, 1)
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as d:
        warm = _project(10, Path(d) / "warm-up")  # first calls in a process pay for imports and plans
        for mode in ("skip-existing", "append", "skip-existing"):
            warm.add_instances(_boxes(100, 10, 2), mode=mode)
        for r in range(reps):
            for mode in ("skip-existing", "append") if r % 2 == 0 else ("append", "skip-existing"):
                proj = _project(n_images, Path(d) / f"{r}-{mode}")
                times.setdefault(("empty", mode), []).append(_time(proj, first, mode))
                times.setdefault(("busy", mode), []).append(_time(proj, other, mode))
                times.setdefault(("repeat", mode), []).append(_time(proj, first, mode))
                expected = 2 * n if mode == "skip-existing" else 3 * n
                assert proj.instances().count() == expected, (mode, proj.instances().count())
    print(f"{n:,} boxes on {n_images:,} images, median of {reps} (s)")
    print(f"{'case':<8} {'skip-existing':>14} {'append':>8} {'ratio':>6}")
    for case in ("empty", "busy", "repeat"):
        a, b = (statistics.median(times[(case, m)]) for m in ("skip-existing", "append"))
        print(f"{case:<8} {a:>14.3f} {b:>8.3f} {a / b:>6.2f}")


if __name__ == "__main__":
    main()
