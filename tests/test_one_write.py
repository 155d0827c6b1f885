"""Store.one_write: a block of reads and one write, run without BEGIN/COMMIT on a cursor with the
optimizer off (store/_one_write.py). What must hold: the write is stored and durable, a failed write
leaves nothing, nested inside a transaction it is part of it, it survives hand-offs (the cursor
outlives DETACH), and a read-only project refuses it with the nblabel message."""

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pytest

import nblabel as nl
from nblabel.errors import StoreError
from nblabel.store import Store


def _count(store: Store, key: str) -> int:
    with store.read() as con:
        return int(con.execute("SELECT count(*) FROM meta WHERE key = ?", [key]).fetchall()[0][0])


def test_the_write_runs_without_a_transaction_and_is_stored(tmp_path: Path) -> None:
    s = Store(tmp_path / "p.duckdb")
    n = s.write_number
    with s.one_write() as w:
        assert not s.in_transaction
        assert w.write is not w.con  # the write goes through its own cursor
        w.write.execute("INSERT INTO meta VALUES ('a', '1')")
        # autocommit: the main connection already sees it (a transaction would hide nothing here either,
        # but no BEGIN was issued, so nothing is pending)
        assert w.con.execute("SELECT count(*) FROM meta WHERE key = 'a'").fetchall() == [(1,)]
    assert s.write_number == n + 1
    s.close()
    with Store(tmp_path / "p.duckdb") as again:
        assert _count(again, "a") == 1


def test_the_optimizer_is_off_for_the_write_only(tmp_path: Path) -> None:
    s = Store(tmp_path / "p.duckdb")
    with s.one_write() as w:
        off = w.write.execute("SELECT current_setting('enable_optimizer')").fetchall()[0][0]
        on = w.con.execute("SELECT current_setting('enable_optimizer')").fetchall()[0][0]
    assert (off, on) == (False, True)


def test_a_failed_write_leaves_nothing_and_the_store_goes_on(tmp_path: Path) -> None:
    s = Store(tmp_path / "p.duckdb")
    with pytest.raises(duckdb.ConstraintException), s.one_write() as w:
        w.write.execute("INSERT INTO meta VALUES ('format_version', 'x')")  # the primary key exists
    with s.one_write() as w:
        w.write.execute("INSERT INTO meta VALUES ('b', '1')")
    assert _count(s, "b") == 1
    with s.read() as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchall()[0][0] != "x"


def test_inside_a_transaction_it_joins_it(tmp_path: Path) -> None:
    s = Store(tmp_path / "p.duckdb")
    def fails() -> None:
        with s.transaction(), s.one_write() as w:
            assert w.write is w.con  # the transaction's own connection
            w.write.execute("INSERT INTO meta VALUES ('c', '1')")
            raise RuntimeError("the outer transaction fails")

    with pytest.raises(RuntimeError):
        fails()
    assert _count(s, "c") == 0  # rolled back with it


def test_the_cursor_outlives_hand_offs(tmp_path: Path) -> None:
    s = Store(tmp_path / "p.duckdb")
    for i in range(3):
        with s.one_write() as w:
            w.write.execute("INSERT INTO meta VALUES (?, '1')", [f"k{i}"])
        s.release()  # DETACH; the next operation attaches again
    s.close()  # closes the DuckDB instance too: the cursor is made again
    with s.one_write() as w:
        w.write.execute("INSERT INTO meta VALUES ('k3', '1')")
    with s.read() as con:
        assert con.execute("SELECT count(*) FROM meta WHERE key LIKE 'k%'").fetchall() == [(4,)]


def test_in_memory_projects_too() -> None:
    p = nl.open(":memory:")
    p.add_images([np.zeros((8, 8, 3), np.uint8)])
    p.schema.add_label("car")
    assert [p.add_instance(1, "car", box=[1, 1, 3 + i, 3]) for i in range(3)] == [1, 2, 3]
    assert p.instances().count() == 3


def test_read_only_refuses_with_the_nblabel_message(tmp_path: Path) -> None:
    p = nl.open(tmp_path / "p.duckdb")
    p.add_images([np.zeros((8, 8, 3), np.uint8)])
    p.schema.add_label("car")
    p.close()
    ro = nl.open(tmp_path / "p.duckdb", read_only=True)
    with pytest.raises(StoreError, match="open read-only"):
        ro.add_instance(1, "car", box=[1, 1, 3, 3])
    ro.close()
    assert nl.open(tmp_path / "p.duckdb").instances().count() == 0


def test_add_instance_is_durable_when_it_returns(tmp_path: Path) -> None:
    """kill -9 right after add_instance returned: the row is in the file (WAL) for the next process."""
    path = tmp_path / "p.duckdb"
    p = nl.open(path)
    p.add_images([np.zeros((8, 8, 3), np.uint8)])
    p.schema.add_label("car")
    p.close()
    code = textwrap.dedent(f"""
        import os, signal, nblabel as nl
        p = nl.open({str(path)!r})
        for i in range(5):
            p.add_instance(1, "car", box=[1, 1, 3 + i, 3])
        print("acked", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "acked" in out.stdout, out.stderr
    assert nl.open(path).instances().count() == 5
