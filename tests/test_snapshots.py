"""Snapshots: the same name gives the same bytes after edits; tampering is detected; Parquet export."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nblabel as nl
from nblabel.errors import StoreError, ValidationError


@pytest.fixture
def p(tmp_path: Path) -> nl.Project:
    proj = nl.open(tmp_path / "snap.duckdb", author="tester")
    rng = np.random.default_rng(0)
    proj.add_images([rng.integers(0, 255, (40 + i, 60, 3), dtype=np.uint8) for i in range(3)])
    proj.schema.add_label("car", spatial=["box", "polygon"])
    proj.add_instance(1, "car", box=[5, 5, 20, 30])
    proj.add_instance(2, "car", polygon=[[1, 1], [30, 2], [20, 25]])
    proj.complete([1, 2])
    return proj


@pytest.mark.parametrize("fmt", ["coco", "yolo", "voc", "parquet"])
def test_same_name_same_bytes_after_edits(p: nl.Project, fmt: str) -> None:
    # parquet is a raw table (with a status column); the others leave the incomplete item out
    warns = contextlib.nullcontext() if fmt == "parquet" else pytest.warns(UserWarning, match="1 media item")
    with warns:
        path = p.snapshot("v1", format=fmt)
    assert path.exists()
    assert path.is_relative_to(p.path.with_name("snap.snapshots") / "v1")
    from nblabel.io._snapshot import content_sha256

    before = content_sha256(path)
    p.add_instance(1, "car", box=[1, 1, 9, 9])
    p.complete(3)
    again = p.snapshot("v1")
    assert again == path
    assert content_sha256(again) == before
    # a new name sees the edits
    with pytest.warns(UserWarning, match="as their boxes") if fmt == "voc" else contextlib.nullcontext():
        other = p.snapshot("v2", format=fmt)
    assert content_sha256(other) != before
    snaps = p.snapshots()
    assert list(snaps["name"]) == ["v1", "v2"]
    row = snaps.iloc[0]
    assert row["format"] == fmt
    assert row["sha256"] == before
    assert json.loads(row["query"])["format"] == fmt


def test_deterministic_exports(p: nl.Project, tmp_path: Path) -> None:
    assert p.export_coco(tmp_path / "a.json", include_incomplete=True).read_bytes() == \
        p.export_coco(tmp_path / "b.json", include_incomplete=True).read_bytes()
    assert p.export_parquet(tmp_path / "a.parquet").read_bytes() == p.export_parquet(tmp_path / "b.parquet").read_bytes()


def test_tampered_or_missing_snapshot_is_an_error(p: nl.Project) -> None:
    with pytest.warns(UserWarning):
        path = p.snapshot("v1")
    path.write_text(path.read_text().replace('"car"', '"truck"'))
    with pytest.raises(StoreError, match="was modified"):
        p.snapshot("v1")
    path.unlink()
    with pytest.raises(StoreError, match="missing"):
        p.snapshot("v1")


def test_snapshot_options_and_names(p: nl.Project) -> None:
    sl = p.media().where("media_id = ?", [1])
    path = p.snapshot("one", slice=sl)
    d = json.loads(path.read_text())
    assert [im["id"] for im in d["images"]] == [1]
    assert p.snapshot("one") == path
    assert "slice" in json.loads(p.snapshots()["query"].iloc[0])["options"]
    with pytest.raises(ValidationError, match="exists already"):
        p.snapshot("one", format="yolo")
    with pytest.raises(ValidationError, match="takes the options"):
        p.snapshot("two", format="parquet", include_incomplete=True)
    assert list(p.snapshots()["name"]) == ["one"]
    for bad in ("../evil", "a/b", "", ".hidden"):
        with pytest.raises(ValidationError, match="snapshot name"):
            p.snapshot(bad)


def test_in_memory_project_snapshot(tmp_path: Path) -> None:
    q = nl.open(":memory:", media_dir=tmp_path / "media")
    q.add_images([np.zeros((10, 10, 3), np.uint8)])
    q.complete(1)
    path = q.snapshot("s")
    assert path.is_relative_to(tmp_path / "media.snapshots")
    assert json.loads(path.read_text())["images"][0]["width"] == 10


def test_parquet_columns_and_run(p: nl.Project, tmp_path: Path) -> None:
    df = pd.read_parquet(p.export_parquet(tmp_path / "gt.parquet"))
    assert len(df) == 2
    assert {"file_name", "label", "kind", "x0", "points", "status"} <= set(df.columns)
    assert df["status"].tolist() == ["complete", "complete"]
    run = p.add_run("m")
    run.add_predictions(pd.DataFrame({"media_id": [1], "label": ["car"], "x0": [1], "y0": [1], "x1": [9],
                                      "y1": [9], "score": [0.7]}))
    pr = pd.read_parquet(p.export_parquet(tmp_path / "pred.parquet", run="m"))
    assert pr[["run", "score"]].values.tolist() == [["m", 0.7]]
    sl = pd.read_parquet(p.export_parquet(tmp_path / "s.parquet", slice=p.media().where("media_id = ?", [2])))
    assert sl["media_id"].tolist() == [2]


def test_moved_project_keeps_its_snapshots(p: nl.Project, tmp_path: Path) -> None:
    with pytest.warns(UserWarning):
        path = p.snapshot("v1")
    data = path.read_bytes()
    moved = tmp_path / "moved"
    moved.mkdir()
    for f in tmp_path.glob("snap.*"):
        if not f.name.endswith(".lock"):
            f.rename(moved / f.name)
    q = nl.open(moved / "snap.duckdb")
    again = q.snapshot("v1")
    assert again == moved / "snap.snapshots" / "v1" / "annotations.json"
    assert again.read_bytes() == data
    assert q.snapshots()["path"].tolist() == [str(again)]
