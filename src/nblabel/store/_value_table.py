"""A long list of values given to a query as a one-column Arrow table, not as a list parameter.

``WHERE list_contains(?::VARCHAR[], sha256)`` with 100,000 values costs DuckDB ~0.4 s and ~100 MB
(every value becomes a boxed ``Value`` before the query runs, and the first such query keeps the
memory). The same values registered as an Arrow column and joined cost ~10 ms and nothing held:
the import paths pass every image's sha256 and media id this way. Short lists stay parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

__all__ = ["value_table"]


@contextmanager
def value_table(con: Any, name: str, values: Sequence[Any], typ: pa.DataType) -> Iterator[str]:
    """Register ``values`` as the table ``name`` (one column ``v`` of type ``typ``) for the block.

    Example:
        >>> import duckdb
        >>> con = duckdb.connect()
        >>> with value_table(con, "_nbl_ids", [3, 1], pa.int64()) as t:
        ...     con.execute(f"SELECT v FROM range(5) r(v) SEMI JOIN {t} USING (v) ORDER BY v").fetchall()
        [(1,), (3,)]
    """
    con.register(name, pa.table({"v": pa.array(list(values), type=typ)}))
    try:
        yield name
    finally:
        con.unregister(name)
