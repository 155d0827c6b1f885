"""One DuckDB file, shared safely by several processes.

DuckDB lets only one process hold a database file at a time (even read-only openers are locked
out). nblabel therefore serialises access with an exclusive advisory lock on ``<file>.lock``
(``fcntl.flock``): an operation takes the lock, connects, runs one transaction and commits.

Opening and closing the file costs ~15 ms, so after an operation the connection *lingers* for a
short while (``linger`` seconds, default 0.5) in case another operation follows (an annotator
saving changes, a loop of edits). A process that wants the file while another holds it announces
itself in ``<file>.waiting/<pid>``; the holder sees it within milliseconds and closes (checkpointing the WAL) and
releases the lock. Commits are durable on their own (DuckDB's WAL), so a lingering connection
never puts acknowledged changes at risk: kill the process and the next open replays the WAL.
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

# Stores of THIS process waiting for a file (its path -> count): another Store object of the same
# process cannot use the pid-named waiter files (a holder ignores its own pid), so it announces here.
_LOCAL_WAITERS: dict[str, int] = {}
_LOCAL_LOCK = threading.Lock()


def _local_wait(path: str, step: int) -> None:
    with _LOCAL_LOCK:
        n = _LOCAL_WAITERS.get(path, 0) + step
        if n > 0:
            _LOCAL_WAITERS[path] = n
        else:
            _LOCAL_WAITERS.pop(path, None)


class Store:
    """Connection manager for a project file (or an in-memory project).

    Example:
        >>> s = Store(":memory:")
        >>> with s.transaction() as con:
        ...     con.execute("SELECT count(*) FROM media").fetchall()[0][0]
        0
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 120.0, linger: float = 0.5) -> None:
        self.memory = str(path) == ":memory:"
        self.path = Path(path) if not self.memory else None
        self.timeout = float(timeout)
        self._rlock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._holds = 0
        self._in_tx = False
        self._lock_fd: int | None = None
        self.linger = float(linger)
        self._last_used = 0.0
        self._watcher: threading.Thread | None = None
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
    def _wait_dir(self) -> str:
        return str(self.path) + ".waiting"

    def _waiters(self) -> list[int]:
        """Pids of other live processes waiting for the file (stale entries are removed)."""
        try:
            names = os.listdir(self._wait_dir())
        except FileNotFoundError:
            return []
        me, out = os.getpid(), []
        for n in names:
            if not n.isdigit() or int(n) == me:
                continue
            try:
                os.kill(int(n), 0)
                out.append(int(n))
            except ProcessLookupError:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self._wait_dir(), n))
            except PermissionError:
                out.append(int(n))
        return out

    def _acquire_file_lock(self) -> None:
        if fcntl is None or self.path is None:
            return
        fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        # fairness: if others are already waiting, give them the first go (bounded)
        head_start = time.monotonic() + 0.2
        while self._waiters() and time.monotonic() < head_start:
            time.sleep(0.002)
        mine = os.path.join(self._wait_dir(), str(os.getpid()))
        announced = False
        delay = 0.0005
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not announced:  # ask the holder to let go after its current operation
                        os.makedirs(self._wait_dir(), exist_ok=True)
                        os.close(os.open(mine, os.O_WRONLY | os.O_CREAT, 0o644))
                        _local_wait(str(self.path), 1)
                        announced = True
                    if time.monotonic() > deadline:
                        os.close(fd)
                        raise ConcurrencyError(
                            f"project {str(self.path)!r} stayed locked by another process for "
                            f"{self.timeout:.0f} s; finish or close the other notebook, or pass a "
                            "longer timeout to nl.open(..., timeout=...)"
                        ) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.004)
        finally:
            if announced:
                _local_wait(str(self.path), -1)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(mine)
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
                    self._last_used = time.monotonic()
                    if self.linger <= 0 or self._someone_waits():
                        self._let_go()
                    else:
                        self._start_watcher()

    def _someone_waits(self) -> bool:
        return bool(_LOCAL_WAITERS.get(str(self.path))) or bool(self._waiters())

    def _let_go(self) -> None:
        """Close the lingering connection (checkpoint) and release the file lock. Caller holds _rlock."""
        con, self._con = self._con, None
        try:
            if con is not None:
                con.close()
        finally:
            self._release_file_lock()

    def _start_watcher(self) -> None:
        if self._watcher is not None and self._watcher.is_alive():
            return

        def watch() -> None:
            while True:
                time.sleep(0.003)
                with self._rlock:
                    if self._con is None:
                        return
                    if self._holds == 0 and (
                        self._someone_waits() or time.monotonic() - self._last_used > self.linger
                    ):
                        self._let_go()
                        return

        self._watcher = threading.Thread(target=watch, name="nblabel-store-linger", daemon=True)
        self._watcher.start()

    def release(self) -> None:
        """Close the file now if no operation is running (other processes get it at once).

        Example:
            >>> Store(":memory:").release()
        """
        with self._rlock:
            if self._holds == 0 and self._con is not None and not self.memory:
                self._let_go()

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
                "('app_version', ?), ('created_at', CAST(now() AS VARCHAR)), ('project_id', CAST(uuid() AS VARCHAR))",
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
        """Close the connection (file projects reopen on the next operation).

        Example:
            >>> Store(":memory:").close()
        """
        with self._rlock:
            if self.memory:
                if self._con is not None:
                    self._con.close()
                    self._con = None
            elif self._holds == 0 and self._con is not None:
                self._let_go()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        return f"Store({':memory:' if self.memory else str(self.path)!r})"
