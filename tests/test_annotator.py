"""The annotator's kernel side, driven as the browser drives it: protocol messages in, replies out,
DuckDB rows checked by reopening the project file in a fresh ``nl.open``."""

from __future__ import annotations

import io
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import nblabel as nl
from nblabel.widgets import Annotator, encode_display, render_static


# -- fixtures ------------------------------------------------------------------------------------
def _img(w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.zeros((h, w, 3), np.uint8)
    a[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    a[..., 1] = rng.integers(0, 255, dtype=np.uint8)
    return a


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("imgs")
    out = {}
    for i in range(4):
        p = d / f"plain{i}.png"
        Image.fromarray(_img(120, 80, i)).save(p)
        out[f"plain{i}"] = p
    # EXIF orientation 6: stored 80 wide x 60 high, displayed 60 wide x 80 high; top-left pixel red
    a = np.zeros((60, 80, 3), np.uint8)
    a[:] = (0, 0, 255)
    a[:10, :10] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    p = d / "rotated.jpg"
    Image.fromarray(a).save(p, exif=exif, quality=95)
    out["rotated"] = p
    big = np.zeros((6000, 8000, 3), np.uint8)
    big[:, :4000] = (200, 30, 30)
    p = d / "huge.jpg"
    Image.fromarray(big).save(p, quality=80)
    out["huge"] = p
    return out


def _project(tmp_path: Path, images: dict[str, Path]) -> nl.Project:
    proj = nl.open(tmp_path / "p.duckdb", author="ana")
    proj.add_images([images[k] for k in ("plain0", "plain1", "plain2", "rotated", "huge")])
    proj.schema.add_label("car", spatial=["box", "polygon"])
    proj.schema.add_keypoints("face", points=["l_eye", "r_eye", "nose"], skeleton=[(0, 1)])
    proj.schema.add_label("night", spatial=["tag"])
    proj.schema.add_label("day", spatial=["tag"])
    proj.schema.add_attribute("color", kind="select", options=["red", "blue"], labels=["car"], required=True)
    proj.schema.add_attribute("occluded", kind="bool")
    return proj


class Browser:
    """Sends protocol requests through the widget's real comm handler and collects the replies."""

    def __init__(self, w: Annotator) -> None:
        self.w = w
        self.n = 0
        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        w.send = lambda content, buffers=None: self.sent.append((content, list(buffers or [])))  # type: ignore[method-assign]

    def __call__(self, kind: str, **msg: Any) -> dict[str, Any]:
        self.n += 1
        content = {"id": f"r{self.n}", "kind": kind, **msg}
        # exactly what ipywidgets does with a frontend `model.send(content)`
        self.w._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})
        reply, buffers = self.sent[-1]
        assert reply["id"] == f"r{self.n}"
        reply["_buffers"] = buffers
        return reply


