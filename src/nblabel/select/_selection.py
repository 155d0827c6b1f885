"""What to label next: diverse, uncertain, disagreeing, or a weighted mix of them.

:func:`select_media` picks ``n`` media of a pool and returns a :class:`Selection` in pick order.

- **labelled** means a current ground-truth instance or status ``complete`` in some stage (the
  rule near-duplicate groups use to choose what they keep); labelled media are never picked, and
  they are where diversity starts;
- **the pool**: the media of ``slice`` (default: all) that are not labelled, not in ``exclude``,
  and not a non-kept member of a near-duplicate group (one item per group at most, and none when a
  group already holds a labelled item). Duplicates are found with the embedding when one exists;
- ``"diverse"``: greedy k-center from the labelled set (:mod:`nblabel.select._kcenter`), so a
  second batch fills the gaps the first one left. Distances are Euclidean between unit-length
  vectors (``sqrt(2 × cosine distance)``); above 20,000 vectors of more than 128 dimensions, the
  vectors are first reduced to their 128 principal components (fit on a seeded sample of 20,000),
  which keeps the coverage radius within a few percent of greedy in the full space (see
  benchmarks/RESULTS.md) at a quarter of the cost;
- ``"uncertain"``: the most uncertain images of ``run`` first (:mod:`nblabel.select._uncertainty`);
- ``"disagreement"``: images where the ground truth and ``run`` disagree most (the debug ranking's
  per-image score, given by the caller);
- ``"hybrid"``: Lightly-style product ``Π score_i ^ weight_i`` of the scores normalised to [0, 1]
  by their maximum (floored at 0.001, so a zero does not veto an item), with diversity applied as
  the last factor *inside* the k-center loop: each pick maximises
  ``(distance / largest distance) ^ w_diversity × Π score_i ^ w_i``, the distance recomputed after
  every pick. Default weights: ``{"diversity": 1, "uncertain": 1}``.

``per_label={"car": 5, ...}``: that many picks among the media ``run`` predicted that label on
(rarest label first), then the rest of ``n`` from the whole pool; earlier picks count as centres
for diversity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import NotFoundError, ValidationError, did_you_mean
from ..store._embeddings import embedding_names, read_embeddings
from ._kcenter import coverage_radius, kcenter_greedy
from ._media_facts import labelled_and_pixels
from ._scope import scope_ids
from ._selection_slice import Selection
from ._uncertainty import MEASURES, run_uncertainty

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["STRATEGIES", "reduce_dims", "select_media"]

STRATEGIES = ("diverse", "uncertain", "disagreement", "hybrid")
REDUCE_ABOVE_ROWS = 20_000
REDUCE_TO = 128


def reduce_dims(x: np.ndarray, dims: int = REDUCE_TO, *, seed: int = 0, sample: int = 20_000) -> np.ndarray:
    """``x`` projected on its ``dims`` principal components (fit on a seeded sample of rows).

    Example:
        >>> x = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
        >>> reduce_dims(x, 3).shape
        (50, 3)
    """
    if x.shape[1] <= dims:
        return x
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(x), min(sample, len(x)), replace=False)
    s = x[rows].astype(np.float64)
    mu = s.mean(axis=0)
    s -= mu
    _, vecs = np.linalg.eigh(s.T @ s)
    basis = vecs[:, ::-1][:, :dims].astype(x.dtype)
    return np.ascontiguousarray((x - mu.astype(x.dtype)) @ basis)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norm > 0, norm, 1.0)


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValidationError(f"n must be a positive integer (how many media to pick), got {n!r}")
    return int(n)


def _weights(weights: Mapping[str, float] | None, has_run: bool, has_dis: bool) -> dict[str, float]:
    if weights is None:
        w = {"diversity": 1.0}
        if has_run:
            w["uncertain"] = 1.0
        return w
    known = ("diversity", "uncertain", "disagreement")
    out: dict[str, float] = {}
    for k, v in dict(weights).items():
        if k not in known:
            raise ValidationError(f"weights has an unknown strategy {k!r}{did_you_mean(str(k), known)}; "
                                  f"use {list(known)}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            raise ValidationError(f"weight of {k!r} must be a number, got {v!r}")
        out[k] = float(v)
    return out


def _predicted(session: Session, run: str, label: str, ids: np.ndarray) -> np.ndarray:
    lid = session.schema_state().label(label).id
    with session.store.read() as con:
        got = {int(r[0]) for r in con.execute(
            "SELECT DISTINCT i.media_id FROM current_instances i JOIN runs r USING (run_id) "
            "WHERE r.name = ? AND i.label_id = ?", [run, lid]).fetchall()}
    return np.isin(ids, np.fromiter(got, np.int64, len(got)))


def select_media(session: Session, n: int, *, strategy: str = "diverse", run: str | None = None,
                 slice: Any = None, embedding: str | None = None, per_label: Mapping[str, int] | None = None,
                 exclude: Any = None, seed: int = 0, measure: str = "entropy",
                 weights: Mapping[str, float] | None = None,
                 disagreement: Callable[[list[int]], pd.Series] | None = None) -> Selection:
    """Pick ``n`` media to label next (see the module docstring); a :class:`Selection` in pick order.

    ``disagreement``: a function of media ids returning a per-image disagreement score (a Series by
    media id) — the facade passes the debug ranking, since select/ may not import debug/.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> from nblabel.store._embeddings import write_embeddings
        >>> p = nl.open(":memory:"); _ = p.add_images([np.full((4, 6, 3), v, np.uint8) for v in range(4)])
        >>> _ = write_embeddings(p.session, "default", [1, 2, 3, 4], [[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], model="m")
        >>> select_media(p.session, 2, seed=0).ids()
        [4, 1]
    """
    k = _check_n(n)
    if strategy not in STRATEGIES:
        raise ValidationError(f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}"
                              f"{did_you_mean(str(strategy), STRATEGIES)}")
    if measure not in MEASURES:
        raise ValidationError(f"measure must be one of {list(MEASURES)}, got {measure!r}")
    run_name = None if run is None else str(getattr(run, "name", run))
    if run_name is not None:
        with session.store.read() as con:
            runs = [r[0] for r in con.execute("SELECT name FROM runs").fetchall()]
        if run_name not in runs:
            raise NotFoundError.from_key("run", run_name, choices=runs, hint="add one with proj.add_run(name)")
    w = _weights(weights, run_name is not None, disagreement is not None) if strategy == "hybrid" else {}
    needs_run = strategy in ("uncertain", "disagreement") or per_label is not None \
        or bool({"uncertain", "disagreement"} & set(w))
    if needs_run and run_name is None:
        raise ValidationError(f"strategy={strategy!r}" + (" with per_label" if per_label is not None else "")
                              + " needs run= (a model run's name) for its scores")

    pool = np.asarray(scope_ids(session, slice), np.int64)
    if exclude is not None:
        pool = pool[~np.isin(pool, np.asarray(scope_ids(session, exclude), np.int64))]
    all_ids = np.asarray(scope_ids(session, None), np.int64)
    labelled, _ = labelled_and_pixels(session, all_ids)

    # vectors: needed for diversity and for dropping near-duplicates
    name = "default" if embedding is None else embedding
    wants_vectors = strategy == "diverse" or w.get("diversity", 0) != 0
    have = name in embedding_names(session)
    if wants_vectors and not have:
        raise NotFoundError.from_key("embedding", name, choices=embedding_names(session),
                                     hint=f"compute it with proj.embed({name!r}) first")
    vids, vecs = read_embeddings(session, name) if have else (np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
    if have:
        from ._duplicates import find_near_duplicates

        g = find_near_duplicates(session, embedding=name, media_ids=np.union1d(pool, all_ids[labelled]).tolist()).groups
        lab_ids = set(all_ids[labelled].tolist())
        lab_groups = set(g.loc[g["media_id"].isin(lab_ids), "group"].tolist())
        drop = g.loc[~g["keep"] | g["group"].isin(lab_groups), "media_id"].to_numpy(np.int64)
        pool = pool[~np.isin(pool, drop)]
    pool = pool[~np.isin(pool, all_ids[labelled])]
    if wants_vectors:
        pool = pool[np.isin(pool, vids)]
    if k > len(pool):
        raise ValidationError(f"cannot pick n={k}: only {len(pool)} media are left to pick from (unlabelled, in "
                              "the slice, not excluded, one per near-duplicate group"
                              + (", with a vector" if wants_vectors else "") + "); ask for fewer")

    # per-item scores over the pool
    unc = run_uncertainty(session, run_name, pool, measure) if run_name is not None and (
        strategy == "uncertain" or "uncertain" in w) else None
    dis = None
    if strategy == "disagreement" or "disagreement" in w:
        if disagreement is None:
            raise ValidationError("strategy 'disagreement' needs the debug ranking; call it as proj.select(...)")
        dis = disagreement(pool.tolist()).reindex(pool).fillna(0.0).to_numpy(np.float64)

    # the vector space diversity runs in: pool rows + labelled rows
    x = np.zeros((0, 0), np.float32)
    pos_pool = np.zeros(0, np.int64)
    pos_lab = np.zeros(0, np.int64)
    if have:
        keep_rows = np.isin(vids, np.union1d(pool, all_ids[labelled]))
        sub_ids, x = vids[keep_rows], _unit(vecs[keep_rows])
        if len(x) > REDUCE_ABOVE_ROWS and x.shape[1] > REDUCE_TO:
            x = reduce_dims(x, seed=seed)
        on = np.isin(pool, sub_ids)
        pos_pool = np.full(len(pool), -1, np.int64)
        pos_pool[on] = np.searchsorted(sub_ids, pool[on])
        pos_lab = np.searchsorted(sub_ids, np.intersect1d(sub_ids, all_ids[labelled]))

    picked: list[int] = []          # positions into pool
    dist_at = np.full(len(pool), np.nan)
    quota_of: dict[int, str] = {}
    last_radius = [float("nan")]     # the k-center radius of the last round (over every free candidate)
    rng = np.random.default_rng(seed)

    def factor() -> np.ndarray:
        f = np.ones(len(pool))
        for key, arr in (("uncertain", unc), ("disagreement", dis)):
            if arr is not None and w.get(key, 0) != 0:
                top = arr.max() if len(arr) and arr.max() > 0 else 1.0
                f *= np.maximum(arr / top, 1e-3) ** w[key]
        return f

    def pick(cand: np.ndarray, m: int) -> None:
        if m == 0:
            return
        if strategy in ("uncertain", "disagreement") or (strategy == "hybrid" and w.get("diversity", 0) == 0):
            s = unc if strategy == "uncertain" else dis if strategy == "disagreement" else factor()
            assert s is not None
            idx = np.flatnonzero(cand)
            order = idx[np.lexsort((pool[idx], -s[idx]))][:m]
            picked.extend(order.tolist())
            return
        centres = np.concatenate([pos_lab, pos_pool[np.asarray(picked, np.int64)]]).astype(np.int64)
        cmask = np.zeros(len(x), bool)
        cmask[centres] = True
        candm = np.zeros(len(x), bool)
        candm[pos_pool[cand]] = True
        wts = None
        if strategy == "hybrid":
            wv = np.zeros(len(x))
            wv[pos_pool] = factor() ** (2.0 / w["diversity"])
            wts = wv
        first = None
        if not cmask.any():
            first = int(pos_pool[rng.choice(np.flatnonzero(cand))])
        res = kcenter_greedy(x, m, centres=cmask if cmask.any() else None, candidates=candm, first=first,
                             weights=wts)
        back = _invert(pos_pool, res.picks)
        last_radius[0] = res.radius
        dist_at[back] = res.distances
        picked.extend(back.tolist())

    free = np.ones(len(pool), bool)
    if per_label is not None:
        assert run_name is not None
        quotas = {str(lab): int(q) for lab, q in dict(per_label).items()}
        if sum(quotas.values()) > k:
            raise ValidationError(f"per_label quotas {quotas} add up to more than n={k}")
        masks = {lab: _predicted(session, run_name, lab, pool) for lab in quotas}
        for lab in sorted(quotas, key=lambda la: (int(masks[la].sum()), la)):
            cand = masks[lab] & free
            if quotas[lab] > int(cand.sum()):
                raise ValidationError(f"per_label asks for {quotas[lab]} media predicted {lab!r} by run "
                                      f"{run_name!r}, but only {int(cand.sum())} are left in the pool")
            before = len(picked)
            pick(cand, quotas[lab])
            for j in picked[before:]:
                quota_of[j] = lab
            free[picked[before:]] = False
    last_radius[0] = float("nan")
    pick(free, k - len(picked))

    order = np.asarray(picked, np.int64)
    radius = last_radius[0]
    if np.isnan(radius) and have and len(x):
        centres = np.concatenate([pos_lab, pos_pool[order]])
        rows = pos_pool[(pos_pool >= 0)]
        radius = coverage_radius(x, centres, rows=rows)
    reasons = _reasons(pool, order, dist_at, unc, dis, factor() if strategy == "hybrid" else None,
                       quota_of, strategy, measure)
    return Selection(session, picks=tuple(pool[order].tolist()), reasons=reasons, coverage_radius=radius,
                     strategy=strategy)


def _invert(pos_pool: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions into the pool of vector rows (every row given is a pool row)."""
    order = np.argsort(pos_pool)
    return order[np.searchsorted(pos_pool[order], rows)]


def _reasons(pool: np.ndarray, order: np.ndarray, dist_at: np.ndarray, unc: np.ndarray | None,
             dis: np.ndarray | None, weight: np.ndarray | None, quota_of: dict[int, str], strategy: str,
             measure: str) -> pd.DataFrame:
    nan = np.full(len(order), np.nan)
    d = dist_at[order]
    u = unc[order] if unc is not None else nan
    g = dis[order] if dis is not None else nan
    wt = weight[order] if weight is not None else nan
    why = []
    for i in range(len(order)):
        if strategy == "uncertain":
            text = f"uncertainty {u[i]:.3f} ({measure} of its least sure prediction)"
        elif strategy == "disagreement":
            text = f"disagreement score {g[i]:.3f} (chance its ground truth holds an error)"
        elif np.isinf(d[i]):
            text = "first pick: nothing labelled yet (a seeded random start)"
        elif strategy == "diverse":
            text = f"farthest from the labelled and earlier picks: distance {d[i]:.3f}"
        elif np.isnan(d[i]):
            text = f"weight {wt[i]:.3f} (product of the weighted scores)"
        else:
            text = f"distance {d[i]:.3f} to the labelled and earlier picks, weight {wt[i]:.3f}"
        j = int(order[i])
        if j in quota_of:
            text += f" [quota {quota_of[j]!r}]"
        why.append(text)
    return pd.DataFrame({"media_id": pool[order], "rank": np.arange(1, len(order) + 1), "why": why,
                         "distance": d, "uncertainty": u, "disagreement": g, "weight": wt,
                         "quota": [quota_of.get(int(j)) for j in order]})
