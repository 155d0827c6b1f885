"""A write that is one statement: no BEGIN/COMMIT, and DuckDB's optimizer skipped for it.

``add_instance`` (and the annotator's save of a new shape, which calls it) reads a few facts and
then writes one row. As a transaction that costs DuckDB three statements (BEGIN, INSERT, COMMIT),
and planning the 22-column INSERT runs every optimizer pass over a plan that has nothing to
optimise. Counted with callgrind (DuckDB 2.0.1, a one-row INSERT into ``instances``), the INSERT +
BEGIN/COMMIT is 6.4 M instructions; the same INSERT in autocommit mode on a cursor whose optimizer
is off is 4.8 M (−24 %), with the same fsyncs (strace: one ``fdatasync`` per write either way).
A whole ``add_instance`` went from 7.6 M to 5.9 M instructions (docs/concurrency.md).

Why autocommit is as safe here: the block holds the store's thread lock and the file lock for its
whole length, so no other thread or process can write between its reads and its write; the reads
see committed data only; and the one write is atomic on its own (DuckDB rolls back a failed
statement). A block with more than one write must use ``store.transaction()``. Inside an open
transaction :meth:`Store.one_write` joins it, the write included, like a nested ``transaction()``.

Example:
    >>> from nblabel.store import Store
    >>> s = Store(":memory:")
    >>> with s.one_write() as w:
    ...     _ = w.write.execute("INSERT INTO meta VALUES ('k', 'v')")
    >>> with s.read() as con:
    ...     con.execute("SELECT value FROM meta WHERE key = 'k'").fetchall()
    [('v',)]
"""

from __future__ import annotations

from typing import NamedTuple

import duckdb

__all__ = ["OneWrite", "fast_cursor"]


class OneWrite(NamedTuple):
    """What a one-statement write block gets: ``con`` for its reads, ``write`` for its one write."""

    con: duckdb.DuckDBPyConnection
    write: duckdb.DuckDBPyConnection


def fast_cursor(base: duckdb.DuckDBPyConnection, catalog: str | None) -> duckdb.DuckDBPyConnection:
    """A cursor of ``base`` (same database, own settings) with the optimizer off and ``catalog`` as
    its default. It outlives a DETACH: after the file is attached again under the same name, the
    cursor finds it again.

    Example:
        >>> import duckdb
        >>> cur = fast_cursor(duckdb.connect(), None)
        >>> cur.execute("SELECT current_setting('enable_optimizer')").fetchall()
        [(False,)]
    """
    cur = base.cursor()
    if catalog is not None:
        cur.execute(f"USE {catalog}")
    cur.execute("PRAGMA disable_optimizer")
    return cur
