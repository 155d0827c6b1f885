"""Near-duplicates: pairwise F1 of nblabel's default embedder against imagehash pHash (and pHash with its
mirror) on real photos with seeded transformed copies, and the time and memory of a 100k-vector search.

Corpus: the 21 COCO photos of tests/data/coco21 and, as extra distinct images (distractors), their four
quadrant crops (a quarter of a photo is not a near-duplicate of it: a hard negative). Each base image gets
seeded copies: resized, re-encoded as JPEG (q 30–90), cropped (≤ 10 %), rotated (≤ 5°), brightness-shifted,
horizontally flipped, and combinations. A true pair = two images of one family (a base and its copies).
The photos are split in two halves: the threshold is tuned on one half (seed 1) and F1 reported on the
other (other photos, seed 2). Every method groups by connected components at its threshold, and
pairwise precision / recall / F1 count the pairs that end in one group.

Scale: random clustered unit vectors (d = DIM of the default embedder) with planted duplicates, searched
by ``find_near_duplicates``; time, peak RSS growth and recall of the planted pairs.

Run:  .venv/bin/python benchmarks/near_duplicates.py [--quick] [--n N]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageEnhance, ImageOps

import nblabel as nl
from nblabel.select import DEFAULT_THRESHOLD
from nblabel.select._embedder import DIM
from nblabel.select._groups import group_pairs
from nblabel.store._embeddings import read_embeddings

PHOTOS = Path(__file__).parents[1] / "tests" / "data" / "coco21" / "images"
TRANSFORMS = ("resize", "jpeg", "crop", "rotate", "bright", "flip", "flip+jpeg", "crop+bright+resize", "rotate+flip")


def _jpeg(im: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=q)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def transform(im: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    """One seeded copy of ``im``: the steps of ``kind`` (joined by ``+``) applied in order."""
    for step in kind.split("+"):
        w, h = im.size
        if step == "resize":
            s = rng.uniform(0.4, 0.8)
            im = im.resize((max(8, int(w * s)), max(8, int(h * s))), Image.Resampling.LANCZOS)
        elif step == "jpeg":
            im = _jpeg(im, int(rng.integers(30, 91)))
        elif step == "crop":  # up to 10 % of each dimension in all, split between the two sides
            fx, fy = rng.uniform(0.03, 0.10, 2)
            lx, ty = rng.uniform(0, fx) * w, rng.uniform(0, fy) * h
            im = im.crop((int(lx), int(ty), int(w - (fx * w - lx)), int(h - (fy * h - ty))))
        elif step == "rotate":  # rotate, then crop the filled corners away
            a = rng.uniform(2, 5) * rng.choice([-1, 1])
            im = im.rotate(a, resample=Image.Resampling.BILINEAR)
            m = np.sin(np.radians(abs(a)))
            im = im.crop((int(m * h / 2), int(m * w / 2), int(w - m * h / 2), int(h - m * w / 2)))
        elif step == "bright":
            im = ImageEnhance.Brightness(im).enhance(rng.choice([rng.uniform(0.7, 0.85), rng.uniform(1.15, 1.3)]))
        elif step == "flip":
            im = ImageOps.mirror(im)
        else:
            raise ValueError(step)
    return im


def base_images(photos: list[Path], side: int | None) -> list[Image.Image]:
    """The photos and their four quadrant crops (optionally shrunk to ``side`` pixels wide first)."""
    out = []
    for p in photos:
        im = Image.open(p).convert("RGB")
        if side:
            im = im.resize((side, max(8, im.size[1] * side // im.size[0])), Image.Resampling.LANCZOS)
        w, h = im.size
        out.append(im)
        out += [im.crop(b) for b in ((0, 0, w // 2, h // 2), (w // 2, 0, w, h // 2), (0, h // 2, w // 2, h),
                                     (w // 2, h // 2, w, h))]
    return out


def corpus(photos: list[Path], seed: int, folder: Path, side: int | None = None,
           transforms: tuple[str, ...] = TRANSFORMS) -> pd.DataFrame:
    """Write the base images and their copies as files; returns ``path, family, kind``."""
    rng = np.random.default_rng(seed)
    rows = []
    for f, im in enumerate(base_images(photos, side)):
        for kind in ("original", *transforms):
            out = im if kind == "original" else transform(im, kind, rng)
            path = folder / f"s{seed}_f{f:03d}_{kind.replace('+', '_')}.jpg"
            out.save(path, quality=95)
            rows.append((str(path), f, kind))
    return pd.DataFrame(rows, columns=["path", "family", "kind"])


def pairwise_f1(families: np.ndarray, ids: np.ndarray, a: np.ndarray, b: np.ndarray, d: np.ndarray,
                threshold: float) -> tuple[float, float, float]:
    """Precision, recall, F1 over all pairs: predicted = same group at ``threshold``, true = same family."""
    g = group_pairs(ids, a, b, d, threshold)
    group_of = np.full(len(ids), -1, np.int64)
    pos = np.searchsorted(ids, g["media_id"].to_numpy())
    group_of[pos] = g["group"].to_numpy()
    fam = pd.Series(families)
    true = int((fam.value_counts() * (fam.value_counts() - 1) // 2).sum())
    grouped = pd.DataFrame({"g": group_of, "f": families})[group_of >= 0]
    pred = int((grouped.groupby("g").size() * (grouped.groupby("g").size() - 1) // 2).sum())
    both = grouped.groupby(["g", "f"]).size()
    tp = int((both * (both - 1) // 2).sum())
    p = tp / pred if pred else 1.0
    r = tp / true if true else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _all_pairs(dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i, j = np.triu_indices(len(dist), 1)
    return i, j, dist[i, j]


def nblabel_distances(df: pd.DataFrame) -> tuple[np.ndarray, float]:
    """All-pairs cosine distances of the default embedder, through proj.embed (the real path); seconds spent."""
    proj = nl.open(":memory:")
    rep = proj.add_images(df["path"].tolist())
    t = time.perf_counter()
    proj.embed(progress=False)
    secs = time.perf_counter() - t
    ids, v = read_embeddings(proj.session, "default")
    v = v[np.searchsorted(ids, np.asarray(rep.ids))]  # rows in path order
    return np.clip(1 - v @ v.T, 0, 2), secs


def phash_distances(df: pd.DataFrame, mirror: bool) -> tuple[np.ndarray, float]:
    """All-pairs Hamming distances of imagehash pHash (``mirror``: min over the image and its mirror)."""
    import imagehash

    t = time.perf_counter()
    hs, hm = [], []
    for p in df["path"]:
        im = Image.open(p)
        hs.append(imagehash.phash(im).hash.ravel())
        if mirror:
            hm.append(imagehash.phash(ImageOps.mirror(im)).hash.ravel())
    secs = time.perf_counter() - t
    h = np.array(hs, np.int32)
    dist = (h[:, None, :] != h[None, :, :]).sum(-1).astype(np.float64)
    if mirror:
        m = np.array(hm, np.int32)
        dist = np.minimum(dist, (h[:, None, :] != m[None, :, :]).sum(-1))
    return dist, secs


def best_threshold(families: np.ndarray, dist: np.ndarray, grid: np.ndarray) -> tuple[float, float]:
    ids = np.arange(len(families), dtype=np.int64)
    i, j, d = _all_pairs(dist)
    scores = [pairwise_f1(families, ids, i, j, d, t)[2] for t in grid]
    k = int(np.argmax(scores))
    return float(grid[k]), float(scores[k])


def quality(quick: bool) -> None:
    photos = sorted(PHOTOS.glob("*.jpg"))
    if quick:
        photos = photos[:6]
    half = len(photos) // 2
    side = 160 if quick else None
    with tempfile.TemporaryDirectory() as tmp:
        tune = corpus(photos[:half], 1, Path(tmp), side)
        test = corpus(photos[half:], 2, Path(tmp), side)
        print(f"corpus: {len(photos)} photos + 4 quadrant crops each as distinct images, {len(TRANSFORMS)} "
              f"seeded copies of each; tune half {len(tune)} images (seed 1), test half {len(test)} (seed 2)")
        methods = {
            "nblabel default": (nblabel_distances, np.round(np.arange(0.01, 0.4, 0.005), 4), DEFAULT_THRESHOLD),
            "imagehash phash": (lambda df: phash_distances(df, False), np.arange(0, 33), 10.0),
            "phash + mirror": (lambda df: phash_distances(df, True), np.arange(0, 33), 10.0),
        }
        print(f"{'method':18s} {'default t':>9s} {'P':>5s} {'R':>5s} {'F1':>5s} | {'tuned t':>7s} "
              f"{'F1 tune':>7s} {'F1 test':>7s} | {'ms/img':>6s}")
        for name, (fn, grid, default) in methods.items():
            d_tune, _ = fn(tune)
            d_test, secs = fn(test)
            t_best, f_tune = best_threshold(tune["family"].to_numpy(), d_tune, grid)
            ids = np.arange(len(test), dtype=np.int64)
            i, j, d = _all_pairs(d_test)
            p, r, f = pairwise_f1(test["family"].to_numpy(), ids, i, j, d, default)
            f_test = pairwise_f1(test["family"].to_numpy(), ids, i, j, d, t_best)[2]
            print(f"{name:18s} {default:9.3g} {p:5.3f} {r:5.3f} {f:5.3f} | {t_best:7.3g} {f_tune:7.3f} {f_test:7.3f} "
                  f"| {1000 * secs / len(test):6.2f}")
            if name == "nblabel default":
                per_kind(test, d_test, default)


def per_kind(df: pd.DataFrame, dist: np.ndarray, t: float) -> None:
    """Recall per transform: the share of copies whose distance to their original is within ``t``."""
    orig = df[df["kind"] == "original"].set_index("family").index
    pos = {f: k for k, f in zip(df.index[df["kind"] == "original"], orig, strict=True)}
    parts = []
    for kind, g in df[df["kind"] != "original"].groupby("kind"):
        found = np.mean([dist[k, pos[f]] <= t for k, f in zip(g.index, g["family"], strict=True)])
        parts.append(f"{kind} {found:.2f}")
    print("  recall of copy vs original by transform: " + ", ".join(parts))


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale(n: int) -> None:
    """Random clustered unit vectors with planted duplicates, through find_near_duplicates."""
    from nblabel.select._duplicates import find_near_duplicates
    from nblabel.store._embeddings import write_embeddings

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(max(1, n // 50), DIM)).astype(np.float32)
    v = centres[rng.integers(0, len(centres), n)] + rng.normal(scale=0.6, size=(n, DIM)).astype(np.float32)
    planted = rng.choice(n, size=(n // 100, 2), replace=False)
    v[planted[:, 1]] = v[planted[:, 0]] + rng.normal(scale=0.05, size=(len(planted), DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    proj = nl.open(":memory:")
    proj.add_images([np.zeros((2, 2, 3), np.uint8)])  # one real image; the rest are id-only rows below
    with proj.store.transaction() as con:
        con.execute("INSERT INTO media SELECT i, 'x' || i, 'x' || i, 'sha' || i, 2, 2, 'PNG', 1, 1, '{}', now() "
                    "FROM range(2, ?) t(i)", [n + 1])
    write_embeddings(proj.session, "bench", np.arange(1, n + 1), v, model="bench")
    before = _rss_mib()
    t = time.perf_counter()
    dups = find_near_duplicates(proj.session, embedding="bench", threshold=DEFAULT_THRESHOLD)
    secs = time.perf_counter() - t
    grown = _rss_mib() - before
    pairs = set(zip(dups.pairs["media_a"].to_numpy() - 1, dups.pairs["media_b"].to_numpy() - 1, strict=True))
    want = {(min(a, b), max(a, b)) for a, b in planted.tolist()}
    rec = len(want & pairs) / len(want)
    print(f"scale: {n:,} × {DIM} vectors ({v.nbytes / 2**20:.0f} MiB), {len(want):,} planted duplicates: "
          f"find_near_duplicates {secs:.1f} s, peak RSS +{grown:.0f} MiB over the loaded vectors, "
          f"{len(dups.pairs):,} candidate pairs, recall of planted pairs {rec:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="6 photos at 160 px, 5k vectors: seconds")
    ap.add_argument("--n", type=int, default=100_000, help="vectors in the scale test")
    a = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, nblabel {nl.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load {os.getloadavg()[0]:.1f}")
    quality(a.quick)
    scale(5_000 if a.quick else a.n)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
