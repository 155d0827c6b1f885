import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

import nblabel as nl
from nblabel.store import FORMAT_VERSION, Store


def test_default_path_and_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = nl.open()
    assert p.path.name == "nblabel.duckdb"
    p.store.release()
    assert (tmp_path / "nblabel.duckdb").exists()
    assert nl.open(":memory:").path is None


def test_meta_records_versions(tmp_path):
    p = nl.open(tmp_path / "p.duckdb")
    with p.store.read() as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    assert meta["format_version"] == str(FORMAT_VERSION)
    assert meta["app_version"] == nl.__version__
    assert meta["schema_version"] == "0"


def test_newer_file_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "p.duckdb"
    nl.open(path).store.release()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = ? WHERE key = 'format_version'", [str(FORMAT_VERSION + 1)])
    con.close()
    with pytest.raises(nl.StoreError, match="newer nblabel.*upgrade nblabel"):
        nl.open(path)


def test_forward_migration_runs_in_order(tmp_path, monkeypatch):
    from nblabel.store import _ddl, _store

    path = tmp_path / "p.duckdb"
    nl.open(path).store.release()
    monkeypatch.setattr(_store, "FORMAT_VERSION", FORMAT_VERSION + 1)
    monkeypatch.setitem(_ddl.MIGRATIONS, FORMAT_VERSION, ["ALTER TABLE media ADD COLUMN note VARCHAR"])
    monkeypatch.setattr(_store, "MIGRATIONS", _ddl.MIGRATIONS)
    s = Store(path)
    with s.read() as con:
        cols = [r[0] for r in con.execute("DESCRIBE media").fetchall()]
        fv = con.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchall()[0][0]
    s.release()
    assert "note" in cols
    assert fv == str(FORMAT_VERSION + 1)


def test_missing_folder(tmp_path):
    with pytest.raises(nl.StoreError, match="does not exist; create it first"):
        nl.open(tmp_path / "nope" / "p.duckdb")


