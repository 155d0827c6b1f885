"""Malformed input and typos get a clear nblabel error (or are accepted when valid), and a refused call
changes nothing stored (issue 8 §7, §8)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import nblabel as nl
from nblabel.errors import FormatError, MediaError, NotFoundError, ValidationError
from tests._fixtures import table_state


def _yolo_tree(tmp_path: Path, labels: dict[str, str]) -> tuple[Path, Path]:
    images, lab = tmp_path / "images", tmp_path / "labels"
    images.mkdir()
    lab.mkdir()
    for i, (stem, text) in enumerate(labels.items()):
        Image.new("RGB", (40, 30), (9, 9, 9 + i)).save(images / f"{stem}.png")
        (lab / f"{stem}.txt").write_text(text, encoding="utf-8")
    return lab, images


# -- run names ---------------------------------------------------------------------------------
def test_unknown_run_name_raises_with_did_you_mean() -> None:
    p = nl.open(":memory:")
    p.add_run("m@640")
    with pytest.raises(NotFoundError, match=r"run 'm@64' does not exist; did you mean 'm@640'\?"):
        p.instances(run="m@64")
    with pytest.raises(NotFoundError, match="did you mean 'm@640'"):
        p.instances().run("m@64")
    with pytest.raises(NotFoundError, match="did you mean 'm@640'"):
        p.media().instances(run="m@64")
    # the right name, ground truth and "*" still work
    assert p.instances(run="m@640").count() == 0
    assert p.instances(run="*").count() == 0
    assert p.instances().run("m@640").run(None).count() == 0


def test_unknown_run_with_no_runs_says_none_exist() -> None:
    with pytest.raises(NotFoundError, match="none are defined yet"):
        nl.open(":memory:").instances(run="m")


# -- YOLO --------------------------------------------------------------------------------------
def test_yolo_all_background_import_is_valid(tmp_path: Path) -> None:
    lab, images = _yolo_tree(tmp_path, {"a": "", "b": "\n\n"})
    p = nl.open(":memory:")
    rep = p.import_yolo(lab, images, ["car"])
    assert rep.ok and not rep.problems
    assert p.media().count() == 2
    assert p.instances().count() == 0
    assert rep.extra["background"] == 0  # each image has a (empty) label file: background by content


def test_yolo_bom_on_line_one_is_accepted(tmp_path: Path) -> None:
    lab, images = _yolo_tree(tmp_path, {"a": "\ufeff0 0.5 0.5 0.5 0.5\n0 0.25 0.25 0.1 0.1\n"})
    (tmp_path / "data.yaml").write_text("\ufeffnames: [car]\n", encoding="utf-8")
    p = nl.open(":memory:")
    rep = p.import_yolo(lab, images, tmp_path / "data.yaml")
    assert not rep.problems, rep.problems
    df = p.instances().df()
    assert len(df) == 2 and set(df["label"]) == {"car"}
    assert df.sort_values("x0")["x0"].tolist() == pytest.approx([40 * 0.2, 40 * 0.25])


def test_yolo_classes_txt_with_bom(tmp_path: Path) -> None:
    lab, images = _yolo_tree(tmp_path, {"a": "1 0.5 0.5 0.5 0.5\n"})
    (tmp_path / "classes.txt").write_text("\ufeffcar\nperson\n", encoding="utf-8")
    p = nl.open(":memory:")
    rep = p.import_yolo(lab, images, tmp_path / "classes.txt")
    assert not rep.problems
    assert p.instances().df()["label"].tolist() == ["person"]
    assert p.schema.labels()["name"].tolist() == ["car", "person"]


# -- exports -----------------------------------------------------------------------------------
def _one_box_project(tmp_path: Path) -> nl.Project:
    d = tmp_path / "src"
    d.mkdir()
    for i, name in enumerate(("a.png", "b.png")):
        Image.new("RGB", (40, 30), (i * 90, 5, 5)).save(d / name)
    p = nl.open(tmp_path / "p.duckdb")
    p.add_images(d)
    p.schema.add_label("car")
    p.add_instance("a.png", "car", box=[2, 3, 20, 25])
    p.complete([1, 2])
    return p


def test_export_coco_to_a_folder_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    p = _one_box_project(tmp_path)
    target = tmp_path / "out"
    target.mkdir()
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ValidationError, match=r"export_coco path '.*out' is a folder; give a file path inside it"):
        p.export_coco(target)
    assert sorted(os.listdir(tmp_path)) == before  # no temp file beside it
    assert list(target.iterdir()) == []
    # a file path works
    out = p.export_coco(target / "gt.json")
    assert json.loads(out.read_text())["annotations"][0]["bbox"] == [2, 3, 18, 22]
    assert sorted(os.listdir(target)) == ["gt.json"]


def test_export_yolo_with_a_missing_source_image_writes_nothing(tmp_path: Path) -> None:
    p = _one_box_project(tmp_path)
    (tmp_path / "src" / "b.png").unlink()
    out = tmp_path / "exports" / "yolo"
    out.parent.mkdir()
    with pytest.raises(MediaError, match=r"1 source image\(s\) are missing: 'b.png'.*Nothing was written"):
        p.export_yolo(out, copy_images=True)
    assert os.listdir(out.parent) == []  # neither the folder nor a staging folder
    # without the images it exports fine; with copy_images it fills the folder in one step
    p.export_yolo(out)
    assert sorted(f.name for f in (out / "labels").iterdir()) == ["a.txt", "b.txt"]
    Image.new("RGB", (40, 30), (90, 5, 5)).save(tmp_path / "src" / "b.png")
    p.export_yolo(out, copy_images=True)  # a re-export into the existing folder
    assert sorted(f.name for f in (out / "images").iterdir()) == ["a.png", "b.png"]
    assert (out / "labels" / "a.txt").read_text().startswith("0 0.27500000 0.46666667")
    assert os.listdir(out.parent) == ["yolo"]


def test_export_yolo_to_a_file_is_refused(tmp_path: Path) -> None:
    p = _one_box_project(tmp_path)
    (tmp_path / "taken").write_text("x")
    with pytest.raises(ValidationError, match=r"export folder '.*taken' is a file; give a folder path"):
        p.export_yolo(tmp_path / "taken")
    with pytest.raises(ValidationError, match=r"'.*taken' is a file, not a folder"):
        p.export_yolo(tmp_path / "taken" / "yolo")
    assert (tmp_path / "taken").read_text() == "x"
    p.export_yolo(tmp_path / "new")
    assert (tmp_path / "new").stat().st_mode & 0o777 == (tmp_path / "src").stat().st_mode & 0o777


def test_export_yolo_failure_midway_leaves_the_old_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _one_box_project(tmp_path)
    out = tmp_path / "yolo"
    p.export_yolo(out)
    old = {f.relative_to(out).as_posix(): f.read_bytes() for f in out.rglob("*") if f.is_file()}
    import shutil

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    p.add_instance("a.png", "car", box=[5, 5, 9, 9])  # the next export's a.txt differs
    monkeypatch.setattr(shutil, "copyfile", disk_full)
    with pytest.raises(OSError, match="No space left"):
        p.export_yolo(out, copy_images=True)
    assert {f.relative_to(out).as_posix(): f.read_bytes() for f in out.rglob("*") if f.is_file()} == old
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]


# -- COCO --------------------------------------------------------------------------------------
def test_deeply_nested_coco_is_a_format_error_naming_the_file(tmp_path: Path) -> None:
    f = tmp_path / "deep.json"
    f.write_text("[" * 200_000 + "]" * 200_000)
    p = nl.open(":memory:")
    before = table_state(p)
    with pytest.raises(FormatError, match=r"deep.json' nests lists/objects too deeply"):
        p.import_coco(f, tmp_path)
    assert table_state(p) == before


def test_duplicate_coco_image_id_names_both_files(tmp_path: Path) -> None:
    Image.new("RGB", (40, 30), (1, 2, 3)).save(tmp_path / "a.png")
    Image.new("RGB", (50, 30), (4, 5, 6)).save(tmp_path / "b.png")
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 30},
                       {"id": 1, "file_name": "b.png", "width": 50, "height": 30}],
            "categories": [{"id": 1, "name": "car"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], "area": 16,
                             "iscrowd": 0}]}
    f = tmp_path / "dup.json"
    f.write_text(json.dumps(coco))
    rep = nl.open(":memory:").import_coco(f, tmp_path)
    msgs = [f"{pr.item}: {pr.reason}" for pr in rep.problems]
    assert any("listed twice" in m and "'a.png'" in m and "'b.png'" in m for m in msgs), msgs
    # the file read for id 1 is a.png, and it matches its own (first) entry: no size complaint naming b.png
    assert not any("the JSON says" in m for m in msgs), msgs


# -- add_instance arguments --------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"box": [1, 2, 3]}, r"box=\[1, 2, 3\] has 3 value\(s\), not 4; give \[x0, y0, x1, y1\]"),
    ({"box": [1, 2, 3], "box_format": "xywh"}, r"give \[x, y, w, h\] \(box_format='xywh'\)"),
    ({"box": "abcd"}, r"box='abcd' is not 4 numbers"),
    ({"box": [1, 2, 3, 4], "media": 1.0}, r"media=1.0 is a float; give a media id as an integer \(media=1\)"),
    ({"box": [1, 2, 3, 4], "media": None}, r"media=None is a NoneType"),
    ({"box": [1, 2, 3, 4], "media": True}, r"media=True is a bool"),
    ({"point": [1, 2, 3]}, r"point=\[1, 2, 3\] has 3 value\(s\), not 2; give \[x, y\]"),
])
def test_add_instance_bad_arguments_are_validation_errors(kwargs: dict, match: str) -> None:
    p = nl.open(":memory:")
    p.add_images([np.zeros((40, 60, 3), np.uint8)])
    p.schema.add_label("car", spatial=["box", "point"])
    before = table_state(p)
    media = kwargs.pop("media", 1)
    with pytest.raises(ValidationError, match=match):
        p.add_instance(media, "car", **kwargs)
    assert table_state(p) == before
    # the good forms still work
    assert p.add_instance(np.int64(1), "car", box=[1, 2, 3, 4]) == 1
    assert p.add_instance([1], "car", point=[3, 4]) == 2


def test_a_mask_row_without_points_is_told_where_its_rle_goes():
    p = nl.open(":memory:")
    p.add_images([np.zeros((20, 30, 3), np.uint8)])
    p.schema.add_label("car", spatial=["box", "polygon"])
    rle = {"size": [20, 30], "counts": "n13a0000000000R="}
    row = {"media_id": 1, "label": "car", "kind": "mask", "rle": rle, "x0": 0, "y0": 0, "x1": 5, "y1": 5}
    with pytest.raises(nl.ValidationError, match=r"kind polygon/keypoints/point/line/mask need a 'points' column.*RLE"):
        p.add_instances(pd.DataFrame([row]))
    assert len(p.instances()) == 0
