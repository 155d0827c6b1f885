"""Instance write path: 20k boxes vs 20k polygons/keypoints/lines through ``add_instances``,
and the annotator's one-row save handler (kernel side, no browser).

Every writer (``add_instances``, predictions, the COCO/YOLO/VOC imports, the annotator) goes
through the store's one write path; this measures the batch branch per geometry kind and the
one-row branch behind a ``save`` request. Goal (issue 7): polygons ≤ 4× the cost of boxes.

Run:  .venv/bin/python benchmarks/instances_write.py [--quick] [--n N] [--repeat R]
      .venv/bin/python benchmarks/instances_write.py --save-vs OLD_CHECKOUT [--rounds K]
The second form times only the save handler, alternating K rounds between this checkout's nblabel
and OLD_CHECKOUT/src (e.g. ``git worktree add /tmp/old 3775e77``), each round a fresh process, and
prints both medians: on a shared machine only runs taken side by side compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import nblabel as nl

W, H = 640, 480


def _project(n_images: int, media_dir: Path) -> nl.Project:
    proj = nl.open(":memory:", author="bench", media_dir=media_dir)
    proj.add_images([np.full((H, W, 3), i % 255, np.uint8) for i in range(n_images)])
    proj.schema.add_label("car", spatial=["box", "polygon", "line"])
    proj.schema.add_keypoints("person", points=[f"p{i}" for i in range(17)], skeleton=[(0, 1), (1, 2)])
    return proj


def _frame(kind: str, n: int, n_images: int, rng: np.random.Generator) -> pd.DataFrame:
    cx = rng.uniform(40, W - 40, n)
    cy = rng.uniform(40, H - 40, n)
    media = rng.integers(1, n_images + 1, n)
    if kind == "box":
        return pd.DataFrame({"media_id": media, "label": "car", "x0": cx - 20, "y0": cy - 15,
                             "x1": cx + 20, "y1": cy + 15, "score": rng.uniform(0, 1, n)})
    if kind == "polygon":  # 8 vertices on an ellipse, as [[x, y], ...]
        t = np.linspace(0, 2 * np.pi, 8, endpoint=False)
        pts = np.stack([cx[:, None] + 30 * np.cos(t), cy[:, None] + 20 * np.sin(t)], axis=-1)
        return pd.DataFrame({"media_id": media, "label": "car", "kind": "polygon",
                             "points": list(pts.tolist())})
    if kind == "line":
        pts = np.stack([cx[:, None] + np.array([-20, 0, 20]), cy[:, None] + np.array([0, 10, 0])], axis=-1)
        return pd.DataFrame({"media_id": media, "label": "car", "kind": "line", "points": list(pts.tolist())})
    # keypoints: 17 [x, y, v] triples
    off = rng.uniform(-30, 30, (n, 17, 2))
    kp = np.concatenate([np.stack([cx, cy], -1)[:, None, :] + off, np.full((n, 17, 1), 2.0)], axis=-1)
    return pd.DataFrame({"media_id": media, "label": "person", "kind": "keypoints", "points": list(kp.tolist())})


def bench_batch(kind: str, n: int, n_images: int, repeat: int, tmp: Path) -> float:
    rng = np.random.default_rng(0)
    df = _frame(kind, n, n_images, rng)
    ts = []
    for r in range(repeat):
        proj = _project(n_images, tmp / f"{kind}{r}")
        t = time.perf_counter()
        rep = proj.add_instances(df)
        ts.append(time.perf_counter() - t)
        assert rep.added == n, rep
    return statistics.median(ts)


def bench_save(n: int, tmp: Path, all_times: bool = False) -> Any:
    """Median and p95 (ms) of the annotator's ``save`` handler creating boxes in a file project
    (``all_times``: every time, in ms)."""
    proj = nl.open(tmp / "save.duckdb", author="bench")
    proj.add_images([np.zeros((H, W, 3), np.uint8)])
    car = proj.schema.add_label("car")
    w = proj.annotate()
    sent: list = []
    w.send = lambda content, buffers=None: sent.append(content)
    ts = []
    for i in range(n):
        content = {"id": f"r{i}", "kind": "save", "op": "create", "media_id": 1,
                   "instance": {"cid": f"c{i}", "label_id": car, "kind": "box", "box": [i % 500, 1, i % 500 + 20, 30]}}
        t = time.perf_counter()
        w._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})
        ts.append((time.perf_counter() - t) * 1000)
        assert sent[-1]["ok"], sent[-1]
    if all_times:
        return ts
    ts.sort()
    return statistics.median(ts), ts[int(0.95 * (len(ts) - 1))]


def _save_round(src: Path | None, saves: int) -> list[float]:
    """One fresh process timing ``saves`` saves with the nblabel of ``src`` (None: this one); all times in ms."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    out = subprocess.run([sys.executable, __file__, "--save-times", str(saves)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def save_vs(old: Path, rounds: int, saves: int) -> None:
    """Alternate rounds of the save handler between the old checkout and this one; print both medians."""
    src = old / "src"
    if not (src / "nblabel").is_dir():
        raise SystemExit(f"{src} has no nblabel package")
    times: dict[str, list[float]] = {"old": [], "new": []}
    for r in range(rounds):
        for name in (("old", "new") if r % 2 == 0 else ("new", "old")):
            ts = _save_round(src if name == "old" else None, saves)
            times[name] += ts
            print(f"round {r + 1} {name}: median {statistics.median(ts):.2f} ms", flush=True)
    for name, ts in times.items():
        ts.sort()
        print(f"save handler {name} ({old if name == 'old' else 'this checkout'}): median {statistics.median(ts):.2f} ms, "
              f"p95 {ts[int(0.95 * (len(ts) - 1))]:.2f} ms over {len(ts)} saves in {rounds} rounds")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 rows per kind, 3 repeats, 50 saves")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--save-vs", type=Path, metavar="OLD_CHECKOUT", help="compare the save handler with an old checkout")
    ap.add_argument("--rounds", type=int, default=6, help="alternating rounds for --save-vs")
    ap.add_argument("--save-times", type=int, help=argparse.SUPPRESS)  # one round of --save-vs: print the times
    a = ap.parse_args()
    if a.save_times:
        with tempfile.TemporaryDirectory(prefix="nbl-save-") as d:
            print(json.dumps(bench_save(a.save_times, Path(d), all_times=True)))
        return
    if a.save_vs:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load {os.getloadavg()[0]:.1f}")
        save_vs(a.save_vs, a.rounds, 50 if a.quick else 300)
        print(f"load after: {os.getloadavg()[0]:.1f}")
        return
    n, repeat, saves = (2_000, 3, 50) if a.quick else (a.n, a.repeat, 300)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="nbl-write-") as d:
        tmp = Path(d)
        box = bench_batch("box", n, 50, repeat, tmp)
        print(f"add_instances {n:,} boxes:     median {box:.3f} s ({n / box:,.0f} rows/s)")
        for kind in ("polygon", "keypoints", "line"):
            t = bench_batch(kind, n, 50, repeat, tmp)
            print(f"add_instances {n:,} {kind + ':':10s} median {t:.3f} s ({n / t:,.0f} rows/s), "
                  f"{t / box:.1f}x the boxes")
        med, p95 = bench_save(saves, tmp)
        print(f"annotator save handler (create box, file project): median {med:.2f} ms, p95 {p95:.2f} ms "
              f"over {saves}")


if __name__ == "__main__":
    main()