HOLDER = textwrap.dedent("""
    import sys, time, nblabel as nl
    p = nl.open(sys.argv[1])
    with p.store.transaction():
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_lock_timeout_names_the_fix(tmp_path):
    path = tmp_path / "p.duckdb"
    nl.open(path).store.release()
    # the with block closes the pipe and waits for the holder (no unclosed-file warning)
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(path), "6"], stdout=subprocess.PIPE,
                          text=True) as proc:
        try:
            assert proc.stdout.readline().strip() == "holding"
            with pytest.raises(nl.ConcurrencyError, match="timeout"):
                nl.open(path, timeout=0.5)
        finally:
            proc.kill()
    assert nl.open(path).media().count() == 0  # free again once the holder is gone


def test_a_failed_write_rolls_back(tmp_path):
    p = nl.open(tmp_path / "p.duckdb")
    p.schema.add_label("car")
    def failing_write():
        with p.store.transaction() as con:
            con.execute("INSERT INTO runs VALUES (9, 'x', 'x', '{}', now())")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_write()
    assert p.runs().empty
    assert p.schema.version == 1


def test_linger_releases_for_another_process(tmp_path):
    path = tmp_path / "p.duckdb"
    p = nl.open(path)
    p.schema.add_label("car")  # this process now lingers on the file
    code = "import sys, nblabel as nl; print(nl.open(sys.argv[1], timeout=20).schema.labels()['name'].tolist())"
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['car']"


def test_a_copy_taken_while_the_connection_lingers_has_every_acknowledged_write(tmp_path):
    path = tmp_path / "p.duckdb"
    p = nl.open(path)
    p.store.checkpoint_each_write = True  # the strict mode: complete at the acknowledgement itself
    p.schema.add_label("car")
    p.store.linger = 20.0  # as while an annotator is shown
    with p.store.transaction() as con:
        con.execute("INSERT INTO meta VALUES ('acknowledged', 'yes')")
    assert p.store._con is not None  # still open and locked: the copy is taken while it lingers
    shutil.copyfile(path, tmp_path / "copy.duckdb")  # the .duckdb file alone, no .wal
    con = duckdb.connect(str(tmp_path / "copy.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT value FROM meta WHERE key = 'acknowledged'").fetchall() == [("yes",)]
        assert con.execute("SELECT name FROM labels").fetchall() == [("car",)]
    finally:
        con.close()
    p.close()


def test_read_only_open_serves_queries_and_exports_and_refuses_writes(tmp_path, image_dir):
    src = tmp_path / "p.duckdb"
    with nl.open(src) as p:
        p.add_images(image_dir)
        p.schema.add_label("car")
        p.add_instance(1, "car", box=[1, 1, 9, 9])
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(src, copy)
    with nl.open(copy, read_only=True) as ro:
        assert ro.store.read_only
        assert ro.instances().count() == 1
        assert ro.media().count() == 3
        out = ro.export_coco(tmp_path / "out.json", include_incomplete=True)
        assert len(json.loads(Path(out).read_text())["annotations"]) == 1
        with pytest.raises(nl.StoreError, match="read-only"):
            ro.add_instance(1, "car", box=[2, 2, 9, 9])
        with pytest.raises(nl.StoreError, match="read-only"):
            ro.schema.add_label("bus")
        assert ro.instances().count() == 1  # still readable after the refused write
    with nl.open(copy) as rw:  # the copy itself is untouched and opens writable again
        assert rw.instances().count() == 1


def test_read_only_store_refuses_a_file_that_is_no_project(tmp_path):
    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(nl.StoreError, match="not an nblabel project"):
        Store(path, read_only=True)


READ_ONLY_FOLDER = textwrap.dedent("""
    import sys, warnings, nblabel as nl
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        p = nl.open(sys.argv[1])
    print(p.store.read_only, p.instances().count(), len(p.schema.labels()))
    print(" | ".join(str(x.message) for x in w if issubclass(x.category, UserWarning)))
    try:
        p.schema.add_label("bus")
    except nl.StoreError as e:
        print("refused:", e)
    try:
        nl.open(sys.argv[1], read_only=False)
    except nl.StoreError as e:
        print("refused:", e)
""")


def _run_on_read_only_storage(folder: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a child process for which ``folder`` cannot be written.

    As an ordinary user the folder's permissions do it; root writes anywhere, so as root the child
    gets a read-only bind mount of the folder (a private mount namespace, as in a container).
    """
    cmd = [sys.executable, "-c", code, *args]
    if os.geteuid() != 0:
        folder.chmod(0o555)
        for f in folder.iterdir():
            f.chmod(0o444)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare(1): cannot make a read-only folder")
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    out = subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", str(folder), *cmd], capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0 and "mount" in out.stderr and "Traceback" not in out.stderr:
        pytest.skip(f"cannot make a read-only mount here: {out.stderr.strip()[:200]}")
    return out


def test_a_folder_that_is_not_writable_opens_read_only_with_a_warning(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    with nl.open(folder / "p.duckdb") as p:
        p.schema.add_label("car")
    try:
        out = _run_on_read_only_storage(folder, READ_ONLY_FOLDER, str(folder / "p.duckdb"))
    finally:
        folder.chmod(0o755)
        for f in folder.iterdir():
            f.chmod(0o644)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "True 0 1"
    assert "opened read-only" in lines[1]
    assert lines[2].startswith("refused:") and "read-only" in lines[2]
    assert lines[3].startswith("refused:") and "read_only=True" in lines[3]


CAN_OPEN = textwrap.dedent("""
    import fcntl, os, sys, duckdb
    fd = os.open(sys.argv[1] + ".lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError if still held
    con = duckdb.connect(sys.argv[1])  # raises if the file is still attached elsewhere
    print(con.execute("SELECT count(*) FROM labels").fetchall()[0][0])
""")


def test_close_and_the_context_manager_release_the_file_at_once(tmp_path):
    path = tmp_path / "p.duckdb"
    p = nl.open(path)
    p.schema.add_label("car")
    p.store.linger = 60.0  # would keep the file for a minute
    p.media().count()
    # without close, a process that does not ring the doorbell cannot get the file
    held = subprocess.run([sys.executable, "-c", CAN_OPEN, str(path)], capture_output=True, text=True, timeout=60)
    assert held.returncode != 0 and "BlockingIOError" in held.stderr
    p.close()
    out = subprocess.run([sys.executable, "-c", CAN_OPEN, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"
    with nl.open(path) as q:
        q.store.linger = 60.0
        q.schema.add_label("bus")
    out = subprocess.run([sys.executable, "-c", CAN_OPEN, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2"
    assert p.schema.labels()["name"].tolist() == ["car", "bus"]  # a closed project reopens on use
    p.close()


def test_without_the_per_write_checkpoint_the_idle_holder_checkpoints_soon(tmp_path):
    path = tmp_path / "p.duckdb"
    p = nl.open(path)
    p.store.checkpoint_each_write = False
    p.store.linger = 20.0
    with p.store.transaction() as con:
        con.execute("INSERT INTO meta VALUES ('later', 'yes')")
    wal = Path(str(path) + ".wal")
    assert wal.exists() and wal.stat().st_size > 0  # acknowledged, not yet in the main file
    deadline = time.monotonic() + 30
    while wal.exists() and wal.stat().st_size > 0:  # the linger thread checkpoints once idle
        assert time.monotonic() < deadline, "no checkpoint while idle"
        time.sleep(0.01)
    assert p.store._con is not None  # ...and keeps lingering
    shutil.copyfile(path, tmp_path / "copy.duckdb")
    con = duckdb.connect(str(tmp_path / "copy.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT value FROM meta WHERE key = 'later'").fetchall() == [("yes",)]
    finally:
        con.close()
    p.close()


def _hand_over(tmp_path, handoff_wal):
    """Write one row in store A, which then hands the file to a (pretended) waiter."""
    path = tmp_path / "h.duckdb"
    a = Store(path)
    a.handoff_wal = handoff_wal
    a.turn = 0.0
    with a.transaction() as con:  # the open's own write is checkpointed by an idle let-go first
        con.execute("INSERT INTO meta VALUES ('first', '1')")
    a.release()
    a._lock.others_waiting = lambda: True  # someone waits: the next operation ends the turn
    with a.transaction() as con:
        con.execute("INSERT INTO meta VALUES ('handed', 'over')")
    deadline = time.monotonic() + 10
    while a._con is not None:  # let go at the end of its turn (at once, or by the linger thread)
        assert time.monotonic() < deadline, "the holder kept the file with someone waiting"
        time.sleep(0.005)
    with a._rlock:  # the linger thread lets go under the lock: wait until its DETACH is done
        pass
    return path, a


def test_a_hand_off_to_a_waiter_leaves_a_small_wal_to_it_and_it_sees_everything(tmp_path):
    path, a = _hand_over(tmp_path, handoff_wal=1 << 20)
    wal = Path(str(path) + ".wal")
    assert wal.exists() and wal.stat().st_size > 0  # not checkpointed: the next holder replays it
    b = Store(path)
    with b.read() as con:
        assert dict(con.execute("SELECT key, value FROM meta WHERE key IN ('first', 'handed')").fetchall()) == {
            "first": "1", "handed": "over"}
    b.close()  # an idle let-go checkpoints what it replayed
    assert not wal.exists() or wal.stat().st_size == 0
    a.close()


def test_a_hand_off_checkpoints_a_wal_past_the_limit(tmp_path):
    path, a = _hand_over(tmp_path, handoff_wal=0)
    wal = Path(str(path) + ".wal")
    assert not wal.exists() or wal.stat().st_size == 0
    a.close()
