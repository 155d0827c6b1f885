"""Large COCO imports: time, peak memory and write-lock hold of ``import_coco``, next to pycocotools.

Two generated files (issue 8 §5): N images × 10 boxes (tiny JPEGs, each file distinct) and a
polygon file (12-point polygons, the memory case). Each measurement runs in a fresh process:
the peak RSS above the RSS before the call (``VmHWM`` − ``VmRSS``) over the file size, the wall
time, and for our import the longest ``store.transaction()`` (the write lock is held that long).
pycocotools' ``COCO(path)`` is what a user would otherwise run to read the file.

Run:  .venv/bin/python benchmarks/import_large.py [--quick] [--images N] [--polygons N] [--repeat R]
      .venv/bin/python benchmarks/import_large.py --vs OLD_CHECKOUT   (also OLD_CHECKOUT/src's import,
      alternating, e.g. ``git worktree add --detach /tmp/old-main main``)
Data is written under a temporary folder in /tmp (100k images ≈ 400 MB on disk), never the repo.
"""

from __future__ import annotations

import argparse
import io
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

W, H = 32, 24
CATEGORIES = [{"id": 1, "name": "a", "supercategory": "s"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]


def write_images(folder: Path, n: int) -> None:
    """``n`` tiny JPEGs (one encoded image, each made distinct by a comment segment: no two share a sha256)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    b = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)).save(b, format="JPEG")
    base = b.getvalue()
    for i in range(n):
        com = b"img%08d" % i
        (folder / f"{i:06d}.jpg").write_bytes(base[:2] + b"\xff\xfe" + (len(com) + 2).to_bytes(2, "big") + com + base[2:])


def write_coco(path: Path, n_images: int, per_image: int, polygon_points: int = 0, seed: int = 0) -> None:
    """A COCO file over the images of :func:`write_images`: boxes, or polygons of ``polygon_points`` points."""
    rng = np.random.default_rng(seed)
    n = n_images * per_image
    x, y = rng.uniform(0, W - 8, n).round(2), rng.uniform(0, H - 8, n).round(2)
    bw, bh = rng.uniform(1, 8, n).round(2), rng.uniform(1, 8, n).round(2)
    t = np.linspace(0, 2 * np.pi, max(polygon_points, 1), endpoint=False)
    with open(path, "w") as f:
        f.write('{"info": {"description": "import_large"}, "images": ')
        json.dump([{"id": i + 1, "file_name": f"{i:06d}.jpg", "width": W, "height": H} for i in range(n_images)], f)
        f.write(', "annotations": [')
        for k in range(n):
            a: dict[str, Any] = {"id": k + 1, "image_id": k // per_image + 1, "category_id": k % 3 + 1,
                                 "bbox": [x[k], y[k], bw[k], bh[k]], "area": round(bw[k] * bh[k], 2), "iscrowd": 0,
                                 "segmentation": []}
            if polygon_points:
                px, py = (x[k] + bw[k] / 2 * (1 + np.cos(t))).round(2), (y[k] + bh[k] / 2 * (1 + np.sin(t))).round(2)
                a["segmentation"] = [np.stack([px, py], 1).ravel().tolist()]
            f.write(("," if k else "") + json.dumps(a))
        f.write('], "categories": ' + json.dumps(CATEGORIES) + "}")


def _status(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_one(tool: str, js: Path, root: Path) -> dict[str, float]:
    """In this (fresh) process: time and peak RSS above the start of one load/import; for ours the lock hold."""
    if tool == "pycocotools":
        import contextlib

        from pycocotools.coco import COCO
        before = _status("VmRSS")
        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(str(js))
        out = {"s": time.perf_counter() - t, "n": len(coco.anns)}
    else:
        import contextlib

        import nblabel as nl
        from nblabel.store import Store

        holds: list[float] = []
        depth = [0]
        orig = Store.transaction

        @contextlib.contextmanager
        def timed(self: Any) -> Any:
            depth[0] += 1
            t0 = time.perf_counter()
            try:
                with orig(self) as con:
                    yield con
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    holds.append(time.perf_counter() - t0)

        Store.transaction = timed  # type: ignore[method-assign]
        d = tempfile.mkdtemp(prefix="nbl-imp-")
        proj = nl.open(os.path.join(d, "p.duckdb"), author="bench")
        import pandas  # noqa: F401  # the modules an import uses, loaded before the baseline
        import PIL.Image  # noqa: F401
        import pyarrow  # noqa: F401
        import tqdm.auto  # noqa: F401
        holds.clear()
        before = _status("VmRSS")
        t = time.perf_counter()
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = proj.import_coco(js, images=root)
        out = {"s": time.perf_counter() - t, "n": rep.added, "lock_s": max(holds) if holds else float("nan")}
    out["peak_mb"] = _status("VmHWM") - before
    return out


def measure(tool: str, js: Path, root: Path, src: Path | None = None) -> dict[str, float]:
    env = dict(os.environ, TQDM_DISABLE="1")
    if src is not None:
        env["PYTHONPATH"] = str(src)
    p = subprocess.run([sys.executable, __file__, "--one", tool, str(js), str(root)], env=env, check=True,
                       capture_output=True, text=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 images, 5,000 polygons, 1 repeat")
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--per-image", type=int, default=10)
    ap.add_argument("--polygons", type=int, default=100_000, help="annotations of the polygon file")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--vs", type=Path, metavar="OLD_CHECKOUT", help="also run OLD_CHECKOUT/src's import, alternating")
    ap.add_argument("--data", type=Path, metavar="DIR",
                    help="write the generated files into DIR and reuse them when they are there (default: a "
                         "temporary folder, removed after)")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)  # one measurement in a fresh process
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(a.one[0], Path(a.one[1]), Path(a.one[2]))))
        return
    n_img, n_poly, repeat = (2_000, 5_000, 1) if a.quick else (a.images, a.polygons, a.repeat)
    old = a.vs / "src" if a.vs else None
    if old is not None and not (old / "nblabel").is_dir():
        raise SystemExit(f"{old} has no nblabel package")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="nbl-large-", dir="/tmp") as d:
        tmp = a.data if a.data is not None else Path(d)
        tmp.mkdir(parents=True, exist_ok=True)
        boxes, polys = tmp / f"boxes-{n_img}x{a.per_image}.json", tmp / f"polygons-{n_poly}.json"
        img = tmp / f"img-{n_img}"
        if not (img / f"{n_img - 1:06d}.jpg").exists():
            write_images(img, n_img)
        for js, args in ((boxes, (n_img, a.per_image)), (polys, (max(1, n_poly // 10), 10, 12))):
            if not js.exists():  # written whole, then renamed: an interrupted run leaves no half file to reuse
                write_coco(js.with_suffix(".part"), *args)
                js.with_suffix(".part").replace(js)
        for name, js in ((f"{n_img:,} images x {a.per_image} boxes", boxes), (f"{n_poly:,} polygons", polys)):
            mb = js.stat().st_size / 2**20
            print(f"\n{name}: file {mb:.1f} MB", flush=True)
            tools = ["pycocotools", "nblabel"] + (["old"] if old else [])
            runs: dict[str, list[dict[str, float]]] = {t: [] for t in tools}
            for r in range(repeat):
                for tool in (tools if r % 2 == 0 else tools[::-1]):
                    runs[tool].append(measure("nblabel" if tool == "old" else tool, js, img,
                                              old if tool == "old" else None))
            med = {t: {k: statistics.median(x[k] for x in v) for k in v[0]} for t, v in runs.items()}
            for tool, m in med.items():
                label = {"pycocotools": "pycocotools COCO(path)", "nblabel": "import_coco (this checkout)",
                         "old": f"import_coco ({a.vs})"}[tool]
                lock = f", write lock held {m['lock_s']:.1f} s" if "lock_s" in m else ""
                print(f"  {label:34s} median {m['s']:6.2f} s, peak RSS +{m['peak_mb']:6.0f} MB = "
                      f"{m['peak_mb'] / mb:4.1f}x the file{lock}", flush=True)
            if old:
                print(f"  this checkout / old: time {med['nblabel']['s'] / med['old']['s']:.2f}x, "
                      f"peak {med['nblabel']['peak_mb'] / med['old']['peak_mb']:.2f}x, "
                      f"lock {med['nblabel']['lock_s'] / med['old']['lock_s']:.2f}x")
            print(f"  import_coco / pycocotools: time {med['nblabel']['s'] / med['pycocotools']['s']:.2f}x, "
                  f"peak {med['nblabel']['peak_mb'] / med['pycocotools']['peak_mb']:.2f}x")
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
