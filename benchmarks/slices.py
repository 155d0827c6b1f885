"""Benchmark slicing 1M instances through the slice API against the same query in pandas.

A seeded project file with 1,000,000 predictions of one run over 100,000 images (10 labels,
scores in [0, 1]), written straight into the store (not timed). Timed, median of ``--repeat``:

* "top media": instances with a label in a set and a score in a range, grouped by media, the 100
  media with the most such instances -- ``proj.instances(run).labels([...]).score(lo, hi)
  .group_by_media(100)``;
* "top instances": the same filter, sorted by score, the first 100 rows as a DataFrame;
* "media slice": media with a prediction of a label scored >= 0.9, counted;

and the same three in pandas on a DataFrame already in memory (loading it is not timed).

Usage::

    .venv/bin/python benchmarks/slices.py            # 1M instances
    .venv/bin/python benchmarks/slices.py --quick    # 100k instances, CI-sized
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from disagreements import build_project, machine, timed

LABELS = [f"class{i}" for i in range(1, 11)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    if a.quick:
        a.instances, a.repeat = 100_000, 3
    n_img = max(a.instances // 10, 1)
    rng = np.random.default_rng(0)
    media = rng.integers(1, n_img + 1, a.instances)
    media.sort()
    x0, y0 = rng.uniform(0, 500, a.instances), rng.uniform(0, 350, a.instances)
    pred = pd.DataFrame({"media_id": media, "label_id": rng.integers(1, 11, a.instances), "x0": x0, "y0": y0,
                         "x1": x0 + rng.uniform(5, 130, a.instances), "y1": y0 + rng.uniform(5, 120, a.instances),
                         "score": rng.random(a.instances)})
    gt = pred.iloc[:0].drop(columns="score")
    print(machine())
    wanted, lo, hi = ["class2", "class3", "class7"], 0.3, 0.8
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        proj = build_project(Path(d) / "slices.duckdb", n_img, gt, pred, labels=LABELS)
        print(f"{a.instances:,} instances over {n_img:,} images (setup {time.perf_counter() - t:.1f} s, not timed)")
        s = proj.instances(run="model").labels(wanted).score(lo, hi)
        t1, top_media = timed(lambda: s.group_by_media(100), a.repeat)
        t2, top_inst = timed(lambda: s.sort_by("score", descending=True).head(100).df(), a.repeat)
        t3, n_media = timed(lambda: proj.media().has_predictions("model", min_score=0.9, label=wanted).count(),
                            a.repeat)
        # pandas: the same three, data already in memory with label names
        df = pred.assign(label=np.array(LABELS, dtype=object)[pred["label_id"].to_numpy() - 1])

        def pd_top_media() -> pd.DataFrame:
            f = df[df["label"].isin(wanted) & df["score"].between(lo, hi)]
            g = f.groupby("media_id").agg(n=("score", "size"), max_score=("score", "max"))
            return g.sort_values(["n", "max_score"], ascending=False).head(100)

        def pd_top_inst() -> pd.DataFrame:
            f = df[df["label"].isin(wanted) & df["score"].between(lo, hi)]
            return f.nlargest(100, "score")

        def pd_media() -> int:
            return int(df.loc[df["label"].isin(wanted) & (df["score"] >= 0.9), "media_id"].nunique())

        p1, ref_media = timed(pd_top_media, a.repeat)
        p2, ref_inst = timed(pd_top_inst, a.repeat)
        p3, ref_n = timed(pd_media, a.repeat)
        assert top_media["n"].tolist() == ref_media["n"].tolist()
        assert np.allclose(top_inst["score"].to_numpy(), ref_inst["score"].to_numpy())
        assert n_media == ref_n
        proj.store.close()
    print(f"{'query':<16} {'nblabel (on disk)':>18} {'pandas (in memory)':>19} {'ratio':>8}")
    for name, ours, theirs in (("top media", t1, p1), ("top instances", t2, p2), ("media slice", t3, p3)):
        print(f"{name:<16} {ours * 1000:>15.0f} ms {theirs * 1000:>16.0f} ms {theirs / ours:>7.1f}x")
    goal = 0.2 * a.instances / 1_000_000
    print(f"goal: 'top media' <= {goal * 1000:.0f} ms -> {'met' if t1 <= goal else 'MISSED'} "
          f"(median of {a.repeat}; results checked equal to pandas)")


if __name__ == "__main__":
    main()
