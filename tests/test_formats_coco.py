"""COCO import/export on 21 real COCO images: ids, crowd RLE, areas, round trip through pycocotools."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nblabel as nl
from nblabel.errors import FormatError
from nblabel.io._coco import rle_area
from tests._fixtures import COCO21

GT = COCO21 / "instances.json"
IMAGES = COCO21 / "images"


@pytest.fixture(scope="module")
def source() -> dict:
    return json.loads(GT.read_text())


def _current(p: nl.Project):
    with p.store.read() as con:
        return con.execute("SELECT * FROM current_instances ORDER BY instance_id").df()


def test_import_counts_ids_and_status(coco_proj: nl.Project, source: dict) -> None:
    p = coco_proj
    assert p.instances().count() == 102
    assert p.media().count() == 21
    summary = p.status_summary()
    assert summary[["state", "count"]].values.tolist() == [["complete", 21]]
    metas = {lab.name: lab.meta for lab in p.schema.state().labels.values()}
    # category ids with gaps (COCO has 80 categories numbered up to 90) are kept in label meta
    assert {m["coco_id"] for m in metas.values()} == {c["id"] for c in source["categories"]}
    assert metas["toothbrush"] == {"coco_id": 90, "supercategory": "indoor"}
    # image ids and file names as in the JSON
    media = p.media().df()
    ids = {json.loads(m)["coco_id"] for m in media["meta"]}
    assert ids == {im["id"] for im in source["images"]}
    assert set(media["file_name"]) == {im["file_name"] for im in source["images"]}


def test_crowd_rle_and_fields_preserved_exactly(coco_proj: nl.Project, source: dict) -> None:
    cur = _current(coco_proj)
    crowd = [a for a in source["annotations"] if a["iscrowd"]]
    assert crowd
    extras = [json.loads(e) for e in cur["extra"]]
    by_coco = {e["coco_id"]: i for i, e in enumerate(extras)}
    for a in crowd:
        row = cur.iloc[by_coco[a["id"]]]
        assert row["kind"] == "mask"
        assert bool(row["iscrowd"])
        assert json.loads(row["points"]) == a["segmentation"]  # RLE dict exactly as given
        assert row["area"] == a["area"]
        assert rle_area(a["segmentation"]) == pytest.approx(a["area"], rel=0.05)
    poly = next(a for a in source["annotations"] if not a["iscrowd"] and len(a["segmentation"]) > 1)
    row = cur.iloc[by_coco[poly["id"]]]
    rings = json.loads(row["points"])
    assert len(rings) == len(poly["segmentation"])  # every ring kept
    x, y, w, h = poly["bbox"]
    assert [row["x0"], row["y0"], row["x1"], row["y1"]] == pytest.approx([x, y, x + w, y + h])


def test_round_trip_through_pycocotools(coco_proj: nl.Project, source: dict, tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    out = coco_proj.export_coco(tmp_path / "out" / "gt.json")
    coco = COCO(str(out))
    assert len(coco.getAnnIds()) == 102
    assert sorted(coco.getCatIds()) == sorted(c["id"] for c in source["categories"])
    assert sorted(coco.getImgIds()) == sorted(im["id"] for im in source["images"])
    exported = {a["id"]: a for a in json.loads(out.read_text())["annotations"]}
    for a in source["annotations"]:
        b = exported[a["id"]]
        assert b["bbox"] == pytest.approx(a["bbox"], abs=1e-3)
        assert b["area"] == a["area"]
        assert b["iscrowd"] == a["iscrowd"]
        assert b["segmentation"] == a["segmentation"]
        assert (b["image_id"], b["category_id"]) == (a["image_id"], a["category_id"])
    # and back in: a fresh project gets every instance again
    q = nl.open(tmp_path / "again.duckdb")
    r = q.import_coco(out, images=IMAGES)
    assert r.ok
    assert r.added == 102
    c1, c2 = (_by_coco_id(_current(x)) for x in (coco_proj, q))
    cols = ["x0", "y0", "x1", "y1", "area", "iscrowd"]
    assert np.abs(c1[cols].to_numpy(float) - c2[cols].to_numpy(float)).max() < 1e-3
    assert [json.loads(v) for v in c1["points"]] == [json.loads(v) for v in c2["points"]]
    assert list(c1["kind"]) == list(c2["kind"])


def _by_coco_id(df):
    df = df.assign(coco_id=[json.loads(e)["coco_id"] for e in df["extra"]])
    return df.sort_values("coco_id").reset_index(drop=True)


def test_export_is_deterministic_and_leaves_out_incomplete(coco_proj: nl.Project, tmp_path: Path) -> None:
    a = coco_proj.export_coco(tmp_path / "a.json")
    b = coco_proj.export_coco(tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()
    first = int(coco_proj.media().df()["media_id"].iloc[0])
    coco_proj.set_status(first, "in_progress")
    with pytest.warns(UserWarning, match="1 media item"):
        c = coco_proj.export_coco(tmp_path / "c.json")
    assert len(json.loads(c.read_text())["images"]) == 20
    d = coco_proj.export_coco(tmp_path / "d.json", include_incomplete=True)
    assert len(json.loads(d.read_text())["images"]) == 21
    sl = coco_proj.media().where("file_name = ?", ["000000000072.jpg"])
    e = coco_proj.export_coco(tmp_path / "e.json", slice=sl)
    assert [im["id"] for im in json.loads(e.read_text())["images"]] == [72]


def test_complete_false_and_run_export(tmp_path: Path, source: dict) -> None:
    p = nl.open(tmp_path / "p.duckdb")
    p.import_coco(GT, images=IMAGES, complete=False)
    assert p.status_summary()["state"].tolist() == ["new"]
    with pytest.warns(UserWarning, match="21 media"):
        out = p.export_coco(tmp_path / "none.json")
    assert json.loads(out.read_text())["images"] == []
    # predictions read as COCO results come back out with the same ids
    results = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.5}
               for a in source["annotations"] if not a["iscrowd"]][:10]
    run = p.add_run("m")
    assert run.add_predictions(results).added == 10
    res = json.loads(p.export_coco(tmp_path / "res.json", run="m").read_text())
    assert sorted((r["image_id"], r["category_id"]) for r in res) == sorted(
        (r["image_id"], r["category_id"]) for r in results)


def _tiny(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "imgs"
    root.mkdir()
    for name, size in (("a.png", (64, 48)), ("b.png", (80, 60))):
        Image.new("RGB", size, (10, 20, 30) if name == "a.png" else (40, 50, 60)).save(root / name)
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48},
                       {"id": 2, "file_name": "b.png", "width": 80, "height": 60}],
            "categories": [{"id": 5, "name": "car"}, {"id": 9, "name": "person"}],
            "annotations": [{"id": 10, "image_id": 1, "category_id": 5, "bbox": [1, 1, 10, 10], "area": 100,
                             "iscrowd": 0},
                            {"id": 11, "image_id": 2, "category_id": 9, "bbox": [5, 5, 20, 20], "area": 400,
                             "iscrowd": 0}]}
    return root, coco


def _write(tmp_path: Path, d: object, name: str = "gt.json") -> Path:
    f = tmp_path / name
    f.write_text(json.dumps(d))
    return f


def _table_hash(p: nl.Project) -> tuple:
    with p.store.read() as con:
        return tuple(con.execute(f"SELECT count(*), hash(string_agg(CAST(t AS VARCHAR), '|' ORDER BY "
                                 f"CAST(t AS VARCHAR))) FROM {t} AS t").fetchall()[0]
                     for t in ("media", "instances", "labels", "status", "meta"))


@pytest.mark.parametrize(("change", "item", "reason"), [
    (lambda a: a.update(image_id=99), "annotation 11", "not listed in 'images'"),
    (lambda a: a.update(category_id=77), "annotation 11", "category_id 77"),
    (lambda a: a.update(bbox=[float("nan"), 1, 2, 3]), "annotation 11", "NaN"),
    (lambda a: a.update(bbox=[5, 5, -3, 4]), "annotation 11", "negative"),
    (lambda a: a.pop("category_id"), "annotation 11", "category_id"),
    (lambda a: a.update(segmentation={"size": [1, 1], "counts": [1]}), "annotation 11", "RLE size"),
])
def test_bad_annotation_is_reported_and_good_rows_go_in(tmp_path: Path, change, item: str, reason: str) -> None:
    root, coco = _tiny(tmp_path)
    change(coco["annotations"][1])
    f = _write(tmp_path, coco)
    p = nl.open(tmp_path / "p.duckdb")
    r = p.import_coco(f, images=root)
    assert r.added == 1
    assert len(r.problems) == 1
    assert r.problems[0].item.startswith(item)
    assert reason in r.problems[0].reason
    # the image with the refused annotation is not claimed complete (image 99 is not b.png's)
    assert p.status("a.png")["state"] == "complete"
    assert p.status("b.png")["state"] == ("complete" if "images" in reason else "new")
    # errors="raise" leaves the project exactly as before
    q = nl.open(tmp_path / "q.duckdb")
    before = _table_hash(q)
    with pytest.raises(FormatError, match="annotation 11"):
        q.import_coco(f, images=root, errors="raise")
    assert _table_hash(q) == before


def test_partially_outside_box_is_stored_as_given_with_a_note(tmp_path: Path) -> None:
    root, coco = _tiny(tmp_path)
    coco["annotations"][0]["bbox"] = [50, 40, 30, 30]
    p = nl.open(":memory:")
    r = p.import_coco(_write(tmp_path, coco), images=root)  # no warning: the file's geometry is kept
    assert r.added == 2
    assert r.notes == ["1 annotation extends past the image border; stored as given (pass clip=True to clip)"]
    box = p.instances().df().sort_values("instance_id").iloc[0][["x0", "y0", "x1", "y1"]].tolist()
    assert box == [50, 40, 80, 70]
    with pytest.raises(FormatError, match="annotation 10"):
        nl.open(":memory:").import_coco(_write(tmp_path, coco), images=root, strict=True, errors="raise")


def test_malformed_files_raise_format_error(tmp_path: Path) -> None:
    root, coco = _tiny(tmp_path)
    p = nl.open(":memory:")
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [')
    with pytest.raises(FormatError, match=r"bad\.json.*not valid JSON"):
        p.import_coco(bad, images=root)
    with pytest.raises(FormatError, match=r"missing.*annotations"):
        p.import_coco(_write(tmp_path, {"images": [], "categories": []}), images=root)
    with pytest.raises(FormatError, match="does not exist"):
        p.import_coco(tmp_path / "nope.json", images=root)
    c2 = copy.deepcopy(coco)
    del c2["categories"][0]["name"]
    with pytest.raises(FormatError, match="category #0 needs 'id' and 'name'"):
        p.import_coco(_write(tmp_path, c2), images=root)
    assert p.instances().count() == 0


def test_missing_image_file_is_reported_with_its_annotations(tmp_path: Path) -> None:
    root, coco = _tiny(tmp_path)
    (root / "b.png").unlink()
    p = nl.open(":memory:")
    r = p.import_coco(_write(tmp_path, coco), images=root)
    items = [pr.item for pr in r.problems]
    assert items[0].startswith("image 2 (b.png)")
    assert items[1].startswith("annotation 11")
    assert r.added == 1
    assert p.media().count() == 1


def test_sql_looking_label_name_round_trips(tmp_path: Path) -> None:
    root, coco = _tiny(tmp_path)
    evil = "x'); DROP TABLE media; --"
    coco["categories"][0]["name"] = evil
    p = nl.open(tmp_path / "p.duckdb")
    assert p.import_coco(_write(tmp_path, coco), images=root).ok
    assert evil in set(p.schema.labels()["name"])
    out = json.loads(p.export_coco(tmp_path / "o.json").read_text())
    assert {c["name"] for c in out["categories"]} == {evil, "person"}
    assert p.media().count() == 2  # the media table still exists


def test_keypoints_import_export(tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    root, coco = _tiny(tmp_path)
    coco["categories"][1].update(keypoints=["head", "l_hand", "r_hand"], skeleton=[[1, 2], [1, 3]])
    coco["annotations"][1].update(keypoints=[10, 10, 2, 12, 20, 1, 0, 0, 0], num_keypoints=2,
                                  segmentation=[[5, 5, 25, 5, 25, 25]], extra_field="kept")
    p = nl.open(":memory:")
    assert p.import_coco(_write(tmp_path, coco), images=root).ok
    tpl = p.schema.state().templates
    (t,) = tpl.values()
    assert t.points == ("head", "l_hand", "r_hand")
    assert t.skeleton == ((0, 1), (0, 2))
    out = p.export_coco(tmp_path / "o.json")
    d = json.loads(out.read_text())
    a = next(x for x in d["annotations"] if x["id"] == 11)
    assert a["keypoints"] == [10, 10, 2, 12, 20, 1, 0, 0, 0]
    assert a["num_keypoints"] == 2
    assert a["extra_field"] == "kept"
    assert a["segmentation"] == [[5, 5, 25, 5, 25, 25]]
    cat = next(c for c in d["categories"] if c["id"] == 9)
    assert cat["skeleton"] == [[1, 2], [1, 3]]
    COCO(str(out))


def test_existing_label_reused(tmp_path: Path) -> None:
    root, coco = _tiny(tmp_path)
    p = nl.open(":memory:")
    lid = p.schema.add_label("car")
    p.import_coco(_write(tmp_path, coco), images=root)
    labels = p.schema.labels()
    assert (labels["name"] == "car").sum() == 1
    assert int(labels.loc[labels["name"] == "car", "label_id"].iloc[0]) == lid
    assert p.schema.state().labels[lid].meta["coco_id"] == 5


def test_compressed_rle_kept_and_area_matches_pycocotools(tmp_path: Path, source: dict) -> None:
    from pycocotools import mask as mask_utils

    crowd = next(a for a in source["annotations"] if a["iscrowd"])
    img = next(im for im in source["images"] if im["id"] == crowd["image_id"])
    h, w = crowd["segmentation"]["size"]
    compressed = mask_utils.frPyObjects(crowd["segmentation"], h, w)
    rle = {"size": compressed["size"], "counts": compressed["counts"].decode("ascii")}
    assert rle_area(rle) == float(mask_utils.area(compressed))
    assert rle_area(crowd["segmentation"]) == float(mask_utils.area(compressed))
    d = {"images": [img], "categories": source["categories"],
         "annotations": [{**crowd, "segmentation": rle, "area": None}]}
    f = tmp_path / "c.json"
    f.write_text(json.dumps(d))
    p = nl.open(":memory:")
    assert p.import_coco(f, images=IMAGES).ok
    out = json.loads(p.export_coco(tmp_path / "o.json").read_text())
    (a,) = out["annotations"]
    assert a["segmentation"] == rle  # compressed string kept exactly
    assert a["area"] == float(mask_utils.area(compressed))  # no area given: computed from the RLE


def test_computed_polygon_area_is_cocos_mask_area(tmp_path: Path) -> None:
    from pycocotools import mask as mask_utils

    p = nl.open(":memory:", media_dir=tmp_path / "m")
    p.add_images([np.zeros((40, 60, 3), np.uint8)])
    p.schema.add_label("car", spatial=["polygon"])
    poly = [[1.5, 2.5], [40.2, 3.1], [30.7, 35.9], [5, 30]]
    flat = [c for xy in poly for c in xy]
    p.add_instance(1, "car", polygon=poly)
    p.complete(1)
    (a,) = json.loads(p.export_coco(tmp_path / "o.json").read_text())["annotations"]
    rle = mask_utils.merge(mask_utils.frPyObjects([flat], 40, 60))
    assert a["area"] == float(mask_utils.area(rle))
    assert a["segmentation"] == [flat]
