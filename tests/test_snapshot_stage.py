"""io/_snapshot.stage: the one way a snapshot folder is made, and both callers going through it.

A target that exists is refused; a failed write leaves no folder; a failed catalogue row removes the
renamed folder; a writer killed with -9 leaves only a hidden temporary folder, and the name stays free.
Then the same for ``proj.snapshot`` (exports) and ``proj.training_items(snapshot=...)`` (item lists).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import nblabel as nl
from nblabel.errors import StoreError
from nblabel.io import _snapshot, _training_snapshot
from nblabel.io._snapshot import stage


def _names(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def _noop(target: Path, result: object) -> None:
    return None


def test_stage_writes_then_renames(tmp_path: Path) -> None:
    root = tmp_path / "p.snapshots"
    seen: list[Path] = []

    def write(tmp: Path) -> str:
        assert tmp.parent == root and tmp.name.startswith(".v1.")
        (tmp / "a.txt").write_text("hi")
        return "made"

    target, result = stage(root, "v1", write, lambda t, r: seen.append(t))
    assert (target, result, seen) == (root / "v1", "made", [root / "v1"])
    assert (target / "a.txt").read_text() == "hi"
    assert _names(root) == ["v1"]


def test_stage_refuses_an_existing_target(tmp_path: Path) -> None:
    root = tmp_path / "p.snapshots"
    (root / "v1").mkdir(parents=True)
    called: list[Path] = []
    with pytest.raises(StoreError, match=r"'.*v1' exists but no snapshot 'v1' is recorded in this project; move "
                                         "it away or pick another name"):
        stage(root, "v1", called.append, _noop)
    assert called == [] and _names(root) == ["v1"]


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_stage_failed_write_leaves_nothing(tmp_path: Path, exc: BaseException) -> None:
    root = tmp_path / "p.snapshots"

    def write(tmp: Path) -> None:
        (tmp / "half.json").write_text("{")
        raise exc

    with pytest.raises(type(exc)):
        stage(root, "v1", write, _noop)
    assert _names(root) == []


def test_stage_failed_record_removes_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "p.snapshots"

    def record(target: Path, _: None) -> None:
        assert (target / "a.txt").exists()  # renamed into place before the row is written
        raise RuntimeError("catalogue refused")

    with pytest.raises(RuntimeError, match="catalogue refused"):
        stage(root, "v1", lambda tmp: (tmp / "a.txt").write_text("x") and None, record)
    assert _names(root) == []


def test_stage_killed_during_write_leaves_only_a_hidden_folder(tmp_path: Path) -> None:
    root = tmp_path / "p.snapshots"
    ready = tmp_path / "ready"
    code = textwrap.dedent(f"""
        import pathlib, time
        from nblabel.io._snapshot import stage
        def write(tmp):
            (tmp / "half.json").write_text("{{")
            pathlib.Path({str(ready)!r}).write_text("1")
            time.sleep(60)
        stage(pathlib.Path({str(root)!r}), "v1", write, lambda t, r: None)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "the writer exited before it was killed"
            assert time.monotonic() < deadline, "the writer never started writing"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    left = _names(root)
    assert len(left) == 1 and left[0].startswith(".v1.")  # never a half snapshot under its name
    target, _ = stage(root, "v1", lambda tmp: (tmp / "a.txt").write_text("x"), _noop)
    assert (target / "a.txt").read_text() == "x"


@pytest.fixture
def p(tmp_path: Path) -> nl.Project:
    proj = nl.open(tmp_path / "snap.duckdb", author="tester")
    rng = np.random.default_rng(0)
    proj.add_images([rng.integers(0, 255, (40, 60, 3), dtype=np.uint8) for _ in range(2)])
    proj.schema.add_label("car", spatial=["box"])
    proj.add_instance(1, "car", box=[5, 5, 20, 30])
    proj.complete([1, 2])
    return proj


def _fail_export(session: object, fmt: str, target: Path, kwargs: dict[str, object]) -> None:
    (target / "annotations.json").write_text("{")
    raise OSError("disk full")


def _fail_write(items: object, folder: Path, options: dict[str, object]) -> None:
    (folder / "items.json").write_text("{")
    raise OSError("disk full")


def _fail_row(*args: object) -> None:
    raise RuntimeError("catalogue refused")


def test_snapshot_failures_leave_nothing(p: nl.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    root = p.path.with_name("snap.snapshots")
    with monkeypatch.context() as m:
        m.setattr(_snapshot, "_export", _fail_export)
        with pytest.raises(OSError, match="disk full"):
            p.snapshot("v1")
    with monkeypatch.context() as m:
        m.setattr(_snapshot, "add_snapshot", _fail_row)
        with pytest.raises(RuntimeError, match="catalogue refused"):
            p.snapshot("v1")
    assert _names(root) == [] and p.snapshots().empty
    path = p.snapshot("v1")  # the name is still free
    assert path == root / "v1" / "annotations.json" and list(p.snapshots()["name"]) == ["v1"]
    (root / "v2").mkdir()
    with pytest.raises(StoreError, match="exists but no snapshot 'v2' is recorded"):
        p.snapshot("v2")


def test_training_snapshot_failures_leave_nothing(p: nl.Project, monkeypatch: pytest.MonkeyPatch) -> None:
    root = p.path.with_name("snap.snapshots")
    with monkeypatch.context() as m:
        m.setattr(_training_snapshot, "_write", _fail_write)
        with pytest.raises(OSError, match="disk full"):
            p.training_items(snapshot="t1")
    with monkeypatch.context() as m:
        m.setattr(_training_snapshot, "add_snapshot", _fail_row)
        with pytest.raises(RuntimeError, match="catalogue refused"):
            p.training_items(snapshot="t1")
    assert _names(root) == [] and p.snapshots().empty
    p.training_items(snapshot="t1")
    assert _names(root) == ["t1"] and list(p.snapshots()["format"]) == ["training"]
    (root / "t2").mkdir()
    with pytest.raises(StoreError, match="exists but no snapshot 't2' is recorded"):
        p.training_items(snapshot="t2")
