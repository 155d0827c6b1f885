"""nblabel's COCO evaluation engine against pycocotools (run live) and its published reference numbers."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from nblabel.debug._cocoeval import dt_from_coco_results, evaluate_frames, gt_from_coco
from nblabel.errors import ValidationError

REF = Path(__file__).parent / "data" / "coco-eval-reference"


def load_coco(dataset: dict[str, Any], results: list[dict[str, Any]], iou_type: str = "bbox"):
    """The tiny loader: COCO dataset dict + results list -> (gt, dt) frames and evaluate() kwargs."""
    gt = gt_from_coco(dataset, iou_type=iou_type)
    dt = dt_from_coco_results(copy.deepcopy(results))
    kwargs = {
        "images": [im["id"] for im in dataset["images"]],
        "categories": [c["id"] for c in dataset["categories"]],
    }
    return gt, dt, kwargs


def run_pycocotools(
    dataset: dict[str, Any], results: list[dict[str, Any]], iou_type: str = "bbox", **params: Any
) -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(dataset)
        coco.createIndex()
        res = coco.loadRes(copy.deepcopy(results))
        ev = COCOeval(coco, res, iou_type)
        for k, v in params.items():
            setattr(ev.params, k, v)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def assert_same_as_pycocotools(ours, ev: COCOeval) -> None:
    np.testing.assert_allclose(ours.stats, ev.stats, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.precision, ev.eval["precision"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.recall, ev.eval["recall"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.scores, ev.eval["scores"], rtol=0, atol=1e-12)


def reference_matches(ev: COCOeval) -> pd.DataFrame:
    """pycocotools' evalImgs (area 'all', largest maxDet) as rows comparable to ``result.matches``."""
    p = ev.params
    rows = []
    for e in ev.evalImgs:
        if e is None or list(e["aRng"]) != list(p.areaRng[0]) or e["maxDet"] != p.maxDets[-1]:
            continue
        for t, thr in enumerate(p.iouThrs):
            for j, d_id in enumerate(e["dtIds"]):
                g = int(e["dtMatches"][t, j])
                ign = bool(e["dtIgnore"][t, j])
                status = "ignored" if ign else ("tp" if g else "fp")
                rows.append((int(d_id), round(float(thr), 2), g if g else -1, status))
            for j, g_id in enumerate(e["gtIds"]):
                if not e["gtIgnore"][j] and not e["gtMatches"][t, j]:
                    rows.append((-1, round(float(thr), 2), int(g_id), "fn"))
    return pd.DataFrame(rows, columns=["dt_id", "thr", "gt_id", "status"])


def our_matches(result) -> pd.DataFrame:
    m = result.matches
    return pd.DataFrame(
        {
            "dt_id": m["dt_id"].fillna(-1).astype(np.int64).to_numpy(),
            "thr": m["iou_threshold"].round(2).to_numpy(),
            "gt_id": m["gt_id"].fillna(-1).astype(np.int64).to_numpy(),
            "status": m["status"].astype(str).to_numpy(),
        }
    )


def assert_same_matches(result, ev: COCOeval) -> None:
    key = ["thr", "status", "dt_id", "gt_id"]
    ref = reference_matches(ev).sort_values(key).reset_index(drop=True)
    ours = our_matches(result).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours[key], ref[key])


@pytest.fixture(scope="module")
def val100() -> dict[str, Any]:
    return json.loads((REF / "instances_val2014_100.json").read_text())


@pytest.fixture(scope="module")
def fake_results() -> list[dict[str, Any]]:
    return json.loads((REF / "instances_val2014_fakebbox100_results.json").read_text())


def published_bbox_stats() -> np.ndarray:
    text = (REF / "val2014_fake_eval_res.txt").read_text()
    section = text.split("type=bbox")[1].split("type=keypoints")[0]
    return np.array([float(v) for v in re.findall(r"\] = (-?[0-9.]+)", section)])


# -- bbox ------------------------------------------------------------------------------------------


def test_bbox_reference_stats_and_live_pycocotools(val100, fake_results):
    gt, dt, kw = load_coco(val100, fake_results)
    ours = evaluate_frames(gt, dt, **kw)
    published = published_bbox_stats()
    assert len(published) == 12
    np.testing.assert_array_equal(np.round(ours.stats, 3), published)
    ev = run_pycocotools(val100, fake_results)
    assert_same_as_pycocotools(ours, ev)
    assert ours.summary().splitlines() == [
        line for line in _pycocotools_summary(ev).splitlines() if line.startswith(" Average")
    ]


