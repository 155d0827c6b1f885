"""One DuckDB file, shared safely by several processes, and always whole on disk.

DuckDB lets only one process hold a database file at a time (even read-only openers are locked
out). nblabel therefore serialises access with an exclusive lock on ``<file>.lock`` (see
:mod:`._lock`: waiters queue in arrival order, ring the holder's doorbell, and leave no stale
state when killed): an operation takes the lock, connects, runs one transaction and commits.

Each store keeps one in-memory DuckDB instance and ``ATTACH``-es the file to it for a turn
(``DETACH`` lets the file go): ~6 ms of CPU instead of the ~28 ms a new instance costs. After an
operation the file stays attached and locked: it *lingers* (``linger`` seconds, default 0.5; 20 s
while an annotator is shown) in case another operation follows. When someone waits, the holder
keeps the file only for the rest of its *turn* (``turn`` seconds from taking it, or twice what
attaching cost if that is more, while operations follow each other within ``gap`` seconds) and then
lets go: a loop of small writes runs several writes per hand-off instead of one, and a waiter gets
the file within about one turn. See docs/concurrency.md for the design and the measurements.

After every operation that wrote, the store checkpoints (moves the WAL into the main file), so the
``.duckdb`` file alone holds every acknowledged change: copy it at any time. Commits are durable on
their own (DuckDB's WAL), so a process killed at any point loses nothing acknowledged.

A file on read-only storage opens read-only (queries and exports work, writes raise a clear
:class:`~nblabel.StoreError`); ``read_only=True`` asks for it explicitly.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import duckdb

from .._version import __version__
from .._warnings import warn
from ..errors import StoreError
from ._ddl import DDL, FORMAT_VERSION, MIGRATIONS
from ._file_check import check_marker, check_objects, is_empty, recreate_views, shadow_views
from ._file_errors import file_error
from ._lock import FileLock
from ._one_write import OneWrite, fast_cursor

__all__ = ["Store"]

_ALIAS = "nblabel_project"  # the name the project file is attached under (and made the default)

# Every file store. At interpreter exit they are closed from the main thread (taking each one's
# lock, so a linger thread in the middle of letting go finishes first): a daemon thread still inside
# DuckDB when daemon threads are torn down aborts the process ("FATAL: exception not rethrown").
_OPEN: weakref.WeakSet[Store] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for store in list(_OPEN):
        with contextlib.suppress(Exception):
            store.close()


def _write_row_groups_at_once(con: duckdb.DuckDBPyConnection) -> None:
    """Rows a transaction appends go to the file a row group at a time, not five (DuckDB's default).

    DuckDB keeps the rows of an open transaction in memory, uncompressed, until it has
    ``write_buffer_row_group_count`` full row groups to write out: for an import of a million
    instances that was ~60 MB more at its peak (100k images x 10 boxes: 378 -> 311 MB, the same time).
    A DuckDB without the setting keeps its own default.
    """
    with contextlib.suppress(duckdb.Error):
        con.execute("SET write_buffer_row_group_count = 1")


def _held_elsewhere(e: duckdb.Error) -> bool:
    """Whether DuckDB refused the file because another process holds its lock (not "block": damage)."""
    text = str(e).lower()
    return "could not set lock" in text or "conflicting lock" in text


def _empty_file(path: Path) -> bool:
    """A zero-byte file with no WAL: nothing to lose, and a new project may be created in its place."""
    try:
        return path.stat().st_size == 0 and not Path(str(path) + ".wal").exists()
    except OSError:
        return False


def _writable(path: Path) -> bool:
    """Whether this process can write the project file (and the WAL next to it)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.W_OK):
        return False
    return os.access(folder, os.W_OK)


