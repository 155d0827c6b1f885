"""Time to show a huge PNG in the annotator: first time, second time (a new session), next-with-prefetch.

Run: ``.venv/bin/python benchmarks/display.py`` (``--quick``: 6000×6000 instead of 12000×12000 and a
4000×3000 photo instead of 8000×6000, 2 repeats). A camera-sized JPEG is timed too (first showing only).
The annotator is driven as the browser drives it (``load`` with ``preview: true``, then
``load_full``); "preview" is when the first picture can be drawn, "full" when the display image
(longest side 4096) is there. The simplest thing a user has, ``PIL.Image.open(p).thumbnail((4096,
4096))`` then a JPEG, is timed in the same run. Runs on main too (no display store there), so
before/after can be measured in the same minutes: ``PYTHONPATH=<checkout>/src python benchmarks/display.py``.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import nblabel as nl

Image.MAX_IMAGE_PIXELS = None  # the test images are trusted and bigger than Pillow's default limit


def _png(path: Path, side: int, seed: int) -> None:
    x = np.linspace(0, 255, side, dtype=np.float32)
    r = np.broadcast_to(x[None, :], (side, side)).astype(np.uint8)
    g = np.broadcast_to(x[:, None], (side, side)).astype(np.uint8)
    b = np.full((side, side), seed * 40 % 256, np.uint8)
    Image.fromarray(np.dstack([r, g, b])).save(path, compress_level=6)


def _photo(path: Path, w: int, h: int) -> None:
    """A camera-like JPEG: smooth shapes plus sensor-like noise (so it does not compress to nothing)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.dstack([x * (255 / w), y * (255 / h), (x + y) % 256])
    a += np.random.default_rng(0).normal(0, 8, a.shape).astype(np.float32)
    Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(path, quality=90)


def _send(w: Any, kind: str, **msg: Any) -> dict[str, Any]:
    sent: list[dict[str, Any]] = []
    w.send = lambda content, buffers=None: sent.append(content)
    w._handle_msg({"content": {"data": {"method": "custom", "content": {"id": "b", "kind": kind, **msg}}},
                   "buffers": []})
    assert sent[-1].get("ok", True) is not False, sent[-1]
    return sent[-1]


def _show(w: Any, index: int) -> tuple[float, float]:
    """Seconds until the preview, and until the full display image, of queue item ``index``."""
    t0 = time.perf_counter()
    reply = _send(w, "load", index=index, preview=True)
    t_prev = time.perf_counter() - t0
    if "preview" in reply.get("item", {}):
        _send(w, "load_full", index=index)
    return t_prev, time.perf_counter() - t0


def _first_time(proj: Any, mid: int) -> tuple[float, float]:
    w = proj.annotate([mid])
    out = _show(w, 0)
    _wait_prefetch(w)
    w.close()
    return out


def _thumbnail(path: Path) -> float:
    t0 = time.perf_counter()
    with Image.open(path) as im:
        im.thumbnail((4096, 4096))
        im.convert("RGB").save(io.BytesIO(), format="JPEG", quality=90)
    return time.perf_counter() - t0


def _wait_prefetch(w: Any, then: int | None = None) -> None:
    """Wait for the display images being made; with ``then``, first until the queue item ``then`` is
    among them (its prefetch starts when the current image is done, from that future's callback)."""
    if then is not None:
        mid = int(w._queue[then]["media_id"])
        deadline = time.perf_counter() + 60
        while mid not in w._cache and time.perf_counter() < deadline:
            time.sleep(0.005)
    for fut in list(w._cache.values()):
        fut.result()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--side", type=int, default=12000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    side, repeat = (6000, 2) if a.quick else (a.side, a.repeat)
    tmp = Path(tempfile.mkdtemp(prefix="nblabel-display-"))
    try:
        t0 = time.perf_counter()
        for i in range(2):
            _png(tmp / f"huge{i}.png", side, i)
        print(f"# {side}×{side} PNGs: {(tmp / 'huge0.png').stat().st_size / 1e6:.2f} MB each, "
              f"made in {time.perf_counter() - t0:.1f} s; nblabel from {Path(nl.__file__).parent}; "
              f"load {os.getloadavg()[0]:.1f}")
        proj = nl.open(tmp / "p.duckdb")
        pw, ph = (4000, 3000) if a.quick else (8000, 6000)
        _photo(tmp / "photo.jpg", pw, ph)
        proj.add_images([tmp / "huge0.png", tmp / "huge1.png", tmp / "photo.jpg"])
        cache = tmp / "p.cache"
        rows: dict[str, list[float]] = {k: [] for k in (
            "first: preview", "first: full", "next (prefetched while the first is shown): preview",
            "next: full", "second time (new session): preview", "second time: full",
            "PIL open + thumbnail(4096) + JPEG", f"{pw}×{ph} JPEG photo, first time: preview",
            "JPEG photo, first time: full", "JPEG photo: PIL open + thumbnail(4096) + JPEG")}
        for _ in range(repeat):
            shutil.rmtree(cache, ignore_errors=True)
            w = proj.annotate()
            p, f = _show(w, 0)
            rows["first: preview"].append(p)
            rows["first: full"].append(f)
            _wait_prefetch(w, then=1)  # the user looks at the first image meanwhile
            p, f = _show(w, 1)
            rows["next (prefetched while the first is shown): preview"].append(p)
            rows["next: full"].append(f)
            _wait_prefetch(w)
            w.close()
            again = nl.open(tmp / "p.duckdb")
            w = again.annotate()
            p, f = _show(w, 0)
            rows["second time (new session): preview"].append(p)
            rows["second time: full"].append(f)
            _wait_prefetch(w)
            w.close()
            again.close()  # else its lingering connection holds the file while the next round's first load reads
            rows["PIL open + thumbnail(4096) + JPEG"].append(_thumbnail(tmp / "huge0.png"))
            p, f = _first_time(proj, 3)
            rows[f"{pw}×{ph} JPEG photo, first time: preview"].append(p)
            rows["JPEG photo, first time: full"].append(f)
            rows["JPEG photo: PIL open + thumbnail(4096) + JPEG"].append(_thumbnail(tmp / "photo.jpg"))
        base = statistics.median(rows["PIL open + thumbnail(4096) + JPEG"])
        base_photo = statistics.median(rows["JPEG photo: PIL open + thumbnail(4096) + JPEG"])
        print(f"| what | median s ({repeat} runs) | runs | vs PIL thumbnail of the same file |\n|---|---|---|---|")
        for k, ts in rows.items():
            m = statistics.median(ts)
            ref = base_photo if "JPEG photo" in k else base
            print(f"| {k} | {m:.3f} | {' / '.join(f'{t:.2f}' for t in ts)} | {m / ref:.2f}× |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
