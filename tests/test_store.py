import subprocess
import sys
import textwrap

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
