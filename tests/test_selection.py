"""Selection: greedy k-center (properties against the textbook loop), uncertainty, and proj.select."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nblabel as nl
from nblabel.select._kcenter import coverage_radius, kcenter_greedy, kcenter_reference
from nblabel.select._selection import reduce_dims
from nblabel.select._uncertainty import image_uncertainty, prediction_uncertainty
from nblabel.store._embeddings import write_embeddings


@st.composite
def kcenter_inputs(draw):
    n = draw(st.integers(1, 40))
    d = draw(st.integers(1, 3))
    x = np.array(draw(st.lists(st.lists(st.integers(-4, 4), min_size=d, max_size=d), min_size=n, max_size=n)),
                 dtype=np.float64)
    centres = np.array(sorted(draw(st.sets(st.integers(0, n - 1), max_size=3))), dtype=np.int64)
    n_cand = n - len(centres)
    k = draw(st.integers(0, n_cand))
    weights = draw(st.one_of(st.none(), st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    knobs = {"pool_size": draw(st.integers(1, 9)), "pending_max": draw(st.integers(1, 6))}
    return x, centres, k, None if weights is None else np.array(weights, float), knobs


@settings(max_examples=300, deadline=None)
@given(kcenter_inputs())
def test_kcenter_equals_the_textbook_greedy(inp):
    x, centres, k, weights, knobs = inp
    c = centres if len(centres) else None
    fast = kcenter_greedy(x, k, centres=c, weights=weights, **knobs)
    ref = kcenter_reference(x, k, centres=c, weights=weights)
    assert fast.picks.tolist() == ref.picks.tolist()
    assert fast.radius == ref.radius
    assert np.allclose(fast.distances, ref.distances)
    assert not set(fast.picks.tolist()) & set(centres.tolist()), "a labelled row was picked"
    assert len(set(fast.picks.tolist())) == k, "a row was picked twice"


@settings(max_examples=100, deadline=None)
@given(kcenter_inputs())
def test_radius_is_the_brute_force_coverage(inp):
    x, centres, k, _, knobs = inp
    res = kcenter_greedy(x, k, centres=centres if len(centres) else None, **knobs)
    chosen = np.concatenate([centres, res.picks]).astype(int)
    cand = np.setdiff1d(np.arange(len(x)), centres)
    if len(chosen) == 0:
        return
    brute = max((min(np.linalg.norm(x[i] - x[j]) for j in chosen) for i in cand), default=0.0)
    assert res.radius == pytest.approx(brute)
    assert coverage_radius(x, chosen, rows=cand) == pytest.approx(brute)


def test_kcenter_starts_from_the_labelled_set_and_continues():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 8))
    both = kcenter_greedy(x, 20, centres=[0, 1])
    first = kcenter_greedy(x, 10, centres=[0, 1])
    second = kcenter_greedy(x, 10, centres=[0, 1, *first.picks.tolist()])
    assert [*first.picks.tolist(), *second.picks.tolist()] == both.picks.tolist()
    assert second.radius < first.radius
    # the first pick is the point farthest from the labelled set
    d = np.minimum(np.linalg.norm(x - x[0], axis=1), np.linalg.norm(x - x[1], axis=1))
    d[[0, 1]] = -1
    assert first.picks[0] == int(np.argmax(d))


def test_kcenter_bad_input():
    with pytest.raises(nl.ValidationError, match="only 2 candidates"):
        kcenter_greedy(np.zeros((3, 2)), 3, centres=[0])
    with pytest.raises(nl.ValidationError, match="NaN"):
        kcenter_greedy(np.array([[np.nan, 0.0]]), 1)
    with pytest.raises(nl.ValidationError, match="2-d"):
        kcenter_greedy(np.zeros(3), 1)
    with pytest.raises(nl.ValidationError, match="weights"):
        kcenter_greedy(np.zeros((3, 2)), 1, weights=np.array([1.0, -1, 0]))


def test_reduce_dims_keeps_the_radius_close_on_low_rank_data():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(3000, 24))
    x = latent @ rng.normal(size=(24, 256)) + rng.normal(scale=0.05, size=(3000, 256))
    full = kcenter_greedy(x, 100)
    z = reduce_dims(x, 64)
    red = kcenter_greedy(z, 100)
    assert coverage_radius(x, red.picks) <= 1.05 * full.radius


def test_uncertainty_measures():
    p = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    assert prediction_uncertainty(p, "least_confidence").tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert prediction_uncertainty(p, "margin").tolist() == [0.0, 0.5, 1.0, 0.5, 0.0]
    h = prediction_uncertainty(p, "entropy")
    assert h[2] == 1.0 and h[0] == h[4] == 0.0 and h[1] == pytest.approx(h[3])
    with pytest.raises(nl.ValidationError, match="did you mean 'margin'"):
        prediction_uncertainty(p, "margn")
    # per image: the max over its predictions; none, or only unscored ones: 0
    got = image_uncertainty(np.array([1, 2, 3, 4]), np.array([1, 1, 2, 3]), np.array([0.9, 0.6, 0.99, np.nan]),
                            "margin")
    assert got.round(6).tolist() == [0.8, 0.02, 0.0, 0.0]


# -- proj.select ----------------------------------------------------------------------------------
def _project(tmp_path, n=30, seed=0):
    rng = np.random.default_rng(seed)
    p = nl.open(tmp_path / "sel.duckdb", author="t")
    p.add_images([rng.integers(0, 255, (10, 10, 3), dtype=np.uint8) for _ in range(n)])
    vecs = rng.normal(size=(n, 64))  # high-dimensional: no accidental near-duplicates
    vecs[1] = vecs[0] + 1e-5          # media 1 and 2 are near-duplicates (2 is never picked)
    write_embeddings(p.session, "default", list(range(1, n + 1)), vecs, model="test")
    p.schema.add_label("car")
    p.schema.add_label("bus")
    p.add_run("m")
    scores = np.linspace(0.05, 0.95, n)
    for m in range(1, n + 1):
        p.add_instance(m, "car" if m % 3 else "bus", box=[1, 1, 6, 6], run="m", score=float(scores[m - 1]))
    return p, vecs


def _unit(v):
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_diverse_from_labelled_fills_the_gaps(tmp_path):
    p, vecs = _project(tmp_path)
    p.add_instance(5, "car", box=[1, 1, 5, 5])   # labelled: a ground-truth instance
    p.complete(9)                                 # labelled: complete
    first = p.select(5)
    ids = first.ids()
    assert len(ids) == 5 and not {5, 9, 2} & set(ids)
    u = _unit(vecs)
    d = np.minimum(np.linalg.norm(u - u[4], axis=1), np.linalg.norm(u - u[8], axis=1))
    d[[1, 4, 8]] = -1  # labelled and the duplicate
    assert ids[0] == int(np.argmax(d)) + 1
    assert first.reasons["rank"].tolist() == [1, 2, 3, 4, 5]
    assert first.reasons["distance"].iloc[0] == pytest.approx(d.max(), rel=1e-5)
    assert "farthest" in first.reasons["why"].iloc[0]
    for m in ids:                                 # label the batch, pick the next
        p.add_instance(m, "car", box=[1, 1, 5, 5])
    second = p.select(5)
    assert not set(second.ids()) & set(ids)
    assert second.coverage_radius < first.coverage_radius


def test_selection_is_a_slice_in_pick_order(tmp_path):
    p, _ = _project(tmp_path)
    sel = p.select(6, seed=1)
    ids = sel.ids()
    assert sel.df()["media_id"].tolist() == ids
    assert sel.head(3).ids() == ids[:3]
    assert sel.where("media_id <> ?", [ids[0]]).ids() == ids[1:]
    assert sel.save("batch1") == 6
    assert sorted(p.dataset("batch1").ids()) == sorted(ids)
    assert p.select(6, seed=1).ids() == ids      # deterministic for a seed
    assert "Selection (diverse)" in repr(sel)


def test_uncertain_ranks_by_measure(tmp_path):
    p, _ = _project(tmp_path)
    sel = p.select(4, strategy="uncertain", run="m", measure="margin")
    scores = np.linspace(0.05, 0.95, 30)
    u = 1 - np.abs(2 * scores - 1)
    u[1] = -1  # the near-duplicate is never picked
    order = sorted(range(30), key=lambda i: (-u[i], i))[:4]
    assert sel.ids() == [i + 1 for i in order]
    assert sel.reasons["uncertainty"].round(6).tolist() == [round(float(u[i]), 6) for i in order]
    lc = p.select(3, strategy="uncertain", run="m", measure="least_confidence")
    assert lc.ids() == [1, 3, 4]                  # the lowest scores (2 is 1's duplicate)


def test_disagreement_follows_the_debug_ranking(tmp_path):
    p, _ = _project(tmp_path)
    for m in (3, 7, 11):
        p.add_instance(m, "bus", box=[0, 0, 9, 9])   # ground truth the run contradicts
    ranking = p.disagreements("m", per="image")
    sel = p.select(3, strategy="disagreement", run="m")
    pool = ranking[~ranking["media_id"].isin([3, 7, 11, 2])].sort_values(["score", "media_id"],
                                                                          ascending=[False, True])
    assert sel.ids() == pool["media_id"].head(3).tolist()


def test_hybrid_extremes_and_weights(tmp_path):
    p, _ = _project(tmp_path)
    div = p.select(5, strategy="diverse", seed=2)
    assert p.select(5, strategy="hybrid", run="m", weights={"diversity": 1, "uncertain": 0}, seed=2).ids() == div.ids()
    unc = p.select(5, strategy="uncertain", run="m")
    assert p.select(5, strategy="hybrid", run="m", weights={"diversity": 0, "uncertain": 1}).ids() == unc.ids()
    mix = p.select(5, strategy="hybrid", run="m")
    assert len(set(mix.ids())) == 5 and not np.isnan(mix.reasons["weight"]).any()
    with pytest.raises(nl.ValidationError, match="unknown strategy 'diversty'"):
        p.select(5, strategy="hybrid", run="m", weights={"diversty": 1})


def test_per_label_quotas(tmp_path):
    p, _ = _project(tmp_path)
    sel = p.select(6, per_label={"bus": 3}, run="m")
    r = sel.reasons
    bus_media = {m for m in range(1, 31) if m % 3 == 0}
    assert (r["quota"] == "bus").sum() == 3
    assert set(r.loc[r["quota"] == "bus", "media_id"]) <= bus_media
    assert len(set(sel.ids())) == 6
    with pytest.raises(nl.ValidationError, match="only 10 are left"):
        p.select(12, per_label={"bus": 11}, run="m")
    with pytest.raises(nl.ValidationError, match="add up to more than n=2"):
        p.select(2, per_label={"bus": 3}, run="m")


def test_exclude_and_slice(tmp_path):
    p, _ = _project(tmp_path)
    sel = p.select(5, slice=p.media().ids_in(range(1, 16)), exclude=[3, 4])
    assert set(sel.ids()) <= set(range(1, 16)) - {3, 4, 2}
    first = p.select(4)
    second = p.select(4, exclude=first)
    assert not set(first.ids()) & set(second.ids())


def test_bad_selection_input(tmp_path):
    p, _ = _project(tmp_path, n=8)
    with pytest.raises(nl.ValidationError, match="cannot pick n=8: only 7"):
        p.select(8)                               # 8 media, one a duplicate
    with pytest.raises(nl.ValidationError, match="n must be a positive integer"):
        p.select(0)
    with pytest.raises(nl.ValidationError, match="did you mean 'diverse'"):
        p.select(2, strategy="divers")
    with pytest.raises(nl.ValidationError, match="needs run="):
        p.select(2, strategy="uncertain")
    with pytest.raises(nl.NotFoundError, match="run 'nope'"):
        p.select(2, strategy="uncertain", run="nope")
    with pytest.raises(nl.NotFoundError, match="embedding 'clip'"):
        p.select(2, embedding="clip")
    assert p.datasets().empty