def _pycocotools_summary(ev: COCOeval) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ev.summarize()
    return buf.getvalue()


def test_bbox_per_detection_matches_equal_eval_imgs(val100, fake_results):
    gt, dt, kw = load_coco(val100, fake_results)
    ours = evaluate_frames(gt, dt, **kw)
    ev = run_pycocotools(val100, fake_results)
    assert_same_matches(ours, ev)
    m = ours.matches
    assert set(m.columns) == {
        "dt_id",
        "image_id",
        "category_id",
        "iou_threshold",
        "gt_id",
        "iou",
        "status",
        "score",
    }
    tp = m[m.status == "tp"]
    assert (tp.iou >= tp.iou_threshold - 1e-12).all()
    assert m.loc[m.status == "fn", "dt_id"].isna().all()


def test_ignore_and_crowd_pair_identical():
    gt_ds = json.loads((REF / "gt_ignore_test.json").read_text())
    results = json.loads((REF / "dt_ignore_test.json").read_text())
    # the fixture spells the image id both "2299" and 2299; pycocotools' loadRes refuses that mix,
    # so normalise to int (which also brings the crowd region into play)
    for im in gt_ds["images"]:
        im["id"] = int(im["id"])
    for a in gt_ds["annotations"]:
        a["image_id"] = int(a["image_id"])
    assert any(a["iscrowd"] for a in gt_ds["annotations"])
    gt, dt, kw = load_coco(gt_ds, results)
    ours = evaluate_frames(gt, dt, **kw)
    ev = run_pycocotools(gt_ds, results)
    assert_same_as_pycocotools(ours, ev)
    assert_same_matches(ours, ev)
    assert (ours.matches.status == "ignored").any()


def test_dt_from_coco_results_normalises_like_load_res(fake_results):
    dt = dt_from_coco_results(fake_results[:3])
    assert dt.dt_id.tolist() == [1, 2, 3]
    b = fake_results[0]["bbox"]
    assert dt.area.iloc[0] == b[2] * b[3]
    assert (dt.iscrowd == 0).all()
    kp = dt_from_coco_results(
        [{"image_id": 1, "category_id": 1, "score": 1.0, "keypoints": [1, 2, 2, 5, 9, 0, 3, 4, 1]}]
    )
    assert kp[["x", "y", "w", "h", "area"]].values.tolist() == [[1.0, 2.0, 4.0, 7.0, 28.0]]


def test_per_class_and_matches_group_by(val100, fake_results):
    gt, dt, kw = load_coco(val100, fake_results)
    ours = evaluate_frames(gt, dt, **kw)
    pc = ours.per_class
    assert list(pc.columns) == ["category_id", "AP", "AP50", "AP75", "AR100", "n_gt", "n_dt"]
    assert len(pc) == 80
    valid = pc[pc.AP > -1]
    assert np.isclose(valid.AP.mean(), ours.stats[0], atol=1e-12)
    # recall at IoU .5 per category, recomputed from the matches frame by a group-by
    m = ours.matches[ours.matches.iou_threshold == 0.5]
    counts = m.groupby(["category_id", "status"], observed=True).size().unstack(fill_value=0)
    recall50 = counts["tp"] / (counts["tp"] + counts["fn"])
    k = list(pc.category_id).index(1)
    assert np.isclose(recall50.loc[1], ours.recall[0, k, 0, 2])


def test_use_cats_false_and_custom_params(val100, fake_results):
    gt, dt, kw = load_coco(val100, fake_results)
    ours = evaluate_frames(gt, dt, use_cats=False, **kw)
    ev = run_pycocotools(val100, fake_results, useCats=0)
    assert_same_as_pycocotools(ours, ev)
    ours = evaluate_frames(
        gt,
        dt,
        max_dets=(1, 2, 3),
        iou_thresholds=[0.3, 0.5, 0.75],
        rec_thresholds=np.linspace(0, 1, 11),
        **kw,
    )
    ev = run_pycocotools(
        val100,
        fake_results,
        maxDets=[1, 2, 3],
        iouThrs=np.array([0.3, 0.5, 0.75]),
        recThrs=np.linspace(0, 1, 11),
    )
    assert_same_as_pycocotools(ours, ev)


