"""Store.parallel_from: a small project file runs DuckDB on one thread (no worker wake-up per
statement), a large one on DuckDB's default; decided again on every attach."""

from pathlib import Path

import pytest

from nblabel.store import Store


def _threads(s: Store) -> int:
    with s.read() as con:
        return int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])


def _default() -> int:
    import duckdb

    return int(duckdb.connect().execute("SELECT current_setting('threads')").fetchall()[0][0])


def test_a_small_file_runs_on_one_thread(tmp_path: Path) -> None:
    s = Store(tmp_path / "p.duckdb")
    assert _threads(s) == 1


def test_a_large_file_gets_duckdbs_default_and_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = Store(tmp_path / "p.duckdb")
    assert _threads(s) == 1
    s.release()
    monkeypatch.setattr(s, "parallel_from", 1)  # every file is "large" now
    assert _threads(s) == _default()
    s.release()
    monkeypatch.setattr(s, "parallel_from", 1 << 40)
    assert _threads(s) == 1


def test_in_memory_projects_keep_duckdbs_default() -> None:
    assert _threads(Store(":memory:")) == _default()
