"""Frame times of the gallery while scrolling 100k items, against a plain HTML grid, in Chromium.

Loads the built bundle (``src/nblabel/static/gallery.js``) into the plain test page
(``tests_browser/harness/gallery.html``) with a fake kernel that answers from generated Arrow tables
(100k items, 3 boxes each: GT, tp, fp) and a few reused JPEG thumbnails, then scrolls the grid from
inside the page, one step per animation frame, and records the requestAnimationFrame deltas:

* ``smooth``: 40 px per frame (reading speed);
* ``fling``: 3000 px per frame (dragging the scrollbar: every frame shows new rows and asks for
  thumbnails).

The same scrolls run on the grid a user might otherwise write: one ``<div><img><caption>`` element
per item (``loading="lazy"``), scrolled by the browser. Its build time is reported too. The goal for
the gallery is a p95 frame time ≤ 20 ms (60 fps with no dropped frames is 16.7 ms).

Usage::

    .venv/bin/python benchmarks/gallery_scroll.py            # 100k items, 600 frames per mode
    .venv/bin/python benchmarks/gallery_scroll.py --quick    # 150 frames; kernel part on 20k items

The plain grid holds 20k items by default (``--baseline-items``) and is scrolled for at most 200
frames: at 100k it takes ~20 s to build and seconds per frame.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests_browser"))
from folder_server import serve_folder  # noqa: E402 - the browser tests' static-folder server, shared

HARNESS = ROOT / "tests_browser" / "harness" / "gallery.html"
BUNDLE = ROOT / "src" / "nblabel" / "static" / "gallery.js"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def tables(n: int) -> tuple[bytes, bytes]:
    """Items and boxes Arrow streams shaped like the kernel's (one run 'm', 3 boxes per item)."""
    rng = np.random.default_rng(0)
    items = pa.table({
        "media_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "file_name": pa.array([f"img_{i:06d}.jpg" for i in range(n)]),
        "width": pa.array(np.full(n, 640, np.int32)), "height": pa.array(np.full(n, 480, np.int32)),
        "n_gt": pa.array(np.ones(n, np.int32)), "score": pa.array(rng.random(n)),
        "tp:m": pa.array(np.ones(n, np.int32)), "fp:m": pa.array(np.ones(n, np.int32)),
        "fn:m": pa.array(np.zeros(n, np.int32)),
    })
    x0 = np.tile(np.array([40, 44, 300], np.float32), n)
    y0 = np.tile(np.array([40, 42, 200], np.float32), n)
    boxes = pa.table({
        "item": pa.array(np.repeat(np.arange(n, dtype=np.int32), 3)), "x0": pa.array(x0), "y0": pa.array(y0),
        "x1": pa.array(x0 + 120), "y1": pa.array(y0 + 100),
        "src": pa.array(np.tile(np.array([0, 1, 1], np.int8), n)),
        "status": pa.array(np.tile(np.array([0, 1, 2], np.int8), n)),
        "label_id": pa.array(np.ones(3 * n, np.int32)),
        "score": pa.array(np.tile(np.array([np.nan, 0.9, 0.4], np.float32), n)),
    })
    return _ipc(items), _ipc(boxes)


