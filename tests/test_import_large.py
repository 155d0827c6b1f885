"""Large COCO imports (issue 8 §5): the file is streamed, not held; chunked writes give the same instances."""

from __future__ import annotations

import io
import json
import os
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nblabel as nl
from nblabel.io import _coco
from nblabel.io._coco_stream import iter_annotations, read_head

COCO21 = Path(__file__).parent / "data" / "coco21"


def _tiny_jpegs(folder: Path, n: int) -> None:
    folder.mkdir()
    b = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(b, format="JPEG")
    base = b.getvalue()
    for i in range(n):  # a comment segment makes every file distinct (no sha256 duplicates)
        com = b"img%08d" % i
        (folder / f"{i:05d}.jpg").write_bytes(base[:2] + b"\xff\xfe" + (len(com) + 2).to_bytes(2, "big") + com + base[2:])


def _polygon_coco(path: Path, n_images: int, per: int) -> dict:
    rng = np.random.default_rng(1)
    t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    anns = []
    for k in range(n_images * per):
        x, y, w, h = (float(v) for v in rng.uniform([0, 0, 2, 2], [22, 14, 9, 9]).round(2))
        ring = np.stack([x + w / 2 * (1 + np.cos(t)), y + h / 2 * (1 + np.sin(t))], 1).round(2).ravel().tolist()
        anns.append({"id": k + 1, "image_id": k // per + 1, "category_id": k % 2 + 1, "bbox": [x, y, w, h],
                     "area": round(w * h, 2), "iscrowd": 0, "segmentation": [ring], "note": f"n{k}"})
    d = {"images": [{"id": i + 1, "file_name": f"{i:05d}.jpg", "width": 32, "height": 24} for i in range(n_images)],
         "annotations": anns, "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    path.write_text(json.dumps(d))
    return d


def _instances(p: nl.Project) -> list[tuple]:
    with p.store.read() as con:
        return con.execute("SELECT m.file_name, l.name, i.kind, i.x0, i.y0, i.x1, i.y1, i.points::VARCHAR, i.area, "
                           "i.iscrowd, i.extra::VARCHAR FROM current_instances i JOIN media m USING (media_id) "
                           "JOIN labels l USING (label_id) ORDER BY json_extract(i.extra, '$.coco_id')::INT").fetchall()


@pytest.mark.slow
def test_import_peak_python_memory_stays_a_small_multiple_of_the_file(tmp_path: Path, monkeypatch) -> None:
    # 40,000 polygons (≈ 12 MB): reading the file whole (json.loads) alone holds ~10x the file as objects
    _tiny_jpegs(tmp_path / "img", 2000)
    js = tmp_path / "big.json"
    _polygon_coco(js, 2000, 20)
    p = nl.open(tmp_path / "p.duckdb")
    p.add_images([])  # modules a first call loads are not the import's memory
    monkeypatch.setattr(_coco, "_CHUNK", 2000, raising=False)  # main has no chunks
    tracemalloc.start()
    try:
        rep = p.import_coco(js, images=tmp_path / "img")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rep.ok and rep.added == 40_000
    assert peak <= 4 * js.stat().st_size, f"peak {peak / 2**20:.1f} MB for a {js.stat().st_size / 2**20:.1f} MB file"


def test_an_import_holds_no_written_rows_as_arrow_data_until_it_commits(tmp_path: Path, monkeypatch) -> None:
    # what the rows were written from is let go as they go in: DuckDB kept every registered table
    # to the commit (100k images x 10 boxes held ~120 MB more at its peak, issue 8 §5)
    import pyarrow as pa

    _tiny_jpegs(tmp_path / "img", 400)
    js = tmp_path / "poly.json"
    _polygon_coco(js, 400, 25)
    p = nl.open(tmp_path / "p.duckdb")
    p.add_images([])  # modules a first call loads are not the import's memory
    pool = pa.default_memory_pool()
    held: list[int] = []
    real = _coco.finish_import_chunks

    def measured(con, *a, **k):  # the rows are written; the transaction is still open
        before = pool.bytes_allocated()
        real(con, *a, **k)
        held.append(pool.bytes_allocated() - before)

    monkeypatch.setattr(_coco, "finish_import_chunks", measured)
    rep = p.import_coco(js, images=tmp_path / "img")
    assert rep.ok and rep.added == 10_000
    assert held and held[0] < 1 << 20, f"{held[0] / 2**20:.1f} MB of Arrow data held until the commit"


def test_chunked_streaming_import_stores_what_the_file_says(tmp_path: Path, monkeypatch) -> None:
    _tiny_jpegs(tmp_path / "img", 30)
    js = tmp_path / "c.json"
    d = _polygon_coco(js, 30, 7)
    d["annotations"][5]["category_id"] = 99  # refused, reported under its own id
    d["annotations"][150]["id"] = d["annotations"][3]["id"]  # a repeated id in a later chunk
    js.write_text(json.dumps(d, indent=1))  # line breaks inside the blocks the reader goes through
    monkeypatch.setattr("nblabel.io._coco_stream._BLOCK", 257)  # items cut at block ends, again and again
    reports, rows = [], []
    for chunk in (1, 16, 10_000):
        p = nl.open(tmp_path / f"p{chunk}.duckdb")
        monkeypatch.setattr(_coco, "_CHUNK", chunk)
        monkeypatch.setattr(_coco, "_FRAME", chunk)  # frames to the checks, as small
        reports.append(p.import_coco(js, images=tmp_path / "img"))
        rows.append(_instances(p))
    assert rows[0] == rows[1] == rows[2]
    assert [(r.added, r.skipped, [str(x) for x in r.problems]) for r in reports] == [
        (208, 2, ["annotation 6 (image 1): category_id 99 is not listed in 'categories'",
                  "annotation 4 (image 22): annotation id 4 is used twice; ids must be unique"])] * 3
    assert reports[0].ids == reports[2].ids
    kept = [a for i, a in enumerate(d["annotations"]) if i not in (5, 150)]
    assert [(r[0], r[1], r[2]) for r in rows[0]] == [
        (f"{a['image_id'] - 1:05d}.jpg", "ab"[a["category_id"] - 1], "polygon") for a in kept]
    ring = kept[0]["segmentation"][0]
    assert json.loads(rows[0][0][7]) == [[[ring[i], ring[i + 1]] for i in range(0, len(ring), 2)]]
    x, y, w, h = kept[0]["bbox"]
    assert rows[0][0][3:7] == (x, y, x + w, y + h) and rows[0][0][8] == kept[0]["area"]
    assert json.loads(rows[0][0][10]) == {"coco_id": 1, "note": "n0"}


def test_streamed_reader_gives_json_loads_values_and_messages(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("nblabel.io._coco_stream._BLOCK", 3)
    f = tmp_path / "a.json"
    doc = ('{"images": [1.5, 2, 1e400, -0.0, 12345678901234567890, 1.25e-3, "\\u00e9"], "x": {"a": NaN},\n'
           ' "annotations": [{"id": 1}, 2], "categories": [], "annotations": [3, {"keypoints": [1], "category_id": 4}]}')
    f.write_text(doc)
    ref = json.loads(doc)
    head = read_head(f)
    assert repr(head.top["images"]) == repr(ref["images"]) and head.n_annotation_keys == 2
    assert head.keypoint_categories == {4}  # from the last 'annotations' key, the one json.loads keeps
    assert [a for c in iter_annotations(f, 2, 1) for a in c] == ref["annotations"]
    for bad in ('{"images": [1,], "x": 2}', '{"images": [1] "x": 2}', '{"a"\n:\n [1, 2,\n 3 4]}', '{"images": [1]} x'):
        f.write_text(bad)
        with pytest.raises(json.JSONDecodeError) as ours:
            read_head(f)
        with pytest.raises(json.JSONDecodeError) as theirs:
            json.loads(bad)
        assert str(ours.value) == str(theirs.value)


def test_a_coco_file_malformed_at_its_end_is_refused_before_any_image_is_read(tmp_path: Path, monkeypatch) -> None:
    shutil.copytree(COCO21 / "images", tmp_path / "images")
    text = (COCO21 / "instances.json").read_text()
    (tmp_path / "cut.json").write_text(text[: len(text) - 40])
    probed: list = []
    monkeypatch.setattr(_coco, "probe_images", lambda *a, **k: probed.append(a))
    p = nl.open(":memory:")
    with pytest.raises(nl.FormatError, match=r"cut\.json' is not valid JSON \(.*char \d+\)"):
        p.import_coco(tmp_path / "cut.json", images=tmp_path / "images")
    assert probed == [] and p.media().count() == 0 and os.listdir(tmp_path / "images")


def _mixed_coco(path: Path) -> None:
    """Annotations the staged (vectorised) conversion takes and ones it leaves to the reference one."""
    ring = [1, 1, 9, 1, 9, 7, 1, 7]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 2, "bbox": [0.5, 0.25, 8, 6], "segmentation": [ring, ring[::-1]]},
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [1, 2, -3, 4]},  # negative width
        {"id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 1, 1, 1]},  # repeats a staged id
        {"id": 4, "image_id": 2, "category_id": 1, "bbox": [1, 1, "2", 1]},  # not numbers
        {"id": 4, "image_id": 2, "category_id": 1, "bbox": [2, 2, 2, 2]},  # repeats a refused one's id
        {"id": "s5", "image_id": 2, "category_id": 1, "bbox": [3, 3, 2, 2], "note": {"a": [1]}},  # str id, extra
        {"id": 6, "image_id": 99, "category_id": 1, "bbox": [1, 1, 1, 1]},  # image not listed
        {"id": 7, "image_id": 3, "category_id": 1, "bbox": [1, 1, 1, 1]},  # image listed, file missing
        {"id": 8, "image_id": 2, "category_id": 77, "bbox": [1, 1, 1, 1]},  # category not listed
        {"id": True, "image_id": 2, "category_id": 1, "bbox": [1, 1, 1, 1]},  # a bool id
        {"id": 9, "image_id": 2, "category_id": 1, "segmentation": [[1, 1, 2, 2]]},  # a ring of 2 points
        {"id": 10, "image_id": 2, "category_id": 1, "bbox": [1, 1, 2, 2], "keypoints": [2, 2, 2], "num_keypoints": 1},
        {"id": 11, "image_id": 2, "category_id": 2, "segmentation": {"size": [24, 32], "counts": [0, 768]}},
        {"id": 12, "image_id": 1, "category_id": 2, "bbox": [40, 30, 5, 5], "iscrowd": 1},  # outside the image
        {"id": 13, "image_id": 2, "category_id": 1},  # neither bbox nor segmentation
        7,  # not an object
        {"id": 14, "image_id": 2, "category_id": 2, "bbox": [1, 1, 2, 2], "area": None},
        {"id": 2, "image_id": 2, "category_id": 2, "bbox": [1, 1, 2, 2]},  # repeats a staged polygon's id
    ]
    d = {"images": [{"id": i, "file_name": f"{i - 1:05d}.jpg", "width": 32, "height": 24} for i in (1, 2)]
             + [{"id": 3, "file_name": "missing.jpg"}],
         "annotations": anns, "categories": [{"id": 1, "name": "a", "keypoints": ["p"]}, {"id": 2, "name": "b"}]}
    path.write_text(json.dumps(d))


