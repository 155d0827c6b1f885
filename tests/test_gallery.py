"""Gallery widget, Python side: thumbnails and their cache, the message handler, overlays, actions."""

from __future__ import annotations

import io
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from PIL import Image

import nblabel as nl
from nblabel.errors import NotFoundError, ValidationError
from nblabel.io import _images
from nblabel.widgets._gallery import Gallery
from nblabel.widgets._gallery_tables import STATUS_FN, STATUS_FP, STATUS_GT, STATUS_IGNORED, STATUS_TP

XSS = "<img src=x onerror=window.__pwned=1>.jpg"


@pytest.fixture
def gproj(tmp_path: Path) -> nl.Project:
    """A file-backed project: four images (one EXIF-rotated, one with a hostile file name), labels, a run."""
    d = tmp_path / "imgs"
    d.mkdir()
    rng = np.random.default_rng(1)
    paths, names = [], []
    for i, (w, h) in enumerate([(320, 240), (200, 400), (64, 48), (300, 100)]):
        p = d / f"im{i}.jpg"
        im = Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        if i == 3:  # stored landscape, displayed portrait (orientation 6 = rotate 90° clockwise)
            exif = Image.Exif()
            exif[0x0112] = 6
            im.save(p, exif=exif)
        else:
            im.save(p)
        paths.append(str(p))
        names.append(XSS if i == 2 else f"im{i}.jpg")
    proj = nl.open(tmp_path / "g.duckdb", author="tester")
    proj.add_images(pd.DataFrame({"path": paths, "file_name": names}))
    proj.schema.add_label("car")
    proj.schema.add_label("person")
    proj.schema.add_label("night", spatial=["tag"])
    return proj


def _table(buf: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(buf)).read_all()


def _thumbs(g: Gallery, ids: list[int]) -> list[bytes]:
    reply, bufs = g.handle({"id": "t", "kind": "thumbs", "ids": ids})
    assert reply["ok"], reply
    assert reply["ids"] == ids
    off = reply["offsets"]
    assert len(off) == len(ids) + 1
    assert len(bufs) == 1
    return [bufs[0][a:b] for a, b in itertools.pairwise(off)]


# -- thumbnails ---------------------------------------------------------------------------------
def test_thumbnails_are_upright_jpegs_of_the_requested_size(gproj: nl.Project) -> None:
    g = gproj.gallery(size=64)
    blobs = _thumbs(g, [1, 2, 4, 999])
    sizes = [Image.open(io.BytesIO(b)).size for b in blobs[:3]]
    assert [Image.open(io.BytesIO(b)).format for b in blobs[:3]] == ["JPEG"] * 3
    assert sizes == [(64, 48), (32, 64), (21, 64)]  # im3 is 300x100 stored, shown 100x300
    assert blobs[3] == b""  # an unknown id is an empty cell, not an error


