"""Greedy k-center (farthest-first traversal) over vectors, exact and fast at 100k × 512.

Greedy k-center picks, again and again, the point farthest from everything chosen so far (the
labelled set to start with); its coverage radius (the largest distance from any point to its
nearest centre) is within a factor 2 of the best possible (Gonzalez 1985), and it is what active
learning calls "core-set" selection (Sener & Savarese 2018).

The textbook loop updates every point's distance after every pick: k passes over the N × d matrix,
each one a matrix-vector product that BLAS runs at memory speed (~40 ms at 100k × 512 here, so 400 s
for 10,000 picks). This one gives the same picks with far fewer, larger products:

- every point keeps ``stale``, its squared distance to the centres applied to it so far: an upper
  bound of its true distance;
- a *pool* holds the ``pool_size`` points of largest ``stale``; their true distances are kept
  exact against the pending centres (one small product per pick, BLAS on one thread);
- the pool's best point is the true farthest point whenever its exact distance beats the largest
  ``stale`` outside the pool (every outside point is at most that far); otherwise, or when the
  pending list is full, the pending centres close an *epoch*;
- an epoch is applied lazily (``_Lazy``): only to the points whose bound still reaches the best exact
  distance known (a point below it cannot be the next pick); the others stay behind, and catch up on
  every epoch they missed only when their bound makes them a contender. Late in a run most points
  lie close to a centre and never catch up: at 100k × 128 and 10,000 picks this computes ~37 % of
  the distances the eager version did (47 of 128 GMAC).

Ties go to the lowest index, as ``np.argmax`` does in the textbook loop, so the picks equal a
brute-force reference exactly on inputs whose distances are exact (small integers in float64).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ValidationError

__all__ = ["KCenterResult", "coverage_radius", "kcenter_greedy", "kcenter_reference"]


@dataclass(frozen=True)
class KCenterResult:
    """What a k-center run picked.

    Attributes:
        picks: row indices in pick order.
        distances: each pick's distance to the nearest centre before it (the labelled set and the
            earlier picks); ``inf`` for a first pick made with no centre at all.
        radius: coverage radius after the picks: the largest distance from a candidate row to its
            nearest centre (0 when every candidate is picked).
    """

    picks: np.ndarray
    distances: np.ndarray
    radius: float


def _check(vectors: np.ndarray) -> np.ndarray:
    x = np.asarray(vectors)
    if x.ndim != 2:
        raise ValidationError(f"vectors must be a 2-d array (rows × dimensions), got shape {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValidationError("vectors contain NaN or infinite values; recompute or drop those rows")
    return np.ascontiguousarray(x)


def _mask(n: int, rows: np.ndarray | None, what: str, default: bool) -> np.ndarray:
    out = np.full(n, default, dtype=bool)
    if rows is None:
        return out
    r = np.asarray(rows)
    if r.dtype == bool:
        if r.shape != (n,):
            raise ValidationError(f"{what} as a mask must have one entry per row ({n}), got shape {r.shape}")
        return r.copy()
    r = r.astype(np.int64).ravel()
    if r.size and (r.min() < 0 or r.max() >= n):
        raise ValidationError(f"{what} holds row indices outside 0..{n - 1}")
    out[:] = not default
    out[r] = default
    return out


class _Distances:
    """Squared distances from rows of ``x`` to centres, computed in row blocks (|x|² + |c|² − 2 x·c)."""

    def __init__(self, x: np.ndarray, block: int) -> None:
        self.x = x
        self.sq = np.einsum("ij,ij->i", x, x)
        self.block = block

    def to(self, rows: np.ndarray | slice, centres: np.ndarray | None, xcent: np.ndarray | None = None,
           sqcent: np.ndarray | None = None) -> np.ndarray:
        """Min over ``centres`` (indices; or their vectors ``xcent`` and squared norms ``sqcent``, gathered
        once by a caller that asks for many row blocks) of the squared distance, for ``rows``."""
        if xcent is None or sqcent is None:
            assert centres is not None
            xcent, sqcent = self.x[centres], self.sq[centres]
        g = self.x[rows] @ xcent.T     # one product; the rest in place on it
        g *= -2.0
        g += sqcent[None, :]
        return np.maximum(g.min(axis=1) + self.sq[rows], 0.0)

    def apply(self, stale: np.ndarray, centres: np.ndarray) -> None:
        """``stale = min(stale, d²(row, centres))`` for every row, block by block."""
        n = len(stale)
        for lo in range(0, n, self.block):
            hi = min(n, lo + self.block)
            np.minimum(stale[lo:hi], self.to(slice(lo, hi), centres), out=stale[lo:hi])


def kcenter_greedy(vectors: np.ndarray, k: int, *, centres: np.ndarray | None = None,
                   candidates: np.ndarray | None = None, first: int | None = None,
                   weights: np.ndarray | None = None, pending_max: int = 256, pool_size: int = 2048,
                   block: int = 8192) -> KCenterResult:
    """Greedy k-center: ``k`` rows of ``vectors`` picked farthest-first from ``centres``.

    Args:
        vectors: ``[n, d]`` float array (Euclidean distance).
        k: how many to pick (at most the number of candidates).
        centres: rows already chosen (the labelled set: indices or a boolean mask); they are never
            picked and they cover the candidates from the start.
        candidates: rows that may be picked and that the radius is measured over (default: every
            row that is not a centre).
        first: the first pick when there is no centre (default: the lowest candidate index).
        weights: ``[n]`` non-negative factors: pick the largest ``weight × distance²`` instead of the
            largest distance (weighted farthest-first, for combining diversity with other scores).
        pending_max, pool_size, block: speed knobs (results do not depend on them).

    Returns:
        A :class:`KCenterResult` (picks, their distances at pick time, final coverage radius).

    Example:
        >>> x = np.array([[0.0], [1.0], [5.0], [6.0], [10.0]])
        >>> r = kcenter_greedy(x, 2, centres=[0])
        >>> r.picks.tolist(), r.distances.tolist(), r.radius
        ([4, 2], [10.0, 5.0], 1.0)
    """
    x = _check(vectors)
    n = len(x)
    is_centre = _mask(n, centres, "centres", True) if centres is not None else np.zeros(n, bool)
    cand = _mask(n, candidates, "candidates", True) if candidates is not None else ~is_centre
    cand &= ~is_centre
    n_cand = int(cand.sum())
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 0:
        raise ValidationError(f"k must be a non-negative integer, got {k!r}")
    if k > n_cand:
        raise ValidationError(f"cannot pick {k} rows: only {n_cand} candidates are left")
    rows = np.flatnonzero(cand)
    if weights is None:
        wt = np.ones(len(rows), dtype=x.dtype)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
            raise ValidationError(f"weights must be {n} finite non-negative numbers")
        wt = np.maximum(w[rows], 1e-12).astype(x.dtype)  # > 0, so a picked row (-1) stays below every other
    xc = x[rows]                       # work on the candidates only (positions into ``rows``)
    dist = _Distances(xc, block)
    stale = np.full(len(rows), np.inf, dtype=x.dtype)
    if is_centre.any():
        cx = x[is_centre]
        sqc = np.einsum("ij,ij->i", cx, cx)
        for lo in range(0, len(rows), block):
            hi = min(len(rows), lo + block)
            for clo in range(0, len(cx), 4 * pending_max):
                chi = min(len(cx), clo + 4 * pending_max)
                d2 = dist.sq[lo:hi, None] + sqc[None, clo:chi] - 2.0 * (xc[lo:hi] @ cx[clo:chi].T)
                np.minimum(stale[lo:hi], np.maximum(d2.min(axis=1), 0.0), out=stale[lo:hi])
    first_j = _first(rows, first) if not is_centre.any() else None
    blas = _Blas()
    with blas.one():                   # the per-pick products are small: BLAS threads only cost there
        lazy = _Lazy(dist, stale, wt, block * pending_max, blas, k)
        picks, at_pick = _greedy(lazy, xc, k, first_j=first_j, pending_max=pending_max, pool_size=pool_size)
        lazy.flush(np.inf)             # close the last epoch; the radius is the next pick's distance
        radius = float(np.sqrt(stale[lazy.argmax(weighted=False)])) if (stale >= 0).any() else 0.0
    return KCenterResult(rows[picks], at_pick, radius)


def _first(rows: np.ndarray, first: int | None) -> int:
    if first is None:
        return 0
    j = int(np.searchsorted(rows, first))
    if j >= len(rows) or rows[j] != first:
        raise ValidationError(f"first={first} is not a candidate row")
    return j


class _Blas:
    """BLAS thread counts: one thread for the pick loop's small products (thread hand-offs dominate
    them, badly on a busy machine: the loop ran 10× slower at load 8), every thread for big ones."""

    _ctl: Any = None                   # one controller per process: finding the libraries costs ~15 ms

    def __init__(self) -> None:
        from threadpoolctl import ThreadpoolController

        if _Blas._ctl is None:
            _Blas._ctl = ThreadpoolController()
        self.ctl = _Blas._ctl
        libs = self.ctl.select(user_api="blas").lib_controllers
        self.threads = max((lib.num_threads for lib in libs), default=1)

    def one(self) -> Any:
        return self.ctl.limit(limits=1, user_api="blas")

    def all(self) -> Any:
        return self.ctl.limit(limits=self.threads, user_api="blas")


class _Lazy:
    """Every candidate's squared distance to the centres, brought up to date only when it matters.

    Centres are applied in *epochs* (a batch of picks). ``stale[i]`` is row i's squared distance to the
    centres of its first ``lag[i]`` epochs: an upper bound of its distance to all of them. A row is
    brought up to date (``catch_up``) only when its bound could make it the next pick; most rows
    lie near a centre long before the end, so most of the matrix products of the textbook loop are
    never computed, and the picks stay exactly those of the textbook loop.
    """

    def __init__(self, dist: _Distances, stale: np.ndarray, wt: np.ndarray, cells: int, blas: _Blas,
                 k: int) -> None:
        self.dist, self.stale, self.wt, self.cells, self.blas = dist, stale, wt, cells, blas
        self.lag = np.zeros(len(stale), dtype=np.int32)
        self.cx = np.empty((k, dist.x.shape[1]), dtype=dist.x.dtype)   # the centres' vectors, in pick order
        self.csq = np.empty(k, dtype=dist.x.dtype)
        self.bounds = [0]              # epoch e holds centres bounds[e]:bounds[e + 1]
        self.pending: list[int] = []

    @property
    def epochs(self) -> int:
        return len(self.bounds) - 1

    def add(self, j: int) -> None:
        """Row ``j`` is picked: a centre of the pending epoch."""
        m = self.bounds[-1] + len(self.pending)
        self.cx[m], self.csq[m] = self.dist.x[j], self.dist.sq[j]
        self.pending.append(j)

    def key(self) -> np.ndarray:
        return self.stale * self.wt

    def flush(self, tau: float) -> None:
        """End the pending epoch; bring up to date the rows whose bound reaches ``tau`` (the best exact
        value known: a row below it cannot be the next pick)."""
        if self.pending:
            self.bounds.append(self.bounds[-1] + len(self.pending))
            self.pending = []
            self.catch_up(np.flatnonzero(self.key() >= tau))

    def catch_up(self, idx: np.ndarray) -> None:
        """Apply to rows ``idx`` every epoch they have not seen yet (rows grouped by how far behind)."""
        now = self.epochs
        idx = idx[(self.lag[idx] < now) & (self.stale[idx] >= 0)]
        if not len(idx):
            return
        lags = self.lag[idx]
        with self.blas.all() if len(idx) > 4096 else nullcontext():
            for lag in np.unique(lags):
                sub = idx[lags == lag]
                a, b = self.bounds[int(lag)], self.bounds[now]
                xcent, sqcent = self.cx[a:b], self.csq[a:b]      # views: no gather
                step = max(1, self.cells // max(b - a, 1))
                for lo in range(0, len(sub), step):
                    r = sub[lo:lo + step]
                    self.stale[r] = np.minimum(self.stale[r], self.dist.to(r, None, xcent, sqcent))
        self.lag[idx] = now

    def argmax(self, weighted: bool = True) -> int:
        """The row of largest exact key (``weighted``) or distance (lowest index among ties), bringing
        rows up to date as needed."""
        while True:
            key = self.key() if weighted else self.stale
            j = int(np.argmax(key))
            if self.lag[j] == self.epochs or key[j] < 0:
                return j
            top, _ = _top(key, 2048)
            self.catch_up(top)


def _greedy(lazy: _Lazy, xc: np.ndarray, k: int, *, first_j: int | None, pending_max: int,
            pool_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The pick loop: a *pool* of the rows of largest bound is kept exact against the pending epoch
    (one small product per pick); its best row is the true farthest while it beats every bound
    outside the pool, otherwise the epoch ends and the farthest row is found by ``lazy.argmax``."""
    stale, wt, dist = lazy.stale, lazy.wt, lazy.dist
    picks = np.empty(k, dtype=np.int64)
    at_pick = np.empty(k, dtype=np.float64)
    pool = np.empty(0, dtype=np.int64)
    pool_true = wpool = sqp = np.empty(0, dtype=xc.dtype)
    xp = np.empty((0, xc.shape[1]), dtype=xc.dtype)
    outside = np.inf
    for t in range(k):
        if t == 0 and first_j is not None:
            j, d2 = first_j, np.inf
        else:
            j = -1
            if lazy.pending:
                b = int(np.argmax(pool_true * wpool))
                best = float(pool_true[b] * wpool[b])
                if best > outside:  # every row outside the pool is at most ``outside`` away
                    j, d2 = int(pool[b]), float(pool_true[b])
                else:
                    lazy.flush(best)
            if j < 0:
                j = lazy.argmax()
                d2 = float(stale[j])
        picks[t] = j
        at_pick[t] = np.sqrt(d2)
        stale[j] = -1.0                 # picked: never again
        if not lazy.pending:            # the pool starts again from the (brought up to date) bounds
            pool, outside = _top(lazy.key(), pool_size)
            lazy.catch_up(pool)
            pool_true, wpool = stale[pool].copy(), wt[pool]
            xp = xc[pool]               # the pool's vectors, contiguous for the per-pick product
            sqp = dist.sq[pool]
        lazy.add(j)
        d2p = sqp + dist.sq[j] - 2.0 * (xp @ xc[j])
        np.minimum(pool_true, np.maximum(d2p, 0.0), out=pool_true)
        pool_true[pool == j] = -1.0
        if len(lazy.pending) >= pending_max:
            lazy.flush(float((pool_true * wpool).max()) if len(pool) else -np.inf)
    return picks, at_pick


