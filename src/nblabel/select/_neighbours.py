"""Nearest neighbours of unit vectors by cosine distance, in bounded memory (never an N × N matrix).

faiss does the search, queried in blocks. Up to ``EXACT_UP_TO`` vectors it is exact: a flat index in
the full dimension, and a row whose ``k`` neighbours are all within the threshold is asked again
with a range search, so every pair within the threshold is found, however many copies an image has.
Beyond, it is approximate and cheap: the vectors' top principal axes (an orthogonal projection, which
only shortens distances) in an inverted-file index (IVF), ``2k + 1`` candidates per row whose exact
cosine distances then decide, and a range search for rows whose candidates are all duplicates.
The benchmark (benchmarks/near_duplicates.py) measures its recall of planted duplicates. Distance = 1 − cosine similarity (0 = same direction, 2 = opposite).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EXACT_UP_TO", "candidate_pairs", "knn", "unit_rows"]

EXACT_UP_TO = 10_000  # exact search (flat index, full dimension) up to this many vectors
_BLOCK = 8192         # queries per search call: bounds the k-NN result memory to _BLOCK × k
_REDUCED = 48         # the search runs on the top principal axes; distances are then computed exactly


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), float32 and C-contiguous (what faiss takes).

    Example:
        >>> unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.where(norms > 0, norms, 1), dtype=np.float32)


def _reduce(x: np.ndarray) -> np.ndarray:
    """``x`` centred and projected on its top ``_REDUCED`` principal axes (no rescaling).

    The projection is orthogonal, so it never lengthens a difference: two rows within L2 distance r
    stay within r, and a search in the reduced space finds a superset of the true close pairs.
    """
    if x.shape[1] <= _REDUCED:
        return x
    rng = np.random.default_rng(0)
    sample = x[np.sort(rng.choice(len(x), size=min(len(x), 8_000), replace=False))]
    mean = sample.mean(axis=0)
    centred = sample - mean
    _, vecs = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    axes = np.ascontiguousarray(vecs[:, ::-1][:, :_REDUCED], dtype=np.float32)
    out = np.empty((len(x), _REDUCED), np.float32)
    for s in range(0, len(x), 65_536):
        out[s:s + 65_536] = (x[s:s + 65_536] - mean.astype(np.float32)) @ axes
    return out


def _index(x: np.ndarray) -> Any:
    """An L2 index over ``x``: exact (flat) up to ``EXACT_UP_TO`` rows, IVF (inverted lists) beyond."""
    import faiss

    n, d = x.shape
    index: Any
    if n <= EXACT_UP_TO:
        index = faiss.IndexFlatL2(d)
    else:
        nlist = int(2 * np.sqrt(n))  # ~160 vectors per list at 100k
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, nlist)
        index.cp.niter = 10
        index.cp.min_points_per_centroid = 16  # k-means on a sample (32 per list): training stays a fraction
        index.cp.max_points_per_centroid = 32  # of the search; no faiss warning about the sample size
        rng = np.random.default_rng(0)
        index.train(x[np.sort(rng.choice(n, size=min(n, 32 * nlist), replace=False))])
        index.nprobe = 6
    index.add(x)
    return index


def knn(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(squared L2 distances, positions)`` of the ``k`` nearest indexed rows of each query (−1: none), in blocks.

    Example:
        >>> x = unit_rows(np.array([[1.0, 0], [0.9, 0.1], [0, 1]]))
        >>> d, i = knn(_index(x), x[:1], 2); i.tolist()
        [[0, 1]]
    """
    ds, ps = [], []
    for s in range(0, len(queries), _BLOCK):
        dist, pos = index.search(queries[s:s + _BLOCK], k)
        ds.append(dist)
        ps.append(pos)
    if not ds:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    return np.vstack(ds).astype(np.float32), np.vstack(ps).astype(np.int64)


