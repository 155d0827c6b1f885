"""Near-duplicates: transitive groups and the keep rule against a brute-force reference, pairs, real photos."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nblabel as nl
from nblabel.select._groups import group_pairs
from nblabel.select._neighbours import candidate_pairs
from nblabel.store._embeddings import write_embeddings


def _reference_groups(ids, vecs, threshold, labelled, pixels):
    """Brute force: all pairs, cosine distances, components by repeated merging, keep by sorting."""
    x = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-30)
    n = len(ids)
    comp = list(range(n))
    for i, j in itertools.combinations(range(n), 2):
        same = np.array_equal(vecs[i], vecs[j])
        if same or 1 - float(x[i] @ x[j]) <= threshold:
            a, b = comp[i], comp[j]
            comp = [a if c == b else c for c in comp]
    rows = {}
    for c in set(comp):
        members = [k for k in range(n) if comp[k] == c]
        if len(members) < 2:
            continue
        keep = min(members, key=lambda k: (not labelled[k], -pixels[k], ids[k]))
        rows[frozenset(int(ids[k]) for k in members)] = int(ids[keep])
    return rows


def _as_sets(groups):
    out = {}
    for _, g in groups.groupby("group"):
        out[frozenset(g["media_id"].tolist())] = int(g.loc[g["keep"], "media_id"].iloc[0])
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 30), st.integers(0, 10_000), st.floats(0.0, 0.6), st.integers(1, 4))
def test_groups_match_brute_force(n, seed, threshold, k):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, n // 3), 4))
    vecs = (centres[rng.integers(0, len(centres), n)] + rng.normal(scale=0.3, size=(n, 4))).astype(np.float32)
    copies = rng.integers(0, n, size=n // 4)  # exact duplicates of some rows
    vecs[rng.integers(0, n, size=len(copies))] = vecs[copies]
    ids = rng.permutation(np.arange(1, 3 * n))[:n].astype(np.int64)
    labelled = rng.random(n) < 0.2
    pixels = rng.integers(1, 4, n) * 100
    i, j, d = candidate_pairs(vecs, threshold, k=k)
    got = group_pairs(ids, ids[i], ids[j], d, threshold, labelled=labelled, pixels=pixels)
    assert _as_sets(got) == _reference_groups(ids, vecs, threshold, labelled, pixels)
    assert got["media_id"].is_unique and (got.groupby("group")["keep"].sum() == 1).all()


def test_exact_duplicates_grouped_even_at_threshold_zero():
    v = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [1, 0, 0]], np.float32)
    i, j, d = candidate_pairs(v, 0.0, k=1)
    g = group_pairs(np.array([1, 2, 3, 4]), i + 1, j + 1, d, 0.0)
    assert _as_sets(g) == {frozenset({1, 3, 4}): 1}


def test_keep_rule_labelled_then_resolution_then_earlier():
    ids = np.array([5, 6, 7])
    a, b, d = np.array([5, 6]), np.array([6, 7]), np.array([0.01, 0.01])
    by_pixels = group_pairs(ids, a, b, d, 0.05, pixels=np.array([10, 50, 50]))
    assert by_pixels.loc[by_pixels["keep"], "media_id"].tolist() == [6]
    by_label = group_pairs(ids, a, b, d, 0.05, labelled=np.array([False, False, True]), pixels=np.array([10, 50, 9]))
    assert by_label.loc[by_label["keep"], "media_id"].tolist() == [7]


def test_near_duplicates_of_stored_vectors_threshold_and_rethreshold():
    p = nl.open(":memory:")
    p.add_images([np.full((4, 6, 3), v, np.uint8) for v in range(5)])
    write_embeddings(p.session, "e", [1, 2, 3, 4, 5],
                     [[1, 0], [1, 0.05], [1, 0.1], [0, 1], [-1, 0]], model="m")
    d = p.near_duplicates(embedding="e", threshold=0.003)
    assert d.threshold == 0.003 and d.cutoff >= 0.05
    assert set(d.groups["media_id"]) == {1, 2, 3}  # 1-2 and 2-3 close, 1-3 not: transitive
    assert d.pairs["distance"].is_monotonic_increasing and (d.pairs["media_a"] < d.pairs["media_b"]).all()
    assert d.at(0.0).groups.empty
    assert d.drop_ids() == [2, 3] and d.keep_ids() == [1, 4, 5]
    assert d.drop().ids() == [1, 4, 5]
    assert d.tag("dups") == 2 and p.dataset("dups").ids() == [2, 3]
    with pytest.raises(nl.ValidationError, match="threshold"):
        p.near_duplicates(embedding="e", threshold=-1)
