"""Benchmark nblabel's COCO evaluation engine against pycocotools and faster-coco-eval.

Generates a seeded, COCO-like synthetic set (about 7 ground truths and 10 predictions per image,
80 classes, realistic box sizes, jittered true positives, class confusions, false positives, a few
crowd regions), runs

* nblabel: ``evaluate_frames(gt_frame, dt_frame)`` (its native input, DataFrames);
* pycocotools: ``COCOeval(...).evaluate(); accumulate(); summarize()`` (stdout suppressed);
* faster-coco-eval: ``COCOeval_faster(...).evaluate(); accumulate(); summarize()``;

each on already-loaded inputs (json parsing / index building is not timed), checks that all stats
agree, and prints median times and the ratios.

Usage::

    .venv/bin/python benchmarks/eval.py                       # 5000 and 20000 images, 3 repeats
    .venv/bin/python benchmarks/eval.py --images 5000 --repeat 5
    .venv/bin/python benchmarks/eval.py --quick               # 1000 images, 1 repeat (CI)
    .venv/bin/python benchmarks/eval.py --skip-pycocotools    # pycocotools takes minutes at 20k
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import logging
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from nblabel.debug._cocoeval import evaluate_frames


def synthetic_coco(n_images: int, seed: int = 0, n_classes: int = 80) -> tuple[dict, list[dict]]:
    """A COCO dataset dict and a results list (``bbox`` + ``score``) for ``n_images`` images.

    Example:
        >>> ds, res = synthetic_coco(3, seed=1)
        >>> len(ds["images"]), sorted(res[0])
        (3, ['bbox', 'category_id', 'image_id', 'score'])
    """
    rng = np.random.default_rng(seed)
    freq = 1.0 / np.arange(1, n_classes + 1) ** 0.8  # a few frequent classes, a long tail
    freq /= freq.sum()
    images, anns, results = [], [], []
    for img_id in range(1, n_images + 1):
        width, height = (640, 480) if rng.random() < 0.6 else (480, 640)
        images.append({"id": img_id, "width": width, "height": height})
        n_gt = int(rng.poisson(7))
        cls = rng.choice(n_classes, n_gt, p=freq) + 1
        side = np.exp(rng.uniform(np.log(8), np.log(400), (n_gt, 2)))  # small..large objects
        w = np.minimum(side[:, 0], width - 1)
        h = np.minimum(side[:, 1], height - 1)
        x = rng.uniform(0, width - w)
        y = rng.uniform(0, height - h)
        crowd = rng.random(n_gt) < 0.01
        fill = rng.uniform(0.45, 0.95, n_gt)  # polygon area is a fraction of the box
        for j in range(n_gt):
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img_id,
                    "category_id": int(cls[j]),
                    "bbox": [round(float(v), 2) for v in (x[j], y[j], w[j], h[j])],
                    "area": round(float(w[j] * h[j] * fill[j]), 2),
                    "iscrowd": int(crowd[j]),
                }
            )
        # predictions: ~80% of objects found (some twice, some with the wrong class), plus noise
        for j in range(n_gt):
            for _ in range(int(rng.random() < 0.8) + int(rng.random() < 0.1)):
                jit = rng.normal(0, 0.08, 4) * np.array([w[j], h[j], w[j], h[j]])
                b = [x[j] + jit[0], y[j] + jit[1], max(w[j] + jit[2], 1.0), max(h[j] + jit[3], 1.0)]
                c = int(cls[j]) if rng.random() > 0.08 else int(rng.choice(n_classes, p=freq) + 1)
                score = float(np.clip(rng.beta(5, 2) - abs(jit).mean() / (w[j] + h[j]), 0.01, 1.0))
                results.append(
                    {
                        "image_id": img_id,
                        "category_id": c,
                        "bbox": [round(float(v), 2) for v in b],
                        "score": round(score, 3),
                    }
                )
        n_fp = max(0, 10 - round(0.9 * n_gt) + int(rng.integers(-2, 3)))
        for _ in range(n_fp):
            bw, bh = np.exp(rng.uniform(np.log(8), np.log(300), 2))
            bx, by = rng.uniform(0, width - min(bw, width - 1)), rng.uniform(0, height - min(bh, height - 1))
            results.append(
                {
                    "image_id": img_id,
                    "category_id": int(rng.choice(n_classes, p=freq) + 1),
                    "bbox": [round(float(v), 2) for v in (bx, by, bw, bh)],
                    "score": round(float(rng.beta(2, 5)), 3),
                }
            )
    cats = [{"id": c, "name": f"class{c}"} for c in range(1, n_classes + 1)]
    return {"images": images, "annotations": anns, "categories": cats}, results


def frames(dataset: dict, results: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``gt`` / ``dt`` frames nblabel's engine takes (dt normalised as ``loadRes`` does).

    Example:
        >>> gt, dt = frames(*synthetic_coco(2))
        >>> list(dt.columns)[:3]
        ['dt_id', 'image_id', 'category_id']
    """
    anns = dataset["annotations"]
    gb = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
    gt = pd.DataFrame(
        {
            "gt_id": [a["id"] for a in anns],
            "image_id": [a["image_id"] for a in anns],
            "category_id": [a["category_id"] for a in anns],
            "x": gb[:, 0], "y": gb[:, 1], "w": gb[:, 2], "h": gb[:, 3],
            "area": [a["area"] for a in anns],
            "iscrowd": [a["iscrowd"] for a in anns],
        }
    )  # fmt: skip
    db = np.array([r["bbox"] for r in results], dtype=np.float64).reshape(-1, 4)
    dt = pd.DataFrame(
        {
            "dt_id": np.arange(1, len(results) + 1),
            "image_id": [r["image_id"] for r in results],
            "category_id": [r["category_id"] for r in results],
            "x": db[:, 0], "y": db[:, 1], "w": db[:, 2], "h": db[:, 3],
            "score": [r["score"] for r in results],
            "area": db[:, 2] * db[:, 3],
        }
    )  # fmt: skip
    return gt, dt


