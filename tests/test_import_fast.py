"""The C-level (msgspec) staging of clean annotation stretches gives what the standard path gives.

``io/_coco_fast.stage_text`` decodes whole stretches of the annotations list; whatever it refuses goes
through the standard decoder and ``io/_coco_columns`` / the reference conversion. These tests hold
the fast path to the standard one column for column, and a whole import to the reference conversion
row for row and problem for problem, with stretches and chunks cut small so borders fall everywhere.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nblabel as nl
from nblabel.io import _coco, _coco_fast
from nblabel.io._coco_columns import stage_chunk
from nblabel.io._coco_reference import STANDARD
from nblabel.io._coco_staged import Staged
from nblabel.io._coco_stream import read_head

pytestmark = pytest.mark.skipif(not _coco_fast.AVAILABLE, reason="msgspec is not installed")

_FIELDS = ("pos", "aid", "iid", "cid", "box", "poly", "coords", "ring_len", "row_rings", "area", "iscrowd")


def _clean(n: int, seed: int = 0) -> list[dict]:
    """Plain box and polygon rows of every shape the fast path takes (ints and floats, null area,
    missing keys, bool/null iscrowd, a polygon without bbox, several rings)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        x, y, w, h = (float(v) for v in rng.uniform([0, 0, 0, 0], [20, 12, 9, 9]).round(3))
        a: dict = {"id": k + 1, "image_id": k // 4 + 1, "category_id": k % 2 + 1}
        kind = k % 6
        if kind == 0:
            a.update(bbox=[x, y, w, h], area=round(w * h, 3), iscrowd=0, segmentation=[])
        elif kind == 1:
            a.update(bbox=[int(x), int(y), int(w), int(h)], area=None, iscrowd=True)
        elif kind == 2:
            a.update(bbox=[x, y, 0.0, h], iscrowd=None)  # zero width: kept (and counted in the notes)
        elif kind == 3:
            ring, (i, j) = [x, y, x + w, y, x + w, y + h, x, y + h], (int(x), int(y))
            a.update(bbox=[x, y, w, h], segmentation=[ring, [i, j, i + 4, j, i + 4, j + 4, i, j + 4]], area=7)
        elif kind == 4:
            a.update(segmentation=[[x, y, x + w, y, x + w, y + h]], area=1.5)  # a polygon without bbox
        else:
            a.update(bbox=[x, y, w, h], segmentation=None, iscrowd=1)
        out.append(a)
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_fast_stretch_equals_the_standard_staging_column_for_column(seed: int) -> None:
    anns = _clean(60, seed)
    text = json.dumps(anns)
    fast = _coco_fast.stage_text(text, 5)
    ref = stage_chunk(json.loads(text), 5, STANDARD)
    assert fast is not None and ref.slow == [] and fast.slow == []
    for f in _FIELDS:
        a, b = getattr(fast, f), getattr(ref, f)
        assert a.dtype == b.dtype and a.shape == b.shape, f
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f
    assert fast.extra is None and ref.extra is None  # just the COCO id: written per frame


@pytest.mark.parametrize("bad", [
    {"id": True}, {"id": "s1"}, {"id": 2**70}, {"image_id": 1.0}, {"bbox": [1, 2, 3]}, {"bbox": [1, 2, -3, 4]},
    {"bbox": [1, 2, 3, 1e400]}, {"bbox": [1, 2, "3", 4]}, {"bbox": None, "segmentation": []},
    {"segmentation": [[1, 1, 2, 2]]}, {"segmentation": [[1, 1, 2, 2, 3]]}, {"segmentation": {"size": [2, 2], "counts": "0"}},
    {"keypoints": [1, 2, 2]}, {"note": "x"}, {"area": "big"}, {"iscrowd": 0.5}, {"category_id": None},
])
def test_a_stretch_with_anything_to_word_is_left_to_the_standard_path(bad: dict) -> None:
    anns = _clean(12)
    anns[7] = {**anns[7], **bad}
    assert _coco_fast.stage_text(json.dumps(anns), 0) is None
    assert _coco_fast.stage_text(json.dumps(anns[:7]), 0) is not None
    assert _coco_fast.stage_text(json.dumps(anns)[:-3], 0) is None  # malformed


def test_the_reader_stages_stretches_and_items_as_the_standard_reader_does(tmp_path: Path, monkeypatch) -> None:
    anns = _clean(400)
    anns[123]["bbox"] = [1, 2, -3, 4]  # refused stretches in the middle: read item by item
    anns[300]["note"] = "a string with }, { in it"  # a '}, {' inside a string is no item border
    doc = {"images": [], "annotations": anns, "categories": []}
    f = tmp_path / "a.json"
    f.write_text(json.dumps(doc, indent=1))
    monkeypatch.setattr("nblabel.io._coco_stream._BLOCK", 1000)
    got = []
    for window, fast in ((700, True), (5000, True), (700, False)):
        monkeypatch.setattr("nblabel.io._coco_stream._WINDOW", window)
        st = Staged(STANDARD)
        st.fast = fast
        read_head(f, st, 37)
        assert st.n == 400
        if fast:
            assert any(p.extra is None and not p.slow for p in st.parts)  # some stretches went the fast way
        pos = np.concatenate([p.pos for p in st.parts])
        slow = sorted(k for p in st.parts for k in p.slow_pos)
        box = np.concatenate([p.box for p in st.parts])
        got.append((pos.tolist(), slow, np.nan_to_num(box, nan=-1.0).round(9).tolist()))
    assert got[0] == got[1] == got[2]
    assert got[0][1] == [123]  # only the bad row is left for the reference conversion


def _jpegs(folder: Path, n: int) -> None:
    folder.mkdir()
    b = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(b, format="JPEG")
    base = b.getvalue()
    for i in range(n):
        com = b"img%08d" % i
        (folder / f"{i:05d}.jpg").write_bytes(base[:2] + b"\xff\xfe" + (len(com) + 2).to_bytes(2, "big") + com + base[2:])


def test_an_import_through_fast_stretches_equals_the_reference_conversion(tmp_path: Path, monkeypatch) -> None:
    _jpegs(tmp_path / "img", 60)
    anns = _clean(240)
    anns[50]["category_id"] = 9  # unknown category, in a fast stretch: worded on the columns
    anns[90]["id"] = anns[10]["id"]  # a repeated id across stretches
    anns[130]["image_id"] = 999  # an image the file does not list
    anns[170]["bbox"] = [1, 1, float("nan"), 1]  # NaN: a stretch for the standard path
    anns[200]["bbox"] = [50, 40, 5, 5]  # entirely outside its image: kept, counted
    doc = {"images": [{"id": i + 1, "file_name": f"{i:05d}.jpg", "width": 32, "height": 24} for i in range(60)],
           "annotations": anns, "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    js = tmp_path / "c.json"
    js.write_text(json.dumps(doc))
    monkeypatch.setattr("nblabel.io._coco_stream._WINDOW", 900)
    monkeypatch.setattr("nblabel.store._repeats.WRITE_ROWS", 50)  # several writes inside the transaction
    out = []
    for how in ("fast", "columns", "reference"):
        monkeypatch.setattr(_coco, "_CHUNK", 16)
        monkeypatch.setattr(_coco, "_FRAME", 16)  # frames to the checks, as small
        monkeypatch.setattr("nblabel.io._coco_staged.AVAILABLE", how == "fast")
        if how == "reference":  # no id has a type the stager takes: every row goes one by one
            monkeypatch.setattr("nblabel.io._coco_columns._IDS", set())
        p = nl.open(tmp_path / f"{how}.duckdb")
        r = p.import_coco(js, images=tmp_path / "img")
        with p.store.read() as con:
            rows = con.execute("SELECT instance_id, media_id, label_id, kind, x0, y0, x1, y1, points::VARCHAR, area, "
                               "iscrowd, extra::VARCHAR FROM current_instances ORDER BY instance_id").fetchall()
        out.append((rows, [str(x) for x in r.problems], r.notes, r.added, r.skipped, r.ids, r.extra.get("complete")))
    assert repr(out[0]) == repr(out[1]) == repr(out[2])
    rows, problems = out[0][0], out[0][1]
    assert len(rows) == 236 and problems == ["annotation 51 (image 13): category_id 9 is not listed in 'categories'",
                            "annotation 11 (image 23): annotation id 11 is used twice; ids must be unique",
                            "annotation 131 (image 999): image_id 999 is not listed in 'images'",
                            "annotation 171 (image 43): bbox [1, 1, nan, 1] has NaN or infinite values"]
    assert "1 of them lies entirely outside the image; kept, as COCO evaluation (pycocotools) keeps them" in out[0][2]
    assert json.loads(rows[0][11]) == {"coco_id": 1}


def test_a_second_import_skips_every_repeat_across_written_chunks(tmp_path: Path, monkeypatch) -> None:
    _jpegs(tmp_path / "img", 30)
    anns = _clean(120)
    anns[100] = {**anns[50], "id": 1000}  # alike rows of one import (in two writes): both are written
    doc = {"images": [{"id": i + 1, "file_name": f"{i:05d}.jpg", "width": 32, "height": 24} for i in range(30)],
           "annotations": anns, "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    js = tmp_path / "c.json"
    js.write_text(json.dumps(doc))
    monkeypatch.setattr(_coco, "_CHUNK", 16)
    monkeypatch.setattr(_coco, "_FRAME", 16)  # frames to the checks, as small
    monkeypatch.setattr("nblabel.store._repeats.WRITE_ROWS", 40)
    p = nl.open(tmp_path / "p.duckdb")
    first = p.import_coco(js, images=tmp_path / "img")
    assert first.added == 120 and first.ids == list(range(1, 121))
    second = p.import_coco(js, images=tmp_path / "img")
    assert second.added == 0 and second.extra["repeats"] == 120
    assert any(n.startswith("skipped 120 annotations already in the project (same image and COCO annotation id")
               for n in second.notes)
    third = p.import_coco(js, images=tmp_path / "img", mode="replace")
    assert third.added == 120 and third.extra["replaced"] == 120 and third.ids == list(range(121, 241))