def kernel_side(n: int, n_thumbs: int) -> None:
    """Time the kernel's part on a real project file: the item/box tables for ``n`` media (3 GT and
    4 predictions each, matched at IoU 0.5), and thumbnails made (cold) then read from the cache (warm)."""
    from PIL import Image

    import nblabel as nl
    from nblabel.widgets._gallery import _ipc

    tmp = Path(tempfile.mkdtemp(prefix="gallery-kernel-"))
    try:
        proj = nl.open(tmp / "p.duckdb", author="bench")
        proj.schema.add_label("car")
        proj.add_run("m")
        with proj.store.transaction() as con:  # synthetic rows: only the tables are timed here
            con.execute("INSERT INTO media SELECT range + 1, 'x/' || range || '.jpg', 'f' || range || '.jpg', "
                        "'sha' || range, 640, 480, 'JPEG', 1, 0, '{}', now() FROM range(?)", [n])
            con.execute("INSERT INTO instances SELECT range + 1, 1, (range % ?) + 1, NULL, 1, 'box', "
                        "10 + (range // ?) * 150, 10, 90 + (range // ?) * 150, 90, NULL, NULL, NULL, NULL, NULL, "
                        "false, NULL, 'b', 0, now(), NULL, false FROM range(?)", [n, n, n, 3 * n])
            con.execute("INSERT INTO instances SELECT range + ?, 1, (range % ?) + 1, 1, 1, 'box', "
                        "12 + (range // ?) * 150, 10, 90 + (range // ?) * 150, 92, NULL, NULL, 0.9 - range / ?, "
                        "NULL, NULL, false, NULL, 'b', 0, now(), NULL, false FROM range(?)",
                        [3 * n + 1, n, n, n, 8 * n, 4 * n])
        t0 = time.perf_counter()
        g = proj.gallery(runs="m")
        items, boxes = g.tables()
        a, b = _ipc(items), _ipc(boxes)
        dt = time.perf_counter() - t0
        tp = int(np.asarray(items["tp:m"]).sum())
        print(f"kernel: items + boxes for {n:,} media / {boxes.num_rows:,} overlay boxes in {dt * 1000:.0f} ms "
              f"(query, IoU matching, Arrow IPC); {len(a) / n:.0f} B/item, {len(b) / boxes.num_rows:.0f} B/box; "
              f"tp {tp:,}")
        # thumbnails: real files this time
        d = tmp / "imgs"
        d.mkdir()
        rng = np.random.default_rng(0)
        base = rng.integers(0, 255, (768, 1024, 3), dtype=np.uint8)
        for i in range(n_thumbs):
            Image.fromarray(np.roll(base, i, axis=1)).save(d / f"t{i:04d}.jpg", quality=90)
        p2 = nl.open(tmp / "t.duckdb", author="bench")
        p2.add_images(d, progress=False)
        ids = p2.media().ids()
        g2 = p2.gallery()
        t0 = time.perf_counter()
        for k in range(0, len(ids), 48):  # the browser asks in batches of 48
            g2.handle({"id": k, "kind": "thumbs", "ids": ids[k:k + 48]})
        cold = time.perf_counter() - t0
        g3 = nl.open(tmp / "t.duckdb").gallery()  # a second open: a new project handle and widget
        t0 = time.perf_counter()
        for k in range(0, len(ids), 48):
            g3.handle({"id": k, "kind": "thumbs", "ids": ids[k:k + 48]})
        warm = time.perf_counter() - t0
        print(f"kernel: {n_thumbs} thumbnails of 1024x768 JPEGs: made and cached {cold * 1000:.0f} ms "
              f"({n_thumbs / cold:.0f}/s), read back from the cache {warm * 1000:.0f} ms ({cold / warm:.0f}x faster)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def stats(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs, dtype=float)
    if not len(a):
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    return {"n": len(a), "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "max": float(a.max())}


def fmt(name: str, s: dict[str, float]) -> str:
    return f"  {name:<34} n={s['n']:>4}  p50 {s['p50']:6.1f} ms  p95 {s['p95']:6.1f} ms  max {s['max']:6.1f} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--baseline-items", type=int, default=20_000,
                    help="items of the plain HTML grid (100k takes ~20 s to build and seconds per frame)")
    ap.add_argument("--quick", action="store_true", help="150 frames per mode, baseline on 20k items")
    args = ap.parse_args(argv)
    if args.quick:
        args.frames, args.baseline_items = 150, min(args.baseline_items, 20_000)
    kernel_side(args.items if not args.quick else 20_000, 96 if args.quick else 480)
    if not BUNDLE.exists():
        print(f"{BUNDLE} is missing: run `npm run build` first", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="gallery-bench-"))
    shutil.copy(HARNESS, root / "gallery.html")
    shutil.copy(BUNDLE, root / "gallery.js")
    items, boxes = tables(args.items)
    (root / "items.arrow").write_bytes(items)
    (root / "boxes.arrow").write_bytes(boxes)

    print(f"gallery scroll benchmark: {args.items:,} items ({len(items) / 1e6:.1f} MB items + "
          f"{len(boxes) / 1e6:.1f} MB boxes as Arrow IPC), {args.frames} frames per mode")
    try:
        with serve_folder(root) as server, sync_playwright() as p:
            url = f"{server}/gallery.html"
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(url)
            page.wait_for_function("() => window.harnessReady")
            t0 = time.perf_counter()
            page.evaluate("() => { window.__nblGalleryStats = []; "
                          "return mountGallery({runs: ['m'], columns: ['file_name', 'score']}); }")
            page.wait_for_function(f"() => document.querySelector('.nblabel-gallery')?.dataset.count === '{args.items}'"
                                   " && document.querySelector('.nblabel-gallery').dataset.rendered === '1'")
            t_load = time.perf_counter() - t0
            page.wait_for_timeout(300)
            dom = page.evaluate("() => document.querySelectorAll('.nblabel-gallery *').length")
            print(f"nblabel gallery: ready in {t_load * 1000:.0f} ms (parse + first frame), {dom} DOM elements")
            results = {}
            for mode, step in (("smooth", 40), ("fling", 3000)):
                page.evaluate("() => { window.__nblGalleryStats.length = 0; }")
                deltas = page.evaluate("([s, k]) => scrollFrames('.nbl-g-scroller', s, k)", [step, args.frames])
                draws = page.evaluate("() => window.__nblGalleryStats.slice()")
                results[mode] = stats(deltas)
                print(fmt(f"{mode} ({step} px/frame) frame", results[mode]))
                print(fmt(f"{mode} draw (JS time per frame)", stats(draws)))
            requests = page.evaluate("() => window.thumbRequests")
            print(f"  thumbnail requests: {requests}")

            page2 = browser.new_page(viewport={"width": 1100, "height": 900})
            page2.goto(url)
            page2.wait_for_function("() => window.harnessReady")
            t0 = time.perf_counter()
            page2.evaluate("(n) => mountNaive(n)", args.baseline_items)
            t_naive = time.perf_counter() - t0
            dom2 = page2.evaluate("() => document.querySelectorAll('.naive-scroller *').length")
            print(f"plain HTML grid ({args.baseline_items:,} items): built in {t_naive * 1000:.0f} ms, "
                  f"{dom2:,} DOM elements")
            base = {}
            for mode, step in (("smooth", 40), ("fling", 3000)):
                deltas = page2.evaluate("([s, k]) => scrollFrames('.naive-scroller', s, k)",
                                        [step, min(args.frames, 200)])
                base[mode] = stats(deltas)
                print(fmt(f"{mode} ({step} px/frame) frame", base[mode]))
            browser.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("summary (p95 frame, goal <= 20 ms):")
    for mode in results:
        ok = "ok" if results[mode]["p95"] <= 20 else "OVER"
        print(f"  {mode:<7} nblabel {results[mode]['p95']:6.1f} ms [{ok}]   plain grid "
              f"{base[mode]['p95']:6.1f} ms   ratio {base[mode]['p95'] / results[mode]['p95']:.2f}x")
    print(f"  open: nblabel {t_load * 1000:.0f} ms for {args.items:,} items; plain grid "
          f"{t_naive * 1000:.0f} ms for {args.baseline_items:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
