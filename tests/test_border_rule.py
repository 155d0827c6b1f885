"""The border rule: every importer stores geometry as the source gave it, so proj.evaluate equals pycocotools.

Boxes past the image border are counted in the report's notes, clipped only where a person draws
(add_instance, the annotator's save) or with ``clip=True``, refused with ``strict=True``. Then
``import_coco → add_run → add_predictions → proj.evaluate(run)`` equals pycocotools' COCOeval on the
raw files (12 stats), and ``import_coco → export_coco`` gives the same boxes back. Also here: scores
must be finite in [0, 1], absolute boxes that look relative get a warning, and COCO-style
predictions honour ``box_format=``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import nblabel as nl
from nblabel.errors import FormatError
from nblabel.widgets import Annotator

SIZES = {7: (100, 80), 3: (64, 64), 12: (120, 100)}  # COCO image id -> (width, height); listed unsorted


def _pycocotools(gt: dict, results: list) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(results)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


@pytest.fixture(scope="module")
def image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("border_imgs")
    for i, (iid, (w, h)) in enumerate(SIZES.items()):
        Image.new("RGB", (w, h), (40 * i, 90, 200 - 30 * i)).save(d / f"im{iid}.png")
    return d


def _gt(anns: list[dict]) -> dict:
    images = [{"id": iid, "file_name": f"im{iid}.png", "width": w, "height": h} for iid, (w, h) in SIZES.items()]
    cats = [{"id": 1, "name": "car"}, {"id": 4, "name": "person"}]
    return {"images": images, "categories": cats,
            "annotations": [{"id": k + 1, "segmentation": [], **a} for k, a in enumerate(anns)]}


def _through_project(root: Path, tmp: Path, gt: dict, results: list) -> tuple[nl.Project, Any, Any]:
    (tmp / "gt.json").write_text(json.dumps(gt))
    (tmp / "res.json").write_text(json.dumps(results))
    p = nl.open(":memory:")
    rep_gt = p.import_coco(tmp / "gt.json", images=root, errors="raise")
    rep_dt = p.add_run("m").add_predictions(tmp / "res.json", errors="raise")
    return p, rep_gt, rep_dt


def _assert_equal_to_pycocotools(root: Path, tmp: Path, gt: dict, results: list) -> tuple[Any, Any]:
    p, rep_gt, rep_dt = _through_project(root, tmp, gt, results)
    assert rep_gt.added == len(gt["annotations"]) and rep_dt.added == len(results)
    ours = np.asarray(p.evaluate("m").stats)
    ref = _pycocotools(gt, results)
    assert ours.shape == (12,)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    return rep_gt, rep_dt


def _box(x: float, y: float, w: float, h: float, cat: int = 1, **kw: Any) -> dict:
    return {"category_id": cat, "bbox": [x, y, w, h], "area": kw.pop("area", w * h), "iscrowd": 0, **kw}


def test_hand_cases_past_every_border_equal_pycocotools(image_root: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    gt_anns = [
        {"image_id": 7, **_box(-12, 10, 40, 30)},  # past the left border
        {"image_id": 7, **_box(50, -8, 30, 30)},  # past the top
        {"image_id": 7, **_box(70, 40, 45, 25, cat=4)},  # past the right
        {"image_id": 7, **_box(10, 60, 30, 35, cat=4)},  # past the bottom
        {"image_id": 7, **_box(110, 10, 20, 20)},  # wholly outside: pycocotools keeps it (a miss)
        {"image_id": 3, **_box(-5, -5, 80, 80, iscrowd=1)},  # a crowd region past every border
        {"image_id": 3, **_box(10, 10, 32, 32, area=32.0 ** 2)},  # area exactly at the small/medium border
        {"image_id": 12, **_box(2, 2, 96, 96, area=96.0 ** 2)},  # area exactly at the medium/large border
        {"image_id": 12, **_box(100, 70, 40, 40, cat=4)},  # past right and bottom
    ]
    results = [
        {"image_id": 7, "category_id": 1, "bbox": [-10, 9, 40, 31], "score": 0.9},
        {"image_id": 7, "category_id": 1, "bbox": [49, -6, 32, 29], "score": 0.9},  # a tie
        {"image_id": 7, "category_id": 4, "bbox": [72, 41, 44, 24], "score": 0.8},
        {"image_id": 7, "category_id": 4, "bbox": [11, 58, 28, 40], "score": 0.8},  # a tie
        {"image_id": 3, "category_id": 1, "bbox": [20, 20, 30, 30], "score": 0.7},  # inside the crowd
        {"image_id": 3, "category_id": 1, "bbox": [10, 10, 32, 32], "score": 0.6},
        {"image_id": 12, "category_id": 1, "bbox": [0, 0, 97, 97], "score": 0.6},
        {"image_id": 12, "category_id": 4, "bbox": [98, 72, 40, 40], "score": 0.5},
    ]
    # more than 100 detections on one image (maxDets): random boxes, many of them past the border
    for _ in range(130):
        x, y = rng.integers(-3, 100), rng.integers(-3, 80)  # each overlaps the 100 x 80 image
        results.append({"image_id": 7, "category_id": int(rng.choice([1, 4])),
                        "bbox": [float(x), float(y), float(rng.integers(4, 40)), float(rng.integers(4, 40))],
                        "score": float(rng.integers(1, 9)) / 10})  # coarse scores: many ties
    rep_gt, rep_dt = _assert_equal_to_pycocotools(image_root, tmp_path, _gt(gt_anns), results)
    assert rep_gt.notes[:2] == ["7 annotations extend past the image border; stored as given (pass clip=True to "
                                "clip)", "1 of them lies entirely outside the image; kept, as COCO evaluation "
                                         "(pycocotools) keeps them"]
    n_cross = sum(1 for r in results if (r["bbox"][0] < 0 or r["bbox"][1] < 0
                                         or r["bbox"][0] + r["bbox"][2] > SIZES[r["image_id"]][0]
                                         or r["bbox"][1] + r["bbox"][3] > SIZES[r["image_id"]][1]))
    assert f"{n_cross} predictions extend past the image border; stored as given (pass clip=True to clip)" \
        in rep_dt.notes


def _boxes(image_id: int, overlapping: bool) -> st.SearchStrategy[dict]:
    """Boxes on quarter-pixel coordinates (exact in floats), past every border; predictions overlap the image."""
    w, h = SIZES[image_id]

    @st.composite
    def one(draw: st.DrawFn) -> dict:
        if overlapping:
            x0 = draw(st.integers(-80, 4 * w - 4)) / 4
            x1 = draw(st.integers(int(max(x0, 0) * 4) + 1, 4 * w + 80)) / 4
            y0 = draw(st.integers(-80, 4 * h - 4)) / 4
            y1 = draw(st.integers(int(max(y0, 0) * 4) + 1, 4 * h + 80)) / 4
        else:
            x0, y0 = draw(st.integers(-80, 4 * w + 40)) / 4, draw(st.integers(-80, 4 * h + 40)) / 4
            x1, y1 = x0 + draw(st.integers(1, 4 * w)) / 4, y0 + draw(st.integers(1, 4 * h)) / 4
        return {"image_id": image_id, "category_id": draw(st.sampled_from([1, 4])), "bbox": [x0, y0, x1 - x0, y1 - y0]}
    return one()


@st.composite
def _datasets(draw: st.DrawFn) -> tuple[dict, list]:
    gt_anns, results = [], []
    for iid in SIZES:
        for a in draw(st.lists(_boxes(iid, overlapping=False), max_size=6)):
            bw, bh = a["bbox"][2:]
            area = draw(st.sampled_from([bw * bh, 32.0 ** 2, 96.0 ** 2, bw * bh / 2]))
            gt_anns.append({**a, "area": area, "iscrowd": int(draw(st.integers(0, 6)) == 0)})
        for a in draw(st.lists(_boxes(iid, overlapping=True), max_size=10)):
            results.append({**a, "score": draw(st.sampled_from([0.25, 0.5, 0.5, 0.75, 1.0]))})  # ties
    return _gt(gt_anns), results


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=_datasets())
def test_hypothesis_gt_and_predictions_past_the_border_equal_pycocotools(image_root: Path, tmp_path: Path,
                                                                         data: tuple[dict, list]) -> None:
    gt, results = data
    assume(results)  # pycocotools' loadRes cannot read an empty results list
    with warnings.catch_warnings():  # a few boxes near the origin may all be <= 1 px: that warning is right
        warnings.filterwarnings("ignore", message=".*look relative", category=UserWarning)
        _assert_equal_to_pycocotools(image_root, tmp_path, gt, results)


def test_coco_round_trip_gives_back_the_same_boxes(image_root: Path, tmp_path: Path) -> None:
    gt = _gt([{"image_id": 7, **_box(-12.25, 10.5, 40.125, 30)}, {"image_id": 7, **_box(90.3, 70.1, 33.3, 21.7)},
              {"image_id": 3, **_box(70, 70, 10, 10)}, {"image_id": 12, **_box(0.1, 0.2, 119.9, 99.9)}])
    p, _, _ = _through_project(image_root, tmp_path, gt, [])
    out = json.loads(p.export_coco(tmp_path / "out.json").read_text())
    back = {a["id"]: a["bbox"] for a in out["annotations"]}
    for a in gt["annotations"]:
        np.testing.assert_allclose(back[a["id"]], a["bbox"], rtol=0, atol=1e-9)


def test_coco_clip_and_strict(image_root: Path, tmp_path: Path) -> None:
    gt = _gt([{"image_id": 7, **_box(-12, 10, 40, 30)}, {"image_id": 7, **_box(5, 5, 10, 10)}])
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    p = nl.open(":memory:")
    r = p.import_coco(tmp_path / "gt.json", images=image_root, clip=True)
    assert r.notes[0] == "1 annotation extended past the image border and was clipped to it (clip=True)"
    assert sorted(map(tuple, p.instances().df()[["x0", "y0", "x1", "y1"]].to_numpy().tolist())) == [
        (0, 10, 28, 40), (5, 5, 15, 15)]
    q = nl.open(":memory:")
    r = q.import_coco(tmp_path / "gt.json", images=image_root, strict=True)
    assert [pr.item for pr in r.problems] == ["annotation 1 (image 7)"] and "strict=True" in r.problems[0].reason
    assert r.added == 1


# -- YOLO, VOC, Parquet: the same rule ----------------------------------------------------------

def _yolo(tmp_path: Path, text: str, task: str = "detect") -> tuple[Path, Path]:
    imgs, labels = tmp_path / "images", tmp_path / "labels"
    imgs.mkdir()
    labels.mkdir()
    Image.new("RGB", (100, 50), (1, 2, 3)).save(imgs / "a.png")
    (labels / "a.txt").write_text(text)
    return labels, imgs


def _boxes_of(p: nl.Project, run: str | None = None) -> list[list[float]]:
    df = (p.instances(run=run) if run else p.instances()).df().sort_values("instance_id")
    return np.round(df[["x0", "y0", "x1", "y1"]].to_numpy(float), 9).tolist()


def test_yolo_box_past_the_edge_is_stored_as_given_clipped_on_request_refused_when_strict(tmp_path: Path) -> None:
    labels, imgs = _yolo(tmp_path, "0 0.95 0.5 0.2 0.4\n0 0.5 0.5 0.2 0.2\n")
    p = nl.open(":memory:")
    r = p.import_yolo(labels, images=imgs, names=["car"])
    assert r.added == 2 and r.ok
    assert r.notes == ["1 line extends past the image border; stored as given (pass clip=True to clip)"]
    assert _boxes_of(p)[0] == [85.0, 15.0, 105.0, 35.0]
    q = nl.open(":memory:")
    r = q.import_yolo(labels, images=imgs, names=["car"], clip=True)
    assert _boxes_of(q)[0] == [85.0, 15.0, 100.0, 35.0] and "clipped" in r.notes[0]
    s = nl.open(":memory:")
    r = s.import_yolo(labels, images=imgs, names=["car"], strict=True)
    assert [pr.item for pr in r.problems] == ["a.txt:1"] and r.added == 1
    with pytest.raises(FormatError, match=r"a\.txt:1"):
        nl.open(":memory:").import_yolo(labels, images=imgs, names=["car"], strict=True, errors="raise")


def test_yolo_polygon_past_the_edge_is_stored_as_given(tmp_path: Path) -> None:
    labels, imgs = _yolo(tmp_path, "0 0.9 0.1 1.1 0.1 1.0 0.6\n", task="segment")
    p = nl.open(":memory:")
    r = p.import_yolo(labels, images=imgs, names=["car"], task="segment")
    assert r.added == 1 and "stored as given" in r.notes[0]
    pts = json.loads(p.instances().df()["points"].iloc[0])
    np.testing.assert_allclose(np.asarray(pts, dtype=float).reshape(-1, 2), [[90, 5], [110, 5], [100, 30]], atol=1e-9)
    q = nl.open(":memory:")
    q.import_yolo(labels, images=imgs, names=["car"], task="segment", clip=True)
    pts = np.asarray(json.loads(q.instances().df()["points"].iloc[0]), dtype=float).reshape(-1, 2)
    assert pts[:, 0].max() == 100.0


def test_voc_box_past_the_edge_is_stored_as_given(tmp_path: Path) -> None:
    Image.new("RGB", (100, 50), (1, 2, 3)).save(tmp_path / "a.png")
    (tmp_path / "a.xml").write_text(
        "<annotation><filename>a.png</filename><object><name>dog</name><bndbox><xmin>0</xmin><ymin>11</ymin>"
        "<xmax>120</xmax><ymax>40</ymax></bndbox></object></annotation>")
    p = nl.open(":memory:")
    r = p.import_voc(tmp_path, images=tmp_path)
    assert r.notes == ["1 object extends past the image border; stored as given (pass clip=True to clip)"]
    assert _boxes_of(p) == [[-1.0, 10.0, 120.0, 40.0]]
    q = nl.open(":memory:")
    q.import_voc(tmp_path, images=tmp_path, clip=True)
    assert _boxes_of(q) == [[0.0, 10.0, 100.0, 40.0]]
    r = nl.open(":memory:").import_voc(tmp_path, images=tmp_path, strict=True)
    assert r.problems[0].item == "a.xml object 0 (dog)" and r.added == 0


@pytest.fixture
def small(tmp_path: Path) -> nl.Project:
    p = nl.open(tmp_path / "p.duckdb")
    p.add_images([np.full((50, 100, 3), 9, np.uint8)])
    p.schema.add_label("car")
    p.add_run("m")
    return p


def test_parquet_predictions_and_instances_past_the_border(small: nl.Project, tmp_path: Path) -> None:
    path = tmp_path / "preds.parquet"
    pd.DataFrame({"media_id": [1, 1], "label": ["car", "car"], "x0": [-4.0, 10.0], "y0": [5.0, 5.0],
                  "x1": [30.0, 20.0], "y1": [60.0, 20.0], "score": [0.9, 0.4]}).to_parquet(path)
    r = small.run("m").add_predictions(path)
    assert r.added == 2
    assert r.notes == ["1 prediction extends past the image border; stored as given (pass clip=True to clip)"]
    assert _boxes_of(small, "m")[0] == [-4.0, 5.0, 30.0, 60.0]
    r = small.add_instances(path, clip=True)  # ground truth from the same table, clipped on request
    assert _boxes_of(small)[0] == [0.0, 5.0, 30.0, 50.0] and "clipped" in r.notes[0]
    # a Parquet export comes back in the same
    out = small.export_parquet(tmp_path / "gt.parquet")
    assert small.add_instances(out).extra["repeats"] == 2  # the same boxes: skipped as repeats by default
    r = small.add_instances(out, mode="append")
    assert r.added == 2 and _boxes_of(small)[2:] == _boxes_of(small)[:2]
    with pytest.raises(FormatError, match="strict=True"):
        small.run("m").add_predictions(path, strict=True)


def test_a_person_drawing_is_clipped_a_batch_is_not(small: nl.Project) -> None:
    with pytest.warns(UserWarning, match="clipped"):
        small.add_instance(1, "car", box=[-5, -5, 120, 30])
    small.add_instances(pd.DataFrame({"media_id": [1], "label": ["car"], "x0": [-5.0], "y0": [-5.0],
                                      "x1": [120.0], "y1": [30.0]}))
    assert _boxes_of(small) == [[0.0, 0.0, 100.0, 30.0], [-5.0, -5.0, 120.0, 30.0]]
    # editing the label of the stored (unclipped) box keeps its geometry; a new box is clipped
    iid = int(small.instances().df().sort_values("instance_id")["instance_id"].iloc[1])
    small.schema.add_label("truck")
    small.update_instance(iid, label="truck")
    assert _boxes_of(small)[1] == [-5.0, -5.0, 120.0, 30.0]
    with pytest.warns(UserWarning, match="clipped"):
        small.update_instance(iid, box=[-1, 1, 10, 10])
    assert _boxes_of(small)[1] == [0.0, 1.0, 10.0, 10.0]


def test_the_annotator_save_still_clips_while_a_batch_does_not(small: nl.Project) -> None:
    w = small.annotate()
    assert isinstance(w, Annotator)
    sent: list[dict] = []
    w.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    car = int(small.schema.state().label("car").id)
    content = {"id": "r1", "kind": "save", "op": "create", "media_id": 1,
               "instance": {"label_id": car, "kind": "box", "box": [80, 30, 130, 90]}}
    w._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})
    assert sent[-1]["ok"]
    small.add_instances(pd.DataFrame({"media_id": [1], "label": ["car"], "x0": [80.0], "y0": [30.0],
                                      "x1": [130.0], "y1": [90.0]}))
    assert _boxes_of(small) == [[80.0, 30.0, 100.0, 50.0], [80.0, 30.0, 130.0, 90.0]]


# -- §8: scores, relative-looking coordinates, box_format of COCO-style records ------------------

@pytest.mark.parametrize("bad", [1.7, -3.0, float("nan")])
def test_scores_outside_0_1_or_nan_are_refused_per_row(small: nl.Project, bad: float) -> None:
    df = pd.DataFrame({"media_id": [1, 1], "label": ["car", "car"], "x0": [1.0, 2.0], "y0": [1.0, 2.0],
                       "x1": [9.0, 9.0], "y1": [9.0, 9.0], "score": [0.5, bad]})
    r = small.run("m").add_predictions(df)
    assert r.added == 1 and [p.item for p in r.problems] == ["row 1"]
    assert "finite in [0, 1]" in r.problems[0].reason
    assert r.problems[0].reason.startswith(f"score {bad!r} is not")  # the value as written, not np.float64(...)
    assert small.run("m").predictions().count() == 1
    with pytest.raises(FormatError, match="row 1"):
        small.run("m").add_predictions(df, strict=True)
    assert small.run("m").predictions().count() == 1  # the strict batch went in not at all
    with pytest.raises(nl.ValidationError, match=r"finite number in \[0, 1\]"):
        small.add_instance(1, "car", box=[1, 1, 5, 5], run="m", score=bad if bad == bad else 7.0)


def test_absolute_boxes_that_look_relative_warn_once(small: nl.Project) -> None:
    df = pd.DataFrame({"media_id": [1, 1], "label": ["car", "car"], "x0": [0.1, 0.2], "y0": [0.1, 0.2],
                       "x1": [0.5, 0.9], "y1": [0.4, 0.8], "score": [0.5, 0.6]})
    with pytest.warns(UserWarning, match="coords='relative'") as got:
        small.run("m").add_predictions(df)
    assert len(got) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small.run("m").add_predictions(df, coords="relative")  # said so: no warning
        small.add_instances(df.assign(x1=[5.0, 9.0]).drop(columns="score"))  # pixels: no warning
    with pytest.warns(UserWarning, match="coords='relative'"):
        small.add_instances(df.drop(columns="score"))


def test_coco_style_records_honour_box_format_and_coords(tmp_path: Path, image_root: Path) -> None:
    gt = _gt([{"image_id": 7, **_box(10, 10, 20, 20)}])
    p, _, _ = _through_project(image_root, tmp_path, gt, [])
    run = p.run("m")
    # cxcywh: centre (20, 20), 20 x 20 -> [10, 10, 30, 30]
    run.add_predictions([{"image_id": 7, "category_id": 1, "bbox": [20, 20, 20, 20], "score": 0.9}],
                        box_format="cxcywh", errors="raise")
    # relative cxcywh on the 100 x 80 image: the same box
    run.add_predictions([{"image_id": 7, "category_id": 1, "bbox": [0.2, 0.25, 0.2, 0.25], "score": 0.8}],
                        box_format="cxcywh", coords="relative", errors="raise", mode="append")
    # COCO's own xywh stays the default
    run.add_predictions([{"image_id": 7, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.7}], errors="raise",
                        mode="append")  # the same box each time: append, not skip as a repeat
    assert _boxes_of(p, "m") == [[10.0, 10.0, 30.0, 30.0]] * 3


def test_a_prediction_entirely_outside_the_image_is_kept_as_pycocotools_keeps_it(image_root: Path,
                                                                                    tmp_path: Path) -> None:
    gt = _gt([_box(10, 10, 30, 20, image_id=7), _box(5, 5, 20, 20, image_id=3)])
    results = [{"image_id": 7, "category_id": 1, "bbox": [10, 10, 30, 20], "score": 0.9},
               {"image_id": 7, "category_id": 1, "bbox": [150, 120, 20, 10], "score": 0.95},  # wholly outside
               {"image_id": 3, "category_id": 1, "bbox": [-40, -40, 10, 10], "score": 0.8}]  # wholly outside
    _rep_gt, rep_dt = _assert_equal_to_pycocotools(image_root, tmp_path, gt, results)
    assert any("past the image border" in n for n in rep_dt.notes), rep_dt.notes


# -- zero-area boxes: pycocotools evaluates them, so importers keep them -------------------------

def _zero_area_data() -> tuple[dict, list]:
    gt = _gt([
        {"image_id": 7, **_box(10, 10, 0, 20)},  # zero width
        {"image_id": 7, **_box(30, 15, 25, 0)},  # zero height
        {"image_id": 7, **_box(60, 20, 20, 30, cat=4)},
        {"image_id": 3, **_box(5, 5, 0, 0)},  # a point-sized box
        {"image_id": 3, **_box(20, 20, 30, 30)},
        {"image_id": 12, **_box(0, 0, 0, 50, cat=4)},  # zero width on the left border
        {"image_id": 12, **_box(40, 40, 30, 0, area=100.0)},  # zero height, a non-zero area field
    ])
    results = [
        {"image_id": 7, "category_id": 1, "bbox": [10, 10, 0, 20], "score": 0.9},  # the same zero-width box
        {"image_id": 7, "category_id": 1, "bbox": [30, 15, 25, 2], "score": 0.8},
        {"image_id": 7, "category_id": 4, "bbox": [60, 20, 20, 30], "score": 0.7},
        {"image_id": 7, "category_id": 4, "bbox": [61, 20, 0, 30], "score": 0.6},  # a zero-width detection
        {"image_id": 3, "category_id": 1, "bbox": [5, 5, 0, 0], "score": 0.5},
        {"image_id": 3, "category_id": 1, "bbox": [21, 19, 30, 31], "score": 0.5},
        {"image_id": 3, "category_id": 1, "bbox": [22, 22, 10, 0], "score": 0.4},  # zero height
        {"image_id": 12, "category_id": 4, "bbox": [0, 0, 0, 50], "score": 0.9},
        {"image_id": 12, "category_id": 1, "bbox": [40, 40, 30, 0], "score": 0.3},
    ]
    return gt, results


def test_zero_area_gt_and_predictions_equal_pycocotools(image_root: Path, tmp_path: Path) -> None:
    gt, results = _zero_area_data()
    rep_gt, rep_dt = _assert_equal_to_pycocotools(image_root, tmp_path, gt, results)
    assert ("5 annotations have a box of zero width or height (area 0); stored as given, as pycocotools "
            "evaluates them (strict=True refuses them)") in rep_gt.notes
    assert any(n.startswith("6 predictions have a box of zero width or height") for n in rep_dt.notes)
    # and the same through a DataFrame of predictions
    p, _, _ = _through_project(image_root, tmp_path, gt, [])
    df = pd.DataFrame([{"file_name": f"im{r['image_id']}.png", "label": {1: "car", 4: "person"}[r["category_id"]],
                        "box": r["bbox"], "score": r["score"]} for r in results])
    rep = p.add_run("df").add_predictions(df, box_format="xywh", errors="raise")
    assert rep.added == len(results) and any("zero width or height" in n for n in rep.notes)
    np.testing.assert_allclose(p.evaluate("df").stats, _pycocotools(gt, results), rtol=0, atol=1e-12)


def test_zero_area_boxes_round_trip_through_coco(image_root: Path, tmp_path: Path) -> None:
    gt, _ = _zero_area_data()
    p, _, _ = _through_project(image_root, tmp_path, gt, [])
    out = json.loads(p.export_coco(tmp_path / "out.json").read_text())
    back = {a["id"]: a["bbox"] for a in out["annotations"]}
    assert sorted(back) == [a["id"] for a in gt["annotations"]]
    for a in gt["annotations"]:
        np.testing.assert_allclose(back[a["id"]], a["bbox"], rtol=0, atol=1e-9)


def test_zero_area_boxes_are_refused_with_strict_and_by_a_person(image_root: Path, tmp_path: Path) -> None:
    gt, results = _zero_area_data()
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    p = nl.open(":memory:")
    r = p.import_coco(tmp_path / "gt.json", images=image_root, strict=True)
    assert r.added == 2 and len(r.problems) == 5 and all("zero width or height" in pr.reason for pr in r.problems)
    (tmp_path / "res.json").write_text(json.dumps(results))
    with pytest.raises(nl.errors.NblabelError, match="zero width or height"):
        p.add_run("m").add_predictions(tmp_path / "res.json", strict=True)
    assert p.instances(run="m").count() == 0  # a refused call changes nothing stored
    media = int(p.media().df()["media_id"].iloc[0])
    n = p.instances().count()
    for box in ([10, 10, 10, 30], [10, 10, 40, 10]):
        with pytest.raises(nl.errors.ValidationError, match="has no area"):
            p.add_instance(media, "car", box=box)
    inst = int(p.instances().df()["instance_id"].iloc[0])
    with pytest.raises(nl.errors.ValidationError, match="has no area"):
        p.update_instance(inst, box=[5, 5, 5, 9])
    assert p.instances().count() == n


def test_zero_area_boxes_in_yolo_and_voc_are_kept_and_counted(tmp_path: Path) -> None:
    labels, imgs = _yolo(tmp_path, "0 0.5 0.5 0 0.4\n0 0.5 0.5 0.2 0.2\n")
    p = nl.open(":memory:")
    r = p.import_yolo(labels, images=imgs, names=["car"])
    assert r.added == 2 and r.ok
    assert r.notes == ["1 line has a box of zero width or height (area 0); stored as given, as pycocotools "
                       "evaluates them (strict=True refuses them)"]
    assert _boxes_of(p)[0] == [50.0, 15.0, 50.0, 35.0]
    r = nl.open(":memory:").import_yolo(labels, images=imgs, names=["car"], strict=True)
    assert [pr.item for pr in r.problems] == ["a.txt:1"] and r.added == 1
    voc = tmp_path / "voc"
    voc.mkdir()
    Image.new("RGB", (100, 50), (1, 2, 3)).save(voc / "a.png")
    (voc / "a.xml").write_text(  # VOC is 1-based: xmin 21, xmax 20 is a box of width 0 at x = 20
        "<annotation><filename>a.png</filename><object><name>dog</name><bndbox><xmin>21</xmin><ymin>11</ymin>"
        "<xmax>20</xmax><ymax>40</ymax></bndbox></object></annotation>")
    q = nl.open(":memory:")
    r = q.import_voc(voc, images=voc)
    assert r.added == 1 and "1 object has a box of zero width or height" in r.notes[0]
    assert _boxes_of(q) == [[20.0, 10.0, 20.0, 40.0]]