def test_errors_name_the_input():
    gt = pd.DataFrame({"gt_id": [1], "image_id": [1]})
    with pytest.raises(ValidationError, match="gt is missing column"):
        evaluate_frames(gt, gt)
    with pytest.raises(ValidationError, match="iou_type"):
        evaluate_frames(gt, gt, iou_type="mask")


def test_empty_detections_give_zero_and_missing_gt_minus_one():
    gt = pd.DataFrame(
        {
            "gt_id": [1],
            "image_id": [1],
            "category_id": [1],
            "x": [0.0],
            "y": [0.0],
            "w": [5.0],
            "h": [5.0],
            "area": [25.0],
            "iscrowd": [0],
        }
    )
    dt = pd.DataFrame(
        {
            "dt_id": pd.Series([], dtype=int),
            "image_id": [],
            "category_id": [],
            "x": [],
            "y": [],
            "w": [],
            "h": [],
            "score": [],
        }
    )
    r = evaluate_frames(gt, dt, categories=[1, 2])
    assert r.stats[0] == 0.0
    assert (r.precision[:, :, 1] == -1).all()
    assert r.matches.status.tolist() == ["fn"] * 10


def test_ignore_column_adds_ignored_ground_truth():
    gt = pd.DataFrame(
        {"gt_id": [1, 2], "image_id": [1, 1], "category_id": [1, 1], "x": [0.0, 50.0], "y": [0.0, 50.0],
         "w": [10.0, 10.0], "h": [10.0, 10.0], "area": [100.0, 100.0], "iscrowd": [0, 0]}
    )  # fmt: skip
    dt = pd.DataFrame(
        {"dt_id": [1], "image_id": [1], "category_id": [1], "x": [0.0], "y": [0.0], "w": [10.0],
         "h": [10.0], "score": [0.9]}
    )  # fmt: skip
    plain = evaluate_frames(gt, dt)
    assert plain.stats[8] == pytest.approx(0.5)
    marked = evaluate_frames(gt.assign(ignore=[False, True]), dt)
    assert marked.stats[8] == pytest.approx(1.0)
    assert (marked.matches.status == "fn").sum() == 0


def test_keypoint_sigmas_must_fit_the_template():
    gt = pd.DataFrame(
        {"gt_id": [1], "image_id": [1], "category_id": [1], "x": [0.0], "y": [0.0], "w": [9.0],
         "h": [9.0], "area": [81.0], "iscrowd": [0], "keypoints": [[1, 1, 2, 5, 5, 2]], "num_keypoints": [2]}
    )  # fmt: skip
    dt = gt.rename(columns={"gt_id": "dt_id"}).assign(score=1.0)
    r = evaluate_frames(gt, dt, iou_type="keypoints", sigmas=[0.5, 0.5])
    assert r.stats[0] == pytest.approx(1.0)
    with pytest.raises(ValidationError, match="sigmas"):
        evaluate_frames(gt, dt, iou_type="keypoints")


def test_polygon_without_image_size_is_explained():
    gt = pd.DataFrame(
        {"gt_id": [1], "image_id": [1], "category_id": [1], "x": [0.0], "y": [0.0], "w": [4.0],
         "h": [4.0], "area": [16.0], "iscrowd": [0], "segmentation": [[[0, 0, 4, 0, 4, 4, 0, 4]]]}
    )  # fmt: skip
    dt = gt.rename(columns={"gt_id": "dt_id"}).assign(score=1.0)
    with pytest.raises(ValidationError, match="image_sizes"):
        evaluate_frames(gt, dt, iou_type="segm")
    r = evaluate_frames(gt, dt, iou_type="segm", image_sizes={1: (8, 8)})
    assert r.stats[0] == pytest.approx(1.0)


# -- segm ------------------------------------------------------------------------------------------


def test_segm_against_pycocotools(val100):
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(3)
    sizes = {im["id"]: (im["height"], im["width"]) for im in val100["images"]}
    results = []
    for a in val100["annotations"]:
        if a["iscrowd"] or rng.random() < 0.2:
            continue
        h, w = sizes[a["image_id"]]
        polys = [list(np.asarray(p) + rng.normal(0, 2.0, len(p))) for p in a["segmentation"]]
        rle = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
        rle["counts"] = rle["counts"].decode("ascii")
        cat = a["category_id"] if rng.random() > 0.1 else val100["categories"][0]["id"]
        results.append(
            {
                "image_id": a["image_id"],
                "category_id": cat,
                "segmentation": rle,
                "score": float(np.round(rng.random(), 2)),
            }
        )
    gt, dt, kw = load_coco(val100, results, iou_type="segm")
    ours = evaluate_frames(gt, dt, iou_type="segm", **kw)
    ev = run_pycocotools(val100, results, "segm")
    assert_same_as_pycocotools(ours, ev)
    assert_same_matches(ours, ev)


