"""Tests for COCO RLE masks: round trips and bit-for-bit parity with pycocotools (a test-only dependency)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nblabel.errors import ValidationError
from nblabel.geometry import (
    polygons_to_rle,
    rle_area,
    rle_decode,
    rle_encode,
    rle_from_uncompressed,
    rle_iou,
    rle_merge,
    rle_to_bbox,
)

DATA = Path(__file__).parent / "data" / "coco21" / "instances.json"


def ref_rle(rle):
    """Our str counts as the bytes pycocotools expects."""
    return {"size": rle["size"], "counts": rle["counts"].encode("ascii")}


@st.composite
def masks(draw, max_side=24):
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    kind = draw(st.sampled_from(["random", "rect", "full", "empty"]))
    if kind == "random":
        return draw(hnp.arrays(bool, (h, w)))
    m = np.zeros((h, w), dtype=bool)
    if kind == "full":
        m[:] = True
    elif kind == "rect":
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        m[y0 : draw(st.integers(y0, h)), x0 : draw(st.integers(x0, w))] = True
    return m


# ---------------------------------------------------------------- encode / decode


def test_known_encoding():
    m = np.zeros((3, 4), dtype=bool)
    m[1:, 1:3] = True
    rle = rle_encode(m)
    assert rle == {"size": [3, 4], "counts": "42102"}
    assert rle_area(rle) == 4
    assert rle_to_bbox(rle).tolist() == [1, 1, 2, 2]
    assert (
        rle_encode(np.ones((2, 2), bool))["counts"]
        == mask_utils.encode(np.ones((2, 2, 1), np.uint8, order="F"))[0]["counts"].decode()
    )


@settings(max_examples=150, deadline=None)
@given(m=masks())
def test_encode_decode_round_trip_and_pycocotools_parity(m):
    rle = rle_encode(m)
    assert isinstance(rle["counts"], str)
    assert rle["size"] == [m.shape[0], m.shape[1]]
    back = rle_decode(rle)
    assert back.dtype == bool
    np.testing.assert_array_equal(back, m)
    ref = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    assert rle["counts"] == ref["counts"].decode("ascii")
    np.testing.assert_array_equal(mask_utils.decode(ref_rle(rle)).astype(bool), m)
    assert rle_area(rle) == int(mask_utils.area(ref)) == int(m.sum())
    np.testing.assert_array_equal(rle_to_bbox(rle), mask_utils.toBbox(ref))


def test_encode_stack_gives_list_and_batch_helpers():
    stack = np.zeros((4, 5, 2), dtype=bool)
    stack[1, 1, 0] = True
    rles = rle_encode(stack)
    assert isinstance(rles, list)
    assert len(rles) == 2
    np.testing.assert_array_equal(rle_area(rles), [1, 0])
    np.testing.assert_array_equal(rle_to_bbox(rles), [[1, 1, 1, 1], [0, 0, 0, 0]])


# pycocotools writes each compressed string into a buffer of 6 characters per run (plus none for the
# terminator), so runs whose deltas need 6+ characters, or an empty counts list, corrupt its heap and
# crash the test process later. Parity is checked on runs below 2**23 (at most 5 characters each);
# larger runs are covered by our own round trip below.
@settings(max_examples=150, deadline=None)
@given(
    counts=st.lists(st.one_of(st.integers(0, 40), st.integers(0, 2**23)), min_size=1, max_size=12),
    h=st.integers(1, 50),
)
def test_uncompressed_counts_parity(counts, h):
    # arbitrary counts (zero runs, huge runs, sums that are not h*w) exercise the string coding and toBbox
    total = sum(counts)
    w = max(1, -(-total // h))
    rle = rle_from_uncompressed({"size": [h, w], "counts": counts})
    ref = mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    assert rle["counts"] == ref["counts"].decode("ascii")
    assert _counts_of(rle) == counts
    assert rle_area(rle) == int(mask_utils.area([ref])[0])
    np.testing.assert_array_equal(rle_to_bbox(rle), mask_utils.toBbox(ref))


@settings(max_examples=100, deadline=None)
@given(counts=st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=10))
def test_counts_string_round_trip_for_any_32bit_runs(counts):
    rle = rle_from_uncompressed({"size": [1, 1], "counts": counts})
    assert set(rle["counts"]) <= set(map(chr, range(48, 112)))
    assert _counts_of(rle) == counts


def _counts_of(rle):
    from nblabel.geometry._rle import _string_to_counts

    return _string_to_counts(rle["counts"]).tolist()


def test_corrupt_inputs_raise():
    with pytest.raises(ValidationError, match=r"cover .* pixels"):
        rle_decode({"size": [3, 4], "counts": [4, 2]})
    with pytest.raises(ValidationError, match="truncated"):
        rle_decode({"size": [3, 4], "counts": "4m"})
    with pytest.raises(ValidationError, match="invalid character"):
        rle_decode({"size": [3, 4], "counts": "4 25"})
    with pytest.raises(ValidationError, match="'size'"):
        rle_decode({"counts": "42102"})
    with pytest.raises(ValidationError, match="2-D"):
        rle_encode(np.zeros(5, bool))


# ---------------------------------------------------------------- polygons


@st.composite
def polygon_lists(draw):
    h = draw(st.integers(1, 60))
    w = draw(st.integers(1, 60))
    n = draw(st.integers(1, 3))
    grid = draw(st.booleans())  # vertices on a 0.1/0.5 grid hit the rounding boundaries of the toolkit
    if grid:
        step = draw(st.sampled_from([0.1, 0.2, 0.5, 1.0]))
        coord = st.integers(-20, int(70 / step)).map(lambda i: round(i * step, 6))
    else:
        coord = st.floats(-8, 70, allow_nan=False)
    polys = []
    for _ in range(n):
        k = draw(st.integers(3, 9))
        pts = [draw(coord) for _ in range(2 * k)]
        if draw(st.booleans()):  # repeated vertex
            pts[2:4] = pts[0:2]
        polys.append(pts)
    return polys, h, w


@settings(max_examples=200, deadline=None)
@given(case=polygon_lists())
def test_polygons_to_rle_matches_pycocotools(case):
    polys, h, w = case
    ours = polygons_to_rle(polys, h, w)
    ref = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
    assert ours["size"] == [h, w]
    assert ours["counts"] == ref["counts"].decode("ascii")


def test_polygons_to_rle_special_cases():
    # a single flat polygon, a numpy polygon, and the toolkit's "4 numbers means a box" quirk
    poly = [1, 1, 3, 1, 3, 3, 1, 3]
    assert polygons_to_rle(poly, 5, 5) == polygons_to_rle([poly], 5, 5)
    assert polygons_to_rle(np.array(poly, float), 5, 5) == polygons_to_rle([poly], 5, 5)
    boxes = [[1, 1, 2, 3], [0, 0, 1, 1]]
    ref = mask_utils.merge(mask_utils.frPyObjects(np.array(boxes, dtype=float), 6, 7))
    assert polygons_to_rle(boxes, 6, 7)["counts"] == ref["counts"].decode()
    assert rle_area(polygons_to_rle([], 4, 4)) == 0
    with pytest.raises(ValidationError, match="polygon 1"):
        polygons_to_rle([[0, 0, 1, 1], [0, 0, 2, 0, 2, 2]], 4, 4)
    with pytest.raises(ValidationError, match="non-finite"):
        polygons_to_rle([[0, 0, 2, 0, float("nan"), 2]], 4, 4)


def test_merge_union_and_intersection_match_pycocotools():
    rng = np.random.default_rng(7)
    for _ in range(60):
        ms = rng.random((int(rng.integers(2, 4)), 9, 11)) < rng.random()
        rles = [rle_encode(m) for m in ms]
        refs = [ref_rle(r) for r in rles]
        for inter in (False, True):
            ours = rle_merge(rles, intersect=inter)
            ref = mask_utils.merge(refs, intersect=int(inter))
            assert ours["counts"] == ref["counts"].decode()
            expect = ms.all(0) if inter else ms.any(0)
            np.testing.assert_array_equal(rle_decode(ours), expect)
    with pytest.raises(ValidationError, match="same image"):
        rle_merge([rle_encode(np.zeros((2, 2), bool)), rle_encode(np.zeros((3, 2), bool))])


# ---------------------------------------------------------------- IoU


@st.composite
def iou_case(draw):
    h = draw(st.integers(1, 16))
    w = draw(st.integers(1, 16))
    d = draw(st.integers(1, 5))
    g = draw(st.integers(1, 5))

    def one():
        if draw(st.booleans()):
            return draw(hnp.arrays(bool, (h, w)))
        m = np.zeros((h, w), dtype=bool)
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        m[y0 : draw(st.integers(y0, h)), x0 : draw(st.integers(x0, w))] = True
        return m

    dts = [one() for _ in range(d)]
    gts = [one() for _ in range(g)]
    crowd = [draw(st.sampled_from([0, 1])) for _ in range(g)]
    return dts, gts, crowd


@settings(max_examples=150, deadline=None)
@given(case=iou_case())
def test_rle_iou_matches_pycocotools(case):
    dts, gts, crowd = case
    d_rles = [rle_encode(m) for m in dts]
    g_rles = [rle_encode(m) for m in gts]
    ref = np.asarray(mask_utils.iou([ref_rle(r) for r in d_rles], [ref_rle(r) for r in g_rles], crowd))
    ours = rle_iou(d_rles, g_rles, crowd)
    assert ours.shape == (len(dts), len(gts))
    np.testing.assert_array_equal(ours, ref)
    # and against a brute-force definition on the masks
    for i, a in enumerate(dts):
        for j, b in enumerate(gts):
            inter = (a & b).sum()
            union = a.sum() if crowd[j] else (a | b).sum()
            assert ours[i, j] == (inter / union if inter else 0.0)


def test_rle_iou_size_mismatch_and_empty():
    a = rle_encode(np.ones((4, 4), bool))
    b = rle_encode(np.ones((5, 4), bool))
    ref = mask_utils.iou([ref_rle(a)], [ref_rle(b)], [0])
    assert rle_iou([a], [b], [0]).tolist() == np.asarray(ref).tolist() == [[-1.0]]
    assert rle_iou([], [a], [0]).shape == (0, 1)
    assert rle_iou([a], [a]).tolist() == [[1.0]]
    with pytest.raises(ValidationError, match="iscrowd"):
        rle_iou([a], [a], [0, 1])


# ---------------------------------------------------------------- real COCO annotations


@pytest.fixture(scope="module")
def coco21():
    with DATA.open() as f:
        return json.load(f)


def test_real_annotations_match_pycocotools(coco21):
    images = {im["id"]: im for im in coco21["images"]}
    by_image = defaultdict(list)
    n_poly = n_crowd = 0
    for ann in coco21["annotations"]:
        im = images[ann["image_id"]]
        h, w = im["height"], im["width"]
        seg = ann["segmentation"]
        if isinstance(seg, list):
            ours = polygons_to_rle(seg, h, w)
            ref = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
            n_poly += 1
        else:
            ours = rle_from_uncompressed(seg)
            ref = mask_utils.frPyObjects(seg, seg["size"][0], seg["size"][1])
            n_crowd += 1
            np.testing.assert_array_equal(rle_decode(ours), mask_utils.decode(ref).astype(bool))
        assert ours["counts"] == ref["counts"].decode("ascii"), ann["id"]
        assert rle_area(ours) == int(mask_utils.area(ref))
        np.testing.assert_array_equal(rle_to_bbox(ours), mask_utils.toBbox(ref))
        by_image[ann["image_id"]].append((ours, ann["iscrowd"]))
    assert (n_poly, n_crowd) == (101, 1)
    for anns in by_image.values():
        rles = [r for r, _ in anns]
        crowd = [c for _, c in anns]
        ref = mask_utils.iou([ref_rle(r) for r in rles], [ref_rle(r) for r in rles], crowd)
        np.testing.assert_array_equal(rle_iou(rles, rles, crowd), np.asarray(ref))