def _median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall-clock and CPU (all threads of the process) seconds over ``repeat`` runs."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def run_pycocotools(dataset: dict, results: list[dict]) -> Callable[[], np.ndarray]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(dataset)
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(results))

    def run() -> np.ndarray:
        with contextlib.redirect_stdout(io.StringIO()):
            ev = COCOeval(gt, dt, "bbox")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return np.asarray(ev.stats)

    return run


def run_faster(dataset: dict, results: list[dict]) -> Callable[[], np.ndarray]:
    from faster_coco_eval import COCO, COCOeval_faster

    logging.getLogger("faster_coco_eval").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(copy.deepcopy(dataset))
        dt = gt.loadRes(copy.deepcopy(results))

    def run() -> np.ndarray:
        with contextlib.redirect_stdout(io.StringIO()):
            ev = COCOeval_faster(gt, dt, "bbox", print_function=lambda *a, **k: None)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        return np.asarray(ev.stats)[:12]

    return run


def bench(n_images: int, repeat: int, skip_pycocotools: bool, seed: int = 0) -> dict[str, float]:
    """Time the three engines on one synthetic set; print a table; return the median seconds.

    Example:
        >>> timings = bench(50, 1, True)  # doctest: +ELLIPSIS
        <BLANKLINE>
        50 images: ...
        >>> sorted(timings)
        ['faster_coco_eval', 'nblabel']
    """
    dataset, results = synthetic_coco(n_images, seed=seed)
    gt, dt = frames(dataset, results)
    images = [im["id"] for im in dataset["images"]]
    cats = [c["id"] for c in dataset["categories"]]
    print(f"\n{n_images} images: {len(gt)} ground truths, {len(dt)} predictions, {len(cats)} classes")

    def ours() -> np.ndarray:
        return evaluate_frames(gt, dt, images=images, categories=cats).stats

    engines: dict[str, Callable[[], np.ndarray]] = {"nblabel": ours}
    if not skip_pycocotools:
        engines["pycocotools"] = run_pycocotools(dataset, results)
    engines["faster_coco_eval"] = run_faster(dataset, results)
    ours()  # warm-up (imports, first-call allocations)
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    stats: dict[str, np.ndarray] = {}
    for name, fn in engines.items():
        timings[name], cpu[name], stats[name] = _median_time(fn, repeat)
    ref = stats["nblabel"]
    for name, s in stats.items():
        diff = float(np.max(np.abs(np.asarray(s, dtype=np.float64) - ref)))
        # faster-coco-eval is a re-implementation: tiny float differences are possible there
        tol = 1e-9 if name != "faster_coco_eval" else 1e-6
        flag = "ok" if diff <= tol else "MISMATCH"
        print(
            f"  {name:<17} wall {timings[name] * 1000:9.1f} ms  cpu {cpu[name] * 1000:9.1f} ms"
            f"   stats max |diff| vs nblabel {diff:.1e} {flag}"
        )
    for name in engines:
        if name != "nblabel":
            print(
                f"  nblabel is {timings[name] / timings['nblabel']:5.1f}x faster than {name} (wall), "
                f"{cpu[name] / cpu['nblabel']:5.1f}x (cpu)"
            )
    print(f"  AP={ref[0]:.4f} AP50={ref[1]:.4f} AR100={ref[8]:.4f}")
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1000 images, 1 repeat")
    parser.add_argument("--skip-pycocotools", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes, repeat = ([1000], 1) if args.quick else (args.images, args.repeat)
    for n in sizes:
        bench(n, repeat, args.skip_pycocotools, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