def test_segm_of_box_results_rasterises_like_load_res(val100, fake_results):
    """Box results evaluated as masks: loadRes turns each box into a polygon at the image size."""
    gt, dt, kw = load_coco(val100, fake_results, iou_type="segm")
    assert isinstance(dt.segmentation.iloc[0], list)  # polygons: sizes come from gt height/width
    ours = evaluate_frames(gt, dt, iou_type="segm", **kw)
    ev = run_pycocotools(val100, fake_results, "segm")
    assert_same_as_pycocotools(ours, ev)


def test_dt_from_segm_results_area_and_box_like_load_res(val100):
    from pycocotools import mask as mask_utils

    im = val100["images"][0]
    ann = next(a for a in val100["annotations"] if a["image_id"] == im["id"] and not a["iscrowd"])
    rle = mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], im["height"], im["width"]))
    rle["counts"] = rle["counts"].decode("ascii")
    dt = dt_from_coco_results([{"image_id": im["id"], "category_id": 1, "segmentation": rle, "score": 1}])
    assert dt.area.iloc[0] == float(mask_utils.area(rle))
    np.testing.assert_array_equal(dt[["x", "y", "w", "h"]].to_numpy()[0], mask_utils.toBbox(rle))


# -- keypoints -------------------------------------------------------------------------------------


def _person_set(seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    images, anns, results = [], [], []
    ann_id = 1
    for img in range(1, 31):
        images.append({"id": img, "height": 480, "width": 640})
        for _ in range(int(rng.integers(0, 5))):
            x, y = rng.uniform(0, 500, 2)
            w, h = rng.uniform(10, 140, 2)
            kx = x + rng.uniform(0, w, 17)
            ky = y + rng.uniform(0, h, 17)
            v = rng.choice([0, 1, 2], 17, p=[0.3, 0.2, 0.5])
            if rng.random() < 0.1:
                v[:] = 0
            kp = np.stack([np.where(v > 0, kx, 0), np.where(v > 0, ky, 0), v], 1).ravel()
            crowd = int(rng.random() < 0.07)
            anns.append(
                {
                    "id": ann_id,
                    "image_id": img,
                    "category_id": 1,
                    "bbox": [x, y, w, h],
                    "area": float(w * h * rng.uniform(0.5, 1.0)),
                    "iscrowd": crowd,
                    "keypoints": kp.tolist(),
                    "num_keypoints": int((v > 0).sum()),
                }
            )
            ann_id += 1
            for _ in range(int(rng.integers(0, 3))):
                noise = rng.normal(0, rng.choice([1.0, 4.0, 15.0]), (17, 2))
                dkp = np.stack([kx + noise[:, 0], ky + noise[:, 1], np.ones(17)], 1).ravel()
                results.append(
                    {
                        "image_id": img,
                        "category_id": 1,
                        "keypoints": dkp.tolist(),
                        "score": float(np.round(rng.random(), 1)),
                    }
                )
        if rng.random() < 0.3:  # a false positive somewhere
            dkp = np.stack([rng.uniform(0, 600, 17), rng.uniform(0, 400, 17), np.ones(17)], 1)
            results.append(
                {
                    "image_id": img,
                    "category_id": 1,
                    "keypoints": dkp.ravel().tolist(),
                    "score": float(rng.random()),
                }
            )
    ds = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}
    return ds, results


@pytest.mark.parametrize("seed", [0, 1])
def test_keypoints_against_pycocotools(seed):
    ds, results = _person_set(seed)
    gt, dt, kw = load_coco(ds, results, iou_type="keypoints")
    ours = evaluate_frames(gt, dt, iou_type="keypoints", **kw)
    ev = run_pycocotools(ds, results, "keypoints")
    assert len(ours.stats) == 10
    assert ours.stats[0] > 0.05
    assert_same_as_pycocotools(ours, ev)
    assert_same_matches(ours, ev)


