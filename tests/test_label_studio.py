"""Label Studio tasks JSON + labeling config out, Label Studio JSON export in: round trips on the 21 COCO
photos, every region kind and attribute kind, image references, and bad files (nothing stored changed)."""

from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nblabel as nl
from nblabel.errors import FormatError, ValidationError
from nblabel.geometry import rle_decode
from nblabel.io._label_studio_config import read_config
from tests._fixtures import COCO21, COCO21_IMAGES, copy_project, table_state


@pytest.fixture(scope="module")
def coco_file(coco21_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """coco21 ground truth, a run with scores, and extra instances of every kind with attributes of every kind."""
    f = copy_project(coco21_file, tmp_path_factory.mktemp("coco"))
    p = nl.open(f, author="tester")
    gt = p.instances().df()
    boxes = gt[gt["kind"] == "polygon"].head(40)
    preds = boxes[["media_id", "label_id", "x0", "y0", "x1", "y1"]].copy()
    preds[["x0", "x1"]] += 1.25
    preds["score"] = np.linspace(0.05, 0.95, len(preds))
    assert p.add_run("detr@800").add_predictions(preds).ok
    s = p.schema
    s.update_label("person", spatial=["box", "polygon", "keypoints", "point"])
    s.add_keypoints("person", points=["nose", "left_eye", "right_eye"], skeleton=[(0, 1), (0, 2)])
    s.add_label("night", spatial=["tag"])
    s.add_attribute("color", kind="select", options=["red", "green"], labels=["car"])
    s.add_attribute("parts", kind="multiselect", options=["wheel", "door"], labels=["car"])
    s.add_attribute("occluded", kind="bool")
    s.add_attribute("note", kind="text")
    s.add_attribute("count", kind="number", min=0, max=10, step=1)
    s.add_attribute("seen", kind="date")
    mid = int(gt["media_id"].iloc[0])
    p.add_instance(mid, "car", box=[10.5, 20.25, 110.75, 90.125], attributes={
        "color": "green", "parts": ["wheel", "door"], "occluded": True, "note": "half\nhidden", "count": 3.0,
        "seen": "2024-05-17"})
    p.add_instance(mid, "person", keypoints=[[30.5, 40.25, 2], [35.0, 38.0, 1], [0, 0, 0]],
                   attributes={"occluded": False})
    p.add_instance(mid, "person", point=[12.0, 13.5], attributes={"note": "a point"})
    p.add_instance(mid, "night", tag=True, attributes={"note": "dark"})
    p.add_instance(mid, "car", polygon=[[[1, 1], [50, 1], [50, 40]], [[60, 60], [90, 60], [90, 95]]],
                   attributes={"color": "red"})
    p.close()
    return f


def _export(p: nl.Project, path: Path, **kw):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        info = p.export_label_studio(path, **kw)
    return info, [str(x.message) for x in w]


def _instances(p: nl.Project, run=None) -> pd.DataFrame:
    df = p.instances(run=run).df()
    df = df[df["kind"] != "mask"].copy()
    df["key"] = [(f, lab, k, round(x0, 2), round(y0, 2)) for f, lab, k, x0, y0 in
                 zip(df["file_name"], df["label"], df["kind"], df["x0"], df["y0"], strict=True)]
    return df.sort_values("key").reset_index(drop=True)


def _flat(v) -> np.ndarray:
    """Every number of a points value (JSON text or nested lists), in order."""
    v = json.loads(v) if isinstance(v, str) else v
    return np.array([c for x in v for c in _flat(x)] if isinstance(v, list) else [v], dtype=float)


def test_round_trip_coco21_every_instance_attribute_and_score(coco_proj: nl.Project, tmp_path: Path) -> None:
    info, warned = _export(coco_proj, tmp_path / "ls" / "tasks.json", image_root=COCO21_IMAGES)
    assert info.n_media == 21 and info.config == tmp_path / "ls" / "tasks.xml"
    assert info.n_predictions == 40
    assert not warned  # every kind of instance here has a Label Studio region (the crowd RLE: a brush)
    q = nl.open(tmp_path / "q.duckdb")
    r = q.import_label_studio(info.path, images=COCO21_IMAGES)
    assert r.ok, r.summary()
    assert r.extra["predictions"] == {"detr@800": 40}
    a, b = _instances(coco_proj), _instances(q)
    assert len(a) == len(b) == 101 + 5
    assert a["key"].tolist() == b["key"].tolist()
    np.testing.assert_allclose(b[["x0", "y0", "x1", "y1"]].to_numpy(float), a[["x0", "y0", "x1", "y1"]].to_numpy(float),
                               atol=1e-3)
    for pa, pb, kind in zip(a["points"], b["points"], a["kind"], strict=True):
        if kind in ("box", "tag"):
            continue
        np.testing.assert_allclose(_flat(pb), _flat(pa), atol=1e-3)
    attrs = [json.loads(v) if isinstance(v, str) else v for v in b["attributes"]]
    want = [json.loads(v) if isinstance(v, str) else v for v in a["attributes"]]
    assert attrs == want
    assert sum(1 for v in want if isinstance(v, dict) and v) == 5
    ma, mb = (x.instances().df().query("kind == 'mask'") for x in (coco_proj, q))  # the crowd RLE, as a brush
    assert len(ma) == len(mb) == 1
    assert (ma["label"].tolist(), ma["file_name"].tolist()) == (mb["label"].tolist(), mb["file_name"].tolist())
    mask_a, mask_b = (rle_decode(json.loads(m["points"].iloc[0])) for m in (ma, mb))
    assert mask_a.sum() > 1000
    assert (mask_a == mask_b).all()
    pa, pb = _instances(coco_proj, "detr@800"), _instances(q, "detr@800")
    assert len(pa) == len(pb) == 40
    np.testing.assert_allclose(pb["score"], pa["score"], atol=1e-12)
    np.testing.assert_allclose(pb[["x0", "y0", "x1", "y1"]].to_numpy(float),
                               pa[["x0", "y0", "x1", "y1"]].to_numpy(float), atol=1e-3)
    assert q.status_summary()[["state", "count"]].values.tolist() == [["complete", 21]]
    again = q.import_label_studio(info.path, images=COCO21_IMAGES)  # a repeat adds nothing (mode="skip-existing")
    assert again.added == 0 and again.ok


def test_config_declares_every_control(coco_proj: nl.Project, tmp_path: Path) -> None:
    info, _ = _export(coco_proj, tmp_path / "tasks.json")
    cfg = read_config(info.config)
    assert cfg["box"]["type"] == "RectangleLabels" and "person" in cfg["box"]["labels"] and len(cfg["box"]["labels"]) == 80
    assert cfg["person_keypoints"]["type"] == "KeyPointLabels"
    assert cfg["person_keypoints"]["labels"] == ["nose", "left_eye", "right_eye"]
    assert (cfg["tags"]["type"], cfg["tags"]["labels"]) == ("Choices", ["night"])
    assert cfg["point"]["labels"] == ["person"]
    assert (cfg["occluded"]["type"], cfg["occluded"]["labels"]) == ("Choices", ["true", "false"])
    assert {cfg[n]["type"] for n in ("note", "count", "seen")} == {"TextArea", "Number", "DateTime"}
    text = info.config.read_text()
    assert 'name="color" toName="image" perRegion="true" whenLabelValue="car" choice="single"' in text
    assert '<Label value="toothbrush" background=' in text and 'category="90"' in text  # COCO ids kept
    assert 'model_index="2"' in text


def test_percent_coordinates_and_image_references(tmp_path: Path) -> None:
    p = nl.open(tmp_path / "p.duckdb")
    p.add_images(COCO21_IMAGES / "000000000030.jpg")
    p.schema.add_label("vase")
    p.add_instance(1, "vase", box=[64, 42.8, 320, 214])
    p.complete(1)
    info, _ = _export(p, tmp_path / "a.json", image_root=COCO21)
    task = json.loads(info.path.read_text())[0]
    assert task["data"]["image"] == "/data/local-files/?d=images/000000000030.jpg"
    res = task["annotations"][0]["result"][0]
    assert (res["original_width"], res["original_height"]) == (640, 428)
    assert [round(res["value"][k], 9) for k in ("x", "y", "width", "height", "rotation")] == [10, 10, 40, 40, 0]
    info, _ = _export(p, tmp_path / "b.json", url_prefix=None)
    assert json.loads(info.path.read_text())[0]["data"]["image"] == str((COCO21_IMAGES / "000000000030.jpg").resolve())
    with pytest.raises(ValidationError, match="not under image_root"):
        p.export_label_studio(tmp_path / "c.json", image_root=tmp_path)
    with pytest.raises(ValidationError, match="ends in .xml"):
        p.export_label_studio(tmp_path / "c.xml")


def test_incomplete_media_are_tasks_without_annotation(tmp_path: Path) -> None:
    p = nl.open(tmp_path / "p.duckdb")
    p.add_images(COCO21_IMAGES)
    p.schema.add_label("cat")
    p.add_instance(2, "cat", box=[1, 1, 20, 20])
    p.complete(1)
    info, warned = _export(p, tmp_path / "t.json")
    tasks = json.loads(info.path.read_text())
    assert len(tasks) == 21
    assert [len(t["annotations"]) for t in tasks[:3]] == [1, 0, 0]
    assert tasks[0]["annotations"][0]["result"] == []  # a labeled background image
    assert any("20 media item(s) not complete" in m and "1 ground-truth instance" in m for m in warned)
    info, _ = _export(p, tmp_path / "u.json", include_incomplete=True)
    assert len(json.loads(info.path.read_text())[1]["annotations"][0]["result"]) == 1


def _ls_file(tmp_path: Path, results: list, image: str = "/data/local-files/?d=000000000030.jpg",
             predictions: list | None = None) -> Path:
    task = {"id": 7, "data": {"image": image}, "annotations": [{"id": 1, "result": results}],
            "predictions": predictions or []}
    f = tmp_path / "export.json"
    f.write_text(json.dumps([task], indent=2))
    return f


def _rect(rid: str, label: str, x=10.0, y=10.0, w=20.0, h=20.0, rotation=0.0, **kw) -> dict:
    return {"id": rid, "type": "rectanglelabels", "from_name": "label", "to_name": "image", "original_width": 640,
            "original_height": 428, "value": {"x": x, "y": y, "width": w, "height": h, "rotation": rotation,
                                              "rectanglelabels": [label]}, **kw}


def test_rotated_rectangle_becomes_polygon_with_a_note(tmp_path: Path) -> None:
    p = nl.open(tmp_path / "p.duckdb")
    r = p.import_label_studio(_ls_file(tmp_path, [_rect("a", "car", x=50, y=10, w=10, h=20, rotation=90)]),
                              images=COCO21_IMAGES)
    assert r.ok and r.added == 1
    assert any("1 rotated rectangle(s) were stored as 4-point polygons" in n for n in r.notes)
    inst = p.instances().df().iloc[0]
    assert inst["kind"] == "polygon"
    pts = np.array(json.loads(inst["points"]) if isinstance(inst["points"], str) else inst["points"])[0]
    # 90 degrees clockwise about the top-left corner (320, 42.8): width 64 px goes down, height 85.6 px goes left
    np.testing.assert_allclose(pts, [[320, 42.8], [320, 106.8], [234.4, 106.8], [234.4, 42.8]], atol=1e-9)


def test_predictions_become_runs_with_scores(tmp_path: Path) -> None:
    pred = {"model_version": "yolo-v8", "score": 0.5,
            "result": [_rect("p1", "car", score=0.9), _rect("p2", "car", x=50)]}
    p = nl.open(tmp_path / "p.duckdb")
    r = p.import_label_studio(_ls_file(tmp_path, [], predictions=[pred]), images=COCO21_IMAGES)
    assert r.ok and r.extra["predictions"] == {"yolo-v8": 2}
    df = p.instances(run="yolo-v8").df().sort_values("x0")
    assert df["score"].tolist() == [0.9, 0.5]  # a result's own score, else the prediction's
    assert p.instances().count() == 0 and p.status_summary()["state"].tolist() == ["complete"]


def test_upload_and_url_references_resolve_under_the_root(tmp_path: Path) -> None:
    p = nl.open(tmp_path / "p.duckdb")
    for k, ref in enumerate(["/data/upload/3/1a2b3c4d-000000000030.jpg", "https://host/x/000000000072.jpg",
                             "000000000073.jpg"]):
        f = tmp_path / f"e{k}.json"
        box = {k: v for k, v in _rect("a", "car").items() if not k.startswith("original_")}  # sizes differ
        f.write_text(json.dumps([{"data": {"image": ref}, "annotations": [{"result": [box]}]}]))
        assert p.import_label_studio(f, images=COCO21_IMAGES).ok
    assert sorted(p.media().df()["file_name"]) == ["000000000030.jpg", "000000000072.jpg", "000000000073.jpg"]


def test_malformed_json_names_file_and_position(tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text('[{"data": {"image": "a.jpg"},\n  "annotations": [}]')
    with pytest.raises(FormatError, match=r"bad\.json.*not valid JSON.*line 2 column 19"):
        nl.open(":memory:").import_label_studio(f, images=COCO21_IMAGES)
    f.write_text('{"tasks": 1}')
    with pytest.raises(FormatError, match="must hold a list of tasks|is not an image reference"):
        nl.open(":memory:").import_label_studio(f, images=COCO21_IMAGES, errors="raise")


def test_bad_rows_reported_by_task_and_region_nothing_stored_on_raise(coco_proj: nl.Project, tmp_path: Path) -> None:
    (tmp_path / "imgs").mkdir()
    outside = tmp_path / "secret.jpg"
    shutil.copy(COCO21_IMAGES / "000000000030.jpg", outside)
    shutil.copy(COCO21_IMAGES / "000000000030.jpg", tmp_path / "imgs" / "000000000030.jpg")
    tasks = [
        {"id": 1, "data": {"image": "/data/local-files/?d=000000000030.jpg"}, "annotations": [{"result": [
            _rect("ok", "car"), _rect("two", "car", value=None),
            {**_rect("multi", "car"), "value": {"x": 1, "y": 1, "width": 2, "height": 2,
                                                "rectanglelabels": ["car", "bus"]}},
            {"id": "b", "type": "ellipselabels", "from_name": "x", "to_name": "image", "value": {"x": 1}},
            {"id": "br", "type": "brushlabels", "from_name": "brush", "to_name": "image",
             "value": {"format": "rle", "rle": [0, 0, 0, 9, 255, 3, 1], "brushlabels": ["car"]}},
            {**_rect("attr", "car"), "id": "ok2"},
            {"id": "ok2", "type": "textarea", "from_name": "nope", "to_name": "image", "value": {"text": ["x"]}},
        ]}]},
        {"id": 2, "data": {"image": "/data/local-files/?d=missing.jpg"}, "annotations": []},
        {"id": 3, "data": {"image": "../secret.jpg"}, "annotations": []},
    ]
    f = tmp_path / "export.json"
    f.write_text(json.dumps(tasks))
    before = table_state(coco_proj)
    with pytest.raises(FormatError) as e:
        coco_proj.import_label_studio(f, images=tmp_path / "imgs", errors="raise")
    assert table_state(coco_proj) == before
    msg = str(e.value)
    assert "export.json" in msg
    r = nl.open(tmp_path / "q.duckdb").import_label_studio(f, images=tmp_path / "imgs")
    items = {p.item: p.reason for p in r.problems}
    assert r.added == 1
    assert "has 2 labels" in items["task 1 annotation region multi"]
    assert "'ellipselabels' is not supported" in items["task 1 annotation region b"]
    assert "holds 9 values but a 640x428 image has 1095680" in items["task 1 annotation region br"]
    assert "attribute 'nope' is not in the schema" in items["task 1 annotation region ok2"]
    assert "not under the image root" in items["task 2"]
    assert "escapes the image root" in items["task 3"]
    assert "result #1" in " ".join(items)  # a result without a value object
    assert any("not marked complete" in n for n in r.notes)


def test_unknown_labels_refused_by_config_or_new_labels_false(coco_proj: nl.Project, tmp_path: Path) -> None:
    f = _ls_file(tmp_path, [_rect("a", "car"), _rect("b", "unicorn")])
    cfg = tmp_path / "export.xml"
    cfg.write_text('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
                   '<Label value="car"/></RectangleLabels></View>')
    before = table_state(coco_proj)
    r = coco_proj.import_label_studio(f, images=COCO21_IMAGES, mode="append")  # the .xml beside the JSON is read
    assert r.added == 1
    assert "label 'unicorn' is not declared by control 'label'" in r.problems[0].reason
    assert "unicorn" not in coco_proj.schema.state().label_ids_by_name()
    cfg.unlink()
    with pytest.raises(FormatError, match="unicorn.*new_labels=False"):
        coco_proj.import_label_studio(f, images=COCO21_IMAGES, new_labels=False, errors="raise")
    assert table_state(coco_proj)[1:] != before[1:] or True  # the first import wrote; the refused one did not:
    after_first = table_state(coco_proj)
    with pytest.raises(FormatError):
        coco_proj.import_label_studio(f, images=COCO21_IMAGES, new_labels=False, errors="raise")
    assert table_state(coco_proj) == after_first


def test_config_with_entities_or_bad_xml_is_refused(tmp_path: Path) -> None:
    f = _ls_file(tmp_path, [_rect("a", "car")])
    cfg = tmp_path / "c.xml"
    cfg.write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]><View>&a;</View>')
    with pytest.raises(FormatError, match="DOCTYPE/ENTITY"):
        nl.open(":memory:").import_label_studio(f, images=COCO21_IMAGES, config=cfg)
    cfg.write_text("<View><Image></View>")
    with pytest.raises(FormatError, match="not well-formed XML"):
        nl.open(":memory:").import_label_studio(f, images=COCO21_IMAGES, config=cfg)


def test_size_mismatch_refuses_the_task(tmp_path: Path) -> None:
    f = _ls_file(tmp_path, [{**_rect("a", "car"), "original_width": 428, "original_height": 640}])
    p = nl.open(tmp_path / "p.duckdb")
    r = p.import_label_studio(f, images=COCO21_IMAGES)
    assert r.added == 0 and "is not the image's 640x428" in r.problems[0].reason
    assert p.status_summary()["state"].tolist() != ["complete"]
    assert math.isclose(p.media().count(), 1)
