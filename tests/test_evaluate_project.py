"""proj.evaluate through the store equals pycocotools on the COCO reference set; matches, AP by group."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

import nblabel as nl
from nblabel.errors import ValidationError

REF = Path(__file__).parent / "data" / "coco-eval-reference"
from pycocotools.coco import COCO  # noqa: E402  (a test dependency: missing means a broken install, not a skip)
from pycocotools.cocoeval import COCOeval  # noqa: E402


def _pycocotools(gt: dict, results: list, iou_type: str = "bbox") -> COCOeval:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(results)), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.fixture(scope="module")
def coco_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[nl.Project, dict, list]]:
    """The 100-image reference GT imported through proj.import_coco (blank JPEGs of the right sizes)."""
    d = tmp_path_factory.mktemp("coco")
    gt = json.loads((REF / "instances_val2014_100.json").read_text())
    results = json.loads((REF / "instances_val2014_fakebbox100_results.json").read_text())
    for i, im in enumerate(gt["images"]):
        # a distinct colour per image: identical files would be one media item
        Image.new("RGB", (im["width"], im["height"]), (i % 256, (i * 7) % 256, 90)).save(d / im["file_name"])
    (d / "gt.json").write_text(json.dumps(gt))
    p = nl.open(d / "p.duckdb", author="t")
    rep = p.import_coco(d / "gt.json", images=d, errors="raise")
    assert rep.added == len(gt["annotations"])
    r = p.add_run("fake")
    assert r.add_predictions(REF / "instances_val2014_fakebbox100_results.json", errors="raise").added == len(results)
    yield p, gt, results
    p.store.close()


def test_bbox_equals_pycocotools(coco_project: tuple[nl.Project, dict, list]) -> None:
    p, gt, results = coco_project
    ev = _pycocotools(gt, results)
    ours = p.evaluate("fake")
    np.testing.assert_allclose(ours.stats, ev.stats, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.precision, ev.eval["precision"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.recall, ev.eval["recall"], rtol=0, atol=1e-12)
    assert ours.summary().splitlines()[0].endswith("= 0.505")
    # the default AP of the matches table is pycocotools' AP too
    assert ours.ap()["AP"].iloc[0] == pytest.approx(ev.stats[0], abs=1e-12)
    assert ours.ap(iou=0.5)["AP"].iloc[0] == pytest.approx(ev.stats[1], abs=1e-12)


def test_segm_equals_pycocotools(coco_project: tuple[nl.Project, dict, list]) -> None:
    p, gt, results = coco_project
    ev = _pycocotools(gt, results, "segm")
    ours = p.evaluate("fake", "segm")
    np.testing.assert_allclose(ours.stats, ev.stats, rtol=0, atol=1e-12)


def test_matches_are_named_and_per_class(coco_project: tuple[nl.Project, dict, list]) -> None:
    p, gt, _ = coco_project
    ours = p.evaluate("fake")
    m = ours.matches
    assert {"pred_id", "media_id", "file_name", "label", "gt_id", "iou", "status", "score"} <= set(m.columns)
    files = {im["file_name"] for im in gt["images"]}
    assert set(m["file_name"]) <= files
    cats = {c["name"] for c in gt["categories"]}
    assert set(m["label"]) <= cats
    at50 = m[m["iou_threshold"] == 0.5]
    n_gt = int(sum(1 for a in gt["annotations"] if not a["iscrowd"]))
    assert ((at50["status"] == "tp") | (at50["status"] == "fn")).sum() == n_gt
    pc = ours.per_class
    assert "label" in pc.columns
    assert pc.loc[pc["AP"] > -1, "AP"].mean() == pytest.approx(ours.stats[0], abs=1e-12)
    # AP for any grouping is a group-by; per label at .50:.95 equals per_class AP
    by = ours.ap(by="label").set_index("label")["AP"]
    want = pc.set_index("label")["AP"]
    assert np.allclose(by.loc[want[want > -1].index], want[want > -1], atol=1e-12)
    n = ours.sql("SELECT count(*) AS n FROM matches m JOIN media USING (media_id) WHERE status = ?", ["tp"])
    assert int(n["n"].iloc[0]) == int((m["status"] == "tp").sum())
    with pytest.raises(ValidationError, match="cannot group"):
        ours.ap(by="nope")


def test_slice_evaluates_a_subset(coco_project: tuple[nl.Project, dict, list]) -> None:
    p, gt, results = coco_project
    first = sorted(im["id"] for im in gt["images"])[:30]
    sub = {**gt, "images": [im for im in gt["images"] if im["id"] in first],
           "annotations": [a for a in gt["annotations"] if a["image_id"] in first]}
    ev = _pycocotools(sub, [r for r in results if r["image_id"] in first])
    ours = p.evaluate("fake", slice=p.media().meta_where("coco_id", "in", first))
    np.testing.assert_allclose(ours.stats, ev.stats, rtol=0, atol=1e-12)


def test_plots(coco_project: tuple[nl.Project, dict, list]) -> None:
    """On the reference set: the figures draw their tables (tests/test_plots.py has the details)."""
    p, _, _ = coco_project
    ours = p.evaluate("fake")
    fig = ours.pr_curve(labels=["person"])
    assert isinstance(fig, Figure) and len(fig.axes[0].lines) == 2  # the mean and person
    pr = ours.pr_table()
    assert pr["recall"].iloc[0] == 0 and len(pr) == 101
    np.testing.assert_array_equal(fig.axes[0].lines[1].get_ydata(), pr["person"])
    cm = ours.confusion_table()
    labels = list(cm.index)
    assert labels[-1] == "background" and list(cm.columns)[-1] == "background"
    assert cm.loc["background", "background"] == 0
    ax = ours.confusion_matrix(max_labels=10).axes[0]
    assert len(ax.get_yticklabels()) == 11 and "top 10 of" in ax.get_title()
    assert sum(int(t.get_text()) for t in ax.texts) == int(ax.images[0].get_array().sum())
    h = ours.iou_table()
    assert h["count"].sum() > 0
    assert [b.get_height() for b in ours.iou_histogram().axes[0].patches[:20]] == h["tp"].tolist()


def test_incomplete_media_are_left_out(tmp_path: Path) -> None:
    p = nl.open(":memory:")
    p.add_images([np.full((50, 50, 3), i, np.uint8) for i in range(2)])
    p.schema.add_label("car")
    p.add_instance(1, "car", box=[5, 5, 25, 25])
    p.add_run("m")
    p.add_instance(1, "car", box=[5, 5, 25, 25], run="m", score=0.9)
    p.add_instance(2, "car", box=[5, 5, 25, 25], run="m", score=0.95)  # image 2 is not labeled yet
    p.complete(1)
    assert p.evaluate("m").stats[0] == pytest.approx(1.0)
    assert p.evaluate("m", complete_only=False).stats[0] < 1.0


def test_compare_runs(coco_project: tuple[nl.Project, dict, list]) -> None:
    p, _, results = coco_project
    if "worse" not in p.runs()["name"].tolist():
        worse = [r for i, r in enumerate(results) if i % 3]  # drop every third detection
        p.add_run("worse").add_predictions(worse, errors="raise")
    c = p.compare("fake", "worse")
    ov = c.overall.set_index("run")
    assert ov.loc["fake", "AP50"] == pytest.approx(p.evaluate("fake").stats[1], abs=1e-12)
    assert ov.loc["fake", "tp"] + ov.loc["fake", "fn"] == ov.loc["worse", "tp"] + ov.loc["worse", "fn"]
    assert ov.loc["worse", "tp"] <= ov.loc["fake", "tp"]
    pi = c.per_image
    assert {"media_id", "file_name", "tp_a", "tp_b", "fp_a", "fp_b", "fn_a", "fn_b", "diff"} <= set(pi.columns)
    assert pi["diff"].is_monotonic_decreasing
    assert len(pi) == 100
    assert {"label", "AP50_a", "AP50_b"} <= set(c.per_class.columns)


def test_evaluate_coco_files_without_a_project() -> None:
    from nblabel.debug import evaluate_coco

    gt = json.loads((REF / "instances_val2014_100.json").read_text())
    results = json.loads((REF / "instances_val2014_fakebbox100_results.json").read_text())
    ev = _pycocotools(gt, results)
    ours = evaluate_coco(REF / "instances_val2014_100.json", REF / "instances_val2014_fakebbox100_results.json")
    np.testing.assert_allclose(ours.stats, ev.stats, rtol=0, atol=1e-12)


def test_keypoints_use_the_template_sigmas() -> None:
    p = nl.open(":memory:")
    p.add_images([np.full((100, 100, 3), i, np.uint8) for i in range(2)])
    p.schema.add_label("hand", spatial=["keypoints"])
    sigmas = [0.05, 0.08, 0.1]
    p.schema.add_keypoints("hand", points=["a", "b", "c"], skeleton=[(0, 1), (1, 2)], sigmas=sigmas)
    kp_gt = [[[20, 20, 2], [40, 30, 2], [60, 45, 2]], [[10, 60, 2], [30, 70, 1], [50, 90, 2]]]
    kp_dt = [[[21, 22, 2], [43, 30, 2], [58, 47, 2]], [[14, 66, 2], [30, 75, 2], [40, 80, 2]]]
    for m, kp in zip((1, 2), kp_gt, strict=True):
        p.add_instance(m, "hand", keypoints=kp)
    p.complete([1, 2])
    p.add_run("m")
    for m, kp, s in zip((1, 2), kp_dt, (0.9, 0.6), strict=True):
        p.add_instance(m, "hand", keypoints=kp, run="m", score=s)
    ours = p.evaluate("m", "keypoints")
    gt = p.instances().df()
    dataset = {"images": [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}],
               "categories": [{"id": 1, "name": "hand", "keypoints": ["a", "b", "c"]}],
               "annotations": [{"id": int(r.instance_id), "image_id": int(r.media_id), "category_id": 1,
                                "keypoints": np.ravel(kp).tolist(), "num_keypoints": 3, "iscrowd": 0,
                                "bbox": [r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0],
                                "area": (r.x1 - r.x0) * (r.y1 - r.y0)}
                               for r, kp in zip(gt.itertuples(), kp_gt, strict=True)]}
    results = [{"image_id": m, "category_id": 1, "keypoints": np.ravel(kp).tolist(), "score": s}
               for m, kp, s in zip((1, 2), kp_dt, (0.9, 0.6), strict=True)]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(dataset)
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(results)), "keypoints")
        ev.params.kpt_oks_sigmas = np.array(sigmas)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    np.testing.assert_allclose(ours.stats, ev.stats, rtol=0, atol=1e-12)
    assert 0 < ours.stats[0] < 1
