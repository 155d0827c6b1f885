"""Our Label Studio export and import checked by Label Studio's own code (``label-studio-sdk``).

- ``label_studio_sdk.converter.Converter`` reads our tasks JSON with our labeling config and writes
  COCO: its instances match our own ``export_coco`` one for one (labels, category ids, boxes and
  polygon points within 1e-3 px; keypoints as the converter rounds them). The converter reads
  annotations only, so a run is checked by handing it the tasks with their prediction as the annotation.
- ``label_studio_sdk.converter.imports.coco.convert_coco_to_ls`` (the SDK's COCO → Label Studio
  writer) turns coco21 into Label Studio tasks + a config; ``import_label_studio`` reads them back
  to the same boxes and polygons as ``import_coco`` of the same file.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import nblabel as nl
from nblabel.geometry import rle_decode

pytest.importorskip("label_studio_sdk")
from label_studio_sdk.converter import Converter
from label_studio_sdk.converter.brush import mask2rle
from label_studio_sdk.converter.imports.coco import convert_coco_to_ls


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the notes on what a format leaves out; asserted in tests/
        return fn(*a, **kw)


def _ls_to_coco(tasks: Path, config: Path, images: Path, out: Path) -> dict:
    """Label Studio's own converter: tasks JSON + labeling config -> COCO (images read from disk, no network)."""
    root = images.resolve()
    conv = Converter(str(config), project_dir=str(out), download_resources=False,
                     local_files_resolver=lambda rel: str(root / rel))
    conv.convert(str(tasks), str(out), "COCO", is_dir=False)
    return json.loads((out / "result.json").read_text())


def _by_image(coco: dict) -> dict[str, list[dict]]:
    names = {im["id"]: Path(im["file_name"]).name for im in coco["images"]}
    out: dict[str, list[dict]] = {}
    for a in coco["annotations"]:
        out.setdefault(names[a["image_id"]], []).append(a)
    return out


def _rings(a: dict) -> list[dict]:
    """One of our annotations as Label Studio's converter writes it: one annotation per polygon ring."""
    if not a.get("segmentation") or isinstance(a["segmentation"], dict):
        return [{"category_id": a["category_id"], "bbox": a["bbox"], "segmentation": []}]
    out = []
    for ring in a["segmentation"]:
        xy = np.asarray(ring, float).reshape(-1, 2)
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        out.append({"category_id": a["category_id"], "bbox": [*lo, *(hi - lo)], "segmentation": [ring]})
    return out


def _match(ours: list[dict], theirs: list[dict]) -> None:
    """Pair the annotations of one image by category and box (1e-3 px) and compare their polygon points."""
    assert Counter(a["category_id"] for a in ours) == Counter(a["category_id"] for a in theirs)
    left = list(theirs)
    for a in ours:
        hit = next((b for b in left if b["category_id"] == a["category_id"]
                    and np.allclose(b["bbox"], a["bbox"], atol=1e-3)), None)
        assert hit is not None, f"no Label Studio annotation matches {a['category_id']} {a['bbox']}"
        left.remove(hit)
        assert len(hit["segmentation"]) == len(a["segmentation"])
        for r, s in zip(a["segmentation"], hit["segmentation"], strict=True):
            np.testing.assert_allclose(s, r, atol=1e-3)
    assert not left


@pytest.fixture
def project(coco21: Path, tmp_path: Path) -> nl.Project:
    """coco21 ground truth (polygons and one crowd RLE) and a run of boxes with scores."""
    p = nl.open(tmp_path / "p.duckdb")
    assert p.import_coco(coco21 / "instances.json", images=coco21 / "images").ok
    gt = p.instances().df()
    preds = gt[["media_id", "label_id", "x0", "y0", "x1", "y1"]].copy()
    preds[["x0", "y0"]] += 0.375
    preds["score"] = np.linspace(0.01, 0.99, len(preds))
    assert p.add_run("detr").add_predictions(preds).ok
    return p


