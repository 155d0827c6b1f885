"""The idle checkpoint waits for a real pause, not for a scheduler hiccup inside a burst of calls.

A checkpoint holds the file (~3 fsyncs), so the operation that comes next waits for it. It used to
start after ``Store.gap`` (4 ms) without an operation, which a preempted process exceeds between two
back-to-back calls under load; it now waits ``Store.idle_checkpoint`` (issue 8 §3).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import nblabel as nl
from nblabel.store import Store


def _wal(path: Path) -> int:
    wal = Path(str(path) + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def test_pauses_longer_than_the_gap_inside_a_burst_do_not_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "p.duckdb"
    p = nl.open(path, author="t")
    p.add_images([np.zeros((20, 30, 3), np.uint8)])
    p.schema.add_label("car")
    p.close()  # everything so far is in the main file
    checkpoints = []
    real = Store._checkpoint

    def counting(self, *, idle=False):
        checkpoints.append(idle)
        return real(self, idle=idle)

    monkeypatch.setattr(Store, "_checkpoint", counting)
    p = nl.open(path, author="t")
    p.store.idle_checkpoint = 30.0  # far longer than the test: only the threshold can explain a checkpoint
    for i in range(4):
        p.add_instance(1, "car", box=[1, 1, 5 + i, 5])
        time.sleep(3 * Store.gap)  # idle for longer than the gap, as a preempted writer is
    assert _wal(path) > 0  # acknowledged, still in the WAL: no idle checkpoint happened
    assert True not in checkpoints  # the linger thread never called the idle checkpoint
    assert p.instances().count() == 4
    p.close()  # closing folds the WAL in
    assert _wal(path) == 0


def test_an_idle_store_checkpoints_after_idle_checkpoint_seconds(tmp_path):
    path = tmp_path / "p.duckdb"
    s = Store(path, linger=20.0)
    s.idle_checkpoint = 0.01
    with s.transaction() as con:
        con.execute("INSERT INTO meta VALUES ('k', 'v')")
    deadline = time.monotonic() + 30
    while _wal(path) > 0:
        assert time.monotonic() < deadline, "no checkpoint while idle"
        time.sleep(0.01)
    assert s._con is not None  # checkpointed while lingering, the file still held
    s.close()
