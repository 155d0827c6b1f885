"""Near-duplicates: transitive groups and the keep rule against a brute-force reference, pairs, real photos."""

import io
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageEnhance, ImageOps

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


PHOTOS = sorted((Path(__file__).parent / "data" / "coco21" / "images").glob("*.jpg"))


def _copies(im, rng):
    """Transformed copies of a photo: the kinds the default threshold must find untuned."""
    w, h = im.size
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=30)
    rot = im.rotate(4, resample=Image.Resampling.BILINEAR).crop((10, 10, w - 10, h - 10))
    return {
        "resize": im.resize((w // 2, h // 2), Image.Resampling.LANCZOS),
        "jpeg30": Image.open(io.BytesIO(buf.getvalue())).convert("RGB"),
        "crop": im.crop((int(0.05 * w), int(0.04 * h), w, int(0.96 * h))),
        "rotate": rot,
        "bright": ImageEnhance.Brightness(im).enhance(0.8),
        "flip": ImageOps.mirror(im),
        "flip+jpeg": ImageOps.mirror(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")),
    }


@pytest.fixture(scope="module")
def photo_project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dups")
    rng = np.random.default_rng(7)
    rows = []
    for k, path in enumerate(PHOTOS[:8]):
        im = Image.open(path).convert("RGB")
        im = im.resize((240, im.size[1] * 240 // im.size[0]), Image.Resampling.LANCZOS)
        items = {"original": im} | (_copies(im, rng) if k < 4 else {})
        for kind, out in items.items():
            f = folder / f"{k}_{kind.replace('+', '_')}.png"
            out.save(f)
            rows.append((str(f), k, kind))
    p = nl.open(":memory:")
    report = p.add_images([r[0] for r in rows])
    p.embed()
    truth = pd.DataFrame(rows, columns=["path", "photo", "kind"]).assign(media_id=report.ids)
    return p, truth


def test_transformed_copies_of_real_photos_are_found_at_the_default_threshold(photo_project):
    p, truth = photo_project
    dups = p.near_duplicates()
    assert dups.threshold == nl.select.DEFAULT_THRESHOLD
    g = dups.groups.merge(truth, on="media_id")
    for photo in range(4):  # every copy is in its original's group
        family = truth[truth["photo"] == photo]
        groups = g[g["photo"] == photo]["group"]
        assert len(groups) == len(family) and groups.nunique() == 1, (photo, g[g["photo"] == photo])
    assert not g.groupby("group")["photo"].nunique().gt(1).any()  # no two photos in one group
    assert set(truth.loc[truth["photo"] >= 4, "media_id"]).isdisjoint(g["media_id"])  # distinct photos alone
    kept = g[g["keep"]]
    assert (kept["kind"] == "original").all()  # the originals have the most pixels


def test_labelled_copy_is_kept_over_a_larger_one(photo_project):
    p, truth = photo_project
    small = int(truth.loc[(truth["photo"] == 0) & (truth["kind"] == "resize"), "media_id"].iloc[0])
    p.complete(small)
    try:
        g = p.near_duplicates().groups
        assert g.loc[g["media_id"] == small, "keep"].item()
    finally:
        p.set_status(small, "new")


def test_find_similar_answers_is_this_new_image_in_my_set(photo_project):
    p, truth = photo_project
    im = Image.open(PHOTOS[2]).convert("RGB")
    new_copy = ImageOps.mirror(im.resize((300, im.size[1] * 300 // im.size[0])))
    hit = p.find_similar(new_copy, k=3)
    original = int(truth.loc[(truth["photo"] == 2) & (truth["kind"] == "original"), "media_id"].iloc[0])
    assert original in hit["media_id"].tolist()
    assert hit["distance"].iloc[0] <= nl.select.DEFAULT_THRESHOLD
    unseen = Image.open(PHOTOS[12]).convert("RGB")
    assert p.find_similar(unseen, k=1)["distance"].iloc[0] > nl.select.DEFAULT_THRESHOLD


def test_same_pixels_in_two_files_are_always_grouped(tmp_path):
    arr = np.random.default_rng(3).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    Image.fromarray(arr).save(tmp_path / "b.bmp")
    p = nl.open(":memory:")
    p.add_images([str(tmp_path / "a.png"), str(tmp_path / "b.bmp")])
    p.embed()
    d = p.near_duplicates(threshold=0.0)
    assert d.groups["media_id"].tolist() == [1, 2]
    assert d.pairs["distance"].tolist() == [0.0]


def test_plot_draws_the_histogram_with_the_threshold(photo_project):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p, _ = photo_project
    dups = p.near_duplicates()
    fig = dups.plot()
    ax = fig.axes[0]
    assert ax.lines[0].get_xdata()[0] == pytest.approx(dups.threshold)
    assert sum(patch.get_height() for patch in ax.patches) == len(dups.pairs)
    fig2, ax2 = plt.subplots()
    assert dups.plot(ax=ax2) is fig2
    plt.close(fig2)
