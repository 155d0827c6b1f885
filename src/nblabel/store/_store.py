"""One DuckDB file, shared safely by several processes.

DuckDB lets only one process hold a database file at a time (even read-only openers are locked
out). nblabel therefore opens the file for each operation and closes it right after: an operation
takes an exclusive advisory lock on ``<file>.lock`` (``fcntl.flock``), connects, runs one
transaction, closes (which checkpoints the WAL) and releases the lock. Measured here: connect +
one-row commit + close is ~15 ms, so a change from the annotator is still acknowledged within its
budget. ``Store.hold()`` keeps one connection for a burst of operations.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from .._version import __version__
from ..errors import ConcurrencyError, StoreError
from ._ddl import DDL_V1, FORMAT_VERSION, MIGRATIONS

try:  # POSIX advisory locks; elsewhere DuckDB's own lock plus retries still serialise writers
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Store"]


class Store:
    """Connection manager for a project file (or an in-memory project).

    Example:
        >>> s = Store(":memory:")
        >>> with s.transaction() as con:
        ...     con.execute("SELECT count(*) FROM media").fetchall()[0][0]
        0
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 120.0) -> None:
        self.memory = str(path) == ":memory:"
        self.path = Path(path) if not self.memory else None
        self.timeout = float(timeout)
        self._rlock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._holds = 0
        self._in_tx = False
        self._lock_fd: int | None = None
        if self.memory:
            self._con = duckdb.connect(":memory:")
            self._holds = 1  # never closed
        else:
            assert self.path is not None
            if self.path.parent and not self.path.parent.exists():
                raise StoreError(
                    f"cannot create project {str(self.path)!r}: folder {str(self.path.parent)!r} "
                    "does not exist; create it first or pick another path"
                )
        with self.transaction() as con:
            self._init_or_migrate(con)

    # -- locking -----------------------------------------------------------------------------
    def _acquire_file_lock(self) -> None:
        if fcntl is None or self.path is None:
            return
        fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise ConcurrencyError(
                        f"project {str(self.path)!r} stayed locked by another process for "
                        f"{self.timeout:.0f} s; finish or close the other notebook, or pass a "
                        "longer timeout to nl.open(..., timeout=...)"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.01)
        self._lock_fd = fd

    def _release_file_lock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _connect(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as e:  # held by a process that does not use our lock file
                if "lock" not in str(e).lower() or time.monotonic() > deadline:
                    raise StoreError(f"cannot open project {str(self.path)!r}: {e}") from e
                time.sleep(0.01)

    @contextlib.contextmanager
    def hold(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Keep the file open (and locked) for the duration of the block.

        Example:
            >>> s = Store(":memory:")
            >>> with s.hold() as con:
            ...     _ = con.execute("SELECT 1").fetchall()
        """
        with self._rlock:
            if self._con is None:
                self._acquire_file_lock()
                try:
                    self._con = self._connect()
                except BaseException:
                    self._release_file_lock()
                    raise
            self._holds += 1
            try:
                yield self._con
            finally:
                self._holds -= 1
                if self._holds == 0 and not self.memory:
                    con, self._con = self._con, None
                    try:
                        con.close()
                    finally:
                        self._release_file_lock()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run the block as one transaction (nested blocks join the outer one).

        Example:
            >>> s = Store(":memory:")
            >>> with s.transaction() as con:
            ...     _ = con.execute("INSERT INTO meta VALUES ('k', 'v')")
        """
        with self.hold() as con:
            if self._in_tx:
                yield con
                return
            con.execute("BEGIN TRANSACTION")
            self._in_tx = True
            try:
                yield con
            except BaseException:
                self._in_tx = False
                con.execute("ROLLBACK")
                raise
            else:
                self._in_tx = False
                con.execute("COMMIT")

    read = transaction  # a read is a (short) transaction too: it sees only committed wholes

    # -- layout ------------------------------------------------------------------------------
    def _init_or_migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        has_meta = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        ).fetchall()[0][0]
        if not has_meta:
            for stmt in DDL_V1:
                con.execute(stmt)
            con.execute(
                "INSERT INTO meta VALUES ('format_version', ?), ('schema_version', '0'), "
                "('app_version', ?), ('created_at', CAST(now() AS VARCHAR))",
                [str(FORMAT_VERSION), __version__],
            )
            return
        rows = con.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchall()
        row = rows[0] if rows else None
        version = int(row[0]) if row else 0
        if version > FORMAT_VERSION:
            raise StoreError(
                f"project {str(self.path)!r} was written by a newer nblabel (file format {version}, "
                f"this nblabel {__version__} reads up to {FORMAT_VERSION}); upgrade nblabel "
                "(pip install -U nblabel)"
            )
        while version < FORMAT_VERSION:
            for stmt in MIGRATIONS[version]:
                con.execute(stmt)
            version += 1
            con.execute("UPDATE meta SET value = ? WHERE key = 'format_version'", [str(version)])
        con.execute("UPDATE meta SET value = ? WHERE key = 'app_version'", [__version__])

    def close(self) -> None:
        """Release an in-memory project's connection (file projects hold nothing between calls)."""
        if self.memory and self._con is not None:
            self._con.close()
            self._con = None

    def __repr__(self) -> str:
        return f"Store({':memory:' if self.memory else str(self.path)!r})"
