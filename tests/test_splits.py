"""Splits: iterative stratification over groups (properties), and proj.split / split_of / split_report."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nblabel as nl
from nblabel.select._stratify import label_shares, stratified_group_split, worst_share_error
from nblabel.store._embeddings import write_embeddings

RATIOS = [np.array([1.0]), np.array([0.5, 0.5]), np.array([0.7, 0.15, 0.15]), np.array([0.6, 0.3, 0.1])]


@st.composite
def split_inputs(draw):
    n = draw(st.integers(1, 80))
    n_labels = draw(st.integers(0, 5))
    groups = np.array(draw(st.lists(st.integers(0, max(0, n // 2)), min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.lists(st.booleans(), min_size=n_labels, max_size=n_labels),
                               min_size=n, max_size=n)), dtype=bool).reshape(n, n_labels)
    ratios = draw(st.sampled_from(RATIOS))
    seed = draw(st.integers(0, 3))
    return y, groups, ratios, seed


def _random_grouped(groups, ratios, seed):
    ug = np.unique(groups)
    g = np.random.default_rng(seed).choice(len(ratios), len(ug), p=ratios)
    return g[np.searchsorted(ug, groups)]


@settings(max_examples=150, deadline=None)
@given(split_inputs())
def test_every_item_in_one_split_and_groups_whole(inp):
    y, groups, ratios, seed = inp
    s = stratified_group_split(y, groups, ratios, seed=seed)
    assert s.shape == (len(y),)
    assert ((s >= 0) & (s < len(ratios))).all()
    for g in np.unique(groups):
        assert len(set(s[groups == g].tolist())) == 1, "a group straddles two splits"
    # deterministic for a seed
    assert s.tolist() == stratified_group_split(y, groups, ratios, seed=seed).tolist()


@settings(max_examples=150, deadline=None)
@given(split_inputs())
def test_sizes_within_one_group_of_the_target(inp):
    y, groups, ratios, seed = inp
    s = stratified_group_split(y, groups, ratios, seed=seed)
    biggest = np.bincount(np.unique(groups, return_inverse=True)[1].ravel()).max()
    sizes = np.bincount(s, minlength=len(ratios))
    # label demand can pull a group away from the emptiest split, but never by more than a few groups
    assert (np.abs(sizes - ratios * len(y)) <= 2 * biggest + 1 + 0.25 * len(y)).all()


@settings(max_examples=150, deadline=None)
@given(split_inputs(), st.data())
def test_stable_after_adding_items(inp, data):
    y, groups, ratios, seed = inp
    first = stratified_group_split(y, groups, ratios, seed=seed)
    m = data.draw(st.integers(1, 20))
    new_groups = np.array(data.draw(st.lists(st.integers(0, len(y)), min_size=m, max_size=m)))
    new_y = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=y.shape[1], max_size=y.shape[1]),
                                        min_size=m, max_size=m)), dtype=bool).reshape(m, y.shape[1])
    all_groups = np.concatenate([groups, new_groups])
    fixed = np.concatenate([first, np.full(m, -1)])
    again = stratified_group_split(np.vstack([y, new_y]), all_groups, ratios, seed=seed, fixed=fixed)
    assert again[: len(y)].tolist() == first.tolist(), "an earlier item changed split"
    for g in np.unique(groups):  # a new item of an old group joins that group's split
        assert set(again[all_groups == g].tolist()) == {int(first[groups == g][0])}


def _zipf_set(n=3000, n_labels=25, n_groups=900, seed=0):
    rng = np.random.default_rng(seed)
    p = 0.5 / np.arange(1, n_labels + 1) ** 1.2
    groups = rng.integers(0, n_groups, n)
    # labels correlate within a group (a scene shows the same things)
    gl = rng.random((n_groups, n_labels)) < p * 1.5
    y = gl[groups] & (rng.random((n, n_labels)) < 0.7)
    return y, groups


def test_balance_far_better_than_random_grouped_split():
    y, groups = _zipf_set()
    r = np.array([0.7, 0.15, 0.15])
    ours = worst_share_error(y, stratified_group_split(y, groups, r, seed=0), r)
    rand = np.median([worst_share_error(y, _random_grouped(groups, r, s), r) for s in range(5)])
    assert ours < rand / 3, (ours, rand)


def test_label_shares_and_errors():
    y = np.array([[1, 0], [1, 0], [0, 0], [1, 1]], bool)
    sh = label_shares(y, np.array([0, 1, 1, 0]), 2)
    assert sh.tolist() == [[2 / 3, 1.0], [1 / 3, 0.0]]
    assert worst_share_error(y, np.array([0, 1, 1, 0]), np.array([0.5, 0.5])) == pytest.approx(0.5)


def test_fixed_out_of_range_is_refused():
    with pytest.raises(nl.ValidationError, match="outside"):
        stratified_group_split(np.zeros((2, 0), bool), np.array([0, 1]), np.array([0.5, 0.5]),
                               fixed=np.array([3, -1]))


# -- the project level --------------------------------------------------------------------------
def _project(tmp_path, n=40, seed=0, meta=True):
    rng = np.random.default_rng(seed)
    tmp_path.mkdir(parents=True, exist_ok=True)
    p = nl.open(tmp_path / "s.duckdb", author="t")
    imgs = [rng.integers(0, 255, (12, 12, 3), dtype=np.uint8) for _ in range(n)]
    for lo in range(0, n, 4):  # four images per scene (add_images takes per-image meta only for files)
        p.add_images(imgs[lo:lo + 4], {"scene": f"s{lo // 4}"} if meta else None)
    p.schema.add_label("car")
    p.schema.add_label("bus")
    p.schema.add_label("night", spatial=["tag"])
    for m in range(1, n + 1):
        if m % 2:
            p.add_instance(m, "car", box=[1, 1, 6, 6])
        if m % 5 == 0:
            p.add_instance(m, "bus", box=[2, 2, 8, 8])
        if m % 7 == 0:
            p.add_instance(m, "night", tag=True)
    return p


RATIOS3 = {"train": 0.6, "val": 0.2, "test": 0.2}


def test_split_makes_static_datasets_and_split_of(tmp_path):
    p = _project(tmp_path)
    out = p.split("v1", RATIOS3)
    assert sorted(out["media_id"]) == list(range(1, 41))
    table = p.split_of("v1")
    assert table.sort_values("media_id").reset_index(drop=True).equals(
        out.sort_values("media_id").reset_index(drop=True))
    for part in RATIOS3:
        assert sorted(p.dataset(f"v1/{part}").ids()) == sorted(table.loc[table["split"] == part, "media_id"])
    ds = p.datasets()
    assert set(ds.loc[ds["split_group"] == "v1", "name"]) == {"v1/train", "v1/val", "v1/test"}
    assert table["split"].value_counts().to_dict() == {"train": 24, "val": 8, "test": 8}


def test_split_groups_by_meta_and_is_stable(tmp_path):
    p = _project(tmp_path)
    first = p.split("v1", RATIOS3, group_by="meta:scene").set_index("media_id")["split"]
    scenes = p.media().df().set_index("media_id")["meta"].map(lambda m: __import__("json").loads(m)["scene"])
    assert (first.groupby(scenes).nunique() == 1).all()
    # new media: two of an old scene, four of a new one
    rng = np.random.default_rng(9)
    old_scene = scenes[1]
    p.add_images([rng.integers(0, 255, (12, 12, 3), dtype=np.uint8) for _ in range(2)], {"scene": old_scene})
    p.add_images([rng.integers(0, 255, (12, 12, 3), dtype=np.uint8) for _ in range(4)], {"scene": "new"})
    again = p.split("v1").set_index("media_id")["split"]  # the stored configuration
    assert again.loc[first.index].tolist() == first.tolist(), "an earlier item moved"
    assert set(again.loc[[41, 42]]) == {first.loc[1]}
    assert again.loc[[43, 44, 45, 46]].nunique() == 1
    assert len(p.dataset("v1/train").ids()) + len(p.dataset("v1/val").ids()) + len(p.dataset("v1/test").ids()) == 46


def test_split_is_deterministic_for_a_seed(tmp_path):
    a = _project(tmp_path / "a").split("v1", RATIOS3, seed=3)
    b = _project(tmp_path / "b").split("v1", RATIOS3, seed=3)
    assert a.equals(b)


def test_labels_balanced_on_the_project(tmp_path):
    p = _project(tmp_path, n=60)
    p.split("v1", {"train": 0.5, "test": 0.5})
    rep = p.split_report("v1")
    assert rep.sizes["n"].tolist() == [30, 30]
    shares = rep.label_shares.set_index("label")
    assert shares.loc["car", "n"] == 30 and shares.loc["night", "n"] == 8
    assert rep.worst_error <= 0.1
    assert abs(shares.loc["car", "train"] - 0.5) <= 1 / 30


@pytest.mark.parametrize(("ratios", "match"), [
    ({"train": 0.7, "test": 0.2}, "sum to 0.9"),
    ({"train": 1.2, "test": -0.2}, "'test' must be a number > 0"),
    ({"train": 1.0, "test": 0}, "'test' must be a number > 0"),
    ({}, "non-empty dict"),
    ({"a/b": 1.0}, "without '/'"),
    ([0.5, 0.5], "non-empty dict"),
])
def test_bad_ratios_refused_and_nothing_stored(tmp_path, ratios, match):
    p = _project(tmp_path, n=8)
    with pytest.raises(nl.ValidationError, match=match):
        p.split("v1", ratios)
    assert p.datasets().empty
    with pytest.raises(nl.NotFoundError):
        p.split_of("v1")


def test_bad_group_by_and_stratify(tmp_path):
    p = _project(tmp_path, n=8)
    with pytest.raises(nl.ValidationError, match="no media item has metadata 'scen'.*did you mean 'scene'"):
        p.split("v1", RATIOS3, group_by="meta:scen")
    with pytest.raises(nl.ValidationError, match="group_by must be"):
        p.split("v1", RATIOS3, group_by="scene")
    with pytest.raises(nl.ValidationError, match="stratify must be"):
        p.split("v1", RATIOS3, stratify="label")
    with pytest.raises(nl.NotFoundError, match="needs ratios"):
        p.split("v2")
    assert p.datasets().empty


def test_rerun_with_other_settings_is_refused(tmp_path):
    p = _project(tmp_path, n=8)
    before = p.split("v1", RATIOS3, seed=1)
    with pytest.raises(nl.ValidationError, match="was made with ratios"):
        p.split("v1", {"train": 0.5, "test": 0.5})
    with pytest.raises(nl.ValidationError, match="was made with seed=1"):
        p.split("v1", seed=2)
    assert p.split_of("v1").sort_values("media_id").reset_index(drop=True).equals(
        before.sort_values("media_id").reset_index(drop=True))


def test_near_duplicate_groups_never_straddle_and_leaks_reported(tmp_path):
    p = _project(tmp_path, n=40, meta=False)
    rng = np.random.default_rng(1)
    base = rng.normal(size=(20, 16))
    vecs = np.repeat(base, 2, axis=0) + rng.normal(scale=1e-4, size=(40, 16))  # pairs (1,2), (3,4), ...
    write_embeddings(p.session, "default", list(range(1, 41)), vecs, model="test")
    grouped = p.split("g", {"a": 0.5, "b": 0.5}, group_by="near_duplicates").set_index("media_id")["split"]
    for a in range(1, 41, 2):
        assert grouped[a] == grouped[a + 1]
    assert p.split_report("g").leaks.empty
    loose = p.split("r", {"a": 0.5, "b": 0.5}, stratify="none").set_index("media_id")["split"]
    rep = p.split_report("r")
    expected = sorted((a, a + 1) for a in range(1, 41, 2) if loose[a] != loose[a + 1])
    assert sorted(zip(rep.leaks["media_a"], rep.leaks["media_b"])) == expected
    assert len(expected) > 0  # an ungrouped split of 20 pairs does cut some (fixed seed)


def test_report_without_embedding_and_plot(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = _project(tmp_path, n=20)
    p.split("v1", RATIOS3)
    rep = p.split_report("v1")
    assert rep.leaks is None and "not checked" in repr(rep)
    fig = rep.plot()
    ax = fig.axes[0]
    assert len(ax.patches) == 3 * 3  # 3 labels × 3 parts
    assert [t.get_text() for t in ax.get_xticklabels()] == ["car", "bus", "night"]
    fig2, ax2 = plt.subplots()
    assert rep.plot(ax=ax2) is fig2
    plt.close(fig2)


def test_slice_splits_only_those_media(tmp_path):
    p = _project(tmp_path, n=20)
    out = p.split("v1", {"a": 0.5, "b": 0.5}, slice=p.media().ids_in(range(1, 11)))
    assert sorted(out["media_id"]) == list(range(1, 11))
    assert p.split_report("v1").sizes["n"].sum() == 10