def test_staged_columns_give_what_the_one_by_one_conversion_gives(tmp_path: Path, monkeypatch) -> None:
    _tiny_jpegs(tmp_path / "img", 2)
    js = tmp_path / "mixed.json"
    _mixed_coco(js)
    out = []
    for staged in (True, False):
        for chunk in (3, 10_000):
            monkeypatch.setattr(_coco, "_CHUNK", chunk)
            monkeypatch.setattr(_coco, "_FRAME", chunk)  # frames to the checks, as small
            if not staged:  # no id has a type the stager takes: every row goes through the reference
                monkeypatch.setattr("nblabel.io._coco_columns._IDS", set())
            p = nl.open(tmp_path / f"p{staged}{chunk}.duckdb")
            r = p.import_coco(js, images=tmp_path / "img")
            with p.store.read() as con:
                rows = con.execute("SELECT media_id, label_id, kind, x0, y0, x1, y1, points::VARCHAR, area, iscrowd, "
                                   "extra::VARCHAR FROM current_instances ORDER BY instance_id").fetchall()
            out.append((rows, [str(x) for x in r.problems], r.notes, r.added, r.skipped, r.extra.get("complete")))
    assert repr(out[0]) == repr(out[1]) == repr(out[2]) == repr(out[3])  # repr: NaN boxes of masks compare
    rows, problems = out[0][0], out[0][1]
    assert len(rows) == 7 and [r[2] for r in rows] == ["box", "polygon", "box", "keypoints", "mask", "box", "box"]
    assert problems[0].startswith("image 3 (missing.jpg)") and len(problems) == 13
    assert any("annotation 1 (image 2): annotation id 1 is used twice" in x for x in problems)
    assert any("annotation 4 (image 2): annotation id 4 is used twice" in x for x in problems)
    assert any("annotation 2 (image 2): annotation id 2 is used twice" in x for x in problems)
    assert json.loads(rows[2][10]) == {"coco_id": "s5", "note": {"a": [1]}}
