"""Media and instance slices: every filter on a hand-built project with exact expected ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import nblabel as nl
from nblabel.errors import NblabelError, SchemaError, ValidationError

SIZES = [(100, 80), (120, 90), (640, 480), (100, 80), (300, 200), (50, 50)]
META = pd.DataFrame({
    "camera": ["front", "back", "front", "side", "front", "back"],
    "iso": [100, 800, 1600, 200, 400, None],
    "night": [False, True, True, False, False, True],
    "odd key/with~chars": ["x", "y", "x", "y", "x", "y"],
})


@pytest.fixture
def sp(tmp_path: Path) -> nl.Project:
    """Six images (ids 1..6) with metadata; GT, attributes, a run with scores, statuses."""
    d = tmp_path / "imgs"
    d.mkdir()
    paths = []
    for i, (w, h) in enumerate(SIZES):
        path = d / f"img{i + 1}.png"
        Image.fromarray(np.full((h, w, 3), i * 20, np.uint8)).save(path)
        paths.append(str(path))
    p = nl.open(tmp_path / "s.duckdb", author="t")
    p.add_images(pd.concat([pd.DataFrame({"path": paths}), META], axis=1))
    p.schema.add_label("car", spatial=["box", "polygon"])
    p.schema.add_label("person")
    p.schema.add_label("dog")
    p.schema.add_attribute("color", kind="select", options=["red", "blue"], labels=["car"])
    p.schema.add_attribute("tags", kind="multiselect", options=["x", "y", "z"])
    p.schema.add_attribute("conf", kind="number", min=0, max=10)
    gt = pd.DataFrame([
        # media, label, box, attributes
        (1, "car", [1, 1, 11, 11], {"color": "red", "tags": ["x"]}),          # id 1, area 100
        (1, "person", [20, 20, 40, 60], {"conf": 3}),                         # id 2, area 800
        (2, "car", [5, 5, 55, 55], {"color": "blue", "tags": ["x", "y"]}),    # id 3, area 2500
        (3, "car", [0, 0, 200, 100], {"color": "red"}),                       # id 4, area 20000
        (3, "car", [300, 300, 310, 305], None),                                # id 5, area 50
        (3, "dog", [10, 10, 30, 30], {"tags": ["z"], "conf": 7}),             # id 6, area 400
        (5, "person", [0, 0, 30, 30], None),                                   # id 7, area 900
    ], columns=["media_id", "label", "box", "attributes"])
    p.add_instances(gt)
    p.add_instance(4, "car", polygon=[[0, 0], [20, 0], [20, 20]])            # id 8 (polygon)
    p.add_run("m")
    pred = pd.DataFrame({
        "media_id": [1, 1, 2, 4, 6], "label": ["car", "dog", "car", "person", "dog"],
        "x0": [1, 50, 5, 0, 0], "y0": [1, 50, 5, 0, 0], "x1": [11, 60, 55, 10, 10], "y1": [11, 60, 55, 10, 10],
        "score": [0.95, 0.3, 0.6, 0.85, 0.1],
    })  # ids 9..13
    p.run("m").add_predictions(pred)
    p.complete([1, 2, 3])
    p.skip(4, "blurry")
    p.set_status(5, "in_progress")
    p.set_status(2, "complete", stage="review")
    return p


def test_labels_any_all_none(sp: nl.Project) -> None:
    m = sp.media()
    assert m.labels("car").ids() == [1, 2, 3, 4]
    assert m.labels(["person", "dog"]).ids() == [1, 3, 5]
    assert m.labels(["car", "person"], how="all").ids() == [1]
    assert m.labels(["car", "dog"], how="all").ids() == [3]
    assert m.labels("car", how="none").ids() == [5, 6]
    with pytest.raises(ValidationError, match="how"):
        m.labels("car", how="most")
    with pytest.raises(SchemaError, match="did you mean 'car'"):
        m.labels("cra")


def test_attribute_values(sp: nl.Project) -> None:
    m = sp.media()
    assert m.attribute("color", "red").ids() == [1, 3]
    assert m.attribute("color", ["red", "blue"]).ids() == [1, 2, 3]
    assert m.attribute("tags", "y").ids() == [2]   # multi-select: contains
    assert m.attribute("tags", ["y", "z"]).ids() == [2, 3]
    assert m.attribute("conf", 7).ids() == [3]
    assert m.attribute("color", "red", label="car").ids() == [1, 3]
    i = sp.instances()
    assert i.attribute("color", "red").ids() == [1, 4]
    assert i.attribute("tags", "x").ids() == [1, 3]
    assert i.attribute("conf", [3, 7]).ids() == [2, 6]
    with pytest.raises(SchemaError):
        m.attribute("colour", "red")


def test_counts_runs_scores(sp: nl.Project) -> None:
    m = sp.media()
    assert m.count_between(min=2).ids() == [1, 3]
    assert m.count_between(max=0).ids() == [6]
    assert m.count_between("car", min=1, max=1).ids() == [1, 2, 4]
    assert m.count_between("car", min=2).ids() == [3]
    assert m.count_between(min=2, run="m").ids() == [1]
    assert m.has_predictions("m").ids() == [1, 2, 4, 6]
    assert m.has_predictions("m", min_score=0.8).ids() == [1, 4]
    assert m.has_predictions(sp.run("m"), min_score=0.2, max_score=0.7).ids() == [1, 2]
    assert m.has_predictions("m", label="dog").ids() == [1, 6]
    assert m.no_predictions("m").ids() == [3, 5]
    assert m.score_between("m", 0.5, 0.9).ids() == [2, 4]           # max score per image
    assert m.score_between("m", min=0.6, agg="mean").ids() == [1, 2, 4]
    with pytest.raises(ValidationError):
        m.score_between("m", 0.1, agg="median")


def test_status_stage_size_ids(sp: nl.Project) -> None:
    m = sp.media()
    assert m.status("complete").ids() == [1, 2, 3]
    assert m.status("new").ids() == [6]
    assert m.status(["skipped", "in_progress"]).ids() == [4, 5]
    assert m.status("complete", stage="review").ids() == [2]
    assert m.stage("review").ids() == [1, 3, 4, 5, 6]  # no dataset named 'review': every not-done item
    sp.media().ids_in([1, 2, 3]).save("review")
    assert m.stage("review").ids() == [1, 3]
    assert m.image_size(min_width=120).ids() == [2, 3, 5]
    assert m.image_size(max_height=80, min_width=60).ids() == [1, 4]
    assert m.image_size(min_pixels=60_001).ids() == [3]
    assert m.ids_in([6, 2, 99]).ids() == [2, 6]


def test_meta_filters(sp: nl.Project) -> None:
    m = sp.media()
    assert m.meta("camera", "front").ids() == [1, 3, 5]
    assert m.meta("camera", ["back", "side"]).ids() == [2, 4, 6]
    assert m.meta("night", True).ids() == [2, 3, 6]
    assert m.meta("odd key/with~chars", "y").ids() == [2, 4, 6]
    assert m.meta_where("iso", ">=", 400).ids() == [2, 3, 5]
    assert m.meta_where("iso", "<", 400).ids() == [1, 4]
    assert m.meta_where("iso", "is null").ids() == [6]
    assert m.meta_where("iso", "in", [100, 1600]).ids() == [1, 3]
    assert m.meta_where("camera", "not in", ["front"]).ids() == [2, 4, 6]
    assert m.meta_where("camera", "!=", "front").ids() == [2, 4, 6]
    assert m.meta_where("camera", "like", "%ro%").ids() == [1, 3, 5]
    assert m.meta_where("camera", "contains", "ac").ids() == [2, 6]
    assert m.meta_where("nope", "is not null").ids() == []
    with pytest.raises(ValidationError, match="operator"):
        m.meta_where("iso", "~=", 3)


def test_injection_through_values_and_keys_does_nothing(sp: nl.Project) -> None:
    m = sp.media()
    evil = "front' OR 1=1; DROP TABLE media; --"
    assert m.meta("camera", evil).ids() == []
    assert m.meta(evil, "front").ids() == []
    assert m.meta_where("camera') OR true OR ('", "=", "x").ids() == []
    assert m.meta_where('camera" OR 1=1 --', "is not null").ids() == []
    assert m.attribute("color", evil).ids() == []
    assert m.has_predictions("m' OR '1'='1").ids() == []
    assert sp.media().count() == 6  # the table is still there
    sql, params = m.meta("camera", evil).sql()
    assert evil not in sql
    assert evil in params


def test_instance_filters(sp: nl.Project) -> None:
    i = sp.instances()
    assert i.ids() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert i.labels("car").ids() == [1, 3, 4, 5, 8]
    assert i.labels("car", exclude=True).ids() == [2, 6, 7]
    assert i.kind("polygon").ids() == [8]
    assert i.area(min=500, max=3000).ids() == [2, 3, 7]
    assert i.area(max=100).ids() == [1, 5]
    assert i.box_size(min_width=50).ids() == [3, 4]
    assert i.in_media(sp.media().meta("camera", "front")).ids() == [1, 2, 4, 5, 6, 7]
    r = sp.instances(run="m")
    assert r.ids() == [9, 10, 11, 12, 13]
    assert r.score(0.5).ids() == [9, 11, 12]
    assert r.score(0.2, 0.7).ids() == [10, 11]
    assert i.run("m").labels("dog").ids() == [10, 13]
    assert i.run("*").labels("dog").ids() == [6, 10, 13]
    assert r.run(None).labels("dog").ids() == [6]
    assert sp.media().meta("camera", "back").instances("m").ids() == [11, 13]
    assert r.score(0.8).media().ids() == [1, 4]
    g = r.group_by_media(2, by="max_score")
    assert g["media_id"].tolist() == [1, 4]
    assert g["n"].tolist() == [2, 1]


def test_sort_head_sample(sp: nl.Project) -> None:
    r = sp.instances(run="m")
    assert r.sort_by("score", descending=True).head(3).ids() == [9, 12, 11]
    a = sp.media().sample(3, seed=7).ids()
    assert a == sp.media().sample(3, seed=7).ids()
    assert len(set(a)) == 3
    seeds = {tuple(sp.media().sample(3, seed=s).ids()) for s in range(8)}
    assert len(seeds) > 1
    df = sp.media().meta("camera", "front").sort_by("width", descending=True).df()
    assert df["media_id"].tolist() == [3, 5, 1]
    assert sp.media().arrow().num_rows == 6


def test_save_static_dataset(sp: nl.Project) -> None:
    assert sp.media().meta("camera", "front").save("front") == 3
    sp.add_images([np.zeros((10, 10, 3), np.uint8)])  # media 7 arrives later; static: not a member
    with sp.store.transaction() as con:
        con.execute("UPDATE media SET meta = '{\"camera\": \"front\"}' WHERE media_id = 7")
    assert sp.dataset("front").ids() == [1, 3, 5]
    assert sp.media().in_dataset("front").ids() == [1, 3, 5]
    assert sp.media().not_in_dataset("front").ids() == [2, 4, 6, 7]
    with pytest.raises(ValidationError, match="exists already"):
        sp.media().save("front")
    assert sp.media().ids_in([2]).save("front", overwrite=True) == 1
    assert sp.dataset("front").ids() == [2]
    with pytest.raises(NblabelError, match="did you mean 'front'"):
        sp.dataset("fornt")


def test_define_dynamic_dataset(sp: nl.Project) -> None:
    sp.define_dataset("bright", rule=sp.media().meta_where("iso", "<=", 400).image_size(max_width=200))
    assert sp.dataset("bright").ids() == [1, 4]
    rule = sp.datasets().set_index("name").loc["bright", "rule"]
    assert json.loads(rule)["steps"] == [["meta_where", ["iso", "<=", 400], {}], ["image_size", [], {"max_width": 200}]]
    assert "SELECT" not in rule.upper() and "?" not in rule  # stored as method calls, not SQL
    sp.add_images(pd.DataFrame({"path": [str(_png(sp, 7, 150, 100))], "iso": [50]}))
    assert sp.dataset("bright").ids() == [1, 4, 7]  # re-evaluated on read
    sp.define_dataset("cars", rule=sp.instances().labels("car"))
    assert sp.dataset("cars").ids() == [1, 3, 4, 5, 8]
    assert sp.media().in_dataset(["bright"]).labels("car").ids() == [1, 4]
    sp.delete_dataset("bright")
    assert "bright" not in sp.datasets()["name"].tolist()
    with pytest.raises(ValidationError, match="slice"):
        sp.define_dataset("bad", rule="SELECT 1")  # type: ignore[arg-type]


def _png(p: nl.Project, i: int, w: int, h: int) -> Path:
    assert p.path is not None
    path = p.path.parent / f"extra{i}.png"
    Image.fromarray(np.full((h, w, 3), 255 - i, np.uint8)).save(path)
    return path
