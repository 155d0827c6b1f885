"""YOLO (detect / segment / pose) and Pascal VOC round trips and malformed inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

import nblabel as nl
from nblabel.errors import FormatError
from tests._fixtures import COCO21, table_state


def _boxes(p: nl.Project) -> np.ndarray:
    """Current GT boxes as rows (file_name, label, x0, y0, x1, y1), sorted."""
    with p.store.read() as con:
        df = con.execute("SELECT m.file_name, l.name, i.x0, i.y0, i.x1, i.y1 FROM current_instances i "
                         "JOIN media m USING (media_id) JOIN labels l USING (label_id) WHERE i.run_id IS NULL").df()
    return df.sort_values(["file_name", "name", "x0", "y0", "x1"]).reset_index(drop=True)


def test_yolo_detect_round_trip_coco21(coco_proj: nl.Project, tmp_path: Path) -> None:
    out = coco_proj.export_yolo(tmp_path / "yolo", copy_images=True)
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["nc"] == 80
    assert data["names"][0] == "person"
    assert len(list((out / "labels").glob("*.txt"))) == 21
    assert len(list((out / "images").glob("*.jpg"))) == 21
    q = nl.open(tmp_path / "q.duckdb")
    r = q.import_yolo(out / "labels", images=out / "images", names=out / "data.yaml")
    assert r.ok, r.summary()
    assert r.added == 102
    assert q.media().count() == 21
    a, b = _boxes(coco_proj), _boxes(q)
    assert list(a["name"]) == list(b["name"])
    cols = ["x0", "y0", "x1", "y1"]
    assert np.abs(a[cols].to_numpy() - b[cols].to_numpy()).max() < 1e-3


@pytest.fixture
def gen(tmp_path: Path) -> tuple[nl.Project, Path]:
    """A project over generated images with polygons, boxes and keypoints (one image left incomplete)."""
    root = tmp_path / "imgs"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(3)
    for name, (w, h) in {"a.png": (120, 80), "b.png": (90, 140), "sub/c.png": (64, 64), "d.png": (50, 50)}.items():
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(root / name)
    p = nl.open(tmp_path / "gen.duckdb")
    p.add_images(root)
    p.schema.add_label("car", spatial=["box", "polygon"])
    p.schema.add_keypoints("person", points=["head", "l_hand", "r_hand"], skeleton=[(0, 1), (0, 2)])
    p.add_instance("a.png", "car", polygon=[[10.25, 5.5], [60.125, 7.75], [40.3, 50.9]])
    p.add_instance("a.png", "car", box=[3.3, 4.4, 100.1, 70.7])
    p.add_instance("b.png", "car", polygon=[[1, 1], [80, 2], [85, 130], [5, 120]])
    p.add_instance("b.png", "person", keypoints=[[20.5, 30.25, 2], [0, 0, 0], [40.75, 60.5, 1]],
                   box=[10, 20, 50, 70])
    p.add_instance("sub/c.png", "person", keypoints=[[5, 6, 2], [7, 8, 2], [30.5, 31.5, 2]], box=[1, 2, 40, 50])
    p.complete(["a.png", "b.png", "sub/c.png"])
    return p, root


def test_yolo_segment_round_trip(gen: tuple[nl.Project, Path], tmp_path: Path) -> None:
    p, root = gen
    with pytest.warns(UserWarning, match="1 media item"):
        out = p.export_yolo(tmp_path / "seg", task="segment")
    assert not (out / "labels" / "d.txt").exists()  # incomplete: left out
    assert (out / "labels" / "sub" / "c.txt").read_text() == ""  # complete, no polygons: background
    q = nl.open(tmp_path / "q.duckdb")
    r = q.import_yolo(out / "labels", images=root, names=out / "data.yaml", task="segment")
    assert r.ok, r.summary()
    assert r.added == 3  # two polygons and the box (written as a rectangle)
    assert q.status("d.png")["state"] == "complete"  # no label file: a background image
    src = sorted(json.loads(v) for v in p.instances().df().query("kind == 'polygon'")["points"])
    got = sorted(json.loads(v) for v in q.instances().df()["points"])
    got = [g for g in got if len(g[0]) != 4 or g[0][0] != [3.3, 4.4]]
    flat = [np.asarray(ring) for g in got for ring in g]
    for s in src:
        ring = np.asarray(s[0])
        assert any(f.shape == ring.shape and np.abs(f - ring).max() < 1e-3 for f in flat)


def test_yolo_pose_round_trip(gen: tuple[nl.Project, Path], tmp_path: Path) -> None:
    p, root = gen
    with pytest.warns(UserWarning, match="left out"):
        out = p.export_yolo(tmp_path / "pose", task="pose")
    assert yaml.safe_load((out / "data.yaml").read_text())["kpt_shape"] == [3, 3]
    q = nl.open(tmp_path / "q.duckdb")
    r = q.import_yolo(out / "labels", images=root, names=out / "data.yaml", task="pose")
    assert r.ok, r.summary()
    assert r.added == 2
    a = p.instances().df().query("kind == 'keypoints'").sort_values("x0")
    b = q.instances().df().sort_values("x0")
    for pa, pb in zip(a["points"], b["points"], strict=True):
        assert np.abs(np.asarray(json.loads(pa)) - np.asarray(json.loads(pb))).max() < 1e-3
    cols = ["x0", "y0", "x1", "y1"]
    assert np.abs(a[cols].to_numpy() - b[cols].to_numpy()).max() < 1e-3


def _yolo_tree(tmp_path: Path, lines: dict[str, str]) -> tuple[Path, Path]:
    imgs, labels = tmp_path / "y" / "images", tmp_path / "y" / "labels"
    imgs.mkdir(parents=True)
    labels.mkdir(parents=True)
    for i, name in enumerate(("a", "b", "c")):
        Image.new("RGB", (100, 50), (80 * i, 0, 0)).save(imgs / f"{name}.jpg")
    for name, text in lines.items():
        (labels / f"{name}.txt").write_text(text)
    return labels, imgs


@pytest.mark.parametrize(("line", "reason"), [
    ("0 0.5 0.5 0.2", "has 4 values"),
    ("5 0.5 0.5 0.2 0.2", "class 5 is out of range"),
    ("0 nan 0.5 0.2 0.2", "not a finite number"),
    ("0 0.5 0.5 0.2 x", "not a finite number"),
    ("0 50 25 20 10", "outside [0, 1]"),
    ("0 0.5 0.5 -0.2 0.2", "not positive"),
])
def test_yolo_bad_line_reported_good_lines_in(tmp_path: Path, line: str, reason: str) -> None:
    labels, imgs = _yolo_tree(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n1 0.25 0.25 0.1 0.1\n",
                                         "b": f"1 0.5 0.5 0.5 0.5\n{line}\n"})
    p = nl.open(tmp_path / "p.duckdb")
    r = p.import_yolo(labels, images=imgs, names=["car", "person"])
    assert r.added == 3
    assert [pr.item for pr in r.problems] == ["b.txt:2"]
    assert reason in r.problems[0].reason
    assert p.status("a.jpg")["state"] == "complete"
    assert p.status("b.jpg")["state"] == "new"  # its refused line means it is not fully labeled
    assert p.status("c.jpg")["state"] == "complete"  # no label file: background
    q = nl.open(tmp_path / "q.duckdb")
    before = table_state(q)
    with pytest.raises(FormatError, match=r"b\.txt:2"):
        q.import_yolo(labels, images=imgs, names=["car", "person"], errors="raise")
    assert table_state(q) == before


def test_yolo_label_without_image_and_bad_names(tmp_path: Path) -> None:
    labels, imgs = _yolo_tree(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n", "zzz": "0 0.5 0.5 0.2 0.2\n"})
    r = nl.open(":memory:").import_yolo(labels, images=imgs, names=["car"])
    assert r.added == 1
    assert r.problems[0].item == "zzz.txt"
    with pytest.raises(FormatError, match="unique"):
        nl.open(":memory:").import_yolo(labels, images=imgs, names=["car", "car"])
    with pytest.raises(FormatError, match="kpt_shape"):
        nl.open(":memory:").import_yolo(labels, images=imgs, names=["car"], task="pose")


def test_voc_round_trip_coco21(coco_proj: nl.Project, tmp_path: Path) -> None:
    with coco_proj.store.transaction() as con:  # difficult/truncated/pose travel in extra
        con.execute("UPDATE instances SET extra = json_merge_patch(extra, '{\"difficult\": 1, \"pose\": \"Left\"}') "
                    "WHERE instance_id = 1")
    with pytest.warns(UserWarning, match="written as their boxes"):
        out = coco_proj.export_voc(tmp_path / "voc")
    assert len(list(out.glob("*.xml"))) == 21
    q = nl.open(tmp_path / "q.duckdb")
    r = q.import_voc(out, images=COCO21 / "images")
    assert r.ok, r.summary()
    assert r.added == 102
    a, b = _boxes(coco_proj), _boxes(q)
    assert list(a["name"]) == list(b["name"])
    cols = ["x0", "y0", "x1", "y1"]
    assert np.abs(a[cols].to_numpy() - b[cols].to_numpy()).max() <= 1.0
    extras = [json.loads(e) for e in q.instances().df()["extra"]]
    assert sum(e.get("difficult") == 1 and e.get("pose") == "Left" for e in extras) == 1
    assert sum(e.get("difficult") == 0 for e in extras) == 101


def _voc(tmp_path: Path, objects: str, name: str = "a", filename: str = "a.png", pre: str = "") -> Path:
    d = tmp_path / "voc"
    d.mkdir(exist_ok=True)
    (d / f"{name}.xml").write_text(f"{pre}<annotation><filename>{filename}</filename>"
                                   f"<size><width>100</width><height>50</height></size>{objects}</annotation>")
    return d


def _obj(name: str, box: tuple, extra: str = "") -> str:
    x0, y0, x1, y1 = box
    return (f"<object><name>{name}</name>{extra}<bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
            f"<ymax>{y1}</ymax></bndbox></object>")


def test_voc_bad_objects_and_files(tmp_path: Path) -> None:
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for n in ("a", "b", "c"):
        Image.new("RGB", (100, 50), (ord(n), 0, 0)).save(imgs / f"{n}.png")
    _voc(tmp_path, _obj("dog", (1, 1, 10, 10), "<difficult>1</difficult><truncated>0</truncated>")
         + _obj("cat", (5, 5, "x", 9)) + "<object><name>cow</name></object>")
    _voc(tmp_path, _obj("dog", (2, 2, 20, 20)), "b", "b.png",
         pre='<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>')
    d = _voc(tmp_path, _obj("dog", (3, 3, 30, 30)), "c", "c.png")
    p = nl.open(tmp_path / "p.duckdb")
    r = p.import_voc(d, images=imgs)
    assert r.added == 2
    items = {pr.item: pr.reason for pr in r.problems}
    assert "DOCTYPE/ENTITY" in items["b.xml"]
    assert any(k.startswith("a.xml object 1 (cat)") for k in items)
    assert "has no <bndbox>" in items["a.xml object 2 (cow)"]
    df = p.instances().df().sort_values("x0")
    assert [df["x0"].iloc[0], df["x1"].iloc[0]] == [0.0, 10.0]  # 1-based inclusive → 0-based
    assert json.loads(df["extra"].iloc[0]) == {"difficult": 1, "truncated": 0}
    assert p.status("c.png")["state"] == "complete"
    assert p.status("a.png")["state"] == "new"
    q = nl.open(tmp_path / "q.duckdb")
    before = table_state(q)
    with pytest.raises(FormatError, match="DOCTYPE"):
        q.import_voc(d, images=imgs, errors="raise")
    assert table_state(q) == before
