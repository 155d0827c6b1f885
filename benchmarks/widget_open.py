"""Time from running a cell to the image (and its boxes) on screen: nblabel vs jupyter-bbox-widget.

Both widgets run in the same real JupyterLab page, interleaved, on the same 4000x3000 JPEG with 0
and 1,000 boxes. Measured in the page with ``performance.now()``: from the moment the cell is
executed (outputs cleared first) until
- nblabel: the annotator root has ``data-rendered="1"`` (image and instances drawn on the canvas; for a
  large image that is the kernel's ≤ 1,024 px preview, scaled to the original size; the time until the
  full-resolution image is swapped in, ``data-full="1"``, is reported too);
- jupyter-bbox-widget: its ``<img>`` is decoded (``complete`` and ``naturalWidth > 0``) and the
  box elements are in the DOM (one SVG ``rect`` per box);
then one more animation frame for both (the paint). Both times include the kernel's work.

Run:  .venv/bin/python benchmarks/widget_open.py [--quick] [--reps N]
Goal: nblabel ≤ 300 ms with 1,000 boxes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests_browser"))

from lab import LabSession

WAIT_JS = """async ([tool, n, timeoutMs]) => {
    const app = window.jupyterapp, nb = app.shell.currentWidget.content;
    nb.activeCellIndex = 1;
    const cell = nb.activeCell;
    cell.model.sharedModel.setSource(tool === 'ours' ? `ours(${n})` : `theirs(${n})`);
    cell.model.outputs.clear();
    await new Promise((r) => requestAnimationFrame(() => r()));
    const node = cell.node;
    const ready = () => {
        if (tool === 'ours') return !!node.querySelector('.nblabel-annotator[data-rendered="1"]');
        const img = node.querySelector('.jp-OutputArea img');
        if (!img || !img.complete || !img.naturalWidth) return false;
        if (node.querySelectorAll('.jp-OutputArea svg rect').length < n) return false;
        return img;
    };
    const t0 = performance.now();
    // nblabel draws a preview first; the full-resolution image follows (data-full="1")
    const waitFull = (root) => new Promise((res) => {
        const f = () => (root.dataset.full === '1' ? res(performance.now() - t0) : setTimeout(f, 2));
        f();
    });
    app.commands.execute('notebook:run-cell');
    return await new Promise((resolve, reject) => {
        let tEl = null;
        const tick = () => {
            if (tEl === null && node.querySelector('.nblabel-annotator, .jp-OutputArea img')) tEl = performance.now() - t0;
            const r = ready();
            if (r) {
                const done = () => requestAnimationFrame(async () => {
                    const root = node.querySelector('.nblabel-annotator');
                    const ms = performance.now() - t0;
                    resolve({ms, el: tEl,
                             load: root ? Number(root.dataset.loadMs) : null,
                             render: root ? Number(root.dataset.renderMs) : null,
                             full: root ? await waitFull(root) : null});
                });
                // an <img> may be "complete" before it is decoded: wait for the decode too
                if (r instanceof HTMLImageElement) r.decode().then(done, done); else done();
                return;
            }
            if (performance.now() - t0 > timeoutMs) { reject(new Error(`${tool}(${n}) not ready`)); return; }
            setTimeout(tick, 1);
        };
        tick();
    });
}"""


def make_data(folder: Path, n_boxes: int = 1000) -> dict[str, str]:
    """A 4000x3000 JPEG, a project without and one with 1,000 boxes, the same boxes as JSON."""
    import nblabel as nl

    rng = np.random.default_rng(0)
    h, w = 3000, 4000
    # a smooth picture with some texture (decodes like a photo), generated at 1/4 size and upscaled
    yy, xx = np.mgrid[0:h // 4, 0:w // 4]
    small = np.stack([xx * 255 // (w // 4), yy * 255 // (h // 4), (xx + yy) * 255 // ((w + h) // 4)], axis=-1)
    small = np.clip(small + rng.integers(-25, 25, size=small.shape), 0, 255).astype(np.uint8)
    a = Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR)
    img = folder / "big.jpg"
    a.save(img, quality=90)
    x0 = rng.uniform(0, w - 200, n_boxes)
    y0 = rng.uniform(0, h - 200, n_boxes)
    bw, bh = rng.uniform(20, 200, n_boxes), rng.uniform(20, 200, n_boxes)
    boxes = [{"x": float(x), "y": float(y), "width": float(ww), "height": float(hh), "label": "car"}
             for x, y, ww, hh in zip(x0, y0, bw, bh, strict=True)]
    (folder / "boxes.json").write_text(json.dumps(boxes))
    paths = {}
    for n in (0, n_boxes):
        p = folder / f"p{n}.duckdb"
        proj = nl.open(p, author="bench")
        proj.add_images([img])
        proj.schema.add_label("car")
        if n:
            import pandas as pd

            proj.add_instances(pd.DataFrame({"media_id": 1, "label": "car", "x0": x0, "y0": y0,
                                             "x1": x0 + bw, "y1": y0 + bh}))
        paths[str(n)] = str(p)
    return {"img": str(img), "boxes": str(folder / "boxes.json"), **paths}


def setup_cell(d: dict[str, str]) -> str:
    return (
        "import json\nimport nblabel as nl\nfrom jupyter_bbox_widget import BBoxWidget\n"
        f"PROJ = {{0: nl.open({d['0']!r}), 1000: nl.open({d['1000']!r})}}\n"
        f"IMG = {d['img']!r}\nBOXES = json.load(open({d['boxes']!r}))\n"
        "def ours(n):\n    return PROJ[n].annotate()\n"
        "def theirs(n):\n    return BBoxWidget(image=IMG, classes=['car'], bboxes=BOXES[:n])\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 timed repetition (runs in well under a minute)")
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    reps = 1 if args.quick else args.reps
    t_start = time.time()
    with tempfile.TemporaryDirectory(prefix="nbl-open-") as tmp:
        d = make_data(Path(tmp))
        print(f"data ready: {Path(d['img']).stat().st_size / 1e6:.1f} MB JPEG 4000x3000 "
              f"({time.time() - t_start:.1f} s)")
        with LabSession([setup_cell(d), "pass"], base=Path(tmp) / "lab") as s:
            s.run_cell(0)
            configs = [("ours", 0), ("theirs", 0), ("ours", 1000), ("theirs", 1000)]
            times: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
            parts: dict[tuple[str, int], list[dict]] = {c: [] for c in configs}
            for c in configs:  # warm-up: imports, first widget bundle load, JIT
                s.page.evaluate(WAIT_JS, [c[0], c[1], 60_000])
            for _ in range(reps):
                for c in configs:
                    r = s.page.evaluate(WAIT_JS, [c[0], c[1], 60_000])
                    times[c].append(float(r["ms"]))
                    parts[c].append(r)
            # the kernel's share for nblabel (create + display bundle incl. the static PNG fallback)
            kernel = json.loads(s.kernel_exec(
                "import time, json, statistics\n"
                "def _t(n):\n"
                "    ts = []\n"
                "    for _ in range(5):\n"
                "        t0 = time.perf_counter(); w = ours(n); w._repr_mimebundle_(); "
                "w.handle_message({'id': 0, 'kind': 'load', 'index': 0}); ts.append((time.perf_counter() - t0) * 1000); w.close()\n"
                "    return statistics.median(ts)\n"
                "print(json.dumps({n: _t(n) for n in (0, 1000)}))\n"))
    print(f"\nwidget open, 4000x3000 JPEG, JupyterLab + headless Chromium, median of {reps} "
          f"(cell run -> image and boxes painted):")
    print(f"{'boxes':>6} {'nblabel ms':>11} {'bbox-widget ms':>15} {'ratio':>7}")
    for n in (0, 1000):
        o, t = statistics.median(times[("ours", n)]), statistics.median(times[("theirs", n)])
        print(f"{n:>6} {o:>11.0f} {t:>15.0f} {t / o:>6.1f}x")
    for n in (0, 1000):
        ps = parts[("ours", n)]
        print(f"  nblabel {n} boxes: widget element after {statistics.median(p['el'] for p in ps):.0f} ms; "
              f"its load (request -> image decoded) {statistics.median(p['load'] for p in ps):.0f} ms, "
              f"first full render {statistics.median(p['render'] for p in ps):.1f} ms; "
              f"full-resolution image in after {statistics.median(p['full'] for p in ps):.0f} ms")
    print(f"nblabel kernel side (create + display bundle + load reply), median of 5: "
          f"{kernel['0']:.0f} ms (0 boxes), {kernel['1000']:.0f} ms (1,000 boxes)")
    ok = statistics.median(times[("ours", 1000)]) <= 300
    print(f"goal nblabel <= 300 ms with 1,000 boxes: {'met' if ok else 'NOT met'}  (total {time.time() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