def _top(key: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """The ``size`` rows of largest ``key`` (sorted by index) and the largest key left out."""
    if size >= len(key):
        return np.arange(len(key)), -np.inf
    part = np.argpartition(-key, size)
    return np.sort(part[:size]), float(key[part[size:]].max())


def kcenter_reference(vectors: np.ndarray, k: int, *, centres: np.ndarray | None = None,
                      candidates: np.ndarray | None = None, first: int | None = None,
                      weights: np.ndarray | None = None) -> KCenterResult:
    """The textbook loop (one full distance update per pick): the reference :func:`kcenter_greedy` equals.

    Example:
        >>> x = np.array([[0.0], [1.0], [5.0], [6.0], [10.0]])
        >>> kcenter_reference(x, 2, centres=[0]).picks.tolist()
        [4, 2]
    """
    x = np.asarray(vectors, dtype=np.float64)
    n = len(x)
    is_centre = _mask(n, centres, "centres", True) if centres is not None else np.zeros(n, bool)
    cand = (_mask(n, candidates, "candidates", True) if candidates is not None else ~is_centre) & ~is_centre
    if k > int(cand.sum()):
        raise ValidationError(f"cannot pick {k} rows: only {int(cand.sum())} candidates are left")
    d = np.full(n, np.inf)
    for c in np.flatnonzero(is_centre):
        d = np.minimum(d, ((x - x[c]) ** 2).sum(axis=1))
    d[~cand] = -1.0
    w = np.ones(n) if weights is None else np.maximum(np.asarray(weights, dtype=np.float64), 1e-12)
    picks: list[int] = []
    at: list[float] = []
    for t in range(k):
        if t == 0 and not is_centre.any():
            j = int(np.flatnonzero(cand)[0]) if first is None else int(first)
        else:
            j = int(np.argmax(d * w))
        picks.append(j)
        at.append(float(np.sqrt(d[j])))
        d = np.minimum(d, ((x - x[j]) ** 2).sum(axis=1))
        d[~cand] = -1.0
        d[picks] = -1.0
    live = d[d >= 0]
    radius = float(np.sqrt(live.max())) if len(live) else 0.0
    return KCenterResult(np.asarray(picks, dtype=np.int64), np.asarray(at, dtype=np.float64), radius)


def coverage_radius(vectors: np.ndarray, centres: np.ndarray, *, rows: np.ndarray | None = None,
                    block: int = 8192) -> float:
    """Largest distance from a row (``rows``, default all) to its nearest centre (indices), in blocks.

    Example:
        >>> coverage_radius(np.array([[0.0], [3.0], [4.0]]), np.array([0]))
        4.0
    """
    x = _check(vectors)
    r = np.arange(len(x)) if rows is None else np.asarray(rows, dtype=np.int64)
    c = np.asarray(centres, dtype=np.int64)
    if len(r) == 0:
        return 0.0
    if len(c) == 0:
        return float("inf")
    dist = _Distances(x, block)
    best = 0.0
    for lo in range(0, len(r), block):
        sub = r[lo:lo + block]
        best = max(best, float(dist.to(sub, c).max()))
    return float(np.sqrt(best))
