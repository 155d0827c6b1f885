"""Arrow data given to one query by name, without registering it on the connection.

``con.register(name, table)`` inside a transaction keeps ``table`` alive until the transaction
commits, even after ``unregister`` (measured, DuckDB 2.0): an import that writes a million rows a
row group at a time held every group's Arrow columns, and the numpy arrays under them, to the end.
DuckDB's replacement scan reads a Python variable named in the query from the frame that calls
``execute`` instead, and lets go of it once the statement is done: :func:`run_over` puts the table
in its own frame as :data:`NAME`. A table in the project with that name would win; none has it.

A long list of values is given the same way (:func:`run_over_values`): ``list_contains(?::VARCHAR[],
sha256)`` with 100,000 values costs DuckDB ~0.4 s and ~100 MB (each value becomes a boxed ``Value``
first), a semi-join with the values as an Arrow column ~10 ms. Short lists stay parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

__all__ = ["NAME", "run_over", "run_over_values"]

NAME = "_nbl_arrow"  # how a query names the table it is run over


def run_over(con: Any, sql: str, table: pa.Table | Any, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
    """``con.execute(sql, params)`` with :data:`NAME` in ``sql`` reading ``table`` (Arrow, or a DataFrame).

    Example:
        >>> import duckdb
        >>> con = duckdb.connect()
        >>> run_over(con, f"SELECT sum(v) * ? FROM {NAME}", pa.table({"v": [1, 2]}), [10]).fetchall()
        [(30,)]
    """
    _nbl_arrow = table  # read by DuckDB's replacement scan of this frame
    return con.execute(sql, params if params is not None else [])


def run_over_values(con: Any, sql: str, values: Sequence[Any], typ: pa.DataType,
                    params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
    """:func:`run_over` a one-column table (column ``v`` of type ``typ``) of ``values``.

    Example:
        >>> import duckdb
        >>> con = duckdb.connect()
        >>> run_over_values(con, f"SELECT v FROM range(5) r(v) SEMI JOIN {NAME} USING (v) ORDER BY v",
        ...                 [3, 1], pa.int64()).fetchall()
        [(1,), (3,)]
    """
    return run_over(con, sql, pa.table({"v": pa.array(list(values), type=typ)}), params)
