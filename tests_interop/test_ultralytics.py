"""export_yolo(split=) and import_yolo("data.yaml") checked by Ultralytics' own dataset code.

Ultralytics is not in the ``interop`` extra: from the registry it pulls a CUDA torch. Where it is
installed beside a CPU torch (``pip install <torch cpu wheel>``, then ``pip install --no-deps
ultralytics torchvision``: ``ultralytics.data`` only reads torchvision's version), these tests run;
elsewhere they are skipped with that reason. No network: the font Ultralytics fetches for its plots is
stubbed in its config folder, and datasets are never downloaded (every path exists).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml

import nblabel as nl

_CONFIG = Path(tempfile.mkdtemp(prefix="ultralytics-config-"))
os.environ.setdefault("YOLO_CONFIG_DIR", str(_CONFIG))  # its settings.json, not the user's home
os.environ.setdefault("YOLO_OFFLINE", "1")
(Path(os.environ["YOLO_CONFIG_DIR"]) / "Arial.ttf").touch()  # check_det_dataset would download it

ul_utils = pytest.importorskip(
    "ultralytics.data.utils",
    reason="ultralytics is not installed in this environment (install a CPU torch, then "
           "ultralytics and torchvision with --no-deps)")
from ultralytics.data import YOLODataset  # noqa: E402
from ultralytics.data.converter import convert_coco  # noqa: E402


@pytest.fixture(scope="module")
def coco_proj(tmp_path_factory: pytest.TempPathFactory) -> nl.Project:
    data = Path(__file__).parents[1] / "tests" / "data" / "coco21"
    p = nl.open(tmp_path_factory.mktemp("proj") / "p.duckdb")
    assert p.import_coco(data / "instances.json", images=data / "images").ok
    p.split("v1", {"train": 0.6, "val": 0.25, "test": 0.15})
    return p


def _our_boxes(p: nl.Project) -> dict[str, np.ndarray]:
    """Image base name → rows ``label name index, x0, y0, x1, y1`` (pixels), sorted."""
    names = {lab: i for i, lab in enumerate(p.schema.labels()["name"])}
    with p.store.read() as con:
        df = con.execute("SELECT m.file_name, l.name, i.x0, i.y0, i.x1, i.y1 FROM current_instances i "
                         "JOIN media m USING (media_id) JOIN labels l USING (label_id) "
                         "WHERE i.run_id IS NULL").df()
    out: dict[str, np.ndarray] = {}
    for f, g in df.groupby("file_name"):
        rows = np.column_stack([g["name"].map(names).to_numpy(float), g[["x0", "y0", "x1", "y1"]].to_numpy(float)])
        out[Path(str(f)).name] = rows[np.lexsort(rows.T[::-1])]
    return out


def _ultralytics_boxes(labels: list[dict]) -> dict[str, np.ndarray]:
    """What Ultralytics' dataset read: image base name → rows ``cls, x0, y0, x1, y1`` (pixels), sorted."""
    out: dict[str, np.ndarray] = {}
    for lb in labels:
        h, w = lb["shape"]
        cls, xywh = lb["cls"].reshape(-1), lb["bboxes"].reshape(-1, 4).astype(float)
        rows = np.column_stack([cls, (xywh[:, 0] - xywh[:, 2] / 2) * w, (xywh[:, 1] - xywh[:, 3] / 2) * h,
                                (xywh[:, 0] + xywh[:, 2] / 2) * w, (xywh[:, 1] + xywh[:, 3] / 2) * h])
        out[Path(lb["im_file"]).name] = rows[np.lexsort(rows.T[::-1])] if len(rows) else rows
    return out


