"""Arrow data handed to one statement (store/_arrow_scan): read by name, let go when the statement ends.

``con.register`` inside a transaction keeps the table until the commit; an import writing a million
rows a row group at a time held every group's columns to the end (issue 8 §5, peak memory).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

import nblabel as nl
from nblabel.store._arrow_scan import NAME, run_over, run_over_values
from nblabel.store._instances import insert_table, instance_table


def _strings(n: int) -> pa.Table:
    return pa.table({"a": pa.array([f"row {i} with some text" for i in range(n)]), "b": np.arange(n, dtype=float)})


def test_a_table_run_over_in_a_transaction_is_let_go_before_the_commit(tmp_path) -> None:
    p = nl.open(tmp_path / "p.duckdb")
    pool = pa.default_memory_pool()
    with p.store.transaction() as con:
        con.execute("CREATE TABLE scratch (a VARCHAR, b DOUBLE)")
        before = pool.bytes_allocated()
        for _ in range(3):
            run_over(con, f"INSERT INTO scratch SELECT a, b + ? FROM {NAME}", _strings(50_000), [1.0])
        held = pool.bytes_allocated() - before
        assert con.execute("SELECT count(*), min(b) FROM scratch").fetchall() == [(150_000, 1.0)]
    assert held < 1 << 20, f"{held / 2**20:.1f} MB of Arrow data still held inside the transaction"


def test_values_are_joined_as_a_column_and_a_variable_of_the_caller_does_not_interfere(tmp_path) -> None:
    p = nl.open(tmp_path / "p.duckdb")
    _nbl_arrow = pa.table({"v": [99]})  # the caller's own variable of that name is not what is read
    with p.store.read() as con:
        got = run_over_values(con, f"SELECT r.v FROM range(10) r(v) SEMI JOIN {NAME} USING (v) ORDER BY 1",
                              [7, 2, 7], pa.int64()).fetchall()
    assert got == [(2,), (7,)]


def test_instance_rows_written_in_a_transaction_hold_no_arrow_data_until_the_commit(tmp_path) -> None:
    p = nl.open(tmp_path / "p.duckdb")
    _ = p.add_images([np.zeros((8, 8, 3), np.uint8)])
    lid = p.schema.add_label("car")
    import pandas as pd

    n = 40_000
    frame = pd.DataFrame({"media_id": 1, "run_id": None, "label_id": lid, "kind": "box", "x0": np.zeros(n),
                          "y0": np.zeros(n), "x1": np.ones(n), "y1": np.ones(n), "points": None, "attributes": None,
                          "score": np.nan, "track_id": pd.NA, "area": np.nan, "iscrowd": False,
                          "extra": [f'{{"coco_id": {i}, "note": "annotation number {i}"}}' for i in range(n)]})
    pool = pa.default_memory_pool()
    with p.store.transaction() as con:
        before = pool.bytes_allocated()
        for _ in range(3):
            insert_table(con, instance_table(frame), author="a", schema_version=1)
        held = pool.bytes_allocated() - before
    assert held < 1 << 20, f"{held / 2**20:.1f} MB of Arrow data still held inside the transaction"
    assert p.instances().count() == 3 * n


def test_rows_of_an_open_transaction_go_to_the_file_a_row_group_at_a_time(tmp_path) -> None:
    # DuckDB holds appended rows uncompressed until it has ``write_buffer_row_group_count`` full row
    # groups (5 by default): four groups of instance rows were ~73 MB in memory, now ~19 MB
    import pandas as pd

    p = nl.open(tmp_path / "p.duckdb")
    _ = p.add_images([np.zeros((8, 8, 3), np.uint8)])
    lid = p.schema.add_label("car")
    n, rng = 122_880, np.random.default_rng(0)
    frame = pd.DataFrame({"media_id": 1, "run_id": None, "label_id": lid, "kind": "box", "x0": rng.random(n),
                          "y0": rng.random(n), "x1": rng.random(n) + 1, "y1": rng.random(n) + 1, "points": None,
                          "attributes": None, "score": np.nan, "track_id": pd.NA, "area": np.nan, "iscrowd": False,
                          "extra": None})
    with p.store.transaction() as con:
        for _ in range(4):
            insert_table(con, instance_table(frame), author="a", schema_version=1)
        held = con.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
                           "WHERE tag = 'IN_MEMORY_TABLE'").fetchall()[0][0]
    assert held < 40 << 20, f"{held / 2**20:.0f} MB of uncommitted rows held in memory"
    assert p.instances().count() == 4 * n