def test_label_studio_converter_reads_our_ground_truth_as_our_coco(project: nl.Project, coco21: Path,
                                                                   tmp_path: Path) -> None:
    info = _quiet(project.export_label_studio, tmp_path / "ls" / "tasks.json", image_root=coco21 / "images")
    ours = json.loads(_quiet(project.export_coco, tmp_path / "ours.json").read_text())
    theirs = _ls_to_coco(info.path, info.config, coco21 / "images", tmp_path / "lscoco")
    assert sorted(Path(im["file_name"]).name for im in theirs["images"]) == sorted(
        im["file_name"] for im in ours["images"])
    sizes = {Path(im["file_name"]).name: (im["width"], im["height"]) for im in theirs["images"]}
    assert sizes == {im["file_name"]: (im["width"], im["height"]) for im in ours["images"]}
    # category ids and names are ours (the config's category= attributes)
    names = {c["id"]: c["name"] for c in ours["categories"]}
    assert {c["id"]: c["name"] for c in theirs["categories"] if c["id"] in names} == names
    mine, got = _by_image(ours), _by_image(theirs)
    crowd = [a for a in ours["annotations"] if a["iscrowd"]]
    assert len(crowd) == 1  # the RLE mask is a brush region: checked by test_label_studio_brush_decoder_reads_our_mask
    n = 0
    for name, anns in mine.items():
        expected = [r for a in anns if not a["iscrowd"] for r in _rings(a)]
        _match(expected, got.get(name, []))
        n += len(expected)
    assert n == len(theirs["annotations"]) == 115  # 101 polygons, some with several rings


def test_label_studio_converter_reads_our_run(project: nl.Project, coco21: Path, tmp_path: Path) -> None:
    info = _quiet(project.export_label_studio, tmp_path / "ls" / "tasks.json", runs="detr")
    tasks = json.loads(info.path.read_text())
    assert {p["model_version"] for t in tasks for p in t["predictions"]} == {"detr"}
    swapped = [{**t, "annotations": [{"result": p["result"]} for p in t["predictions"]]} for t in tasks]
    f = tmp_path / "as_annotations.json"
    f.write_text(json.dumps(swapped))
    theirs = _ls_to_coco(f, info.config, coco21 / "images", tmp_path / "lscoco")
    ours = json.loads(_quiet(project.export_coco, tmp_path / "run.json", run="detr").read_text())
    images = {im["id"]: im["file_name"] for im in json.loads(
        _quiet(project.export_coco, tmp_path / "gt.json").read_text())["images"]}
    mine: dict[str, list[dict]] = {}
    for r in ours:
        mine.setdefault(images[r["image_id"]], []).append({**r, "segmentation": []})
    got = _by_image(theirs)
    assert sum(map(len, got.values())) == len(ours) == 102
    for name, anns in mine.items():
        _match(anns, got[name])
    scores = sorted(r["score"] for t in tasks for p in t["predictions"] for r in p["result"])
    np.testing.assert_allclose(scores, sorted(r["score"] for r in ours))


def test_label_studio_converter_reads_our_keypoints(coco21: Path, tmp_path: Path) -> None:
    p = nl.open(tmp_path / "kp.duckdb")
    p.add_images(sorted((coco21 / "images").glob("*.jpg"))[:4])
    p.schema.add_keypoints("person", points=["nose", "left_eye", "right_eye", "chin"], skeleton=[(0, 1), (0, 2)])
    rng = np.random.default_rng(3)
    want = {}
    for mid in range(1, 5):
        pts = [[float(x), float(y), int(v)] for x, y, v in zip(rng.uniform(5, 400, 4), rng.uniform(5, 400, 4),
                                                                [2, 2, 1, 0], strict=True)]
        p.add_instance(mid, "person", keypoints=pts)
        want[mid] = pts
    p.complete([1, 2, 3, 4])
    info = _quiet(p.export_label_studio, tmp_path / "ls" / "tasks.json")
    theirs = _ls_to_coco(info.path, info.config, coco21 / "images", tmp_path / "lscoco")
    assert theirs["categories"][-1]["keypoints"] == ["nose", "left_eye", "right_eye", "chin"]
    files = {im["id"]: Path(im["file_name"]).name for im in theirs["images"]}
    media = {r.file_name: int(r.media_id) for r in p.media().df().itertuples()}
    assert len(theirs["annotations"]) == 4
    for a in theirs["annotations"]:
        pts = want[media[files[a["image_id"]]]]
        # the converter rounds to whole pixels and writes v=2 for every point it has (v=0 ones are not exported)
        expect = [c for x, y, v in pts for c in ((round(x), round(y), 2) if v else (0, 0, 0))]
        assert a["keypoints"] == expect


