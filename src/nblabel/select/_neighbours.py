"""Nearest neighbours of unit vectors by cosine distance, in bounded memory (never an N × N matrix).

faiss does the search: an exact flat index up to ``EXACT_UP_TO`` vectors, an inverted-file index
(IVF, many probes) beyond, queried in blocks. A row whose ``k`` neighbours are all within the
cut-off is asked again with a range search, so every pair within the cut-off is found, however
many copies of an image there are. Distance = 1 − cosine similarity (0 = same direction, 2 = opposite).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["EXACT_UP_TO", "candidate_pairs", "knn", "unit_rows"]

EXACT_UP_TO = 50_000  # flat (exact) search below this many vectors; IVF above
_BLOCK = 8192         # queries per search call: bounds the k-NN result memory to _BLOCK × k


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), float32 and C-contiguous (what faiss takes).

    Example:
        >>> unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.where(norms > 0, norms, 1), dtype=np.float32)


def _index(x: np.ndarray) -> Any:
    import faiss

    n, d = x.shape
    index: Any
    if n <= EXACT_UP_TO:
        index = faiss.IndexFlatIP(d)
    else:
        nlist = int(4 * np.sqrt(n))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = x[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))]
        index.train(sample)
        index.nprobe = 24
    index.add(x)
    return index


def knn(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(distances, positions)`` of the ``k`` nearest indexed vectors of each query (−1: none), in blocks.

    Example:
        >>> x = unit_rows(np.array([[1.0, 0], [0.9, 0.1], [0, 1]]))
        >>> d, i = knn(_index(x), x[:1], 2); i.tolist()
        [[0, 1]]
    """
    ds, ps = [], []
    for s in range(0, len(queries), _BLOCK):
        sim, pos = index.search(queries[s:s + _BLOCK], k)
        ds.append(1.0 - sim)
        ps.append(pos)
    if not ds:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    return np.vstack(ds).astype(np.float32), np.vstack(ps).astype(np.int64)


def candidate_pairs(vectors: np.ndarray, cutoff: float, k: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair ``(i, j)``, ``i < j`` (row positions), whose cosine distance is at most ``cutoff``.

    Exact pairs (identical vectors) get distance exactly 0. Returns ``(i, j, distance)`` sorted by
    distance; memory is O(N·k + pairs found).

    Example:
        >>> x = np.array([[1.0, 0], [1.0, 0.01], [0, 1], [1.0, 0]])
        >>> i, j, d = candidate_pairs(x, 0.1); list(zip(i.tolist(), j.tolist()))
        [(0, 3), (0, 1), (1, 3)]
    """
    raw = np.ascontiguousarray(vectors, dtype=np.float32)
    x = unit_rows(raw)
    n = len(x)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    if n < 2:
        return empty
    index = _index(x)
    kk = min(n, k + 1)
    dist, pos = knn(index, x, kk)
    rows = np.repeat(np.arange(n), kk)
    cols, dd = pos.ravel(), dist.ravel()
    saturated = np.flatnonzero((pos[:, -1] >= 0) & (dist[:, -1] <= cutoff)) if kk < n else np.zeros(0, np.int64)
    parts_i, parts_j, parts_d = [rows], [cols], [dd]
    for s in range(0, len(saturated), _BLOCK):
        q = saturated[s:s + _BLOCK]
        lims, sim, found = index.range_search(x[q], float(1.0 - cutoff) - 1e-6)
        parts_i.append(np.repeat(q, np.diff(lims).astype(np.int64)))
        parts_j.append(found.astype(np.int64))
        parts_d.append((1.0 - sim).astype(np.float32))
    i, j, d = np.concatenate(parts_i), np.concatenate(parts_j), np.concatenate(parts_d)
    keep = (j >= 0) & (i != j) & (d <= cutoff + 1e-6)
    i, j, d = i[keep], j[keep], np.maximum(d[keep], 0)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
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