def test_thumbnails_are_cached_so_a_second_open_decodes_nothing(gproj: nl.Project,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = _images.load_display_image

    def counting(path, orientation=1, **kw):  # type: ignore[no-untyped-def]
        calls.append(str(path))
        return real(path, orientation, **kw)

    monkeypatch.setattr(_images, "load_display_image", counting)
    first = _thumbs(gproj.gallery(size=96), [1, 2, 3, 4])
    assert len(calls) == 4
    with gproj.store.read() as con:
        assert con.execute("SELECT count(*), min(size), max(size) FROM thumbnails").fetchall() == [(4, 96, 96)]
    again = _thumbs(nl.open(gproj.path).gallery(size=96), [4, 3, 2, 1])  # a new widget, a reopened project
    assert len(calls) == 4, "the second gallery decoded images instead of reading the cache"
    assert again == first[::-1]
    _thumbs(gproj.gallery(size=48), [1])  # another size is another thumbnail
    assert len(calls) == 5


def test_missing_or_corrupt_files_give_empty_cells_and_are_not_cached(gproj: nl.Project) -> None:
    Path(gproj.media_info(1)["uri"]).unlink()
    Path(gproj.media_info(3)["uri"]).write_bytes(b"\xff\xd8 not a jpeg any more")
    blobs = _thumbs(gproj.gallery(), [1, 2, 3])
    assert [len(b) > 0 for b in blobs] == [False, True, False]
    with gproj.store.read() as con:
        assert con.execute("SELECT media_id FROM thumbnails ORDER BY media_id").fetchall() == [(2,)]


def test_thumbs_request_is_capped(gproj: nl.Project) -> None:
    reply, _ = gproj.gallery().handle({"id": 1, "kind": "thumbs", "ids": [1] * 1000})
    assert len(reply["ids"]) == 256


# -- the items table and overlays ---------------------------------------------------------------
def _with_boxes(proj: nl.Project) -> None:
    gt = pd.DataFrame({"media_id": [1, 1, 2], "label": ["car", "person", "car"],
                       "x0": [10, 100, 0], "y0": [10, 100, 0], "x1": [50, 150, 40], "y1": [50, 150, 40]})
    proj.add_instances(gt)
    proj.add_instance(1, "night", tag=True)  # tags are not drawn as boxes
    proj.add_run("m1")
    pred = pd.DataFrame({"media_id": [1, 1, 1, 3], "label": ["car", "car", "person", "car"],
                         "x0": [11, 10, 100, 1], "y0": [10, 10, 0, 1], "x1": [50, 50, 150, 9],
                         "y1": [50, 50, 40, 9], "score": [0.9, 0.8, 0.7, 0.5]})
    proj.add_instances(pred, run="m1")


def test_items_reply_is_two_arrow_streams(gproj: nl.Project) -> None:
    _with_boxes(gproj)
    g = gproj.gallery(runs="m1", columns=["file_name", "width", "n_instances"])
    reply, bufs = g.handle({"id": "a", "kind": "items"})
    assert reply == {"id": "a", "ok": True, "n": 4, "runs": ["m1"], "columns": ["file_name", "width", "n_instances"],
                     "version": 0}
    assert all(isinstance(b, bytes) for b in bufs)
    assert len(bufs) == 2
    items, boxes = _table(bufs[0]), _table(bufs[1])
    assert items.column_names == ["media_id", "file_name", "width", "height", "n_gt", "n_instances",
                                  "tp:m1", "fp:m1", "fn:m1"]
    assert items["media_id"].to_pylist() == [1, 2, 3, 4]
    assert items["height"].to_pylist() == [240, 400, 48, 300]
    assert items["n_gt"].to_pylist() == [2, 1, 0, 0]
    assert items["tp:m1"].to_pylist() == [1, 0, 0, 0]
    assert items["fp:m1"].to_pylist() == [2, 0, 1, 0]
    assert items["fn:m1"].to_pylist() == [1, 1, 0, 0]
    assert items["n_instances"].to_pylist() == [3, 1, 0, 0]
    assert boxes.schema.field("x0").type == pa.float32()
    b = boxes.to_pandas()
    assert b["item"].is_monotonic_increasing
    on1 = b[b["item"] == 0]
    gt = on1[on1["src"] == 0]
    assert sorted(gt["status"]) == [STATUS_GT, STATUS_GT]
    run = on1[on1["src"] == 1].sort_values("score", ascending=False)
    # the 0.9 car takes the GT car; the 0.8 duplicate is fp; the person box misses (IoU < .5): fp, and fn
    assert run["status"].tolist()[:3] == [STATUS_TP, STATUS_FP, STATUS_FP]
    fn = run[run["status"] == STATUS_FN]
    assert fn[["x0", "y0", "x1", "y1"]].values.tolist() == [[100, 100, 150, 150]]
    assert len(b) == 3 + 4 + 2  # GT, predictions, misses — no tag


def test_xss_file_names_travel_as_plain_data(gproj: nl.Project) -> None:
    items = _table(gproj.gallery().handle({"id": 1, "kind": "items"})[1][0])
    assert items["file_name"].to_pylist()[2] == XSS


def test_sort_orders_the_table_and_bad_columns_are_refused(gproj: nl.Project) -> None:
    g = gproj.gallery(sort="-n_instances", columns=["file_name"])
    assert g.columns == ["file_name", "n_instances"]  # the sort column is offered even if not shown
    items = _table(gproj.gallery(sort="-height").handle({"id": 1, "kind": "items"})[1][0])
    assert items["height"].to_pylist() == [400, 300, 240, 48]
    items = _table(gproj.gallery(gproj.media().where("width > ?", [80]), sort="width")
                   .handle({"id": 1, "kind": "items"})[1][0])
    assert items["width"].to_pylist() == [100, 200, 320]
    with pytest.raises(ValidationError, match="did you mean 'width'"):
        gproj.gallery(sort="widht")
    with pytest.raises(ValidationError, match="not a media column"):
        gproj.gallery(columns=["nope"])


def _statuses_by_box(g: Gallery) -> dict[tuple[int, int, tuple[float, ...]], int]:
    """``(item, src, box) -> status`` of the boxes table the browser receives (boxes are unique here)."""
    _, bufs = g.handle({"id": 1, "kind": "items"})
    b = _table(bufs[1]).to_pandas()
    out = {}
    for r in b.itertuples(index=False):
        key = (int(r.item), int(r.src), (float(r.x0), float(r.y0), float(r.x1), float(r.y1)))
        assert key not in out, f"box {key} twice"
        out[key] = int(r.status)
    return out


def test_overlays_say_what_evaluate_says_crowd_and_tie(gproj: nl.Project) -> None:
    """The gallery's tp / fp / missed per instance equal ``evaluate(...).matches`` at IoU 0.5.

    Two places where the old gallery matcher (plain IoU, no crowd rule) disagreed with evaluate:
    predictions inside a crowd region (evaluate: ignored, and the crowd region is never missed)
    and a prediction with two equally good ground truths (COCO gives it the later one, so the
    next prediction's only candidate is taken and it becomes a false positive).
    """
    gproj.add_instances(pd.DataFrame({
        "media_id": [1, 1, 2, 2], "label": ["person", "person", "car", "car"],
        "x0": [0, 100, 0, 4], "y0": [0, 100, 0, 0], "x1": [300, 140, 20, 24], "y1": [200, 140, 20, 20],
        "iscrowd": [True, False, False, False]}))
    gproj.add_run("m")
    gproj.add_instances(pd.DataFrame({
        "media_id": [1, 1, 1, 2, 2], "label": ["person", "person", "person", "car", "car"],
        "x0": [10, 50, 101, 2, 8], "y0": [10, 50, 100, 0, 0], "x1": [60, 90, 140, 22, 28],
        "y1": [60, 90, 140, 20, 20], "score": [0.9, 0.8, 0.7, 0.95, 0.6]}), run="m")
    ev = gproj.evaluate("m", complete_only=False)
    m = ev.matches[np.isclose(ev.matches["iou_threshold"], 0.5)]
    with gproj.store.read() as con:
        boxes = con.execute("SELECT instance_id, media_id, run_id, x0, y0, x1, y1 FROM current_instances").df()
    boxes = boxes.set_index("instance_id")
    status = _statuses_by_box(gproj.gallery(runs="m"))
    code = {"tp": STATUS_TP, "fp": STATUS_FP, "ignored": STATUS_IGNORED}
    mid_item = {1: 0, 2: 1, 3: 2, 4: 3}

    def key(iid: int, src: int) -> tuple[int, int, tuple[float, ...]]:
        r = boxes.loc[iid]
        return mid_item[int(r["media_id"])], src, (float(r["x0"]), float(r["y0"]), float(r["x1"]), float(r["y1"]))

    dets = m[m["status"] != "fn"]
    assert len(dets) == 5
    # media 1: both inside the crowd region are ignored, the third is tp; media 2: the 0.95 box ties
    # (IoU 0.818) with both cars and takes the later one, so the 0.6 box (IoU 0.43 with the first) is fp
    assert dets.sort_values("pred_id")["status"].astype(str).tolist() == ["ignored", "ignored", "tp", "tp", "fp"]
    for r in dets.itertuples(index=False):
        assert status[key(int(r.pred_id), 1)] == code[str(r.status)], r
    missed = {int(i) for i in m.loc[m["status"] == "fn", "gt_id"]}
    for iid in boxes.index[boxes["run_id"].isna()]:
        assert status[key(int(iid), 0)] == STATUS_GT
        assert (key(int(iid), 1) in status) == (int(iid) in missed), iid  # a miss is drawn in the run's layer
    assert len(status) == 4 + 5 + len(missed)
    items = _table(gproj.gallery(runs="m").handle({"id": 1, "kind": "items"})[1][0])
    per = dets.assign(s=dets["status"].astype(str)).groupby(["media_id", "s"]).size()
    for col, s in (("tp:m", "tp"), ("fp:m", "fp")):
        assert items[col].to_pylist() == [int(per.get((mid, s), 0)) for mid in (1, 2, 3, 4)]
    fn = m[m["status"] == "fn"].groupby("media_id").size()
    assert items["fn:m"].to_pylist() == [int(fn.get(mid, 0)) for mid in (1, 2, 3, 4)]


def test_a_run_has_the_same_colour_in_the_annotator_and_the_gallery(gproj: nl.Project) -> None:
    for name in ("a", "b", "c"):
        gproj.add_run(name)
    annotator = {r["name"]: r["color"] for r in gproj.annotate(runs=["c", "b"]).runs}
    gallery = {r["name"]: r["color"] for r in gproj.gallery(runs=["b", "c"]).runs}
    assert annotator == gallery
    assert len(set(gallery.values())) == 2
    assert {r["name"]: r["color"] for r in gproj.gallery(runs="c").runs} == {"c": gallery["c"]}  # not by position


# -- selection, opening, actions ------------------------------------------------------------------
def test_select_and_open_messages(gproj: nl.Project) -> None:
    g = gproj.gallery()
    opened: list[int] = []
    g.on_open(opened.append)
    assert g.handle({"id": 1, "kind": "select", "ids": [2, 4]})[0] == {"id": 1, "ok": True, "count": 2}
    assert g.selected == [2, 4]
    assert g.handle({"id": 2, "kind": "open", "media_id": 3})[0]["ok"]
    assert opened == [3]
    assert g.opened == 3
    bad = g.handle({"id": 3, "kind": "explode"})[0]
    assert bad["ok"] is False
    assert "explode" in bad["error"]


def test_open_annotator_shows_the_item_below_the_grid(gproj: nl.Project) -> None:
    g = gproj.gallery()
    g.open_item(2)
    assert g.annotator is None  # optional: off by default
    g.open_annotator = True
    bundle = g._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] != g.model_id  # a VBox: grid + output
    g.handle({"id": 1, "kind": "open", "media_id": 3})
    assert type(g.annotator).__name__ == "Annotator"
    assert g.annotator.total == 1
    assert g.annotator.current["media_id"] == 3


