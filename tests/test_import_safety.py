"""Import safety: paths escaping the image root, XML declarations, SQL-looking names, atomic refusal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

import nblabel as nl
from nblabel.errors import FormatError
from nblabel.io._paths import resolve_under_root, safe_relative


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """An image root with one image, and one image just outside it."""
    root = tmp_path / "root"
    root.mkdir()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(root / "in.png")
    Image.new("RGB", (40, 30), (200, 2, 3)).save(tmp_path / "outside.png")
    return root, tmp_path / "outside.png"


def _coco(tmp_path: Path, file_names: list[str]) -> Path:
    d = {"images": [{"id": i + 1, "file_name": f, "width": 40, "height": 30} for i, f in enumerate(file_names)],
         "categories": [{"id": 1, "name": "thing"}],
         "annotations": [{"id": 10 + i, "image_id": i + 1, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25,
                          "iscrowd": 0} for i in range(len(file_names))]}
    f = tmp_path / "gt.json"
    f.write_text(json.dumps(d))
    return f


@pytest.mark.parametrize("name", ["../outside.png", "ABS"])
def test_coco_escape_refused_then_allowed(tmp_path: Path, tree: tuple[Path, Path], name: str) -> None:
    root, outside = tree
    name = str(outside) if name == "ABS" else name
    f = _coco(tmp_path, ["in.png", name])
    p = nl.open(":memory:")
    r = p.import_coco(f, images=root)
    assert r.added == 1
    assert p.media().count() == 1
    assert r.problems[0].item == f"image 2 ({name})"
    assert "escapes the image root" in r.problems[0].reason
    assert r.problems[1].item.startswith("annotation 11")
    with pytest.raises(FormatError, match="escapes the image root"):
        nl.open(":memory:").import_coco(f, images=root, errors="raise")
    q = nl.open(":memory:")
    r2 = q.import_coco(f, images=root, allow_outside_root=True)
    assert r2.ok
    assert r2.added == 2
    assert q.media().count() == 2


def test_symlink_out_of_root_is_an_escape(tmp_path: Path, tree: tuple[Path, Path]) -> None:
    root, outside = tree
    os.symlink(outside, root / "link.png")
    r = nl.open(":memory:").import_coco(_coco(tmp_path, ["link.png"]), images=root)
    assert r.added == 0
    assert "escapes" in r.problems[0].reason


def test_voc_filename_and_path_escape(tmp_path: Path, tree: tuple[Path, Path]) -> None:
    root, outside = tree
    xml = tmp_path / "xml"
    xml.mkdir()
    (xml / "a.xml").write_text("<annotation><filename>../outside.png</filename><object><name>thing</name><bndbox>"
                               "<xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>"
                               "</annotation>")
    (xml / "b.xml").write_text(f"<annotation><filename>nothere.png</filename><path>{outside}</path><object>"
                               "<name>thing</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax>"
                               "</bndbox></object></annotation>")
    r = nl.open(":memory:").import_voc(xml, images=root)
    assert [pr.item for pr in r.problems] == ["a.xml", "b.xml"]
    assert all("escapes the image root" in pr.reason for pr in r.problems)
    q = nl.open(":memory:")
    r2 = q.import_voc(xml, images=root, allow_outside_root=True)
    assert r2.added == 2


@pytest.mark.parametrize("decl", [
    '<!DOCTYPE a [<!ENTITY x "y">]>',
    '<!ENTITY x SYSTEM "file:///etc/passwd">',
    "<!doctype annotation>",
])
def test_voc_declarations_refused(tmp_path: Path, tree: tuple[Path, Path], decl: str) -> None:
    root, _ = tree
    xml = tmp_path / "xml"
    xml.mkdir()
    (xml / "a.xml").write_text(f'<?xml version="1.0"?>{decl}<annotation><filename>in.png</filename></annotation>')
    r = nl.open(":memory:").import_voc(xml, images=root)
    assert r.problems[0].item == "a.xml"
    assert "DOCTYPE/ENTITY" in r.problems[0].reason
    (xml / "a.xml").write_bytes('<annotation><filename>in.png</filename></annotation>'.encode("utf-16"))
    r = nl.open(":memory:").import_voc(xml, images=root)
    assert "not UTF-8" in r.problems[0].reason


def test_sql_text_in_names_is_data(tmp_path: Path, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    evil = "x'); DROP TABLE media; --"
    f = _coco(tmp_path, ["in.png"])
    d = json.loads(f.read_text())
    d["categories"][0]["name"] = evil
    d["annotations"][0]["note"] = evil
    f.write_text(json.dumps(d))
    p = nl.open(tmp_path / "p.duckdb")
    assert p.import_coco(f, images=root).ok
    out = json.loads(p.export_coco(tmp_path / "o.json").read_text())
    assert out["categories"][0]["name"] == evil
    assert out["annotations"][0]["note"] == evil
    yolo = p.export_yolo(tmp_path / "y")
    assert evil in (yolo / "data.yaml").read_text()
    voc = p.export_voc(tmp_path / "v")
    q = nl.open(tmp_path / "q.duckdb")
    assert q.import_voc(voc, images=root).ok
    assert list(q.schema.labels()["name"]) == [evil]
    assert p.media().count() == 1  # media table still exists
    assert q.media().count() == 1


def test_errors_raise_refuses_everything_including_schema(tmp_path: Path, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    f = _coco(tmp_path, ["in.png", "missing.png"])
    p = nl.open(tmp_path / "p.duckdb")
    with pytest.raises(FormatError, match="missing.png"):
        p.import_coco(f, images=root, errors="raise")
    assert p.media().count() == 0
    assert len(p.schema.labels()) == 0
    assert p.schema.version == 0


def test_path_helpers() -> None:
    assert safe_relative("../../etc/passwd") == "etc/passwd"
    assert safe_relative("a\\b.jpg") == "a/b.jpg"
    root = Path("/data/imgs")
    assert resolve_under_root(root, "x/../y.jpg")[1] is None
    assert resolve_under_root(root, "/data/other.jpg")[1] is not None
    assert resolve_under_root(root, "/data/other.jpg", allow_outside_root=True)[1] is None


def test_yolo_symlinked_image_out_of_root(tmp_path: Path, tree: tuple[Path, Path]) -> None:
    root, outside = tree
    os.symlink(outside, root / "link.png")
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "link.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (labels / "in.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    r = nl.open(":memory:").import_yolo(labels, images=root, names=["thing"])
    assert r.added == 1
    assert [pr.item for pr in r.problems] == ["link.png", "link.txt"]
    assert "escapes" in r.problems[0].reason
    r2 = nl.open(":memory:").import_yolo(labels, images=root, names=["thing"], allow_outside_root=True)
    assert r2.added == 2
