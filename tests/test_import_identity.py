"""Imports lose nothing and double nothing silently (issue 8 §5).

- rows naming a media item that does not exist are refused and reported (not stored as orphans);
- byte-identical files under different names stay separate media items with their own annotations;
- importing the same data twice is recognised (``mode="skip-existing"``, the default), replaced
  (``mode="replace"``, history kept) or appended on request (``mode="append"``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import nblabel as nl
from nblabel.errors import FormatError, ValidationError
from tests._fixtures import COCO21, table_state


def _repr_instances(p: nl.Project) -> int:
    return int(repr(p).split(" media, ")[1].split(" instances")[0])


@pytest.fixture
def two_images(tmp_path: Path) -> nl.Project:
    p = nl.open(tmp_path / "p.duckdb")
    p.add_images([np.zeros((40, 60, 3), np.uint8), np.full((40, 60, 3), 7, np.uint8)])
    p.schema.add_label("car")
    return p


def _rows(media: list[int], x0: list[float] | None = None) -> pd.DataFrame:
    x0 = x0 or [1.0 + i for i in range(len(media))]
    return pd.DataFrame({"media_id": media, "label": "car", "x0": x0, "y0": 2.0, "x1": [x + 10 for x in x0],
                         "y1": 20.0, "score": 0.5})


# -- 1. unknown media ids --------------------------------------------------------------------------

def test_add_instances_reports_each_row_with_an_unknown_media_id_and_keeps_the_good_rows(two_images: nl.Project) -> None:
    r = two_images.add_instances(_rows([1, 99, 2, 105]), errors="report")
    assert (r.added, r.skipped, len(r.problems)) == (2, 2, 2)
    assert [p.item for p in r.problems] == ["row 1", "row 3"]
    assert "unknown media 99" in r.problems[0].reason and "unknown media 105" in r.problems[1].reason
    assert "proj.add_images" in r.problems[0].reason and "check the media id" in r.problems[0].reason
    assert two_images.instances().count() == 2
    with two_images.store.read() as con:  # nothing stored for a media item that does not exist
        assert con.execute("SELECT count(*) FROM instances WHERE media_id NOT IN (SELECT media_id FROM media)"
                           ).fetchall()[0][0] == 0
    assert _repr_instances(two_images) == two_images.instances().count()


def test_add_instances_unknown_media_refused_by_default_and_by_strict(two_images: nl.Project) -> None:
    before = table_state(two_images)
    with pytest.raises(FormatError, match="unknown media 99"):
        two_images.add_instances(_rows([1, 99]))  # errors="raise" (the default)
    with pytest.raises(ValidationError, match=r"strict=True refuses the whole batch.*unknown media 99"):
        two_images.add_instances(_rows([1, 99]), errors="report", strict=True)
    assert table_state(two_images) == before


def test_add_predictions_refuses_unknown_media_ids(two_images: nl.Project) -> None:
    run = two_images.add_run("m")
    r = run.add_predictions(_rows([2, 42]))
    assert (r.added, len(r.problems)) == (1, 1)
    assert "unknown media 42" in r.problems[0].reason
    assert run.predictions().count() == 1
    before = table_state(two_images)
    with pytest.raises(ValidationError, match="unknown media 42"):
        run.add_predictions(_rows([1, 42], [30.0, 30.0]), strict=True)
    assert table_state(two_images) == before
    # the project's repr counts what proj.instances() counts: ground truth, predictions apart
    two_images.add_instances(_rows([1]))
    assert _repr_instances(two_images) == two_images.instances().count() == 1
    assert "1 predictions" in repr(two_images)


def test_unknown_file_name_is_reported_too(two_images: nl.Project) -> None:
    df = _rows([1, 1]).drop(columns="media_id").assign(file_name=["nope.png", "also-nope.png"])
    r = two_images.add_instances(df, errors="report")
    assert r.added == 0 and len(r.problems) == 2
    assert "unknown media 'nope.png'" in r.problems[0].reason


# -- 2. byte-identical files under different names -----------------------------------------------------

def _identical_coco(tmp_path: Path) -> Path:
    d = tmp_path / "coco"
    d.mkdir()
    Image.new("RGB", (64, 48), (9, 90, 9)).save(d / "a.png")
    shutil.copy(d / "a.png", d / "b.png")
    coco = {"images": [{"id": 7, "file_name": "a.png", "width": 64, "height": 48},
                       {"id": 8, "file_name": "b.png", "width": 64, "height": 48}],
            "categories": [{"id": 3, "name": "car"}],
            "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 10, 20], "area": 200,
                             "iscrowd": 0},
                            {"id": 2, "image_id": 8, "category_id": 3, "bbox": [5, 5, 10, 10], "area": 100,
                             "iscrowd": 0}]}
    (d / "gt.json").write_text(json.dumps(coco))
    return d


def test_identical_files_keep_their_names_coco_ids_and_annotations(tmp_path: Path) -> None:
    d = _identical_coco(tmp_path)
    p = nl.open(tmp_path / "p.duckdb")
    r = p.import_coco(d / "gt.json", images=d)
    assert r.ok and r.added == 2
    assert "2 files have identical pixels: a.png, b.png; kept as separate media items" in " ".join(r.notes)
    media = p.media().df().sort_values("media_id")
    assert media["file_name"].tolist() == ["a.png", "b.png"]
    assert media["sha256"].nunique() == 1  # the pixels are shared: the sha256 says so
    assert [json.loads(m)["coco_id"] for m in media["meta"]] == [7, 8]
    inst = p.instances().df().sort_values("x0")
    assert inst["file_name"].tolist() == ["a.png", "b.png"]
    out = json.loads(p.export_coco(tmp_path / "out.json").read_text())
    assert [(i["id"], i["file_name"]) for i in out["images"]] == [(7, "a.png"), (8, "b.png")]
    assert [(a["image_id"], a["bbox"]) for a in out["annotations"]] == [(7, [1.0, 2.0, 10.0, 20.0]),
                                                                        (8, [5.0, 5.0, 10.0, 10.0])]


def test_add_images_keeps_one_item_per_file_name(tmp_path: Path) -> None:
    d = tmp_path / "imgs"
    d.mkdir()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(d / "x.png")
    shutil.copy(d / "x.png", d / "y.png")
    p = nl.open(tmp_path / "p.duckdb")
    r = p.add_images(d)
    assert (r.added, r.duplicates) == (2, 0)
    assert r.extra["identical_pixels"] == [["x.png", "y.png"]]
    again = p.add_images(d)  # the same names and bytes: the same media items
    assert (again.added, again.duplicates, again.ids) == (0, 2, r.ids)
    shutil.copy(d / "x.png", d / "z.png")
    third = p.add_images(d / "z.png")
    assert third.added == 1 and "3 files have identical pixels: x.png, y.png, z.png" in third.notes[0]
    assert p.media().count() == 3


def test_embeddings_keyed_by_sha256_reach_every_item_with_those_bytes(tmp_path: Path) -> None:
    d = _identical_coco(tmp_path)
    p = nl.open(tmp_path / "p.duckdb")
    ids = p.add_images([d / "a.png", d / "b.png"]).ids
    sha = p.media_info(ids[0])["sha256"]
    assert p.import_embeddings(pd.DataFrame({"sha256": [sha], "vector": [np.ones(4)]}), "e") == 2
    with p.store.read() as con:
        got = con.execute("SELECT media_id FROM embeddings WHERE name = 'e' ORDER BY 1").fetchall()
    assert [r[0] for r in got] == sorted(ids)


def test_a_format_2_file_is_migrated_so_identical_files_can_be_added(tmp_path: Path) -> None:
    f = tmp_path / "old.duckdb"
    nl.open(f).store.close()
    con = duckdb.connect(str(f))  # what a file written by format 2 has: a unique index on media.sha256
    con.execute("CREATE UNIQUE INDEX media_sha ON media (sha256)")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'format_version'")
    con.close()
    d = _identical_coco(tmp_path)
    p = nl.open(f)
    assert p.add_images([d / "a.png", d / "b.png"]).added == 2


# -- 3. repeated imports -----------------------------------------------------------------------------

def test_importing_the_same_coco_file_twice_adds_nothing_and_says_so(coco_proj: nl.Project) -> None:
    before = coco_proj.instances().count()
    r = coco_proj.import_coco(COCO21 / "instances.json", images=COCO21 / "images")
    assert r.ok and (r.added, r.skipped, r.extra["repeats"]) == (0, 102, 102)
    assert any(n.startswith("skipped 102 annotations already in the project") and "mode='append'" in n
               for n in r.notes)
    assert coco_proj.instances().count() == before == 102
    assert coco_proj.media().count() == 21


def test_a_box_fixed_after_import_is_not_brought_back_and_a_deleted_one_stays_deleted(coco_proj: nl.Project) -> None:
    df = coco_proj.instances().df().sort_values("instance_id")
    fixed, gone = int(df["instance_id"].iloc[0]), int(df["instance_id"].iloc[1])
    b = df.iloc[0]
    coco_proj.update_instance(fixed, box=[b.x0 + 3, b.y0 + 3, b.x1 - 3, b.y1 - 3])
    coco_proj.delete_instance(gone)
    r = coco_proj.import_coco(COCO21 / "instances.json", images=COCO21 / "images")
    assert r.added == 0 and r.extra["repeats"] == 102  # the fixed box is the same COCO annotation
    assert any("1 of them were deleted in the project and stay deleted" in n for n in r.notes)
    assert coco_proj.instances().count() == 101
    assert coco_proj.history(fixed)["version"].tolist() == [1, 2]


def test_coco_mode_append_and_replace(coco_proj: nl.Project) -> None:
    r = coco_proj.import_coco(COCO21 / "instances.json", images=COCO21 / "images", mode="append")
    assert r.added == 102 and coco_proj.instances().count() == 204
    old_ids = set(coco_proj.instances().df()["instance_id"])
    r = coco_proj.import_coco(COCO21 / "instances.json", images=COCO21 / "images", mode="replace")
    assert r.added == 102 and r.extra["replaced"] == 204
    assert any(n.startswith("replaced 204 annotations on 21 media item(s)") for n in r.notes)
    now = coco_proj.instances().df()
    assert len(now) == 102 and not set(now["instance_id"]) & old_ids
    h = coco_proj.history(min(old_ids))  # replaced, not erased: the old version is in the history
    assert h["deleted"].tolist() == [False, True]
    assert coco_proj.media().count() == 21
    r = coco_proj.import_coco(COCO21 / "instances.json", images=COCO21 / "images")  # live copies, not tombstones
    assert r.added == 0 and not any("deleted" in n for n in r.notes)


def test_replace_on_a_listed_image_without_annotations_clears_its_ground_truth(tmp_path: Path) -> None:
    d = _identical_coco(tmp_path)
    p = nl.open(tmp_path / "p.duckdb")
    p.import_coco(d / "gt.json", images=d)
    coco = json.loads((d / "gt.json").read_text())
    coco["annotations"] = coco["annotations"][:1]  # b.png is now a background image
    (d / "gt2.json").write_text(json.dumps(coco))
    r = p.import_coco(d / "gt2.json", images=d, mode="replace")
    assert (r.added, r.extra["replaced"]) == (1, 2)
    assert p.instances().df()["file_name"].tolist() == ["a.png"]


def test_reimporting_our_own_yolo_and_voc_exports_adds_nothing(coco_proj: nl.Project, tmp_path: Path) -> None:
    yolo = coco_proj.export_yolo(tmp_path / "yolo", copy_images=True)
    r = coco_proj.import_yolo(yolo / "labels", images=yolo / "images", names=yolo / "data.yaml")
    assert r.ok, r.summary()
    assert (r.added, r.extra["repeats"]) == (0, 102)
    assert any(n.startswith("skipped 102 lines already in the project") for n in r.notes)
    with pytest.warns(UserWarning, match="written as their boxes"):
        voc = coco_proj.export_voc(tmp_path / "voc")
    r = coco_proj.import_voc(voc, images=COCO21 / "images")
    assert r.ok, r.summary()
    assert (r.added, r.extra["repeats"]) == (0, 102)
    assert coco_proj.instances().count() == 102 and coco_proj.media().count() == 21
    r = coco_proj.import_voc(voc, images=COCO21 / "images", mode="append")
    assert r.added == 102


def test_add_instances_modes(two_images: nl.Project) -> None:
    df = _rows([1, 1, 2])
    assert two_images.add_instances(df).added == 3
    near = df.assign(x0=df["x0"] + 1e-7)  # within 1e-6 px: the same geometry
    r = two_images.add_instances(near)
    assert (r.added, r.skipped) == (0, 3)
    assert r.notes == ["skipped 3 instances already in the project (same image, label and geometry); "
                       "pass mode='append' to add them again"]
    moved = df.assign(x0=df["x0"] + 1e-3)  # a different box
    assert two_images.add_instances(moved.iloc[:1]).added == 1
    assert two_images.add_instances(df, mode="append").added == 3
    assert two_images.instances().count() == 7
    r = two_images.add_instances(df.iloc[:1], mode="replace")  # media 1 only
    assert (r.added, r.extra["replaced"]) == (1, 5)
    assert sorted(two_images.instances().df()["media_id"]) == [1, 2, 2]


def test_predictions_repeat_within_their_run_only(two_images: nl.Project) -> None:
    two_images.add_instances(_rows([1, 2]))  # ground truth with the same boxes is another source
    a, b = two_images.add_run("a"), two_images.add_run("b")
    assert a.add_predictions(_rows([1, 2])).added == 2
    assert b.add_predictions(_rows([1, 2])).added == 2
    r = a.add_predictions(_rows([1, 2]))
    assert r.added == 0 and r.notes[0].startswith("skipped 2 predictions already in the project")
    r = a.add_predictions(_rows([1], [30.0]), mode="replace")
    assert (r.added, r.extra["replaced"]) == (1, 1)
    assert a.predictions().count() == 2 and b.predictions().count() == 2
    assert two_images.instances().count() == 2
    assert a.add_predictions(_rows([2]), mode="append").added == 1


def test_an_unknown_mode_is_refused_before_anything_changes(two_images: nl.Project, tmp_path: Path) -> None:
    d = _identical_coco(tmp_path)
    run = two_images.add_run("m")
    before = table_state(two_images)
    calls = [lambda: two_images.add_instances(_rows([1]), mode="skip"),
             lambda: run.add_predictions(_rows([1]), mode="overwrite"),
             lambda: two_images.import_coco(d / "gt.json", images=d, mode="skip_existing"),
             lambda: two_images.import_voc(d, images=d, mode=None),
             lambda: two_images.import_yolo(d, images=d, names=["car"], mode="merge")]
    for call in calls:
        with pytest.raises(ValidationError, match="'skip-existing'.*'replace'.*'append'"):
            call()
    assert table_state(two_images) == before