def _rows(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    fresh = nl.open(path)
    with fresh.store.read() as con:
        return con.execute(sql, params or []).fetchall()


def _label(proj: nl.Project, name: str) -> int:
    return int(proj.schema.state().label(name).id)


# -- tests ---------------------------------------------------------------------------------------
def test_widget_state_and_queue(tmp_path: Path, images: dict[str, Path]) -> None:
    proj = _project(tmp_path, images)
    w = proj.annotate()
    assert isinstance(w, Annotator)
    assert "export" in w._esm
    assert (Path(nl.__file__).parent / "static" / "annotator.js").exists()
    assert (w.total, w.index, w.completed, w.stage, w.author, w.mode) == (5, 0, 0, "label", "ana", "label")
    labels = {lab["name"]: lab for lab in w.schema["labels"]}
    assert labels["face"]["keypoints"] == {"points": ["l_eye", "r_eye", "nose"], "skeleton": [[0, 1]]}
    assert labels["car"]["spatial"] == ["box", "polygon"]
    color = next(a for a in w.schema["attributes"] if a["name"] == "color")
    assert color["required"]
    assert color["label_ids"] == [labels["car"]["id"]]
    assert [o["name"] for o in color["options"]] == ["red", "blue"]
    # queue flavours: list of file names, slice, default skips complete/skipped items
    assert proj.annotate(["plain2.png", 1]).media_ids == [3, 1]
    assert proj.annotate(proj.media().where("width = ?", [120])).total == 3
    proj.complete(1)
    proj.skip(2, "blurry")
    assert proj.annotate().media_ids == [3, 4, 5]
    with pytest.raises(nl.MediaError):
        proj.annotate(["nope.png"])
    # Python navigation API
    w.next()
    assert w.index == 1
    assert w.current["media_id"] == 2
    w.goto(4)
    w.next()
    assert w.index == 4
    w.prev()
    assert w.index == 3
    with pytest.raises(nl.ValidationError):
        w.goto(5)


def test_load_sends_binary_image_and_sizes(tmp_path: Path, images: dict[str, Path]) -> None:
    proj = _project(tmp_path, images)
    w = proj.annotate()
    b = Browser(w)
    r = b("load", index=0)
    assert r["ok"]
    assert r["item"]["media_id"] == 1
    assert r["item"]["mime"] == "image/png"
    assert r["_buffers"][0] == images["plain0"].read_bytes()  # small upright file: sent as is
    assert "image" not in json.dumps({k: v for k, v in r.items() if k != "_buffers"}).lower().replace(
        "image/png", "")  # no base64 payload in the JSON part
    # EXIF-rotated JPEG: displayed upright (60 x 80), the red corner now at the top right
    r = b("load", index=3)
    it = r["item"]
    assert (it["width"], it["height"], it["display_width"], it["display_height"]) == (60, 80, 60, 80)
    im = Image.open(io.BytesIO(r["_buffers"][0]))
    assert im.size == (60, 80)
    px = np.asarray(im.convert("RGB"))
    assert px[3, 56, 0] > 180, px[3, 56]
    assert px[3, 56, 2] < 80, px[3, 56]
    assert px[3, 3, 2] > 180
    # 8000 x 6000: downscaled to 4000 x 3000 (a half-size decode, >= 90 % of 4096), original size reported
    t0 = time.perf_counter()
    r = b("load", index=4)
    dt = time.perf_counter() - t0
    it = r["item"]
    assert (it["width"], it["height"]) == (8000, 6000)
    assert (it["display_width"], it["display_height"]) == (4000, 3000)
    assert it["display_scale"] == 0.5
    im = Image.open(io.BytesIO(r["_buffers"][0]))
    assert im.size == (4000, 3000)
    assert im.format == "JPEG"
    assert len(r["_buffers"][0]) < 4_000_000
    print(f"\n[annotator] load of an 8000x6000 JPEG (downscaled): {dt * 1000:.0f} ms")
    # a configurable cap
    w2 = proj.annotate([5], max_display=1000)
    r2 = Browser(w2)("load", index=0)
    assert (r2["item"]["display_width"], r2["item"]["display_height"]) == (1000, 750)
    # the next item was prefetched; loading it again is served from the cache
    assert 5 in w._cache or 4 in w._cache
    d = encode_display(images["huge"], width=8000, height=6000, fmt="JPEG", max_side=4096)
    assert d.display_scale == 0.5
    d = encode_display(images["huge"], width=8000, height=6000, fmt="JPEG", max_side=6000)  # 1/2 is < 90 %
    assert (d.display_width, d.display_height, d.display_scale) == (6000, 4500, 0.75)


def test_create_update_delete_undo(tmp_path: Path, images: dict[str, Path]) -> None:
    proj = _project(tmp_path, images)
    w = proj.annotate()
    b = Browser(w)
    car, face = _label(proj, "car"), _label(proj, "face")
    r = b("save", op="create", media_id=1, instance={"cid": "c1", "label_id": car, "kind": "box",
                                                    "box": [10, 10, 50, 40], "attributes": {"color": "red"}})
    assert r["ok"]
    assert r["version"] == 1
    assert r["cid"] == "c1"
    box_id = r["instance_id"]
    poly = b("save", op="create", instance={"cid": "c2", "label_id": car, "kind": "polygon",
                                            "points": [[5, 5], [40, 5], [40, 30]], "box": [5, 5, 40, 30]})
    kp = b("save", op="create", instance={"cid": "c3", "label_id": face, "kind": "keypoints",
                                          "points": [[20, 20, 2], [30, 20, 2], [0, 0, 0]]})
    assert poly["ok"], poly
    assert kp["ok"], kp
    up = b("save", op="update", instance={"id": box_id, "version": 1, "label_id": car, "kind": "box",
                                          "box": [12, 10, 60, 45], "attributes": {"color": "blue", "occluded": True}})
    assert up["ok"]
    assert up["version"] == 2
    stale = b("save", op="update", instance={"id": box_id, "version": 1, "label_id": car, "kind": "box",
                                             "box": [1, 1, 5, 5]})
    assert not stale["ok"]
    assert "version" in stale["error"]
    # undo of a create = delete; redo = create again (a new id)
    d = b("save", op="delete", instance_id=poly["instance_id"])
    assert d["ok"]
    assert d["version"] == 2
    redo = b("save", op="create", instance={"cid": "c4", "label_id": car, "kind": "polygon",
                                            "points": [[5, 5], [40, 5], [40, 30]]})
    assert redo["ok"]
    assert redo["instance_id"] != poly["instance_id"]
    rows = _rows(proj.path, "SELECT instance_id, kind, x0, y0, x1, y1, attributes, author FROM current_instances "
                 "ORDER BY instance_id")
    assert [r[1] for r in rows] == ["box", "keypoints", "polygon"]
    assert rows[0][2:6] == (12.0, 10.0, 60.0, 45.0)
    assert json.loads(rows[0][6]) == {"color": "blue", "occluded": True}
    assert {r[7] for r in rows} == {"ana"}
    assert rows[1][2:6] == (20.0, 20.0, 30.0, 20.0)  # keypoint extent from visible points
    hist = _rows(proj.path, "SELECT version, deleted FROM instances WHERE instance_id = ? ORDER BY version",
                 [poly["instance_id"]])
    assert hist == [(1, False), (2, True)]
    # the item now reports them
    item = b("load", index=0)["item"]
    assert len(item["instances"]) == 3
    kinds = {i["kind"]: i for i in item["instances"]}
    assert kinds["polygon"]["points"] == [[5.0, 5.0], [40.0, 5.0], [40.0, 30.0]]
    assert kinds["keypoints"]["points"][2] == [0.0, 0.0, 0.0]
    assert kinds["box"]["version"] == 2
    assert kinds["box"]["author"] == "ana"


def test_bad_requests_reply_ok_false_and_widget_keeps_working(tmp_path: Path, images: dict[str, Path]) -> None:
    proj = _project(tmp_path, images)
    w = proj.annotate()
    b = Browser(w)
    car = _label(proj, "car")
    bad = [
        b("save", op="create", instance={"label_id": 999, "kind": "box", "box": [1, 1, 5, 5]}),
        b("save", op="create", instance={"label_id": car, "kind": "box", "box": [float("nan"), 1, 5, 5]}),
        b("save", op="create", instance={"label_id": car, "kind": "box", "box": [None, 1, 5, 5]}),
        b("save", op="create", instance={"label_id": car, "kind": "keypoints", "points": [[1, 1, 2]]}),
        b("save", op="create", instance={"label_id": car, "kind": "box", "box": [1, 1, 5, 5],
                                         "attributes": {"color": "green"}}),
        b("save", op="update", instance={"id": 12345, "label_id": car, "kind": "box", "box": [1, 1, 5, 5]}),
        b("save", op="frobnicate"),
        b("teleport"),
        b("load", index=99),
        b("nav", action="goto", index=-1),
        b("status", state="skipped", seconds_active=1),  # skipping needs a reason
    ]
    for r in bad:
        assert r["ok"] is False, r
        assert isinstance(r["error"], str), r
        assert r["error"], r
    assert "999" in bad[0]["error"]
    assert "nan" in bad[1]["error"].lower()
    assert "green" in bad[4]["error"]
    # a request that is not even a dict
    w._handle_msg({"content": {"data": {"method": "custom", "content": "junk"}}, "buffers": []})
    assert b.sent[-1][0]["ok"] is False
    assert _rows(proj.path, "SELECT count(*) FROM instances") == [(0,)]
    ok = b("save", op="create", instance={"label_id": car, "kind": "box", "box": [1, 1, 5, 5],
                                          "attributes": {"color": "red"}})
    assert ok["ok"]
    assert _rows(proj.path, "SELECT count(*) FROM current_instances") == [(1,)]


def test_complete_blocked_by_required_attribute_then_allowed(tmp_path: Path, images: dict[str, Path]) -> None:
    proj = _project(tmp_path, images)
    w = proj.annotate()
    done: list[int] = []
    w.on_complete(done.append)
    b = Browser(w)
    car = _label(proj, "car")
    r = b("save", op="create", media_id=1, instance={"label_id": car, "kind": "box", "box": [1, 1, 30, 30]})
    r2 = b("status", state="complete", media_id=1, seconds_active=4.5)
    assert not r2["ok"]
    assert "color" in r2["error"]
    assert f"instance {r['instance_id']}" in r2["error"]
    assert _rows(proj.path, "SELECT count(*) FROM status") == [(0,)]
    assert done == []
    assert w.index == 0
    assert b("save", op="update", instance={"id": r["instance_id"], "version": 1, "label_id": car,
                                            "attributes": {"color": "red"}})["ok"]
    r3 = b("status", state="complete", media_id=1, seconds_active=4.5)
    assert r3["ok"], r3
    assert (r3["completed"], r3["index"]) == (1, 1), r3
    assert done == [1]
    assert w.completed == 1
    assert w.index == 1
    row = _rows(proj.path, "SELECT state, author, seconds_active, finished_at IS NOT NULL FROM status "
                "WHERE media_id = 1 AND stage = 'label'")
    assert row == [("complete", "ana", 4.5, True)]
    # time spent on an item accumulates (in_progress on navigation), author recorded
    assert b("status", state="in_progress", media_id=2, seconds_active=2)["ok"]
    assert b("status", state="in_progress", media_id=2, seconds_active=3)["ok"]
    assert _rows(proj.path, "SELECT state, seconds_active FROM status WHERE media_id = 2") == [("in_progress", 5.0)]
    # skip with a reason
    r4 = b("status", state="skipped", media_id=2, reason="blurry", seconds_active=1)
    assert r4["ok"]
    assert r4["index"] == 2
    assert _rows(proj.path, "SELECT state, reason FROM status WHERE media_id = 2") == [("skipped", "blurry")]
    # a failing callback does not hide the committed completion
    w.on_complete(lambda m: 1 / 0)
    r5 = b("status", state="complete", media_id=3, seconds_active=1)
    assert r5["ok"]
    assert "division" in r5["warning"]
    assert r5["completed"] == 2


def test_navigation_messages(tmp_path: Path, images: dict[str, Path]) -> None:
    proj = _project(tmp_path, images)
    w = proj.annotate()
    b = Browser(w)
    assert b("nav", action="next")["index"] == 1
    assert w.index == 1
    assert b("nav", action="goto", index=4)["index"] == 4
    assert b("nav", action="next")["index"] == 4
    assert b("nav", action="prev")["index"] == 3
    assert not b("nav", action="sideways")["ok"]
    assert w.index == 3


def test_copy_to_next_and_tags(tmp_path: Path, images: dict[str, Path]) -> None:
    proj = _project(tmp_path, images)
    w = proj.annotate()
    b = Browser(w)
    car, night, day = _label(proj, "car"), _label(proj, "night"), _label(proj, "day")
    a = b("save", op="create", media_id=1, instance={"label_id": car, "kind": "box", "box": [1, 1, 30, 30],
                                                    "attributes": {"color": "red"}})["instance_id"]
    p = b("save", op="create", media_id=1, instance={"label_id": car, "kind": "polygon",
                                                    "points": [[1, 1], [20, 1], [20, 20]]})["instance_id"]
    r = b("copy_to_next", media_id=1, instance_ids=[a, p])
    assert r["ok"]
    assert r["count"] == 2
    rows = _rows(proj.path, "SELECT kind, x0, x1, attributes, extra FROM current_instances WHERE media_id = 2 "
                 "ORDER BY instance_id")
    assert [(k, x0, x1) for k, x0, x1, _, _ in rows] == [("box", 1.0, 30.0), ("polygon", 1.0, 20.0)]
    assert json.loads(rows[0][3]) == {"color": "red"}
    assert json.loads(rows[0][4]) == {"copied_from": a}
    w.goto(4)
    assert not b("copy_to_next", media_id=5, instance_ids=[a])["ok"]  # last item: nowhere to copy
    w.goto(0)
    t = b("tags", media_id=1, tags=[night])
    assert t["ok"]
    assert [i["label_id"] for i in t["instances"]] == [night]
    assert t["instances"][0]["kind"] == "tag"
    night_id = t["instances"][0]["id"]
    t = b("tags", media_id=1, tags=[night, day])
    assert sorted(i["label_id"] for i in t["instances"]) == sorted([night, day])
    assert night_id in [i["id"] for i in t["instances"]]  # unchanged tags are kept, not rewritten
    t = b("tags", media_id=1, tags=[day])
    assert [i["label_id"] for i in t["instances"]] == [day]
    assert not b("tags", media_id=1, tags=[4242])["ok"]
    rows = _rows(proj.path, "SELECT label_id, x0, y0, x1, y1 FROM current_instances WHERE media_id = 1 AND kind = 'tag'")
    assert rows == [(day, 0.0, 0.0, 120.0, 80.0)]


def _with_predictions(tmp_path: Path, images: dict[str, Path]) -> tuple[nl.Project, list[int], list[int]]:
    proj = _project(tmp_path, images)
    run = proj.add_run("yolo@640")
    rep = run.add_predictions(pd.DataFrame({
        "media_id": [1, 1, 2], "label": ["car", "car", "car"], "x0": [10, 50, 5], "y0": [10, 20, 5],
        "x1": [40, 90, 25], "y1": [40, 60, 25], "score": [0.9, 0.4, 0.7]}))
    gt = [proj.add_instance(1, "car", box=[12, 12, 42, 42], attributes={"color": "red"}),
          proj.add_instance(2, "car", box=[60, 30, 100, 70], attributes={"color": "blue"})]
    return proj, rep.ids, gt


def test_predictions_accept_and_reject(tmp_path: Path, images: dict[str, Path]) -> None:
    proj, preds, _gt = _with_predictions(tmp_path, images)
    w = proj.annotate()
    assert w.runs == [{"name": "yolo@640", "color": w.runs[0]["color"]}]
    b = Browser(w)
    item = b("load", index=0)["item"]
    assert [p["id"] for p in item["predictions"]] == preds[:2]
    assert item["predictions"][0]["run"] == "yolo@640"
    assert item["predictions"][0]["score"] == pytest.approx(0.9)
    r = b("accept", pred_id=preds[0])
    assert r["ok"]
    assert r["instance"]["run"] is None
    assert r["instance"]["box"] == [10.0, 10.0, 40.0, 40.0]
    extra = _rows(proj.path, "SELECT extra, run_id, author FROM current_instances WHERE instance_id = ?",
                  [r["instance"]["id"]])
    assert json.loads(extra[0][0]) == {"accepted_from": preds[0], "run": "yolo@640"}
    assert extra[0][1] is None
    assert extra[0][2] == "ana"
    assert b("reject", pred_id=preds[1])["ok"]
    v = _rows(proj.path, "SELECT media_id, run_id, gt_id, pred_id, verdict, author FROM verdicts ORDER BY created_at, verdict")
    assert (1, 1, None, preds[1], "reject", "ana") in v
    assert (1, 1, r["instance"]["id"], preds[0], "accept", "ana") in v
    assert not b("accept", pred_id=r["instance"]["id"])["ok"]  # ground truth is no prediction
    assert not b("reject", pred_id=99999)["ok"]
    # predictions hidden when the widget shows no runs
    assert proj.annotate(runs=[]).current["predictions"] == []
    with pytest.raises(nl.ValidationError):
        proj.annotate(runs=["nope"])


def test_review_queue_and_verdicts(tmp_path: Path, images: dict[str, Path]) -> None:
    proj, preds, gt = _with_predictions(tmp_path, images)
    dis = pd.DataFrame({
        "media_id": [2, 1, 2],
        "kind": ["fp", "localization", "fn"],
        "gt_id": [None, gt[0], gt[1]],
        "pred_id": [preds[2], preds[0], None],
    })
    w = proj.review(dis, run="yolo@640")
    assert w.mode == "review"
    assert w.media_ids == [2, 1, 2]
    assert w.total == 3
    assert w.focus["box"] == [5.0, 5.0, 25.0, 25.0]
    assert w.focus["pred_id"] == preds[2]
    b = Browser(w)
    assert b("load", index=1)["item"]["focus"]["gt_id"] == gt[0]
    assert b("nav", action="next")["ok"]
    assert w.focus["box"] == [10.0, 10.0, 42.0, 42.0]  # union of GT and prediction
    assert b("verdict", verdict="confirm_gt", gt_id=gt[0], pred_id=preds[0])["ok"]
    w.goto(0)
    acc = b("verdict", verdict="accept_pred", pred_id=preds[2])
    assert acc["ok"]
    assert acc["instance"]["box"] == [5.0, 5.0, 25.0, 25.0]
    w.goto(2)
    assert w.focus["box"] == [60.0, 30.0, 100.0, 70.0]
    assert b("verdict", verdict="delete_gt", gt_id=gt[1])["ok"]
    assert not b("verdict", verdict="shrug", gt_id=gt[1])["ok"]
    rows = _rows(proj.path, "SELECT verdict, media_id, run_id, gt_id, pred_id, author FROM verdicts ORDER BY created_at")
    assert [r[0] for r in rows] == ["confirm_gt", "accept_pred", "delete_gt"]
    assert rows[0][1:] == (1, 1, gt[0], preds[0], "ana")
    assert rows[2][1:4] == (2, 1, gt[1])
    cur = _rows(proj.path, "SELECT instance_id, json_extract_string(extra, '$.accepted_from') FROM current_instances "
                "WHERE media_id = 2 AND run_id IS NULL")
    assert cur == [(acc["instance"]["id"], str(preds[2]))]  # GT 2 deleted, the prediction accepted
    with pytest.raises(nl.ValidationError):
        proj.review(pd.DataFrame({"media_id": [1]}))


def test_static_fallback(tmp_path: Path, images: dict[str, Path]) -> None:
    proj, _preds, _gt = _with_predictions(tmp_path, images)
    proj.add_instance(1, "face", keypoints=[[60, 30, 2], [80, 30, 2], [70, 45, 1]])
    proj.add_instance(1, "car", polygon=[[70, 50], [110, 50], [110, 75]], attributes={"color": "red"})
    proj.add_instance(1, "night", tag=True)
    im = render_static(proj, 1)
    assert im.size == (120, 80)
    assert im.mode == "RGB"
    a = np.asarray(im)
    orig = np.asarray(Image.open(images["plain0"]).convert("RGB"))
    assert (np.abs(a.astype(int) - orig).sum(axis=2) > 60).sum() > 200  # overlays were drawn
    w = proj.annotate()
    data, _meta = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    png = data["image/png"]
    assert png[:4] == b"\x89PNG"
    assert Image.open(io.BytesIO(png)).size == (120, 80)
    assert "Annotator" in data["text/plain"]
    assert "<" not in data["text/plain"].replace("<nblabel", "")
    assert not any(k.startswith("text/html") for k in data)
    huge = render_static(proj, 5, max_side=800)
    assert huge.size == (800, 600)
    rot = render_static(proj, 4)
    assert rot.size == (60, 80)


def test_kill_safety_committed_before_reply(tmp_path: Path, images: dict[str, Path]) -> None:
    """Each reply is sent only after the transaction committed: a second process sees every acked change."""
    proj = _project(tmp_path, images)
    w = proj.annotate()
    b = Browser(w)
    car = _label(proj, "car")
    acked = []
    for i in range(5):
        r = b("save", op="create", instance={"label_id": car, "kind": "box", "box": [i, i, i + 10, i + 10]})
        assert r["ok"]
        acked.append(r["instance_id"])
        # the file is closed between operations: a fresh open (as a new process would) sees the row
        assert _rows(proj.path, "SELECT count(*) FROM current_instances WHERE instance_id = ?", [acked[-1]]) == [(1,)]


def test_save_latency(tmp_path: Path, images: dict[str, Path]) -> None:
    """The handler's save path stays cheap, measured so that a busy machine cannot fail it.

    At load 15+ on a shared 2-core machine the wall time of a save is mostly waiting for a core, so
    the regression bound is on CPU time (``time.process_time``: every thread of this process,
    DuckDB's included, and nothing of the other processes): median < 30 ms, where a quiet machine
    gives ~6-8 ms, so a 4-5x regression of the work fails. Waiting that burns no CPU (a lock, a
    sleep, an fsync per save) is bounded by the fastest save's wall time, < 150 ms: a busy machine
    stretches every save, but not the best of 50 that far.
    """
    proj = _project(tmp_path, images)
    w = proj.annotate()
    b = Browser(w)
    car = _label(proj, "car")
    wall, cpu = [], []
    for i in range(50):
        t0, c0 = time.perf_counter(), time.process_time()
        r = b("save", op="create", media_id=1, instance={"cid": f"c{i}", "label_id": car, "kind": "box",
                                                        "box": [i, 1, i + 20, 30]})
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
        assert r["ok"]
    print(f"\n[annotator] handler save (create) over 50: CPU median {statistics.median(cpu):.1f} ms; wall median "
          f"{statistics.median(wall):.1f} ms, min {min(wall):.1f} ms, max {max(wall):.1f} ms")
    # the budget is 20 ms wall per acknowledged change on a quiet machine, measured in
    # benchmarks/instances_write.py and benchmarks/widget_save.py
    assert statistics.median(cpu) < 30, cpu
    assert min(wall) < 150, wall
    assert _rows(proj.path, "SELECT count(*) FROM current_instances") == [(50,)]


def test_widget_writes_the_same_rows_as_the_api(tmp_path: Path, images: dict[str, Path]) -> None:
    """The handler's fast single-instance path stores exactly what add_instance/update_instance store."""
    proj = _project(tmp_path, images)
    proj.schema.add_label("pin", spatial=["point", "line"])
    st = proj.schema.state()
    car, face, pin, night = (st.label(n).id for n in ("car", "face", "pin", "night"))
    w = proj.annotate()
    b = Browser(w)
    cases = [
        ({"label_id": car, "kind": "box", "box": [10.5, 10, 50, 40], "attributes": {"color": "red", "occluded": True}},
         {"label": "car", "box": [10.5, 10, 50, 40], "attributes": {"color": "red", "occluded": True}}),
        ({"label_id": car, "kind": "polygon", "points": [[5, 5], [40, 5], [40, 30]]},
         {"label": "car", "polygon": [[5, 5], [40, 5], [40, 30]]}),
        ({"label_id": face, "kind": "keypoints", "points": [[20, 20, 2], [30, 21, 1], [0, 0, 0]]},
         {"label": "face", "keypoints": [[20, 20, 2], [30, 21, 1], [0, 0, 0]]}),
        ({"label_id": pin, "kind": "point", "points": [[7, 8]]}, {"label": "pin", "point": [7, 8]}),
        ({"label_id": pin, "kind": "line", "points": [[1, 2], [30, 40], [60, 10]]},
         {"label": "pin", "line": [[1, 2], [30, 40], [60, 10]]}),
        ({"label_id": night, "kind": "tag"}, {"label": "night", "tag": True}),
    ]
    cols = ("version, media_id, run_id, label_id, kind, x0, y0, x1, y1, points::VARCHAR, attributes::VARCHAR, score, "
            "track_id, area, iscrowd, extra::VARCHAR, author, schema_version, deleted, superseded_at IS NULL")
    sql = f"SELECT {cols} FROM instances WHERE instance_id = ? ORDER BY version"
    for msg_inst, api in cases:
        r = b("save", op="create", media_id=1, instance=msg_inst)
        assert r["ok"], r
        api_id = proj.add_instance(1, author="ana", **api)
        assert _rows(proj.path, sql, [r["instance_id"]]) == _rows(proj.path, sql, [api_id]), msg_inst["kind"]
    # updates: geometry, attributes only, label only; a multi-ring polygon keeps its other rings
    ring2 = [[70, 50], [90, 50], [90, 70]]
    a = proj.add_instance(1, "car", polygon=[[[5, 5], [40, 5], [40, 30]], ring2])
    c = proj.add_instance(1, "car", polygon=[[[5, 5], [40, 5], [40, 30]], ring2])
    new_ring = [[6, 6], [41, 6], [41, 31], [6, 20]]
    assert b("save", op="update", instance={"id": a, "version": 1, "label_id": car, "kind": "polygon",
                                            "points": new_ring, "attributes": {"color": "blue"}})["ok"]
    proj.update_instance(c, polygon=[new_ring, ring2], attributes={"color": "blue"}, author="ana")
    assert _rows(proj.path, sql, [a]) == _rows(proj.path, sql, [c])
    assert b("save", op="update", instance={"id": a, "version": 2, "attributes": {"color": "red"}})["ok"]
    proj.update_instance(c, attributes={"color": "red"}, author="ana")
    assert _rows(proj.path, sql, [a]) == _rows(proj.path, sql, [c])
    k1 = proj.add_instance(1, "pin", point=[3, 4])
    k2 = proj.add_instance(1, "pin", point=[3, 4])
    assert b("save", op="update", instance={"id": k1, "version": 1, "label_id": car, "kind": "box",
                                            "box": [1, 2, 9, 9]})["ok"]
    proj.update_instance(k2, label="car", box=[1, 2, 9, 9], author="ana")
    r1, r2 = _rows(proj.path, sql, [k1]), _rows(proj.path, sql, [k2])
    assert r1[1][3:9] == (car, "box", 1.0, 2.0, 9.0, 9.0)
    assert r1[0] == r2[0]
    # refusals match too
    assert not b("save", op="create", media_id=1, instance={"label_id": night, "kind": "box", "box": [1, 1, 5, 5]})["ok"]
    assert not b("save", op="create", media_id=1, instance={"label_id": face, "kind": "keypoints",
                                                            "points": [[1, 1, 2]]})["ok"]
    assert not b("save", op="create", media_id=1, instance={"label_id": car, "kind": "box", "box": [500, 1, 600, 5]})["ok"]
    assert not b("save", op="create", media_id=1, instance={"label_id": car, "kind": "box", "box": [5, 5, 5, 9]})["ok"]
    assert not b("save", op="update", instance={"id": a, "version": 3, "attributes": {"size": 3}})["ok"]
    # a box reaching past the border is clipped to the image (the browser clamps it already)
    r = b("save", op="create", media_id=1, instance={"label_id": car, "kind": "box", "box": [100, 60, 130, 90]})
    assert _rows(proj.path, "SELECT x0, y0, x1, y1 FROM current_instances WHERE instance_id = ?",
                 [r["instance_id"]]) == [(100.0, 60.0, 120.0, 80.0)]


def test_progressive_load_preview_then_full(tmp_path: Path, images: dict[str, Path]) -> None:
    proj = _project(tmp_path, images)
    w = proj.annotate()
    b = Browser(w)
    # a small image has no preview: the reply carries the full image, as without the flag
    r = b("load", index=0, preview=True)
    assert r["ok"] and "preview" not in r["item"]
    assert r["_buffers"][0] == images["plain0"].read_bytes()
    # 8000 x 6000: a <= 1024 px JPEG first, the sizes of the full display image in the item
    r = b("load", index=4, preview=True)
    it = r["item"]
    assert (it["width"], it["height"], it["display_width"], it["display_height"]) == (8000, 6000, 4000, 3000)
    assert it["mime"] == "image/jpeg"
    pv = it["preview"]
    assert (pv["display_width"], pv["display_height"]) == (1000, 750)
    assert pv["display_scale"] == 1 / 8
    im = Image.open(io.BytesIO(r["_buffers"][0]))
    assert im.size == (1000, 750) and im.format == "JPEG"
    px = np.asarray(im.convert("RGB"))
    assert px[384, 100, 0] > 150 and px[384, 900, 0] < 60  # left half red, like the original
    assert len(r["_buffers"][0]) < 300_000
    assert w.index == 0
    # then the full image, without moving the queue
    f = b("load_full", index=4)
    assert f["ok"], f
    assert (f["display_width"], f["display_height"], f["media_id"]) == (4000, 3000, 5)
    assert f["display_scale"] == 0.5
    assert Image.open(io.BytesIO(f["_buffers"][0])).size == (4000, 3000)
    assert w.index == 0
    # the preview is cached: asking again is fast and gives the same bytes
    t0 = time.perf_counter()
    again = b("load", index=4, preview=True)
    assert (time.perf_counter() - t0) < 0.5
    assert again["_buffers"][0] == r["_buffers"][0]
    assert not b("load_full", index=99)["ok"]
    # the widget prepares the first item's preview as soon as it is created
    w5 = proj.annotate([5])
    assert 5 in w5._previews
    w5.close()
    w.close()


def test_retried_create_is_not_inserted_twice(tmp_path: Path, images: dict[str, Path]) -> None:
    proj = _project(tmp_path, images)
    w = proj.annotate()
    b = Browser(w)
    car = _label(proj, "car")
    inst = {"cid": "same", "label_id": car, "kind": "box", "box": [10, 10, 50, 40], "attributes": {"color": "red"}}
    r1 = b("save", op="create", media_id=1, instance=inst)
    r2 = b("save", op="create", media_id=1, instance=inst)  # the browser retries after a lost reply
    assert r1["ok"] and r2["ok"]
    assert r1["instance_id"] == r2["instance_id"]
    assert r2["cid"] == "same"
    other = b("save", op="create", media_id=1, instance={**inst, "cid": "other"})
    assert other["instance_id"] != r1["instance_id"]
    w.close()
    assert _rows(tmp_path / "p.duckdb", "SELECT count(*) FROM current_instances WHERE media_id = 1")[0][0] == 2


def test_linger_longer_while_shown_and_restored_on_close(tmp_path: Path, images: dict[str, Path]) -> None:
    proj = _project(tmp_path, images)
    before = proj.store.linger
    w1 = proj.annotate()
    w2 = proj.annotate()
    assert proj.store.linger >= 10
    w1.close()
    assert proj.store.linger >= 10  # the other widget is still shown
    w2.close()
    w2.close()  # closing twice is harmless
    assert proj.store.linger == before
    # while a widget lingers, another Store of the same process still gets the file quickly
    w3 = proj.annotate()
    Browser(w3)("save", op="create", media_id=1, instance={"cid": "x", "label_id": _label(proj, "car"),
                                                          "kind": "box", "box": [1, 1, 9, 9], "attributes": {"color": "red"}})
    t0 = time.perf_counter()
    assert _rows(tmp_path / "p.duckdb", "SELECT count(*) FROM current_instances WHERE media_id = 1")[0][0] == 1
    assert time.perf_counter() - t0 < 3
    w3.close()
    assert nl.open(":memory:").annotate().session.store.linger == pytest.approx(0.5)