def test_tag_action_adds_whole_image_tags_once(gproj: nl.Project) -> None:
    g = gproj.gallery()
    reply, _ = g.handle({"id": 1, "kind": "action", "action": "tag", "label": "night", "ids": [1, 3]})
    assert reply == {"id": 1, "ok": True, "added": 2}
    g.handle({"id": 2, "kind": "select", "ids": [3, 4]})
    assert g.tag("night") == 1  # 3 had it already
    df = gproj.instances().df()
    assert sorted(df["media_id"]) == [1, 3, 4]
    assert set(df["kind"]) == {"tag"}
    assert set(df["label"]) == {"night"}
    assert set(df["author"]) == {"tester"}
    bad = g.handle({"id": 3, "kind": "action", "action": "tag", "label": "car", "ids": [1]})[0]
    assert bad["ok"] is False
    assert "not a whole-image tag" in bad["error"]
    bad = g.handle({"id": 4, "kind": "action", "action": "tag", "label": "nigth", "ids": [1]})[0]
    assert bad["ok"] is False
    assert "did you mean 'night'" in bad["error"]


def test_dataset_action_creates_a_static_dataset_without_duplicates(gproj: nl.Project) -> None:
    g = gproj.gallery()
    r1 = g.handle({"id": 1, "kind": "action", "action": "dataset", "name": "hard", "ids": [2, 1, 2]})[0]
    r2 = g.handle({"id": 2, "kind": "action", "action": "dataset", "name": "hard", "ids": [1, 3]})[0]
    assert (r1["added"], r2["added"], r1["dataset_id"] == r2["dataset_id"]) == (2, 1, True)
    with gproj.store.read() as con:
        assert con.execute("SELECT name, kind FROM datasets").fetchall() == [("hard", "static")]
        assert con.execute("SELECT media_id FROM dataset_members ORDER BY 1").fetchall() == [(1,), (2,), (3,)]
    assert g.handle({"id": 3, "kind": "action", "action": "dataset", "name": "x", "ids": [77]})[0]["ok"] is False
    assert g.handle({"id": 4, "kind": "action", "action": "dataset", "name": "x", "ids": []})[0]["ok"] is False


