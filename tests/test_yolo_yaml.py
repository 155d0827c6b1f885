"""Ultralytics data.yaml in (splits become a project split) and export_yolo(split=) out, on the COCO photos."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

import nblabel as nl
from nblabel.errors import ConflictError, FormatError, MediaError, NotFoundError, ValidationError
from tests._fixtures import COCO21, copy_project, table_state


@pytest.fixture(scope="module")
def coco_file(coco21_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """coco21 with the split v1 (train 0.6, val 0.25, test 0.15)."""
    f = copy_project(coco21_file, tmp_path_factory.mktemp("coco"))
    with nl.open(f) as p:
        p.split("v1", {"train": 0.6, "val": 0.25, "test": 0.15})
    return f


def _boxes(p: nl.Project) -> pd.DataFrame:
    """Current GT boxes (image base name, label, x0..y1), sorted."""
    with p.store.read() as con:
        df = con.execute("SELECT m.file_name, l.name, i.x0, i.y0, i.x1, i.y1 FROM current_instances i "
                         "JOIN media m USING (media_id) JOIN labels l USING (label_id) WHERE i.run_id IS NULL").df()
    df["file_name"] = [Path(f).name for f in df["file_name"]]
    return df.sort_values(["file_name", "name", "x0", "y0", "x1"]).reset_index(drop=True)


def _membership(p: nl.Project, split: str) -> dict[str, str]:
    """Image base name → part."""
    names = p.media().df().set_index("media_id")["file_name"]
    t = p.split_of(split)
    return {Path(names[m]).name: s for m, s in zip(t["media_id"], t["split"], strict=True)}


def _tree(root: Path, parts: dict[str, dict[str, str]], size: tuple[int, int] = (100, 50)) -> None:
    """An Ultralytics layout: images/<part>/<name>.png and labels/<part>/<name>.txt (text given)."""
    rng = np.random.default_rng(len(parts))
    for part, files in parts.items():
        (root / "images" / part).mkdir(parents=True, exist_ok=True)
        (root / "labels" / part).mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            px = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(px).save(root / "images" / part / f"{name}.png")
            if text is not None:
                (root / "labels" / part / f"{name}.txt").write_text(text)


def test_export_split_tree_and_import_it_back(coco_proj: nl.Project, tmp_path: Path) -> None:
    out = coco_proj.export_yolo(tmp_path / "tree", split="v1")
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert "path" not in data  # Ultralytics then takes the yaml's folder as the root
    assert {k: data[k] for k in ("train", "val", "test")} == {
        "train": "images/train", "val": "images/val", "test": "images/test"}
    assert data["nc"] == 80 and data["names"][0] == "person"
    want = _membership(coco_proj, "v1")
    for name, part in want.items():
        assert (out / "images" / part / name).is_file()
        assert (out / "labels" / part / name).with_suffix(".txt").is_file()
    assert sum(1 for _ in (out / "images").rglob("*.jpg")) == 21

    q = nl.open(tmp_path / "q.duckdb")
    r = q.import_yolo(out / "data.yaml")
    assert r.ok, r.summary()
    assert r.added == 102 and q.media().count() == 21
    assert r.extra["split"] == "data"
    a, b = _boxes(coco_proj), _boxes(q)
    assert list(a["name"]) == list(b["name"]) and list(a["file_name"]) == list(b["file_name"])
    cols = ["x0", "y0", "x1", "y1"]
    assert np.abs(a[cols].to_numpy() - b[cols].to_numpy()).max() < 1e-3
    assert _membership(q, "data") == want
    assert sorted(q.datasets()["name"]) == ["data/test", "data/train", "data/val"]
    rep = q.split_report("data")
    assert dict(zip(rep.sizes["split"], rep.sizes["n"], strict=True)) == pd.Series(want).value_counts().to_dict()
    # the imported split is a split: proj.split extends it (new images placed, old kept)
    assert len(q.split("data")) == 21

    # an imported tree exported again keeps its layout (not images/train/images/train/...)
    out2 = q.export_yolo(tmp_path / "tree2", split="data")
    assert sorted(p.relative_to(out2).as_posix() for p in out2.rglob("*.txt")) == \
        sorted(p.relative_to(out).as_posix() for p in out.rglob("*.txt"))
    # importing the same file again adds nothing and keeps the split
    again = q.import_yolo(out / "data.yaml")
    assert again.added == 0 and _membership(q, "data") == want


def test_export_split_links_and_missing_source(coco_proj: nl.Project, tmp_path: Path) -> None:
    sym = coco_proj.export_yolo(tmp_path / "sym", split="v1", link="symlink")
    img = next((sym / "images").rglob("*.jpg"))
    assert img.is_symlink() and img.resolve().parent == (COCO21 / "images").resolve()
    if (COCO21 / "images").stat().st_dev == tmp_path.stat().st_dev:
        hard = coco_proj.export_yolo(tmp_path / "hard", split="v1", link="hardlink")
    else:  # another file system: a hard link cannot reach it, the images are copied and a note says so
        with pytest.warns(UserWarning, match="21 image.s. were copied"):
            hard = coco_proj.export_yolo(tmp_path / "hard", split="v1", link="hardlink")
    img = next((hard / "images").rglob("*.jpg"))
    same_fs = (COCO21 / "images").stat().st_dev == tmp_path.stat().st_dev
    assert not img.is_symlink() and (img.stat().st_nlink >= 2) == same_fs
    assert img.read_bytes() == (COCO21 / "images" / img.name).read_bytes()
    labels_only = coco_proj.export_yolo(tmp_path / "lab", split="v1", copy_images=False)
    assert not (labels_only / "images").exists() and len(list(labels_only.rglob("*.txt"))) == 21
    with pytest.raises(ValidationError, match="link="):
        coco_proj.export_yolo(tmp_path / "x", split="v1", link="move")
    with pytest.raises(NotFoundError, match="split 'v9'"):
        coco_proj.export_yolo(tmp_path / "x", split="v9")
    # a source image gone: refused before anything is written
    media = coco_proj.media().df()
    src = tmp_path / "moved.jpg"
    shutil.copy(media["uri"].iloc[0], src)
    with coco_proj.store.transaction() as con:
        con.execute("UPDATE media SET uri = ? WHERE media_id = ?", [str(tmp_path / "gone.jpg"),
                                                                    int(media["media_id"].iloc[0])])
    with pytest.raises(MediaError, match="1 source image"):
        coco_proj.export_yolo(tmp_path / "x", split="v1")
    assert not (tmp_path / "x").exists()


def test_data_yaml_with_list_files_names_dict_and_path(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    _tree(ds, {"train": {"a": "0 0.5 0.5 0.2 0.4\n", "b": "1 0.25 0.25 0.1 0.1\n", "c": None},
               "val": {"d": "1 0.5 0.5 0.5 0.5\n"}, "extra": {"e": "0 0.5 0.5 0.1 0.1\n"}})
    (ds / "train.txt").write_text("./images/train/a.png\nimages/train/b.png\n\n")
    (ds / "val.txt").write_text(f"{ds / 'images' / 'val' / 'd.png'}\n")
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "mine.yml").write_text("path: ../ds\ntrain: train.txt\nval: [val.txt, images/extra]\n"
                                  "test: images/train/c.png\nnames: {0: car, 1: bus}\nnc: 2\n")
    p = nl.open(":memory:")
    r = p.import_yolo(cfg / "mine.yml", split_name="s1")
    assert r.ok, r.summary()
    assert r.added == 4 and r.extra["background"] == 1  # c has no label file: a background image
    assert p.schema.labels()["name"].tolist() == ["car", "bus"]
    assert _membership(p, "s1") == {"a.png": "train", "b.png": "train", "d.png": "val", "e.png": "val",
                                    "c.png": "test"}
    names = sorted(p.media().df()["file_name"])
    assert names == ["images/extra/e.png", "images/train/a.png", "images/train/b.png", "images/train/c.png",
                     "images/val/d.png"]
    b = _boxes(p).set_index("file_name")
    assert b.loc["a.png", ["x0", "y0", "x1", "y1"]].tolist() == pytest.approx([40, 15, 60, 35])
    assert p.split_report("s1").sizes["n"].tolist() == [2, 2, 1]


def test_image_in_two_parts_goes_to_the_first(tmp_path: Path) -> None:
    _tree(tmp_path, {"all": {"a": "0 0.5 0.5 0.2 0.2\n", "b": ""}})
    (tmp_path / "data.yaml").write_text("train: images/all\nval: images/all\nnames: [car]\n")
    p = nl.open(":memory:")
    r = p.import_yolo(tmp_path / "data.yaml")
    assert r.ok and r.added == 1
    assert set(_membership(p, "data").values()) == {"train"}
    assert any("2 image(s) listed in several parts" in n for n in r.notes)


def test_task_inferred_from_kpt_shape_and_polygons(tmp_path: Path) -> None:
    seg = tmp_path / "seg"
    _tree(seg, {"train": {"a": "0 0.1 0.1 0.5 0.1 0.5 0.5\n"}, "val": {"b": "0 0.2 0.2 0.6 0.2 0.4 0.6\n"}})
    (seg / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [leaf]\n")
    p = nl.open(":memory:")
    assert p.import_yolo(seg / "data.yaml").ok
    assert set(p.instances().df()["kind"]) == {"polygon"}
    pose = tmp_path / "pose"
    _tree(pose, {"train": {"a": "0 0.5 0.5 0.4 0.4 0.4 0.4 2 0.6 0.6 1\n"}, "val": {"b": ""}})
    (pose / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [person]\nkpt_shape: [2, 3]\n")
    q = nl.open(":memory:")
    r = q.import_yolo(pose / "data.yaml")
    assert r.ok, r.summary()
    inst = q.instances().df()
    assert inst["kind"].tolist() == ["keypoints"]
    assert np.asarray(json.loads(inst["points"].iloc[0])).ravel().tolist() == pytest.approx([40, 20, 2, 60, 30, 1])


def test_missing_split_folder_and_list_entry_are_reported(tmp_path: Path) -> None:
    _tree(tmp_path, {"train": {"a": "0 0.5 0.5 0.2 0.2\n"}})
    (tmp_path / "test.txt").write_text("./images/train/a.png\n./images/train/nope.png\n")
    (tmp_path / "data.yaml").write_text("train: images/train\nval: images/val\ntest: test.txt\nnames: [car]\n")
    p = nl.open(":memory:")
    r = p.import_yolo(tmp_path / "data.yaml")
    items = dict(zip(r.problems_df()["item"], r.problems_df()["reason"], strict=True))
    assert "does not exist" in items["data.yaml: val: images/val"]
    assert "does not exist" in items["test.txt:2"]
    assert r.added == 1 and _membership(p, "data") == {"a.png": "train"}
    before = table_state(p)
    with pytest.raises(FormatError, match="images/val"):
        p.import_yolo(tmp_path / "data.yaml", errors="raise", split_name="other")
    assert table_state(p) == before


def test_unsafe_or_malformed_yaml_is_refused(tmp_path: Path) -> None:
    _tree(tmp_path, {"train": {"a": "0 0.5 0.5 0.2 0.2\n"}})
    p = nl.open(":memory:")
    before = table_state(p)
    bad = tmp_path / "evil.yaml"
    bad.write_text("train: images/train\nnames: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(FormatError, match=r"evil.yaml.*not valid safe YAML at line 2"):
        p.import_yolo(bad)
    assert not Path("pwned").exists() and not (tmp_path / "pwned").exists()
    for text, msg in [("train: [images/train\n", "not valid safe YAML"),
                      ("- a\n- b\n", "not a mapping"),
                      ("names: [car]\n", "names no images"),
                      ("train: images/train\n", "has no 'names'"),
                      ("train: images/train\nnames: [car]\nnc: 3\n", "nc is 3 but names has 1"),
                      ("train: {a: 1}\nnames: [car]\n", "train must be a folder"),
                      ("path: nowhere\ntrain: images\nnames: [car]\n", "dataset root")]:
        bad.write_text(text)
        with pytest.raises(FormatError, match=msg):
            p.import_yolo(bad)
    with pytest.raises(FormatError, match="does not exist"):
        p.import_yolo(tmp_path / "missing.yaml")
    with pytest.raises(ValidationError, match="split_name"):
        p.import_yolo(tmp_path / "labels", tmp_path / "images", ["car"], split_name="x")
    assert table_state(p) == before


def test_paths_outside_the_root_are_refused_unless_allowed(tmp_path: Path) -> None:
    ds, other = tmp_path / "ds", tmp_path / "other"
    _tree(ds, {"train": {"a": "0 0.5 0.5 0.2 0.2\n"}})
    _tree(other, {"val": {"x": "0 0.5 0.5 0.2 0.2\n"}})
    (ds / "val.txt").write_text(f"{other / 'images' / 'val' / 'x.png'}\n")
    (ds / "data.yaml").write_text("train: images/train\nval: ../other/images/val\ntest: val.txt\nnames: [car]\n")
    p = nl.open(":memory:")
    r = p.import_yolo(ds / "data.yaml")
    items = dict(zip(r.problems_df()["item"], r.problems_df()["reason"], strict=True))
    assert "escapes the image root" in items["data.yaml: val: ../other/images/val"]
    assert "escapes the image root" in items["val.txt:1"]
    assert _membership(p, "data") == {"a.png": "train"}
    before = table_state(p)
    with pytest.raises(FormatError, match="escapes"):
        p.import_yolo(ds / "data.yaml", errors="raise", split_name="again")
    assert table_state(p) == before
    q = nl.open(":memory:")
    r = q.import_yolo(ds / "data.yaml", allow_outside_root=True)
    assert r.ok and r.added == 2  # x.png once: val first, then its test listing goes to val
    assert _membership(q, "data") == {"a.png": "train", "x.png": "val"}


def test_bad_lines_refused_with_raise_change_nothing(tmp_path: Path) -> None:
    _tree(tmp_path, {"train": {"a": "0 0.5 0.5 0.2 0.2\n"}, "val": {"b": "7 0.5 0.5 0.2 0.2\n"}})
    (tmp_path / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [car]\n")
    p = nl.open(tmp_path / "p.duckdb")
    before = table_state(p)
    with pytest.raises(FormatError, match=r"labels/val/b.txt:1: class 7 is out of range"):
        p.import_yolo(tmp_path / "data.yaml", errors="raise")
    assert table_state(p) == before
    with pytest.raises(NotFoundError):
        p.split_of("data")
    r = p.import_yolo(tmp_path / "data.yaml")
    assert r.added == 1 and [x.item for x in r.problems] == ["labels/val/b.txt:1"]
    # b's line was refused: b is in the split but not marked complete
    assert _membership(p, "data") == {"a.png": "train", "b.png": "val"}
    assert len(r.extra["complete"]) == 1


def test_split_made_by_proj_split_is_not_overwritten(tmp_path: Path) -> None:
    _tree(tmp_path, {"train": {"a": "0 0.5 0.5 0.2 0.2\n"}, "val": {"b": ""}})
    (tmp_path / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [car]\n")
    p = nl.open(":memory:")
    p.add_images([np.zeros((8, 8, 3), np.uint8)])
    p.split("data", {"train": 1.0})
    before = table_state(p)
    with pytest.raises(ConflictError, match="split_name="):
        p.import_yolo(tmp_path / "data.yaml")
    assert table_state(p) == before
    assert p.import_yolo(tmp_path / "data.yaml", split_name="yolo").ok
    assert sorted(_membership(p, "yolo").values()) == ["train", "val"]


def test_export_split_without_val_notes_it(tmp_path: Path) -> None:
    p = nl.open(":memory:")
    p.add_images([np.full((8, 8, 3), v, np.uint8) for v in (0, 1)])
    p.complete([1, 2])
    p.split("only", {"train": 1.0})
    with pytest.warns(UserWarning, match="both train and val"):
        out = p.export_yolo(tmp_path / "t", split="only")
    assert yaml.safe_load((out / "data.yaml").read_text()) == {"names": {}, "nc": 0, "train": "images/train"}
    assert os.listdir(out / "labels" / "train") and len(os.listdir(out / "images" / "train")) == 2
