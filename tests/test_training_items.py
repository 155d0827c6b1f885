"""proj.training_items: the target layout on the 21 COCO photos (boxes, masks against pycocotools,
keypoints), splits, snapshots that never change, completed_only, EXIF orientation, bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps
from pycocotools.coco import COCO

import nblabel as nl
from nblabel.errors import NotFoundError, StoreError, ValidationError
from tests._fixtures import COCO21

GT = COCO21 / "instances.json"
IMAGES = COCO21 / "images"


def _stored(p: nl.Project):
    return p.instances().df().sort_values(["media_id", "instance_id"]).reset_index(drop=True)


def test_layout_dtypes_and_boxes_equal_the_stored_instances(coco_proj: nl.Project) -> None:
    p = coco_proj
    stored = _stored(p)
    media = p.media().df().set_index("media_id")
    items = list(p.training_items())
    assert [int(t["media_id"]) for _, t in items] == sorted(media.index.tolist())  # media id order
    seen = []
    for image, t in items:
        mid = int(t["media_id"])
        assert image.dtype == np.uint8 and image.shape == (media.loc[mid, "height"], media.loc[mid, "width"], 3)
        assert set(t) == {"boxes", "labels", "area", "iscrowd", "instance_ids", "media_id", "image_id",
                          "image_labels", "attributes"}  # no keypoints in coco21, no masks unless asked
        n = len(t["labels"])
        assert t["boxes"].dtype == np.float32 and t["boxes"].shape == (n, 4)
        assert t["labels"].dtype == np.int64 and t["iscrowd"].dtype == np.int64
        assert t["area"].dtype == np.float32 and t["instance_ids"].dtype == np.int64
        assert t["image_id"] == mid and t["image_labels"].shape == (0,)
        rows = stored[stored["media_id"] == mid]
        assert t["instance_ids"].tolist() == rows["instance_id"].tolist()
        np.testing.assert_allclose(t["boxes"], rows[["x0", "y0", "x1", "y1"]].to_numpy(float), atol=1e-3)
        assert t["labels"].tolist() == rows["label_id"].tolist()
        assert t["iscrowd"].tolist() == rows["iscrowd"].astype(int).tolist()
        np.testing.assert_allclose(t["area"], rows["area"].to_numpy(float), rtol=1e-6)
        seen += t["instance_ids"].tolist()
    assert sorted(seen) == sorted(stored["instance_id"].tolist())  # every instance, once
    classes = p.training_classes()
    assert classes[int(stored.loc[0, "label_id"])] == stored.loc[0, "label"]
    assert 0 not in classes  # free for torchvision's background class


def test_masks_match_pycocotools_ann_to_mask(coco_proj: nl.Project) -> None:
    coco = COCO(str(GT))
    stored = _stored(coco_proj)
    coco_id = {int(i): int(json.loads(e)["coco_id"]) for i, e in zip(stored["instance_id"], stored["extra"])}
    n = 0
    crowd = 0
    for _, t in coco_proj.training_items(masks=True):
        m = t["masks"]
        assert m.dtype == np.uint8 and m.shape[0] == len(t["labels"])
        for k, iid in enumerate(t["instance_ids"].tolist()):
            ann = coco.anns[coco_id[iid]]
            np.testing.assert_array_equal(m[k], coco.annToMask(ann))
            n += 1
            crowd += ann["iscrowd"]
    assert n == 102 and crowd == 1  # every polygon and the crowd RLE


def test_keypoints_tags_points_and_box_masks(proj: nl.Project) -> None:
    p = proj  # conftest: car (box, polygon), person (box, keypoints, point, line, 3-point template), night (tag)
    p.add_instance(1, "person", keypoints=[[10, 10, 2], [20, 15, 1], [0, 0, 0]])
    p.add_instance(1, "car", box=[2, 3, 12, 9], attributes={"color": "red"})
    p.add_instance(1, "night", tag=True)
    p.add_instance(1, "person", point=[5, 5])
    p.add_instance(1, "person", line=[[1, 1], [8, 4]])
    p.complete([1, 2])
    (_, t1), (_, t2) = list(p.training_items(masks=True))
    labels = {v: k for k, v in p.training_classes().items()}
    assert t1["labels"].tolist() == [labels["person"], labels["car"]]  # point and line left out
    assert t1["image_labels"].tolist() == [labels["night"]]
    assert t1["keypoints"].dtype == np.float32 and t1["keypoints"].shape == (2, 3, 3)
    assert t1["keypoints"][0].tolist() == [[10, 10, 2], [20, 15, 1], [0, 0, 0]]
    assert not t1["keypoints"][1].any()  # the car has no keypoints
    np.testing.assert_allclose(t1["boxes"][0], [10, 10, 20, 15])  # keypoints: the visible points' extent
    assert t1["attributes"] == [{}, {"color": "red"}]
    car = t1["masks"][1]  # a box fills its box, rasterised as pycocotools rasterises a bbox
    assert car.sum() == 10 * 6 and car[3:9, 2:12].all()
    assert t2["keypoints"].shape == (0, 3, 3) and t2["masks"].shape == (0, 60, 80)  # b.jpg is 80×60


def test_completed_only_and_order(proj: nl.Project) -> None:
    p = proj
    p.add_instance(2, "car", box=[1, 1, 5, 5])
    p.complete(3)
    p.skip(2, "blurry")
    assert [int(t["media_id"]) for _, t in p.training_items()] == [3]
    assert [int(t["media_id"]) for _, t in p.training_items(completed_only=False)] == [1, 2, 3]
    with pytest.raises(ValidationError, match="completed_only"):
        p.training_items(completed_only="yes")  # type: ignore[arg-type]


def test_split_and_slice(coco_proj: nl.Project) -> None:
    p = coco_proj
    p.split("v1", {"train": 0.7, "val": 0.3}, stratify="none")
    train = sorted(p.dataset("v1/train").ids())
    got = [int(t["media_id"]) for _, t in p.training_items(split="v1/train")]
    assert got == train and 0 < len(got) < 21
    some = train[:3]
    assert [int(t["media_id"]) for _, t in p.training_items(split="v1/train", slice=some)] == some
    with pytest.raises(NotFoundError, match="v1/trian"):
        p.training_items(split="v1/trian")
    with pytest.raises(ValidationError, match="split="):
        p.training_items(slice="v1/train")


def test_snapshot_yields_the_same_items_after_the_project_changes(coco_proj: nl.Project) -> None:
    p = coco_proj
    p.split("v1", {"train": 0.7, "val": 0.3}, stratify="none")
    first = list(p.training_items(split="v1/train", snapshot="train-v1"))
    classes = p.training_classes(snapshot="train-v1")
    ids = [int(t["media_id"]) for _, t in first]
    # the project moves on: an instance deleted, one added, one item no longer complete, a label renamed
    victim = int(first[0][1]["instance_ids"][0])
    p.delete_instance(victim)
    p.add_instance(ids[1], "person", box=[1, 1, 30, 30])
    p.set_status(ids[2], "in_progress")
    p.schema.rename_label("person", "human")
    again = list(p.training_items(snapshot="train-v1"))
    assert [int(t["media_id"]) for _, t in again] == ids
    for (a_img, a), (b_img, b) in zip(first, again, strict=True):
        np.testing.assert_array_equal(a_img, b_img)
        assert a.keys() == b.keys()
        for k in a.keys() - {"attributes"}:
            np.testing.assert_array_equal(a[k], b[k])
        assert a["attributes"] == b["attributes"]
    assert p.training_classes(snapshot="train-v1") == classes and "person" in classes.values()
    assert "human" in p.training_classes().values()
    live = [int(t["media_id"]) for _, t in p.training_items(split="v1/train")]
    assert live == [i for i in ids if i != ids[2]]  # the live list did change
    row = p.snapshots().set_index("name").loc["train-v1"]
    assert row["format"] == "training" and row["n_media"] == len(ids)
    with pytest.raises(ValidationError, match="never changes"):
        p.training_items(snapshot="train-v1", split="v1/val")


def test_snapshot_tampered_is_an_error(coco_proj: nl.Project) -> None:
    p = coco_proj
    list(p.training_items(snapshot="s"))
    path = Path(p.snapshots().set_index("name").loc["s", "path"])
    assert (path / "instances.parquet").exists()
    (path / "items.json").write_text(json.dumps({"classes": {}, "keypoints": 0, "scores": False, "options": {}}))
    with pytest.raises(StoreError, match="modified"):
        p.training_items(snapshot="s")


def test_coco_snapshot_is_read_back(coco_proj: nl.Project) -> None:
    p = coco_proj
    p.snapshot("c1")  # a COCO export frozen under a name
    live = list(p.training_items())
    stored = _stored(p)
    p.delete_instance(int(stored.loc[0, "instance_id"]))
    got = list(p.training_items(snapshot="c1"))
    assert [int(t["media_id"]) for _, t in got] == [int(t["media_id"]) for _, t in live]
    for (_, a), (_, b) in zip(live, got, strict=True):
        np.testing.assert_allclose(a["boxes"], b["boxes"], atol=1e-3)
        np.testing.assert_allclose(a["area"], b["area"], rtol=1e-6)
        assert a["iscrowd"].tolist() == b["iscrowd"].tolist()
    cats = {c["id"]: c["name"] for c in json.loads(GT.read_text())["categories"]}
    assert p.training_classes(snapshot="c1") == cats  # a COCO snapshot's labels are its category ids
    with pytest.raises(ValidationError, match="COCO export"):
        p.training_items(snapshot="c1", split="v1/train")


def test_exif_orientation_applied(tmp_path: Path) -> None:
    d = tmp_path / "imgs"
    d.mkdir()
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 255, (30, 50, 3), dtype=np.uint8)  # stored 50 wide, 30 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display: 30 wide, 50 high
    Image.fromarray(raw).save(d / "r.png", exif=exif.tobytes())
    p = nl.open(tmp_path / "p.duckdb")
    p.add_images(d)
    p.schema.add_label("car")
    p.add_instance(1, "car", box=[2, 40, 28, 49])  # fits only the upright image
    p.complete(1)
    image, t = next(p.training_items())
    with Image.open(d / "r.png") as im:
        upright = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert image.shape == (50, 30, 3)
    np.testing.assert_array_equal(image, upright)
    assert t["boxes"].tolist() == [[2, 40, 28, 49]]


def test_run_predictions_carry_scores(proj: nl.Project) -> None:
    p = proj
    p.add_run("m")
    p.add_instance(1, "car", box=[1, 2, 10, 12], run="m", score=0.75)
    p.complete(1)
    (_, t), = list(p.training_items(run="m", slice=[1]))
    assert t["scores"].dtype == np.float32 and t["scores"].tolist() == [0.75]
    assert t["boxes"].tolist() == [[1, 2, 10, 12]]
    assert "scores" not in next(p.training_items(slice=[1]))[1]
