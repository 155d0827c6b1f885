"""Disagreement ranking: one hand-built case per kind, bounded scores, slice-independent image scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nblabel as nl
from nblabel.debug import KINDS, find_disagreements, image_scores
from nblabel.debug._reads import Boxes
from nblabel.errors import NotFoundError, ValidationError


def _project(n_images: int = 1, size: tuple[int, int] = (200, 300)) -> nl.Project:
    p = nl.open(":memory:", author="t")
    h, w = size
    p.add_images([np.full((h, w, 3), i, np.uint8) for i in range(n_images)])
    p.schema.add_label("car")
    p.schema.add_label("person")
    p.add_run("m")
    return p


def _gt(p: nl.Project, media: int, label: str, box: list[float]) -> int:
    return p.add_instance(media, label, box=box)


def _pred(p: nl.Project, media: int, label: str, box: list[float], score: float) -> int:
    return p.add_instance(media, label, box=box, run="m", score=score)


def test_agreement_gives_no_rows_and_zero_image_score() -> None:
    p = _project(2)
    _gt(p, 1, "car", [10, 10, 60, 60])
    _pred(p, 1, "car", [12, 10, 61, 60], 0.9)
    d = p.disagreements("m")
    assert d.empty
    img = p.disagreements("m", per="image")
    assert img["media_id"].tolist() == [1, 2]  # every image of the slice, the clean ones too
    assert img["score"].tolist() == [0.0, 0.0]
    assert list(img.columns[:7]) == ["media_id", "file_name", "score", "n_missing_gt", "n_missed",
                                     "n_class_mismatch", "n_poor_localization"]


def test_missing_gt() -> None:
    p = _project()
    _gt(p, 1, "car", [10, 10, 60, 60])
    _pred(p, 1, "car", [10, 10, 60, 60], 0.9)
    pid = _pred(p, 1, "person", [150, 100, 250, 190], 0.8)
    d = p.disagreements("m")
    assert d["kind"].tolist() == ["missing_gt"]
    r = d.iloc[0]
    assert r["pred_id"] == pid
    assert pd.isna(r["gt_id"])
    assert r["pred_label"] == "person"
    assert r["pred_score"] == pytest.approx(0.8)
    assert 0.5 < r["score"] <= 0.8  # a confident prediction with nothing under it
    assert [r["pred_x0"], r["pred_y0"], r["pred_x1"], r["pred_y1"]] == [150, 100, 250, 190]
    # a less confident one ranks lower; the size of the box does not matter
    low = _pred(p, 1, "person", [200, 10, 280, 90], 0.3)
    small = _pred(p, 1, "person", [150, 10, 160, 20], 0.8)
    d = p.disagreements("m").set_index("pred_id")["score"]
    assert d[low] < d[pid] < 0.8
    assert d[small] == pytest.approx(d[pid])


def test_missed() -> None:
    p = _project()
    big = _gt(p, 1, "car", [10, 10, 110, 110])
    small = _gt(p, 1, "car", [200, 150, 206, 156])
    d = p.disagreements("m")
    assert d["kind"].tolist() == ["missed", "missed"]
    assert d["gt_id"].tolist() == [big, small]  # a large missed box is stronger evidence
    assert d["gt_label"].tolist() == ["car", "car"]
    assert pd.isna(d["pred_id"]).all()
    assert d["gt_x1"].tolist() == [110, 206]


def test_class_mismatch() -> None:
    p = _project()
    g = _gt(p, 1, "car", [10, 10, 80, 80])
    pr = _pred(p, 1, "person", [12, 10, 80, 82], 0.9)
    d = p.disagreements("m")
    assert d["kind"].tolist() == ["class_mismatch"]
    r = d.iloc[0]
    assert (r["gt_id"], r["pred_id"], r["gt_label"], r["pred_label"]) == (g, pr, "car", "person")
    assert r["iou"] > 0.9
    assert r["score"] == pytest.approx(1 / (1 + np.exp(3.8 - 4.0 * 0.9 - 0.26 * np.log(70))))
    # a less confident prediction of the other class is weaker evidence
    q = _project()
    _gt(q, 1, "car", [10, 10, 80, 80])
    _pred(q, 1, "person", [12, 10, 80, 82], 0.5)
    assert q.disagreements("m")["score"].iloc[0] < r["score"]


def test_class_mismatch_needs_the_prediction_unexplained() -> None:
    p = _project()
    _gt(p, 1, "car", [10, 10, 80, 80])
    _gt(p, 1, "person", [10, 10, 80, 80])  # same box, both labels
    _pred(p, 1, "person", [10, 10, 80, 80], 0.9)
    d = p.disagreements("m")
    # the person prediction is explained by the person GT; the car GT is just missed
    assert d["kind"].tolist() == ["missed"]
    assert d["gt_label"].tolist() == ["car"]


def test_poor_localization() -> None:
    p = _project()
    g = _gt(p, 1, "car", [10, 10, 110, 110])
    pr = _pred(p, 1, "car", [60, 10, 160, 110], 0.9)  # IoU 1/3
    d = p.disagreements("m")
    assert d["kind"].tolist() == ["poor_localization"]
    r = d.iloc[0]
    assert (r["gt_id"], r["pred_id"]) == (g, pr)
    assert r["iou"] == pytest.approx(1 / 3)
    assert 0.5 < r["score"] < 1  # a confident box of the same class half a box away: the label moved
    # a less confident prediction is weaker evidence
    q = _project()
    _gt(q, 1, "car", [10, 10, 110, 110])
    _pred(q, 1, "car", [60, 10, 160, 110], 0.4)
    assert q.disagreements("m")["score"].iloc[0] < r["score"]
    # at iou=0.3 the same pair agrees
    assert p.disagreements("m", iou=0.3).empty


def test_poor_localization_ignores_a_prediction_matched_elsewhere() -> None:
    p = _project()
    _gt(p, 1, "car", [10, 10, 110, 110])
    g2 = _gt(p, 1, "car", [60, 10, 160, 110])
    _pred(p, 1, "car", [10, 10, 110, 110], 0.9)  # matches the first GT well, grazes the second
    d = p.disagreements("m")
    assert d["kind"].tolist() == ["missed"]
    assert d["gt_id"].tolist() == [g2]


def test_min_score_kinds_and_crowd() -> None:
    p = _project()
    _gt(p, 1, "car", [10, 10, 60, 60])
    _pred(p, 1, "car", [10, 10, 60, 60], 0.2)
    _pred(p, 1, "person", [100, 100, 150, 150], 0.3)
    assert sorted(p.disagreements("m")["kind"]) == ["missing_gt"]
    assert sorted(p.disagreements("m", min_score=0.5)["kind"]) == ["missed"]
    assert p.disagreements("m", kinds=["missed"]).empty
    with pytest.raises(ValidationError, match="unknown disagreement kind"):
        p.disagreements("m", kinds=["oops"])
    with pytest.raises(ValidationError, match="per"):
        p.disagreements("m", per="box")
    with pytest.raises(ValidationError, match="iou"):
        p.disagreements("m", iou=0.05)
    with pytest.raises(NotFoundError, match="does not exist"):
        p.disagreements("nope")


def test_crowd_regions_absorb_predictions() -> None:
    b = Boxes(np.array([1]), np.array([1]), np.array([1]), np.array([[0, 0, 100, 100]], float),
              np.array([np.nan]), np.array([True]))
    pr = Boxes(np.array([1, 2]), np.array([1, 1]), np.array([1, 1]),
               np.array([[10, 10, 20, 20], [150, 150, 170, 170]], float), np.array([0.9, 0.9]),
               np.array([False, False]))
    d = find_disagreements(b, pr, np.array([1]))
    assert d["kind"].tolist() == ["missing_gt"]
    assert d["pred"].tolist() == [1]


def test_complete_only_and_slice() -> None:
    p = _project(3)
    for m in (1, 2, 3):
        _pred(p, m, "car", [10, 10, 60, 60], 0.9)
    p.complete([2])
    assert p.disagreements("m", complete_only=True)["media_id"].tolist() == [2]
    img = p.disagreements("m", per="image", slice=p.media().ids_in([1, 3]))
    assert img["media_id"].tolist() == [1, 3]


def test_image_scores_noisy_or() -> None:
    s = image_scores(np.array([5, 5, 9]), np.array([0.5, 0.5, 1.0]), np.array([1, 5, 9]))
    assert s.tolist() == pytest.approx([0.0, 0.75, 1.0])
    soft = image_scores(np.array([1, 1]), np.array([0.5, 0.5]), np.array([1]), power=3)
    assert soft.tolist() == pytest.approx([(1 - 0.875 ** 2) ** (1 / 3)])


# -- properties ---------------------------------------------------------------------------------
N_IMG = 8


def _random_project(seed: int) -> nl.Project:
    rng = np.random.default_rng(seed)
    p = _project(N_IMG, size=(120, 160))
    rows, preds = [], []
    for m in range(1, N_IMG + 1):
        for _ in range(rng.integers(0, 5)):
            x, y = rng.uniform(0, 120), rng.uniform(0, 80)
            w, h = rng.uniform(5, 40), rng.uniform(5, 40)
            lab = ["car", "person"][rng.integers(0, 2)]
            rows.append((m, lab, x, y, x + w, y + h))
            if rng.random() < 0.7:  # a jittered, sometimes relabelled prediction
                j = rng.normal(0, 4, 4)
                lab2 = lab if rng.random() < 0.8 else ["car", "person"][rng.integers(0, 2)]
                preds.append((m, lab2, x + j[0], y + j[1], x + w + j[2], y + h + j[3], rng.uniform(0, 1)))
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 120), rng.uniform(0, 80)
            preds.append((m, "car", x, y, x + 20, y + 20, rng.uniform(0, 1)))
    cols = ["media_id", "label", "x0", "y0", "x1", "y1"]
    p.add_instances(pd.DataFrame(rows, columns=cols))
    pr = pd.DataFrame(preds, columns=[*cols, "score"])
    pr[["x0", "x1"]] = pr[["x0", "x1"]].clip(0, 160)
    pr[["y0", "y1"]] = pr[["y0", "y1"]].clip(0, 120)
    pr = pr[(pr.x1 > pr.x0 + 1) & (pr.y1 > pr.y0 + 1)]
    p.run("m").add_predictions(pr)
    return p


PROJECTS: dict[int, nl.Project] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_cached_projects():
    yield
    for proj in PROJECTS.values():
        proj.store.close()
    PROJECTS.clear()


def _cached(seed: int) -> nl.Project:
    if seed not in PROJECTS:
        PROJECTS[seed] = _random_project(seed)
    return PROJECTS[seed]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2), subset=st.sets(st.integers(1, N_IMG), min_size=1))
def test_image_score_independent_of_the_rest_of_the_slice(seed: int, subset: set[int]) -> None:
    p = _cached(seed)
    full = p.disagreements("m", per="image").set_index("media_id")["score"]
    part = p.disagreements("m", per="image", slice=p.media().ids_in(sorted(subset)))
    assert sorted(part["media_id"]) == sorted(subset)
    assert np.allclose(part.set_index("media_id")["score"], full.loc[part["media_id"]].to_numpy(), atol=0)
    rows = p.disagreements("m", slice=p.media().ids_in(sorted(subset)))
    assert rows["score"].between(0, 1).all()
    assert set(rows["kind"]) <= set(KINDS)
    assert set(rows["media_id"]) <= subset
    assert rows["score"].is_monotonic_decreasing


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2))
def test_image_score_is_the_noisy_or_of_its_rows(seed: int) -> None:
    p = _cached(seed)
    rows = p.disagreements("m")
    img = p.disagreements("m", per="image").set_index("media_id")
    for mid, grp in rows.groupby("media_id"):
        s = grp["score"].to_numpy()
        assert img.loc[mid, "score"] == pytest.approx(1 - np.prod(1 - s))
        assert img.loc[mid, "score"] >= s.max() - 1e-12
        for k in KINDS:
            assert img.loc[mid, f"n_{k}"] == (grp["kind"] == k).sum()
    clean = img[~img.index.isin(rows["media_id"])]
    assert (clean["score"] == 0).all()