def test_mark_action_sets_in_review_in_the_stage(gproj: nl.Project) -> None:
    g = gproj.gallery(stage="qa")
    assert g.handle({"id": 1, "kind": "action", "action": "mark", "ids": [2, 2, 4]})[0]["count"] == 2
    g.handle({"id": 2, "kind": "action", "action": "mark", "ids": [1], "stage": "label"})
    assert gproj.status(2, stage="qa")["state"] == "in_review"
    assert gproj.status(1, stage="label")["state"] == "in_review"
    assert gproj.status(1, stage="qa")["state"] == "new"


def test_bad_arguments_name_the_fix(gproj: nl.Project) -> None:
    with pytest.raises(ValidationError, match="16–1024"):
        gproj.gallery(size=4)
    with pytest.raises(ValidationError, match="media slice"):
        gproj.gallery(gproj.instances())  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="does not exist"):
        gproj.gallery(runs=["nope"])


@pytest.mark.slow
def test_100k_items_build_fast_and_small(tmp_path: Path) -> None:
    proj = nl.open(tmp_path / "big.duckdb")
    proj.schema.add_label("car")
    n = 100_000
    with proj.store.transaction() as con:  # synthetic media rows (no files: only the table is tested)
        con.execute("INSERT INTO media SELECT range + 1, 'x/' || range || '.jpg', 'f' || range || '.jpg', "
                    "'sha' || range, 640, 480, 'JPEG', 1, 0, '{}', now() FROM range(?)", [n])
        con.execute("INSERT INTO instances SELECT range + 1, 1, (range % ?) + 1, NULL, 1, 'box', 10, 10, 90, 90, "
                    "NULL, NULL, NULL, NULL, NULL, false, NULL, 't', 0, now(), NULL, false FROM range(?)",
                    [n, 3 * n])
    proj.add_run("m")
    with proj.store.transaction() as con:
        con.execute("INSERT INTO instances SELECT range + ?, 1, (range % ?) + 1, 1, 1, 'box', 12, 10, 90, 90, "
                    "NULL, NULL, 0.5, NULL, NULL, false, NULL, 't', 0, now(), NULL, false FROM range(?)",
                    [3 * n + 1, n, 4 * n])
    t0 = time.perf_counter()
    reply, bufs = proj.gallery(runs="m").handle({"id": 1, "kind": "items"})
    dt = time.perf_counter() - t0
    items, boxes = _table(bufs[0]), _table(bufs[1])
    assert reply["n"] == items.num_rows == n
    assert boxes.num_rows == 3 * n + 4 * n + 0
    assert items["tp:m"].to_pylist()[:2] == [3, 3]
    assert len(bufs[0]) < 64 * n
    assert len(bufs[1]) < 32 * boxes.num_rows  # 4 float32 + item, label, score + 2 bytes
    assert dt < 15, f"building the 100k-item tables took {dt:.1f} s"
