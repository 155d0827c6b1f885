"""Tests for nblabel.geometry: box formats, IoU (incl. live pycocotools parity), polygons, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nblabel.errors import GeometryError, ValidationError
from nblabel.geometry import (
    BOX_FORMATS,
    box_area,
    box_iou,
    box_iou_coco,
    box_iou_coco_pairs,
    box_iou_pairs,
    clip_boxes,
    extent,
    from_xyxy,
    polygon_area,
    polygon_areas,
    polygons_area,
    to_xyxy,
    validate_boxes,
    validate_points,
)

coords = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
sizes = st.floats(0.0, 1e4, allow_nan=False, allow_infinity=False)


@st.composite
def xyxy_boxes(draw, min_size=0, max_size=12, min_wh=0.0):
    n = draw(st.integers(min_size, max_size))
    x0 = draw(hnp.arrays(np.float64, n, elements=coords))
    y0 = draw(hnp.arrays(np.float64, n, elements=coords))
    w = draw(hnp.arrays(np.float64, n, elements=st.floats(min_wh, 1e4)))
    h = draw(hnp.arrays(np.float64, n, elements=st.floats(min_wh, 1e4)))
    return np.stack([x0, y0, x0 + w, y0 + h], axis=1).reshape(n, 4)


def brute_iou(a, b):
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            inter = iw * ih
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
            out[i, j] = inter / union if union > 0 and inter > 0 else 0.0
    return out


# ---------------------------------------------------------------- formats


def test_to_xyxy_formats_known_values():
    assert to_xyxy([1, 2, 3, 4]).tolist() == [[1, 2, 3, 4]]
    assert to_xyxy([1, 2, 3, 4], "xywh").tolist() == [[1, 2, 4, 6]]
    assert to_xyxy([5, 5, 2, 4], "cxcywh").tolist() == [[4, 3, 6, 7]]
    rel = to_xyxy(
        [[0.5, 0.5, 1.0, 1.0], [0.25, 0.5, 0.5, 0.2]],
        "cxcywh",
        relative=True,
        width=[200, 100],
        height=[100, 50],
    )
    np.testing.assert_allclose(rel, [[0, 0, 200, 100], [0, 20, 50, 30]])
    assert to_xyxy([]).shape == (0, 4)
    out = to_xyxy(np.array([[1, 2, 3, 4]], dtype=np.int32))
    assert out.dtype == np.float64


def test_to_xyxy_accepts_dataframe_and_does_not_mutate_input():
    df = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0], "w": [5.0, 6.0], "h": [7.0, 8.0]})
    arr = df.to_numpy().copy()
    np.testing.assert_array_equal(to_xyxy(df, "xywh"), [[1, 3, 6, 10], [2, 4, 8, 12]])
    np.testing.assert_array_equal(to_xyxy(df.values, "xywh"), [[1, 3, 6, 10], [2, 4, 8, 12]])
    src = np.array([[1.0, 2, 3, 4]])
    to_xyxy(src, "xywh", relative=True, width=10, height=10)
    assert src.tolist() == [[1, 2, 3, 4]]
    np.testing.assert_array_equal(df.to_numpy(), arr)


def test_unknown_format_names_it_and_lists_formats():
    with pytest.raises(ValidationError) as e:
        to_xyxy([1, 2, 3, 4], "ltrb")
    msg = str(e.value)
    assert "'ltrb'" in msg
    for f in BOX_FORMATS:
        assert f in msg
    with pytest.raises(ValidationError, match="'yolo'"):
        from_xyxy([1, 2, 3, 4], "yolo")


def test_bad_shapes_and_missing_size():
    with pytest.raises(ValidationError, match="shape"):
        to_xyxy([[1, 2, 3]])
    with pytest.raises(ValidationError, match="width"):
        to_xyxy([1, 2, 3, 4], relative=True)
    with pytest.raises(ValidationError, match="3 values but there are 2 boxes"):
        to_xyxy([[1, 2, 3, 4]] * 2, relative=True, width=[1, 2, 3], height=1)
    with pytest.raises(ValidationError, match="numbers"):
        to_xyxy([["a", 2, 3, 4]])


@settings(max_examples=60, deadline=None)
@given(boxes=xyxy_boxes(), fmt=st.sampled_from(BOX_FORMATS), rel=st.booleans())
def test_round_trip_all_formats(boxes, fmt, rel):
    n = len(boxes)
    w = np.linspace(1, 1000, n) if n else 640
    h = 480.0
    kw = {"relative": rel, "width": w, "height": h} if rel else {}
    there = from_xyxy(boxes, fmt, **kw)
    back = to_xyxy(there, fmt, **kw)
    assert back.shape == (n, 4)
    np.testing.assert_allclose(back, boxes, rtol=1e-9, atol=1e-7)


def test_box_area():
    np.testing.assert_array_equal(box_area([[0, 0, 2, 3], [1, 1, 1, 5], [3, 3, 1, 1]]), [6, 0, 0])
    assert box_area(np.zeros((0, 4))).shape == (0,)


# ---------------------------------------------------------------- IoU


def test_box_iou_known_values():
    a = [[0, 0, 2, 2]]
    b = [[1, 1, 3, 3], [0, 0, 2, 2], [2, 0, 4, 2], [5, 5, 5, 5]]
    np.testing.assert_allclose(box_iou(a, b), [[1 / 7, 1.0, 0.0, 0.0]])
    z = box_iou([[1, 1, 1, 1]], [[1, 1, 1, 1]])
    assert z.tolist() == [[0.0]]
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 4)


@settings(max_examples=60, deadline=None)
@given(a=xyxy_boxes(), b=xyxy_boxes())
def test_box_iou_properties(a, b):
    iou = box_iou(a, b)
    assert iou.shape == (len(a), len(b))
    assert np.isfinite(iou).all()
    assert (iou >= 0).all()
    assert (iou <= 1 + 1e-12).all()
    np.testing.assert_allclose(iou, box_iou(b, a).T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(iou, brute_iou(a, b), rtol=1e-9, atol=1e-12)
    pos = box_area(a) > 0
    np.testing.assert_allclose(np.diag(box_iou(a, a))[pos], 1.0)


@st.composite
def coco_case(draw):
    d = draw(st.integers(1, 8))
    g = draw(st.integers(1, 8))
    grid = draw(st.booleans())  # integer grids make touching/identical boxes common
    el = st.integers(0, 20).map(float) if grid else st.floats(0, 100, allow_nan=False)
    wh = st.integers(0, 10).map(float) if grid else st.floats(0, 50, allow_nan=False)
    dt = [[draw(el), draw(el), draw(wh), draw(wh)] for _ in range(d)]
    gt = [[draw(el), draw(el), draw(wh), draw(wh)] for _ in range(g)]
    crowd = [draw(st.sampled_from([0, 1])) for _ in range(g)]
    return dt, gt, crowd


@settings(max_examples=150, deadline=None)
@given(case=coco_case())
def test_box_iou_coco_equals_pycocotools(case):
    import pycocotools.mask as mask_utils
    dt, gt, crowd = case
    ref = np.asarray(mask_utils.iou(np.array(dt), np.array(gt), crowd), dtype=np.float64)
    ours = box_iou_coco(dt, gt, crowd)
    assert ours.shape == ref.shape == (len(dt), len(gt))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_box_iou_coco_crowd_uses_detection_area():
    # detection fully inside a crowd region: intersection / dt area = 1, though plain IoU is 1/4
    out = box_iou_coco([[0, 0, 1, 1]], [[0, 0, 2, 2], [0, 0, 2, 2]], [1, 0])
    np.testing.assert_allclose(out, [[1.0, 0.25]])
    with pytest.raises(ValidationError, match="iscrowd"):
        box_iou_coco([[0, 0, 1, 1]], [[0, 0, 2, 2]], [0, 1])
    assert box_iou_coco([[0, 0, 1, 1]], [[0, 0, 2, 2]]).tolist() == [[0.25]]


def test_clip_boxes_scalar_and_per_row():
    out = clip_boxes([[-5, -5, 20, 20], [5, 5, 200, 200]], [10, 100], [10, 50])
    assert out.tolist() == [[0, 0, 10, 10], [5, 5, 100, 50]]


# ---------------------------------------------------------------- polygons


def test_polygon_area_known_values():
    assert polygon_area([[0, 0], [4, 0], [4, 3]]) == 6.0
    assert polygon_area([[0, 0], [4, 3], [4, 0]]) == 6.0  # orientation does not matter
    assert polygon_area([0, 0, 2, 0, 2, 2, 0, 2]) == 4.0
    assert polygon_area([[0, 0], [1, 1]]) == 0.0
    assert polygon_area([[0, 0], [1, 1], [2, 2]]) == 0.0
    # concave "L"
    assert polygon_area([0, 0, 2, 0, 2, 1, 1, 1, 1, 2, 0, 2]) == 3.0
    assert polygons_area([[0, 0, 2, 0, 2, 2], [10, 10, 11, 10, 11, 11, 10, 11]]) == 3.0
    assert polygon_areas([]).shape == (0,)
    np.testing.assert_array_equal(polygon_areas([[0, 0, 1, 0], [0, 0, 2, 0, 2, 2]]), [0.0, 2.0])
    with pytest.raises(ValidationError, match="even"):
        polygon_area([0, 0, 1])


def _triangle_fan_area(pts):
    # signed fan from an arbitrary external point: different arithmetic, same result for any simple ring
    o = np.array([-17.0, 31.0])
    total = 0.0
    for i in range(len(pts)):
        p, q = pts[i] - o, pts[(i + 1) % len(pts)] - o
        total += (p[0] * q[1] - p[1] * q[0]) / 2
    return abs(total)


def _raster_area(pts, n=400):
    # point-in-polygon (even-odd) on an n×n grid over the bounding box: an independent estimate
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    gx, gy = np.meshgrid(xs, ys)
    inside = np.zeros_like(gx, dtype=bool)
    j = len(pts) - 1
    for i in range(len(pts)):
        xi, yi = pts[i]
        xj, yj = pts[j]
        cond = (yi > gy) != (yj > gy)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = (xj - xi) * (gy - yi) / (yj - yi) + xi
        inside ^= cond & (gx < xint)
        j = i
    return inside.mean() * (x1 - x0) * (y1 - y0)


@st.composite
def star_polygon(draw):
    # star-shaped around its centre with every angular gap < pi, so the ring is simple
    k = draw(st.integers(4, 12))
    radii = draw(hnp.arrays(np.float64, k, elements=st.floats(1, 100)))
    jitter = draw(hnp.arrays(np.float64, k, elements=st.floats(0, 0.9)))
    angles = 2 * np.pi * (np.arange(k) + jitter) / k
    cx, cy = draw(coords), draw(coords)
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)


@settings(max_examples=60, deadline=None)
@given(pts=star_polygon())
def test_polygon_area_matches_triangle_fan(pts):
    np.testing.assert_allclose(polygon_area(pts), _triangle_fan_area(pts), rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(polygon_area(pts.ravel().tolist()), polygon_area(pts))
    np.testing.assert_allclose(polygon_areas([pts, pts[::-1]]), [polygon_area(pts)] * 2, rtol=1e-9)


@settings(max_examples=15, deadline=None)
@given(pts=star_polygon())
def test_polygon_area_matches_raster_estimate(pts):
    a = polygon_area(pts)
    bbox_area = np.prod(pts.max(0) - pts.min(0))
    assert abs(a - _raster_area(pts)) <= 0.02 * bbox_area + 1e-9


def test_extent():
    assert extent([[1, 5], [3, 2], [2, 4]]).tolist() == [1, 2, 3, 5]
    assert extent([0, 0, 10, 5]).tolist() == [0, 0, 10, 5]  # a line as flat coordinates
    assert extent([[1, 1, 2], [50, 50, 0], [3, 4, 1]]).tolist() == [1, 1, 3, 4]
    assert extent([[np.nan, np.nan, 0], [3, 4, 2]]).tolist() == [3, 4, 3, 4]
    with pytest.raises(GeometryError, match="visibility"):
        extent([[1, 1, 0]])


# ---------------------------------------------------------------- validate_boxes


def test_validate_boxes_passes_good_boxes_unchanged():
    boxes = [[0, 0, 10, 10], [2, 3, 100, 50]]
    out, warns = validate_boxes(boxes, 100, 50)
    assert out.tolist() == boxes
    assert warns == []
    # within tolerance: clipped silently
    out, warns = validate_boxes([[-1e-9, 0, 100 + 1e-9, 50]], 100, 50, strict=True)
    assert out.tolist() == [[0, 0, 100, 50]]
    assert warns == []


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_validate_boxes_non_finite_names_row(bad):
    boxes = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, bad, 1, 1.0]])
    with pytest.raises(GeometryError) as e:
        validate_boxes(boxes, 10, 10)
    msg = str(e.value)
    assert "row 2" in msg
    assert "non-finite" in msg
    assert ("nan" in msg) or ("inf" in msg)
    assert "drop" in msg  # says how to fix


def test_validate_boxes_zero_size():
    with pytest.raises(GeometryError, match=r"box row 1 \[5, 5, 5, 8\] has zero or negative size"):
        validate_boxes([[0, 0, 1, 1], [5, 5, 5, 8]], 10, 10)
    with pytest.raises(GeometryError, match=r"row 0.*to_xyxy"):
        validate_boxes([[5, 5, 8, 2]], 10, 10)


def test_validate_boxes_outside_strict_vs_clip():
    boxes = [[0, 0, 5, 5], [-3, 2, 5, 12], [8, 8, 11, 9]]
    with pytest.raises(GeometryError, match=r"row 1 .*row 2 .*outside the 10×10 image.*strict=False"):
        validate_boxes(boxes, 10, 10, strict=True)
    out, warns = validate_boxes(boxes, 10, 10)
    assert out.tolist() == [[0, 0, 5, 5], [0, 2, 5, 10], [8, 8, 10, 9]]
    assert len(warns) == 2
    assert warns[0].startswith("box row 1 [-3, 2, 5, 12]")
    assert "clipped to [0, 2, 5, 10]" in warns[0]
    assert warns[1].startswith("box row 2 ")


def test_validate_boxes_many_warnings_are_summarised():
    boxes = np.tile([[-1.0, 0, 5, 5]], (25, 1))
    _, warns = validate_boxes(boxes, 10, 10, what="prediction")
    assert len(warns) == 11
    assert warns[0].startswith("prediction row 0")
    assert warns[-1].startswith("15 more prediction rows")


def test_validate_boxes_entirely_outside_raises_even_when_not_strict():
    with pytest.raises(GeometryError, match=r"row 1 .*entirely outside"):
        validate_boxes([[0, 0, 5, 5], [20, 20, 30, 30]], 10, 10)
    with pytest.raises(GeometryError, match=r"row 0 .*entirely outside"):
        validate_boxes([[-5, 0, 0, 5]], 10, 10)  # touches the border: no area left


def test_validate_boxes_per_row_image_size():
    boxes = [[0, 0, 50, 50], [0, 0, 50, 50]]
    out, warns = validate_boxes(boxes, [100, 40], [100, 40])
    assert out.tolist() == [[0, 0, 50, 50], [0, 0, 40, 40]]
    assert len(warns) == 1
    assert "row 1" in warns[0]
    assert "40×40" in warns[0]
    with pytest.raises(GeometryError, match="image size"):
        validate_boxes(boxes, 0, 10)


# ---------------------------------------------------------------- validate_points


def test_validate_points_polygon_ok_and_clipped():
    pts, warns = validate_points([0, 0, 10, 0, 10, 10], 20, 20)
    assert pts.tolist() == [[0, 0], [10, 0], [10, 10]]
    assert warns == []
    pts, warns = validate_points([[0, 0], [30, 0], [10, 10]], 20, 20)
    assert pts.tolist() == [[0, 0], [20, 0], [10, 10]]
    assert len(warns) == 1
    assert "point 1" in warns[0]
    with pytest.raises(GeometryError, match=r"point 1 .*outside"):
        validate_points([[0, 0], [30, 0], [10, 10]], 20, 20, strict=True)


def test_validate_points_rules():
    with pytest.raises(GeometryError, match=r"point 2 .*non-finite"):
        validate_points([[0, 0], [1, 0], [np.nan, 1]], 10, 10)
    with pytest.raises(GeometryError, match="at least 3"):
        validate_points([[0, 0], [1, 1]], 10, 10)
    with pytest.raises(GeometryError, match="zero area"):
        validate_points([[0, 0], [1, 1], [2, 2]], 10, 10)
    with pytest.raises(GeometryError, match="at least 2"):
        validate_points([[0, 0]], 10, 10, what="line")
    with pytest.raises(GeometryError, match="zero length"):
        validate_points([[1, 1], [1, 1]], 10, 10, what="line")
    _, warns = validate_points([[1, 1], [5, 5]], 10, 10, what="line")
    assert warns == []
    with pytest.raises(GeometryError, match="entirely outside"):
        validate_points([[20, 0], [30, 0], [25, 5]], 10, 10)
    with pytest.raises(GeometryError, match="entirely outside"):
        validate_points([[20, 1], [30, 2]], 10, 10, what="line")


def test_validate_points_keypoints_ignore_invisible():
    kps = [[1, 1, 2], [np.nan, np.nan, 0], [50, 5, 1], [-100, -100, 0]]
    out, warns = validate_points(kps, 10, 10, what="keypoints")
    assert out[0].tolist() == [1, 1, 2]
    assert np.isnan(out[1, :2]).all()
    assert out[2].tolist() == [10, 5, 1]
    assert out[3].tolist() == [-100, -100, 0]  # v=0: left alone
    assert len(warns) == 1
    assert "keypoints point 2" in warns[0]
    with pytest.raises(GeometryError, match=r"point 2 .*outside"):
        validate_points(kps, 10, 10, what="keypoints", strict=True)
    with pytest.raises(GeometryError, match="visibility 3"):
        validate_points([[1, 1, 3]], 10, 10, what="keypoints")
    with pytest.raises(GeometryError, match=r"point 0 .*non-finite"):
        validate_points([[np.inf, 1, 1]], 10, 10, what="keypoints")


@settings(max_examples=80, deadline=None)
@given(
    boxes=xyxy_boxes(min_size=1, max_size=15),
    w=st.floats(1, 1e4),
    h=st.floats(1, 1e4),
    strict=st.booleans(),
)
def test_validate_boxes_property(boxes, w, h, strict):
    empty = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
    outside = (
        (boxes[:, 0] < -1e-6) | (boxes[:, 1] < -1e-6) | (boxes[:, 2] > w + 1e-6) | (boxes[:, 3] > h + 1e-6)
    )
    gone = (np.minimum(boxes[:, 2], w) <= np.maximum(boxes[:, 0], 0)) | (
        np.minimum(boxes[:, 3], h) <= np.maximum(boxes[:, 1], 0)
    )
    if empty.any() or gone.any() or (strict and outside.any()):
        with pytest.raises(GeometryError, match=r"row \d+"):
            validate_boxes(boxes, w, h, strict=strict)
        return
    out, warns = validate_boxes(boxes, w, h, strict=strict)
    assert out.shape == boxes.shape
    assert (out[:, 0::2] >= 0).all() and (out[:, 0::2] <= w).all()
    assert (out[:, 1::2] >= 0).all() and (out[:, 1::2] <= h).all()
    assert (box_area(out) > 0).all()
    n_out = int(outside.sum())
    assert len(warns) == min(n_out, 10) + (n_out > 10)
    np.testing.assert_array_equal(out[~outside], np.clip(boxes[~outside], 0, [w, h, w, h]))


# ---------------------------------------------------------------- IoU of aligned pairs (one kernel each)


@settings(max_examples=60, deadline=None)
@given(a=xyxy_boxes(), b=xyxy_boxes())
def test_box_iou_pairs_is_box_iou_of_every_pair(a, b):
    ia, ib = np.repeat(np.arange(len(a)), len(b)), np.tile(np.arange(len(b)), len(a))
    pairs = box_iou_pairs(a[ia], b[ib])
    assert pairs.tolist() == box_iou(a, b).ravel().tolist()  # bit for bit: the same kernel


def test_box_iou_pairs_crowd_divides_by_the_first_box():
    a, b = [[0, 0, 1, 1], [0, 0, 1, 1]], [[0, 0, 2, 2], [0, 0, 2, 2]]
    assert box_iou_pairs(a, b, [True, False]).tolist() == [1.0, 0.25]
    with pytest.raises(ValidationError, match="as many rows"):
        box_iou_pairs(a, b[:1])


@settings(max_examples=100, deadline=None)
@given(case=coco_case())
def test_box_iou_coco_pairs_is_bit_identical_to_pycocotools(case):
    import pycocotools.mask as mask_utils
    dt, gt, crowd = case
    ref = np.asarray(mask_utils.iou(np.array(dt), np.array(gt), crowd), dtype=np.float64)
    di, gi = np.repeat(np.arange(len(dt)), len(gt)), np.tile(np.arange(len(gt)), len(dt))
    ours = box_iou_coco_pairs(np.array(dt)[di], np.array(gt)[gi], np.array(crowd)[gi])
    assert ours.tolist() == ref.ravel().tolist()