def test_sdk_written_label_studio_tasks_import_as_coco_does(coco21: Path, tmp_path: Path) -> None:
    coco = json.loads((coco21 / "instances.json").read_text())
    coco["annotations"] = [a for a in coco["annotations"] if not a["iscrowd"]]  # the SDK cannot write RLE
    (tmp_path / "gt.json").write_text(json.dumps(coco))
    _quiet(convert_coco_to_ls, str(tmp_path / "gt.json"), str(tmp_path / "ls.json"))
    ls = nl.open(tmp_path / "ls.duckdb")
    r = ls.import_label_studio(tmp_path / "ls.json", images=coco21 / "images",
                               config=tmp_path / "ls.label_config.xml")
    assert r.ok, r.summary()
    ref = nl.open(tmp_path / "ref.duckdb")
    assert ref.import_coco(tmp_path / "gt.json", images=coco21 / "images").ok
    a = ref.instances().df().sort_values(["file_name", "label", "x0"]).reset_index(drop=True)
    boxes = ls.instances().df().query("kind == 'box'").sort_values(["file_name", "label", "x0"]).reset_index(drop=True)
    assert boxes["label"].tolist() == a["label"].tolist()
    assert boxes["file_name"].tolist() == a["file_name"].tolist()
    np.testing.assert_allclose(boxes[["x0", "y0", "x1", "y1"]].to_numpy(float), a[["x0", "y0", "x1", "y1"]].to_numpy(float),
                               atol=1e-3)
    # every COCO polygon ring came back as a polygon with the same points
    rings_ref = sorted((f, lab, tuple(np.round(np.ravel(ring), 3))) for f, lab, pts in
                       zip(a["file_name"], a["label"], a["points"], strict=True)
                       for ring in (json.loads(pts) if isinstance(pts, str) else pts))
    polys = ls.instances().df().query("kind == 'polygon'")
    rings_ls = sorted((f, lab, tuple(np.round(np.ravel(ring), 3))) for f, lab, pts in
                      zip(polys["file_name"], polys["label"], polys["points"], strict=True)
                      for ring in (json.loads(pts) if isinstance(pts, str) else pts))
    assert len(rings_ls) == len(rings_ref)
    for x, y in zip(rings_ls, rings_ref, strict=True):
        assert x[:2] == y[:2]
        np.testing.assert_allclose(x[2], y[2], atol=2e-3)
    assert ls.status_summary()[["state", "count"]].values.tolist() == [["complete", 21]]


def test_label_studio_brush_decoder_reads_our_mask(project: nl.Project, coco21: Path, tmp_path: Path) -> None:
    """The crowd RLE mask goes out as a brush; Label Studio's BRUSH_TO_NUMPY export decodes it to our pixels."""
    info = _quiet(project.export_label_studio, tmp_path / "ls" / "tasks.json", runs=[])
    conv = Converter(str(info.config), project_dir=str(tmp_path), download_resources=False)
    (tmp_path / "npy").mkdir()
    conv.convert(str(info.path), str(tmp_path / "npy"), "BRUSH_TO_NUMPY", is_dir=False)
    files = sorted((tmp_path / "npy").glob("*.npy"))
    assert len(files) == 1
    theirs = np.load(files[0])
    mask = project.instances().df().query("kind == 'mask'")
    assert len(mask) == 1
    ours = rle_decode(json.loads(mask["points"].iloc[0]))
    assert theirs.shape == ours.shape
    assert ours.sum() > 1000
    np.testing.assert_array_equal(theirs > 127, ours)
    # and a brush written by the SDK's own encoder imports as that mask
    tasks = json.loads(info.path.read_text())
    brush = next(r for t in tasks for a in t["annotations"] for r in a["result"] if r["type"] == "brushlabels")
    brush["value"]["rle"] = mask2rle((ours * 255).astype(np.uint8))
    task = next(t for t in tasks if brush in t["annotations"][0]["result"])
    task["annotations"][0]["result"] = [brush]
    (tmp_path / "one.json").write_text(json.dumps([task]))
    q = nl.open(tmp_path / "q.duckdb")
    r = q.import_label_studio(tmp_path / "one.json", images=coco21 / "images", config=info.config)
    assert r.ok, r.summary()
    back = q.instances().df()
    assert back["kind"].tolist() == ["mask"]
    np.testing.assert_array_equal(rle_decode(json.loads(back["points"].iloc[0])), ours)