class Store:
    """Connection manager for a project file (or an in-memory project).

    Example:
        >>> s = Store(":memory:")
        >>> with s.transaction() as con:
        ...     con.execute("SELECT count(*) FROM media").fetchall()[0][0]
        0
    """

    turn = 0.02  # seconds (at least; twice the open cost) a holder keeps the file once someone waits
    gap = 0.004  # ... provided the next operation starts within this many seconds
    # False (default): the linger thread checkpoints once the holder is idle (and on let-go),
    # off the acknowledgement path, so a copy of the .duckdb file misses at most the last few ms of
    # writes; True: checkpoint inside every write (the file alone is complete at the ack, but each
    # commit pays ~3 extra fsyncs: the annotator's save went from ~13 to ~55 ms). docs/concurrency.md
    checkpoint_each_write = False
    # ... once idle for this many seconds. Longer than `gap`: a checkpoint (~3 fsyncs) holds the
    # file, so the next operation waits for it, and a pause of a few ms inside a burst of calls is
    # usually the scheduler (under load it made 15 of 100 back-to-back add_instance calls wait for one)
    idle_checkpoint = 0.05
    # A hand-off to a waiting process leaves a WAL of up to this many bytes to it instead of
    # checkpointing (~3 fsyncs, 10-30 ms here): replaying costs ~0.2 ms per small transaction on
    # attach, so a few turns' writes are cheaper to replay than to checkpoint. docs/concurrency.md
    handoff_wal = 16384
    # DuckDB splits work by row group (122,880 rows): a project file smaller than this has a few per
    # table at most, so DuckDB's worker threads have little to share and each statement pays for waking
    # them (futex hand-offs: under load a one-row write waited 2x its CPU time). Such a file runs on one
    # thread; a larger one on DuckDB's default (all cores). Decided on every attach. docs/concurrency.md
    parallel_from = 32 << 20

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 120.0, linger: float = 0.5,
                 read_only: bool | None = None) -> None:
        self.memory = str(path) == ":memory:"
        self.path = Path(path) if not self.memory else None
        self.timeout = float(timeout)
        self._rlock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._holds = 0
        self._in_tx = False
        self.linger = float(linger)
        self._last_used = 0.0
        self._turn_start = 0.0
        self._turn_len = self.turn
        self._watching = False  # a linger thread is running (set and cleared under _rlock)
        self._lock: FileLock | None = None
        self._mem: duckdb.DuckDBPyConnection | None = None  # the DuckDB instance the file attaches to
        self._fast: duckdb.DuckDBPyConnection | None = None  # one_write's cursor (see _one_write)
        self._threads: tuple[int, int] | None = None  # (DuckDB's default, the current) thread count
        # Facts valid while this store holds the file (next ids, the loaded schema...): nobody else
        # can write meanwhile. Emptied whenever the file is taken anew and after a rollback.
        self.turn_cache: dict[str, object] = {}
        self._writes = 0  # outer write transactions begun by this store (see write_number)
        self.read_only = bool(read_only)
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
            if not self.read_only and not _writable(self.path):
                if not self.path.exists():
                    raise StoreError(
                        f"cannot create project {str(self.path)!r}: folder {str(self.path.parent)!r} "
                        "is not writable; pick a writable folder"
                    )
                if read_only is False:
                    raise StoreError(
                        f"cannot open project {str(self.path)!r} for writing: the file or its folder "
                        "is not writable; open it with nl.open(path, read_only=True) or copy it"
                    )
                warn(f"project {str(self.path)!r} is on storage this process cannot write: opened "
                     "read-only (queries and exports work; copy the file to change it)")
                self.read_only = True
            self._lock = FileLock(self.path)
            _OPEN.add(self)
        try:
            with self.transaction() as con:
                self._init_or_migrate(con)
        except BaseException as e:
            self.close()  # a refused file is let go at once (no lingering lock)
            mapped = file_error(e, self.path) if isinstance(e, duckdb.Error) else None
            if mapped is not None:
                raise mapped from e
            raise

    # -- locking -----------------------------------------------------------------------------
    def _connect(self) -> duckdb.DuckDBPyConnection:
        """Attach the file to this store's own in-memory DuckDB instance and make it the default.

        A new DuckDB instance costs ~28 ms of CPU (it builds the catalog of built-in functions);
        attaching a file to one that lives as long as the store costs ~6 ms. The instance is made once.
        """
        if self._mem is None:  # spill files go next to the project, as with a file connection
            self._mem = duckdb.connect(":memory:", config={"temp_directory": str(self.path) + ".tmp"})
            _write_row_groups_at_once(self._mem)
        con = self._mem
        assert self.path is not None
        if not self.read_only and _empty_file(self.path):  # e.g. a fresh tempfile: DuckDB refuses 0 bytes
            self.path.unlink()  # under the lock: no other nblabel process is creating the project meanwhile
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                con.execute(f"ATTACH ? AS {_ALIAS}{' (READ_ONLY)' if self.read_only else ''}", [str(self.path)])
                con.execute(f"USE {_ALIAS}")
                if self.read_only:  # the file's views cannot be recreated: ours hide them
                    shadow_views(con, strict=False)
                self._fit_threads(con)
                return con
            except duckdb.IOException as e:  # held by a process that does not use our lock file
                if not _held_elsewhere(e) or time.monotonic() > deadline:
                    raise file_error(e, self.path) or StoreError(f"cannot open project {str(self.path)!r}: {e}") from e
                time.sleep(0.01)
            except duckdb.Error as e:  # e.g. a damaged header
                raise file_error(e, self.path) or StoreError(f"cannot open project {str(self.path)!r}: {e}") from e

    def _fit_threads(self, con: duckdb.DuckDBPyConnection) -> None:
        """One DuckDB thread for a small project file, DuckDB's default for a large one (see ``parallel_from``)."""
        if self._threads is None:
            default = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
            self._threads = (default, default)
        default, current = self._threads
        try:
            size = os.path.getsize(self.path) if self.path is not None else 0
        except OSError:
            size = 0
        want = 1 if size < self.parallel_from else default
        if want != current:
            con.execute(f"SET threads = {int(want)}")
            self._threads = (default, want)

    def _detach(self, *, checkpoint: bool = True) -> None:
        """Close the file but keep the instance. ``checkpoint``: DuckDB folds what is left in the WAL
        into the file first (~3 fsyncs); without, the WAL stays beside the file and whoever attaches
        next replays it (a hand-off to a waiting process: see docs/concurrency.md)."""
        con = self._mem
        if con is None:
            return
        try:
            con.execute("USE memory")
            con.execute("PRAGMA enable_checkpoint_on_shutdown" if checkpoint
                        else "PRAGMA disable_checkpoint_on_shutdown")
            con.execute(f"DETACH {_ALIAS}")
        except duckdb.Error:  # whatever went wrong, closing the instance closes the file for sure
            self._mem = self._fast = self._threads = None
            con.close()

    def hold(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        """Keep the file open (and locked) for the duration of the block.

        Example:
            >>> s = Store(":memory:")
            >>> with s.hold() as con:
            ...     _ = con.execute("SELECT 1").fetchall()
        """
        return self._hold(read=False)

    @contextlib.contextmanager
    def _hold(self, *, read: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._rlock:
            if self._con is None:
                assert self._lock is not None
                self._lock.acquire(self.timeout, read=read)
                t0 = time.monotonic()
                try:
                    self._con = self._connect()
                except BaseException:
                    self._lock.release()
                    raise
                self._turn_start = time.monotonic()
                self.turn_cache.clear()
                # a turn lasts at least twice what opening cost, so hand-offs stay a third of the time
                self._turn_len = max(self.turn, 2 * (self._turn_start - t0))
                _OPEN.add(self)
            self._holds += 1
            try:
                yield self._con
            finally:
                self._holds -= 1
                if self._holds == 0 and not self.memory:
                    self._checkpoint()
                    self._after_operation()

    def _checkpoint(self, *, idle: bool = False) -> None:
        """Move committed changes from the WAL into the main file (so a copy of it is complete).

        Runs after every operation that wrote, or (``checkpoint_each_write = False``) from the linger
        thread once the process has been idle for ``idle_checkpoint`` seconds (``idle=True``).
        """
        if self.read_only or self._con is None or self._in_tx or self.checkpoint_each_write == idle:
            return
        if not self._wal_dirty():
            return
        with contextlib.suppress(duckdb.Error):  # the commit is safe in the WAL; the next close retries
            self._con.execute("CHECKPOINT")

    def _wal_size(self) -> int:
        try:
            return os.path.getsize(str(self.path) + ".wal")
        except OSError:  # no WAL: nothing was written
            return 0

    def _wal_dirty(self) -> bool:
        return self._wal_size() > 0

    def _after_operation(self) -> None:
        """Decide, as an operation ends, whether to keep the file for the next one. Caller holds _rlock."""
        assert self._lock is not None
        now = time.monotonic()
        self._last_used = now
        waiting = self._lock.others_waiting()
        if self.linger <= 0 or (waiting and now - self._turn_start >= self._turn_len):
            self._let_go(to_waiter=waiting)
            return
        self._start_watcher()
        if waiting:  # the watcher may sleep on the long linger deadline: the gap deadline is sooner
            self._lock.ring_self()

    def _let_go(self, *, to_waiter: bool = False) -> None:
        """Close the lingering connection and release the file lock. Caller holds _rlock.

        ``to_waiter``: another process waits for the file, so hand it over at once and leave the WAL
        to it (it replays it on attach; the next holder that goes idle checkpoints).
        """
        con, self._con = self._con, None
        try:
            if con is not None:
                wal = self._wal_size()  # (an empty WAL: nothing to fold in, and nothing left behind)
                self._detach(checkpoint=not to_waiter or wal == 0 or wal > self.handoff_wal)
        finally:
            assert self._lock is not None
            self._lock.release()

    def _start_watcher(self) -> None:
        if self._watching:
            return
        lock = self._lock
        assert lock is not None
        self._watching = True

        def watch() -> None:
            # Sleeps on the doorbell (no polling where there is one); wakes when a waiter rings, when
            # an operation of this process ends with someone waiting, or at the next deadline.
            while True:
                with self._rlock:
                    timeout = 0.05
                    if self._con is None:
                        self._watching = False
                        return
                    if self._holds == 0:
                        now = time.monotonic()
                        idle = now - self._last_used
                        if lock.others_waiting():
                            if idle >= self.gap or now - self._turn_start >= self._turn_len:
                                self._let_go(to_waiter=True)
                                self._watching = False
                                return
                            timeout = self.gap - idle
                        elif idle >= self.linger:
                            self._let_go()
                            self._watching = False
                            return
                        elif not self.checkpoint_each_write and not self.read_only and self._wal_dirty():
                            if idle >= self.idle_checkpoint:
                                self._checkpoint(idle=True)
                                timeout = self.linger - idle
                            else:
                                timeout = self.idle_checkpoint - idle
                        else:
                            timeout = self.linger - idle
                lock.wait_bell(timeout)

        threading.Thread(target=watch, name="nblabel-store-linger", daemon=True).start()

    def release(self) -> None:
        """Close the file now if no operation is running (other processes get it at once).

        Example:
            >>> Store(":memory:").release()
        """
        with self._rlock:
            if self._holds == 0 and self._con is not None and not self.memory:
                self._let_go()

    @property
    def write_number(self) -> int:
        """How many outer write transactions this store has begun (the current one included).

        A fact a write leaves in :attr:`turn_cache` under this number still holds in the next write
        transaction of the same turn (number + 1): nothing else can have written in between.

        Example:
            >>> s = Store(":memory:")
            >>> n = s.write_number
            >>> with s.transaction():
            ...     s.write_number - n
            1
        """
        return self._writes

    @property
    def in_transaction(self) -> bool:
        """A transaction of this store is open (a new ``transaction()`` block would join it)."""
        return self._in_tx

    def transaction(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        """Run the block as one transaction (nested blocks join the outer one).

        Example:
            >>> s = Store(":memory:")
            >>> with s.transaction() as con:
            ...     _ = con.execute("INSERT INTO meta VALUES ('k', 'v')")
        """
        return self._transaction(read=False)

    def read(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A transaction for queries: it sees only committed wholes, and queues ahead of writers.

        Example:
            >>> s = Store(":memory:")
            >>> with s.read() as con:
            ...     con.execute("SELECT count(*) FROM media").fetchall()[0][0]
            0
        """
        return self._transaction(read=True)

    def one_write(self) -> contextlib.AbstractContextManager[OneWrite]:
        """Run a block whose only write is one statement, without BEGIN/COMMIT (see :mod:`._one_write`).

        Reads go through ``.con``, the write through ``.write``; inside an open transaction both are
        its connection. A block with two writes must use :meth:`transaction`.

        Example:
            >>> s = Store(":memory:")
            >>> with s.one_write() as w:
            ...     _ = w.write.execute("INSERT INTO meta VALUES ('k', 'v')")
        """
        return self._one_write()

    @contextlib.contextmanager
    def _one_write(self) -> Iterator[OneWrite]:
        with self._hold(read=False) as con:
            if self._in_tx:  # join the open transaction, the write included
                with self._transaction(read=False) as joined:
                    yield OneWrite(joined, joined)
                return
            if self._fast is None:
                self._fast = fast_cursor(con, None if self.memory else _ALIAS)
            self._writes += 1
            try:
                yield OneWrite(con, self._fast)
            except BaseException as e:
                self.turn_cache.clear()
                mapped = self._refusal(e)
                if mapped is not None:
                    raise mapped from e
                raise

    def _refusal(self, e: BaseException) -> StoreError | None:
        """The nblabel error for a DuckDB error of a write (read-only file, full disk, damage), else None."""
        if not isinstance(e, duckdb.Error):
            return None
        if self.read_only and "read-only" in str(e):
            return StoreError(f"project {str(self.path)!r} is open read-only, so it cannot be changed; "
                              "copy the file to a writable folder and open the copy")
        return file_error(e, self.path)

    @contextlib.contextmanager
    def _transaction(self, *, read: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._hold(read=read) as con:
            if self._in_tx:
                yield con
                return
            con.execute("BEGIN TRANSACTION")
            self._in_tx = True
            if not read:
                self._writes += 1
            try:
                yield con
            except BaseException as e:
                self._in_tx = False
                self.turn_cache.clear()
                with contextlib.suppress(duckdb.Error):  # a failed write may have ended the transaction
                    con.execute("ROLLBACK")
                mapped = self._refusal(e)
                if mapped is not None:  # read-only, a full disk, a damaged file: rolled back, nothing half-written
                    raise mapped from e
                raise
            else:
                self._in_tx = False
                try:
                    con.execute("COMMIT")
                except BaseException as e:
                    self.turn_cache.clear()
                    if not isinstance(e, duckdb.Error):
                        raise
                    with contextlib.suppress(duckdb.Error):  # DuckDB rolled the transaction back
                        con.execute("ROLLBACK")
                    mapped = file_error(e, self.path)
                    if mapped is None:
                        raise
                    raise mapped from e

    # -- layout ------------------------------------------------------------------------------
    def _init_or_migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create a project in an empty file, or check and migrate an existing one (see :mod:`._file_check`)."""
        new = is_empty(con)
        if new and self.read_only:
            raise StoreError(f"{str(self.path)!r} is not an nblabel project (no 'meta' table), and it is "
                             "open read-only so one cannot be created in it")
        if new:
            for stmt in DDL:
                con.execute(stmt)
            con.execute(
                "INSERT INTO meta VALUES ('format_version', ?), ('schema_version', '0'), "
                "('app_version', ?), ('created_at', CAST(now() AS VARCHAR)), ('project_id', CAST(uuid() AS VARCHAR))",
                [str(FORMAT_VERSION), __version__],
            )
            recreate_views(con)
            return
        check_marker(con, self.path)
        rows = con.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchall()
        row = rows[0] if rows else None
        version = int(row[0]) if row else 0
        if version > FORMAT_VERSION:
            raise StoreError(
                f"project {str(self.path)!r} was written by a newer nblabel (file format {version}, "
                f"this nblabel {__version__} reads up to {FORMAT_VERSION}); upgrade nblabel "
                "(pip install -U nblabel)"
            )
        if self.read_only:
            if version < FORMAT_VERSION:
                raise StoreError(
                    f"project {str(self.path)!r} has the older file format {version} and is open "
                    f"read-only, so it cannot be upgraded to format {FORMAT_VERSION}; open a writable copy once"
                )
            check_objects(con, self.path)
            shadow_views(con)
            return
        while version < FORMAT_VERSION:
            for stmt in MIGRATIONS[version]:
                con.execute(stmt)
            version += 1
            con.execute("UPDATE meta SET value = ? WHERE key = 'format_version'", [str(version)])
        check_objects(con, self.path)
        recreate_views(con)
        con.execute("UPDATE meta SET value = ? WHERE key = 'app_version'", [__version__])

    def close(self) -> None:
        """Close the connection and release the file (file projects reopen on the next operation).

        Example:
            >>> with Store(":memory:") as s:
            ...     s.memory
            True
        """
        with self._rlock:
            if self.memory:
                if self._con is not None:
                    self._con.close()
                    self._con = self._fast = None
            elif self._holds == 0:
                if self._con is not None:
                    self._let_go()
                if self._lock is not None:
                    self._lock.close()
                mem, self._mem, self._fast, self._threads = self._mem, None, None, None
                if mem is not None:
                    mem.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def __repr__(self) -> str:
        return f"Store({':memory:' if self.memory else str(self.path)!r}{', read-only' if self.read_only else ''})"
