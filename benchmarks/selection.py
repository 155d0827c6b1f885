"""Diverse selection and splits (issue 9 §3/§4/§6): greedy k-center at 100k × 512, split label balance, stability.

1. k-center: 10,000 picks from 100,000 unit vectors of 512 dimensions (embedding-like: clusters in
   a 48-d latent space mapped to 512-d, plus noise), through the pipeline ``proj.select`` runs
   (PCA to 128 dimensions, then exact greedy k-center): time and peak memory (tracemalloc), the
   coverage radius, and side by side the radius of a random selection of the same size. On a
   20,000-row subsample (2,000 picks) the radius of the pipeline is compared, in the full 512-d
   space, with exact greedy k-center in 512-d, and the textbook loop (one matrix-vector pass per
   pick) is timed for 100 picks at full size and extrapolated.
2. Splits: a synthetic multi-label grouped set (Zipf label frequencies, labels shared within a
   group); 70/15/15 by ours (iterative stratification over groups), sklearn ``GroupShuffleSplit``
   (twice: train vs rest, then rest in halves), iterstrat ``MultilabelStratifiedShuffleSplit``
   (ignores groups) and a random grouped split. Reported per seed 1..5 (the generator was
   tuned on seed 0; our method has no parameter to tune): max over labels and parts of
   |share − ratio|, the mean KL divergence of each part's label distribution from the whole
   set's, the worst part size error, and the fraction of groups cut across parts.
3. Stability: 10 % new media (half in new groups, half in existing ones), split again: the
   fraction of earlier items that changed part (ours: kept assignments; the others: re-run with
   the same random_state on the grown set).

Run:  .venv/bin/python benchmarks/selection.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from nblabel.select._kcenter import coverage_radius, kcenter_greedy
from nblabel.select._selection import reduce_dims
from nblabel.select._stratify import stratified_group_split, worst_share_error

RATIOS = np.array([0.7, 0.15, 0.15])


# -- data ---------------------------------------------------------------------------------------
def embedding_like(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    latent_d, n_clusters = 48, max(10, n // 100)
    centres = rng.normal(size=(n_clusters, latent_d)) * rng.uniform(0.5, 2.0, (n_clusters, 1))
    which = rng.zipf(1.3, n) % n_clusters
    z = centres[which] + rng.normal(size=(n, latent_d)) * rng.uniform(0.1, 0.8, (n, 1))
    x = (z @ rng.normal(size=(latent_d, d)) / np.sqrt(latent_d)).astype(np.float32)
    x += rng.normal(scale=0.15, size=(n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def multilabel_grouped(n: int, n_groups: int, n_labels: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = 0.6 / np.arange(1, n_labels + 1) ** 1.1                        # Zipf label frequencies
    size_p = 1.0 / np.arange(1, n_groups + 1) ** 0.7                   # Zipf-like group sizes
    groups = rng.choice(n_groups, n, p=size_p / size_p.sum())          # a few big groups, many small
    groups = rng.permutation(n_groups)[groups]
    group_has = rng.random((n_groups, n_labels)) < p                   # what a scene shows
    y = group_has[groups] & (rng.random((n, n_labels)) < 0.8)
    y |= rng.random((n, n_labels)) < p * 0.05
    return y, groups


# -- 1. k-center ---------------------------------------------------------------------------------
def _timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    tracemalloc.start()
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, dt, peak


def bench_kcenter(n: int, d: int, k: int, sub_n: int, sub_k: int) -> None:
    x = embedding_like(n, d, seed=0)
    print(f"\n## k-center: {k:,} picks from {n:,} × {d} (float32, {x.nbytes / 2**20:.0f} MiB of vectors)")

    def ours() -> tuple[np.ndarray, float]:
        z = reduce_dims(x, 128) if d > 128 else x
        r = kcenter_greedy(z, k)
        return r.picks, r.radius

    (_, radius_reduced), dt, peak = _timed(ours)  # type: ignore[misc]
    rng = np.random.default_rng(1)
    rand = rng.choice(n, k, replace=False)
    z = reduce_dims(x, 128) if d > 128 else x
    rad_rand = coverage_radius(z, rand)
    print(f"ours (PCA-128 + exact greedy): {dt:.1f} s, peak traced memory {peak:,.0f} MiB; "
          f"coverage radius (PCA space) {radius_reduced:.4f}; random selection of {k:,}: {rad_rand:.4f} "
          f"({rad_rand / radius_reduced:.2f}× ours)")

    def textbook(picks_n: int) -> float:
        md = np.full(n, np.inf, np.float32)
        sq = np.einsum("ij,ij->i", x, x)
        t = time.perf_counter()
        c = 0
        for _ in range(picks_n):
            np.minimum(md, sq + sq[c] - 2 * (x @ x[c]), out=md)
            c = int(np.argmax(md))
        return (time.perf_counter() - t) / picks_n

    per = textbook(100)
    print(f"textbook loop (one matrix-vector pass per pick, full {d}-d): {per * 1e3:.1f} ms/pick → "
          f"{per * k:.0f} s for {k:,} picks (extrapolated from 100); ours {per * k / dt:.1f}× faster")

    xs = x[np.random.default_rng(2).choice(n, sub_n, replace=False)]
    exact = kcenter_greedy(xs, sub_k)
    zs = reduce_dims(xs, 128) if d > 128 else xs
    red = kcenter_greedy(zs, sub_k)
    r_red_full = coverage_radius(xs, red.picks)
    r_rand = coverage_radius(xs, np.random.default_rng(3).choice(sub_n, sub_k, replace=False))
    print(f"subsample {sub_n:,} × {d}, {sub_k:,} picks, radius in the full space: exact greedy {exact.radius:.4f}, "
          f"PCA-128 greedy {r_red_full:.4f} ({100 * (r_red_full / exact.radius - 1):+.1f} %), "
          f"random {r_rand:.4f} ({100 * (r_rand / exact.radius - 1):+.1f} %)")


# -- 2./3. splits ----------------------------------------------------------------------------------
def kl_divergence(y: np.ndarray, split: np.ndarray, n_parts: int) -> float:
    whole = y.sum(axis=0) + 1e-9
    whole = whole / whole.sum()
    out = []
    for s in range(n_parts):
        part = y[split == s].sum(axis=0) + 1e-9
        part = part / part.sum()
        out.append(float((part * np.log(part / whole)).sum()))
    return float(np.mean(out))


def size_error(split: np.ndarray, n_parts: int) -> float:
    return float(np.abs(np.bincount(split, minlength=n_parts) / len(split) - RATIOS).max())


def groups_cut(groups: np.ndarray, split: np.ndarray) -> float:
    ug, inv = np.unique(groups, return_inverse=True)
    first = np.full(len(ug), -1)
    first[inv[::-1]] = split[::-1]
    cut = np.zeros(len(ug), bool)
    np.logical_or.at(cut, inv, split != first[inv])
    return float(cut.mean())


def ours_split(y: np.ndarray, groups: np.ndarray, seed: int, fixed: np.ndarray | None = None) -> np.ndarray:
    return stratified_group_split(y, groups, RATIOS, seed=seed, fixed=fixed)


def gss_split(y: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.model_selection import GroupShuffleSplit

    out = np.zeros(len(y), np.int64)
    _, rest = next(GroupShuffleSplit(1, test_size=0.3, random_state=seed).split(y, groups=groups))
    va, te = next(GroupShuffleSplit(1, test_size=0.5, random_state=seed).split(rest, groups=groups[rest]))
    out[rest[va]], out[rest[te]] = 1, 2
    return out


def iterstrat_split(y: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    out = np.zeros(len(y), np.int64)
    yi = y.astype(int)
    _, rest = next(MultilabelStratifiedShuffleSplit(1, test_size=0.3, random_state=seed).split(yi, yi))
    va, te = next(MultilabelStratifiedShuffleSplit(1, test_size=0.5, random_state=seed).split(yi[rest], yi[rest]))
    out[rest[va]], out[rest[te]] = 1, 2
    return out


def random_grouped(y: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    ug, inv = np.unique(groups, return_inverse=True)
    return np.random.default_rng(seed).choice(3, len(ug), p=RATIOS)[inv.ravel()]


METHODS: dict[str, Callable[[np.ndarray, np.ndarray, int], np.ndarray]] = {
    "ours (iterative strat. over groups)": ours_split,
    "sklearn GroupShuffleSplit": gss_split,
    "iterstrat MultilabelStratifiedShuffleSplit": iterstrat_split,
    "random grouped": random_grouped,
}


def bench_splits(n: int, n_groups: int, n_labels: int, seeds: list[int]) -> None:
    print(f"\n## splits 70/15/15: {n:,} items, {n_groups:,} groups (Zipf sizes), {n_labels} labels (Zipf), "
          f"seeds {seeds}")
    rows: dict[str, list[tuple[float, float, float, float, float]]] = {m: [] for m in METHODS}
    for seed in seeds:
        y, groups = multilabel_grouped(n, n_groups, n_labels, seed)
        for name, fn in METHODS.items():
            t = time.perf_counter()
            s = fn(y, groups, seed)
            dt = time.perf_counter() - t
            rows[name].append((worst_share_error(y, s, RATIOS), kl_divergence(y, s, 3), size_error(s, 3),
                               groups_cut(groups, s), dt))
    print("| method | max abs(share − ratio) | mean KL(part ‖ all) | worst size error | groups cut | time (s) |")
    print("|---|---|---|---|---|---|")
    for name, vals in rows.items():
        med = [statistics.median(v[i] for v in vals) for i in range(5)]
        print(f"| {name} | {med[0]:.4f} | {med[1]:.2e} | {med[2]:.4f} | {med[3]:.3f} | {med[4]:.2f} |")
    print("(medians over the seeds)")

    print(f"\n## stability: add 10 % new media (half into existing groups), split again ({len(seeds)} seeds)")
    changed: dict[str, list[float]] = {m: [] for m in METHODS}
    for seed in seeds:
        y, groups = multilabel_grouped(n, n_groups, n_labels, seed)
        rng = np.random.default_rng(100 + seed)
        m = n // 10
        new_groups = np.where(rng.random(m) < 0.5, rng.choice(groups, m), n_groups + rng.integers(0, m // 3, m))
        new_y = rng.random((m, n_labels)) < (0.6 / np.arange(1, n_labels + 1) ** 1.1)
        y2, g2 = np.vstack([y, new_y]), np.concatenate([groups, new_groups])
        for name, fn in METHODS.items():
            before = fn(y, groups, seed)
            if fn is ours_split:
                after = ours_split(y2, g2, seed, fixed=np.concatenate([before, np.full(m, -1)]))
            else:
                after = fn(y2, g2, seed)
            changed[name].append(float((after[:n] != before).mean()))
    print("| method | earlier items that changed part |")
    print("|---|---|")
    for name, vals in changed.items():
        print(f"| {name} | {statistics.median(vals):.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10,000 × 128, 500 picks; 3,000 items, 2 seeds")
    a = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, load {os.getloadavg()[0]:.1f}")
    if a.quick:
        bench_kcenter(10_000, 256, 500, 4_000, 300)
        bench_splits(3_000, 800, 20, [1, 2])
    else:
        bench_kcenter(100_000, 512, 10_000, 20_000, 2_000)
        bench_splits(20_000, 5_000, 40, [1, 2, 3, 4, 5])
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
