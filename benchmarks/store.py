"""Store benchmarks: batch insert of 1M instances, a typical slice vs pandas, image ingest.

Run: ``.venv/bin/python benchmarks/store.py`` (``--quick`` for a CI-sized run).
Prints medians; the slice is compared with the same query in pandas in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

import nblabel as nl


def timed(fn, repeat):
    out, ts = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return out, statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--instances", type=int, default=1_000_000)
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    n_inst = 100_000 if a.quick else a.instances
    n_img = 500 if a.quick else a.images
    n_media = max(n_inst // 10, 1)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}, "
          f"duckdb {__import__('duckdb').__version__}, pandas {pd.__version__}")
    work = Path(tempfile.mkdtemp(prefix="nbl-bench-"))

    # -- 1. batch insert --------------------------------------------------------------------
    proj = nl.open(work / "bench.duckdb")
    labels = [f"class{i}" for i in range(20)]
    for name in labels:
        proj.schema.add_label(name)
    rng = np.random.default_rng(0)
    splits = np.array(["train", "val", "test"])[rng.integers(0, 3, n_media)]
    # media rows straight into the store (ingest is measured separately below)
    with proj.store.transaction() as con:
        media = pd.DataFrame({"media_id": np.arange(1, n_media + 1), "uri": "/x", "sha256": np.arange(n_media).astype(str),
                              "width": 1000, "height": 800, "split": splits})
        media["file_name"] = "img" + media["media_id"].astype(str) + ".jpg"
        con.register("m", media)
        con.execute("INSERT INTO media SELECT media_id, uri, file_name, sha256, width, height, 'JPEG', 1, 0, "
                    "json_object('split', split), now() FROM m")
        con.unregister("m")
    run = proj.add_run("model")
    x0 = rng.uniform(0, 900, n_inst)
    y0 = rng.uniform(0, 700, n_inst)
    df = pd.DataFrame({"media_id": rng.integers(1, n_media + 1, n_inst), "label": np.array(labels)[rng.integers(0, 20, n_inst)],
                       "x0": x0, "y0": y0, "x1": x0 + rng.uniform(5, 100, n_inst), "y1": y0 + rng.uniform(5, 100, n_inst),
                       "score": rng.uniform(0, 1, n_inst)})
    t = time.perf_counter()
    rep = run.add_predictions(df)
    dt = time.perf_counter() - t
    proj.store.release()
    size = (work / "bench.duckdb").stat().st_size
    print(f"[insert] {rep.added:,} instances in {dt:.2f} s = {rep.added / dt:,.0f} rows/s; file {size / 2**20:.1f} MiB")

    # -- 2. a typical slice vs pandas --------------------------------------------------------
    wanted = labels[:5]

    def ours():
        s = (proj.instances(run="model").labels(wanted).score(0.3, 0.9)
             .where("media_id IN (SELECT media_id FROM media WHERE meta->>'split' = ?)", ["train"]))
        sql, params = s.sql()
        with proj.store.read() as con:
            return con.execute(f"SELECT media_id, count(*) AS n, max(score) AS best FROM ({sql}) GROUP BY media_id "
                               "ORDER BY n DESC, best DESC, media_id LIMIT 100", params).df()

    inst_pd = proj.instances(run="model").df()[["instance_id", "media_id", "label", "score"]]
    media_pd = pd.DataFrame({"media_id": media["media_id"], "split": splits})

    def theirs():
        d = inst_pd[inst_pd["label"].isin(wanted) & inst_pd["score"].between(0.3, 0.9)]
        d = d.merge(media_pd[media_pd["split"] == "train"], on="media_id")
        g = d.groupby("media_id").agg(n=("score", "size"), best=("score", "max")).reset_index()
        return g.sort_values(["n", "best", "media_id"], ascending=[False, False, True]).head(100)

    ours()  # warm
    r1, t_ours = timed(ours, a.repeat)
    r2, t_pd = timed(theirs, a.repeat)
    assert r1["media_id"].tolist() == r2["media_id"].tolist(), "nblabel and pandas disagree"
    print(f"[slice] {n_inst:,} instances: nblabel {t_ours * 1000:.1f} ms (median of {a.repeat}, on disk) | "
          f"pandas {t_pd * 1000:.1f} ms (data already in memory) | ratio pandas/nblabel {t_pd / t_ours:.2f}x")
    proj.store.release()

    # -- 3. ingest of small JPEGs ------------------------------------------------------------
    folder = work / "jpegs"
    folder.mkdir()
    base = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    for i in range(n_img):
        img = base.copy()
        img[(i // 64) % 48, :, 0] = 0  # a dark row and column make every image's bytes distinct
        img[:, i % 64, 1] = 255
        img[0, 0] = (i % 256, (i // 256) % 256, 7)
        Image.fromarray(img).save(folder / f"{i:05d}.jpg", quality=95)
    p2 = nl.open(work / "ingest.duckdb")
    t = time.perf_counter()
    rep = p2.add_images(folder, progress=False)
    dt = time.perf_counter() - t

    def pil_loop():  # what a user would write: open each image for its size and hash it
        import hashlib
        out = []
        for f in sorted(folder.iterdir()):
            data = f.read_bytes()
            with Image.open(f) as im:
                out.append((f.name, im.size, hashlib.sha256(data).hexdigest()))
        return out

    _, t_pil = timed(pil_loop, 1)
    print(f"[ingest] {rep.added:,} JPEGs ({rep.duplicates} exact duplicates) in {dt:.2f} s = {rep.added / dt:,.0f} images/s "
          f"(plain PIL size+sha256 loop, no store: {n_img / t_pil:,.0f} images/s)")


if __name__ == "__main__":
    main()