def _pair_similarities(gt: pd.DataFrame, dt: pd.DataFrame, iou_type: str, kw: dict) -> dict:
    """Our similarity of every (dt_id, gt_id) pair, from the engine's internals."""
    from nblabel import geometry
    from nblabel.debug import _eval_match as em
    from nblabel.debug import _eval_prepare as ep

    f = ep.flatten(gt, dt, iou_type, kw["images"], kw["categories"], True, 100)
    pairs = geometry.build_pairs(f.g_group, f.d_group)
    if iou_type == "bbox":
        sim = geometry.box_iou_coco_pairs(f.d_box[pairs.dt], f.g_box[pairs.gt], f.g_crowd[pairs.gt])
    else:
        gkp = ep.keypoint_array(gt["keypoints"].to_numpy(dtype=object)[f.g_row], "gt")
        dkp = ep.keypoint_array(dt["keypoints"].to_numpy(dtype=object)[f.d_row], "dt")
        sim = em.oks_pairs(dkp, gkp, f.g_box, f.g_area, ep.COCO_KEYPOINT_SIGMAS, pairs)
    return dict(zip(zip(f.d_id[pairs.dt].tolist(), f.g_id[pairs.gt].tolist()), sim.tolist(), strict=True))


@pytest.mark.parametrize("iou_type", ["bbox", "keypoints"])
def test_similarities_bit_identical_to_pycocotools(iou_type, val100, fake_results):
    ds, results = (val100, fake_results) if iou_type == "bbox" else _person_set(4)
    gt, dt, kw = load_coco(ds, results, iou_type=iou_type)
    ours = _pair_similarities(gt, dt, iou_type, kw)
    ev = run_pycocotools(ds, results, iou_type)
    n = 0
    for (img, cat), ious in ev.ious.items():
        if len(ious) == 0:
            continue
        d_ids = [d["id"] for d in sorted(ev._dts[img, cat], key=lambda d: -d["score"])][:100]
        g_ids = [g["id"] for g in ev._gts[img, cat]]
        for i, d in enumerate(d_ids):
            for j, g in enumerate(g_ids):
                assert ours[d, g] == ious[i, j], (img, cat, d, g)  # exact, not approximate
                n += 1
    assert n > 150


# -- random data -----------------------------------------------------------------------------------


@st.composite
def coco_sets(draw: Any) -> tuple[dict[str, Any], list[dict[str, Any]], tuple[int, ...]]:
    n_img = draw(st.integers(1, 6))
    n_cat = draw(st.integers(1, 3))
    coord = st.integers(0, 12).map(float)
    size = st.integers(1, 8).map(float)
    images = [{"id": i + 10, "height": 30, "width": 30} for i in range(n_img)]
    anns, results = [], []
    for im in images:
        boxes = []
        for _ in range(draw(st.integers(0, 5))):
            b = [draw(coord), draw(coord), draw(size), draw(size)]
            boxes.append(b)
            area = b[2] * b[3] * draw(st.sampled_from([1.0, 1.0, 0.5, 40.0, 400.0]))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": im["id"],
                    "bbox": b,
                    "area": area,
                    "category_id": draw(st.integers(1, n_cat)),
                    "iscrowd": int(draw(st.integers(0, 5)) == 0),
                }
            )
        for _ in range(draw(st.integers(0, 6))):
            if boxes and draw(st.booleans()):
                b = list(draw(st.sampled_from(boxes)))
                b[0] += draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]))
            else:
                b = [draw(coord), draw(coord), draw(size), draw(size)]
            results.append(
                {
                    "image_id": im["id"],
                    "category_id": draw(st.integers(1, n_cat)),
                    "bbox": b,
                    "score": draw(st.sampled_from([0.1, 0.5, 0.5, 0.9, 0.95])),
                }
            )
    if not results:  # pycocotools' loadRes cannot take an empty list
        results.append(
            {"image_id": images[0]["id"], "category_id": 1, "bbox": [0.0, 0.0, 2.0, 2.0], "score": 0.3}
        )
    ds = {"images": images, "annotations": anns, "categories": [{"id": c + 1} for c in range(n_cat)]}
    max_dets = draw(st.sampled_from([(1, 10, 100), (1, 2, 3)]))
    return ds, results, max_dets


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(coco_sets(), st.booleans())
def test_random_sets_equal_pycocotools(data, use_cats):
    ds, results, max_dets = data
    gt, dt, kw = load_coco(ds, results)
    ours = evaluate_frames(gt, dt, max_dets=max_dets, use_cats=use_cats, **kw)
    ev = run_pycocotools(ds, results, maxDets=list(max_dets), useCats=int(use_cats))
    assert_same_as_pycocotools(ours, ev)
    if use_cats:
        assert_same_matches(ours, ev)
