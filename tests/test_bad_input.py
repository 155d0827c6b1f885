"""Malformed input and typos get a clear nblabel error (or are accepted when valid), and a refused call
changes nothing stored (issue 8 §7, §8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import nblabel as nl
from nblabel.errors import NotFoundError


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