def _pairs(i: np.ndarray, j: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Unique unordered pairs ``(lo, hi)``, ``lo < hi``, of row positions (−1 and self pairs dropped)."""
    keep = (j >= 0) & (i != j)
    key = pd.unique(np.minimum(i[keep], j[keep]) * n + np.maximum(i[keep], j[keep]))  # hashing: no sort
    return key // n, key % n


def _cosine(x: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Exact cosine distances of the unit rows ``x[i]``, ``x[j]`` (in blocks: bounded memory)."""
    out = np.empty(len(i), np.float32)
    step = 32_768
    for s in range(0, len(i), step):
        a, b = i[s:s + step], j[s:s + step]
        out[s:s + step] = 1.0 - np.einsum("ij,ij->i", x[a], x[b])
    return np.maximum(out, 0)


def candidate_pairs(vectors: np.ndarray, threshold: float, cutoff: float | None = None,
                    k: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j`` (row positions) of similar rows, with their cosine distance.

    Every pair within ``threshold`` is found (a row whose ``k`` nearest are all within it is asked
    again with a range search); pairs between ``threshold`` and ``cutoff`` (default: the threshold)
    are those among each row's ``k`` nearest. Identical rows get distance exactly 0. Sorted by
    distance; memory is O(N·k + pairs found).

    Example:
        >>> x = np.array([[1.0, 0], [1.0, 0.01], [0, 1], [1.0, 0]])
        >>> i, j, d = candidate_pairs(x, 0.1); list(zip(i.tolist(), j.tolist()))
        [(0, 3), (0, 1), (1, 3)]
    """
    cutoff = threshold if cutoff is None else max(cutoff, threshold)
    raw = np.ascontiguousarray(vectors, dtype=np.float32)
    x = unit_rows(raw)
    n = len(x)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    reduced = n > EXACT_UP_TO and x.shape[1] > _REDUCED
    space = np.ascontiguousarray(_reduce(x)) if reduced else x
    index = _index(space)
    kk = min(n, 2 * k + 1 if reduced else k + 1)  # more neighbours in the reduced space; exact distances pick
    radius = 2.0 * threshold + 1e-5  # squared L2 between unit rows = 2 × cosine distance
    dist, pos = knn(index, space, kk)
    # the projection only shortens distances: a candidate already beyond the cut-off there is beyond it exactly
    maybe = (dist <= 2.0 * cutoff + 1e-5).ravel()
    lo, hi = _pairs(np.repeat(np.arange(n), kk)[maybe], pos.ravel()[maybe], n)
    d = _cosine(x, lo, hi)
    if kk < n:
        if reduced:  # approximate: rows whose every candidate is a duplicate may have more
            within = np.bincount(np.concatenate([lo, hi])[np.tile(d <= threshold, 2)], minlength=n)
            saturated = np.flatnonzero(within >= kk - 1)
        else:  # exact: the k-th neighbour is still within the threshold
            saturated = np.flatnonzero((pos[:, -1] >= 0) & (dist[:, -1] <= radius))
        for s in range(0, len(saturated), _BLOCK):
            q = saturated[s:s + _BLOCK]
            lims, _, found = index.range_search(space[q], float(radius))
            more_lo, more_hi = _pairs(np.repeat(q, np.diff(lims).astype(np.int64)), found.astype(np.int64), n)
            more_d = _cosine(x, more_lo, more_hi)
            close = more_d <= cutoff + 1e-6  # keep memory to the pairs that stay
            lo, hi = np.concatenate([lo, more_lo[close]]), np.concatenate([hi, more_hi[close]])
            d = np.concatenate([d, more_d[close]])
    near = d <= cutoff + 1e-6
    lo, hi, d = lo[near], hi[near], d[near]
    # exact duplicates: identical rows, found by their bytes (not by floating-point distance)
    rowkey = np.ascontiguousarray(raw).view(np.dtype((np.void, raw.dtype.itemsize * raw.shape[1]))).ravel()
    _, inverse, counts = np.unique(rowkey, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    if (counts > 1).any():
        dup = np.flatnonzero(counts[inverse] > 1)
        dup = dup[np.argsort(inverse[dup], kind="stable")]
        same = inverse[dup][1:] == inverse[dup][:-1]
        lo = np.concatenate([lo, dup[:-1][same]])
        hi = np.concatenate([hi, dup[1:][same]])
        d = np.concatenate([d, np.zeros(int(same.sum()), np.float32)])
    d = np.where(inverse[lo] == inverse[hi], 0, d).astype(np.float32)
    # one row per pair, its smallest distance
    order = np.lexsort((d, hi, lo))
    lo, hi, d = lo[order], hi[order], d[order]
    first = np.ones(len(lo), bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, d = lo[first], hi[first], d[first]
    order = np.lexsort((hi, lo, d))
    return lo[order], hi[order], d[order]