def test_ultralytics_accepts_our_split_export(coco_proj: nl.Project, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out = coco_proj.export_yolo(tmp_path / "tree", split="v1")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the tree is found from the yaml's folder, not the working directory
    data = ul_utils.check_det_dataset(str(out / "data.yaml"), autodownload=False)
    assert data["nc"] == 80
    assert data["names"][0] == "person"
    assert data["names"] == dict(enumerate(coco_proj.schema.labels()["name"]))
    membership = coco_proj.split_of("v1")
    file_of = coco_proj.media().df().set_index("media_id")["file_name"]
    ours = _our_boxes(coco_proj)
    seen: dict[str, str] = {}
    for part in ("train", "val", "test"):
        assert Path(data[part]) == (out / "images" / part).resolve()
        ds = YOLODataset(img_path=data[part], data=data, task="detect", augment=False, imgsz=640)
        theirs = _ultralytics_boxes(ds.labels)
        for name, rows in theirs.items():
            seen[name] = part
            want = ours.get(name, np.zeros((0, 5)))
            assert rows.shape == want.shape, name
            if len(rows):
                assert np.array_equal(rows[:, 0], want[:, 0]), name
                assert np.abs(rows[:, 1:] - want[:, 1:]).max() < 1e-3, name
    assert seen == {Path(file_of[m]).name: s for m, s in zip(membership["media_id"], membership["split"], strict=True)}
    # and its per-file check of a label file finds nothing corrupt
    img = next((out / "images" / "train").glob("*.jpg"))
    lab = ul_utils.img2label_paths([str(img)])[0]
    assert Path(lab) == out / "labels" / "train" / img.with_suffix(".txt").name
    res = ul_utils.verify_image_label((str(img), lab, "", False, 80, 0, 0, False))
    assert res[8] == 0, res[-1]  # nc: corrupt count


def test_we_import_an_ultralytics_converted_tree(coco_proj: nl.Project, tmp_path: Path) -> None:
    data = Path(__file__).parents[1] / "tests" / "data" / "coco21"
    (tmp_path / "ann").mkdir()
    shutil.copy(data / "instances.json", tmp_path / "ann" / "instances.json")
    convert_coco(str(tmp_path / "ann"), save_dir=str(tmp_path / "conv"), cls91to80=True)
    conv = tmp_path / "conv" / "labels" / "instances"
    coco = json.loads((data / "instances.json").read_text())
    cats = sorted(coco["categories"], key=lambda c: c["id"])
    ds = tmp_path / "ds"
    files = sorted(im["file_name"] for im in coco["images"])
    parts = {f: ("train" if i < 14 else "val") for i, f in enumerate(files)}
    for f, part in parts.items():
        (ds / "images" / part).mkdir(parents=True, exist_ok=True)
        (ds / "labels" / part).mkdir(parents=True, exist_ok=True)
        shutil.copy(data / "images" / f, ds / "images" / part / f)
        label = conv / Path(f).with_suffix(".txt")
        if label.exists():
            shutil.copy(label, ds / "labels" / part / label.name)
    (ds / "coco21.yaml").write_text(yaml.safe_dump(
        {"path": str(ds), "train": "images/train", "val": "images/val",
         "names": {i: c["name"] for i, c in enumerate(cats)}}))
    assert ul_utils.check_det_dataset(str(ds / "coco21.yaml"), autodownload=False)["nc"] == 80

    q = nl.open(tmp_path / "q.duckdb")
    r = q.import_yolo(ds / "coco21.yaml")
    assert r.ok, r.summary()
    split = q.split_of("coco21")
    file_of = q.media().df().set_index("media_id")["file_name"]
    assert {Path(file_of[m]).name: s for m, s in zip(split["media_id"], split["split"], strict=True)} == parts
    # the instances Ultralytics' converter kept (not crowd, positive size) are the COCO file's, box for box
    index = {c["id"]: i for i, c in enumerate(cats)}
    name_of = {im["id"]: im["file_name"] for im in coco["images"]}
    want: dict[str, list[list[float]]] = {}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        if not a.get("iscrowd") and w > 0 and h > 0:
            want.setdefault(name_of[a["image_id"]], []).append([index[a["category_id"]], x, y, x + w, y + h])
    assert q.schema.labels()["name"].tolist() == [c["name"] for c in cats]
    theirs = _our_boxes(q)
    assert sorted(theirs) == sorted(want)
    assert r.added == sum(len(v) for v in want.values())
    for name, rows in theirs.items():
        ref = np.asarray(want[name], float)
        ref = ref[np.lexsort(ref.T[::-1])]
        assert np.array_equal(rows[:, 0], ref[:, 0]), name
        assert np.abs(rows[:, 1:] - ref[:, 1:]).max() < 1e-3, name
