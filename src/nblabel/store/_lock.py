"""The cross-process lock on a project file: exclusive, first come first served, with a doorbell.

DuckDB lets one process at a time open a database file, so every process using a project takes an
exclusive ``flock`` on ``<file>.lock`` before it connects. Three things make the hand-off fast and fair:

* **Queue tokens that die with their process.** A process that finds the file taken puts a token in
  ``<file>.waiting/``: a file named by its arrival time (``CLOCK_MONOTONIC``, shared by every process
  of the machine) that it keeps ``flock``-ed while it waits. A token is *live* only while that lock is
  held, and the kernel drops the lock when the process dies (also on ``kill -9``), so a stale token
  can never be mistaken for a waiter, whatever its pid has become (the old ``<pid>`` files are
  ignored and removed). A waiter takes the file only when no live token ahead of its own remains:
  waiters are served in arrival order, queries (short) ahead of writes, so a notebook polling the
  project is never starved by two busy writers.
* **A doorbell.** The holder binds a Linux abstract-namespace datagram socket (which also vanishes
  with its process) and writes its name into ``<file>.lock``; a new waiter sends it one byte, so an
  idle holder lingering on the connection lets go within a scheduler tick, with no polling thread.
  Elsewhere (no abstract sockets) the holder's linger thread polls the queue every 10 ms instead.
* **One syscall per question.** "Is anyone waiting?" is a directory listing plus one non-blocking
  ``flock`` per token, a few microseconds, cheap enough to ask after every operation.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import socket
import sys
import time
from pathlib import Path

from ..errors import ConcurrencyError

try:  # POSIX advisory locks; elsewhere DuckDB's own lock plus retries still serialise writers
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]  # no fcntl on Windows: None means "no advisory lock" (checked before each use)

__all__ = ["FileLock"]

_HAS_ABSTRACT = sys.platform.startswith("linux")  # abstract-namespace unix sockets
_SEQ = itertools.count()
_TMP_MAX_AGE = 10.0  # seconds: a token still being created after this long belongs to a dead process


class FileLock:
    """Exclusive, arrival-ordered lock on ``<path>.lock`` shared by processes (and Stores of one process).

    Example:
        >>> import tempfile, pathlib
        >>> lk = FileLock(pathlib.Path(tempfile.mkdtemp()) / "p.duckdb")
        >>> lk.acquire(timeout=1.0); lk.others_waiting()
        False
        >>> lk.release()
    """

    poll = 0.001  # seconds between a waiter's looks at the lock (a flock and a listing)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = str(path) + ".lock"
        self.queue = str(path) + ".waiting"
        self._fd: int | None = None
        self._bell: socket.socket | None = None
        self._bell_name = f"\0nblabel-{os.getpid()}-{id(self):x}-{next(_SEQ)}".encode()
        self._token: str | None = None

    # -- the queue ---------------------------------------------------------------------------
    def _tokens(self) -> list[str]:
        """Names of the live tokens, oldest first (stale ones are removed on the way)."""
        try:
            names = sorted(os.listdir(self.queue))
        except FileNotFoundError:
            return []
        live = []
        for name in names:
            full = os.path.join(self.queue, name)
            if name.startswith(".tmp-"):  # a token being created; only a dead creator leaves it
                with contextlib.suppress(OSError):
                    if time.time() - os.stat(full).st_mtime > _TMP_MAX_AGE:
                        os.unlink(full)
                continue
            if name == self._token:
                live.append(name)
                continue
            if not name.endswith(".token"):  # a pid file of an older nblabel: it signals nothing
                with contextlib.suppress(OSError):
                    os.unlink(full)
                continue
            if self._alive(full):
                live.append(name)
        return live

    @staticmethod
    def _alive(full: str) -> bool:
        try:
            fd = os.open(full, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True  # its waiter holds the lock: alive
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):  # nobody holds it: the waiter died without cleaning up
            os.unlink(full)
        return False

    def others_waiting(self) -> bool:
        """Whether another process (or another Store of this one) waits for the file."""
        if fcntl is None:
            return False
        return any(t != self._token for t in self._tokens())

    def _enqueue(self, read: bool) -> int | None:
        # "0…" (a read) sorts before "1…" (a write): a short read goes ahead of queued writers' turns
        name = f"{0 if read else 1}{time.monotonic_ns():020d}-{os.getpid()}-{next(_SEQ)}.token"
        tmp = os.path.join(self.queue, ".tmp-" + name)
        try:
            os.makedirs(self.queue, exist_ok=True)
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # read-only storage: wait without a place in line
            return None
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(tmp, os.path.join(self.queue, name))  # visible only once it is locked
        self._token = name
        return fd

    def _dequeue(self, fd: int | None) -> None:
        if fd is None:
            return
        if self._token is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.queue, self._token))
            self._token = None
        os.close(fd)

    # -- the doorbell ------------------------------------------------------------------------
    def _ring(self) -> None:
        """Tell the current holder (if it has a doorbell) that someone waits."""
        if not _HAS_ABSTRACT or self._fd is None:
            return
        try:
            name = os.pread(self._fd, 256, 0).rstrip(b"\n")
        except OSError:
            return
        if not name.startswith(b"\0nblabel-"):
            return
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            s.sendto(b"w", name)

    def ring_self(self) -> None:
        """Wake this holder's own linger thread (a new deadline, or the connection was closed)."""
        if self._bell is not None:
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.setblocking(False)
                s.sendto(b"s", self._bell_name)

    def wait_bell(self, timeout: float) -> None:
        """Sleep until a waiter rings or ``timeout`` seconds pass (polls where there is no doorbell)."""
        bell = self._bell
        if bell is None:
            time.sleep(min(max(timeout, 0.0), 0.01))
            return
        try:
            bell.settimeout(max(timeout, 0.0005))
            bell.recv(16)
        except (TimeoutError, OSError):
            return

    def _open_bell(self) -> None:
        if not _HAS_ABSTRACT or self._fd is None:
            return
        if self._bell is None:
            try:
                bell = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            except OSError:
                return
            try:
                bell.bind(self._bell_name)
            except OSError:  # (the name is still bound elsewhere): poll instead, and don't leak the socket
                bell.close()
                return
            self._bell = bell
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, self._bell_name + b"\n", 0)

    # -- lock / unlock -----------------------------------------------------------------------
    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float, *, read: bool = False) -> None:
        """Take the file, waiting in line behind earlier waiters for at most ``timeout`` seconds.

        ``read=True`` (a query) queues ahead of waiting writers, behind earlier queries.
        """
        if fcntl is None or self._fd is not None:
            return
        fd = self._open_lock_file()
        if fd is None:  # read-only storage without a lock file: nobody can write there, nothing to lock
            return
        if not self._tokens() and _try_lock(fd):  # nobody in line: no token needed
            self._fd = fd
            self._open_bell()
            return
        deadline = time.monotonic() + timeout
        token_fd = self._enqueue(read)
        self._fd = fd  # (for _ring: reads the holder's doorbell name from the lock file)
        got, rung = False, 0.0
        try:
            while True:
                now = time.monotonic()
                if now - rung > 0.05:  # ring on arrival, then now and then (the holder may change)
                    self._ring()
                    rung = now
                ahead = [t for t in self._tokens() if t < (self._token or "")]
                if not ahead and _try_lock(fd):
                    got = True
                    break
                if now > deadline:
                    raise ConcurrencyError(
                        f"project {str(self.path)!r} stayed locked by another process for "
                        f"{timeout:.0f} s; finish or close the other notebook, or pass a "
                        "longer timeout to nl.open(..., timeout=...)"
                    )
                time.sleep(self.poll)
        finally:
            self._dequeue(token_fd)
            if not got:
                self._fd = None
                os.close(fd)
        self._open_bell()

    def _open_lock_file(self) -> int | None:
        try:
            return os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            if e.errno not in (errno.EACCES, errno.EROFS, errno.EPERM):
                raise
        try:  # read-only storage: use the lock file if there is one (flock works on a read-only fd)
            return os.open(self.lock_path, os.O_RDONLY)
        except OSError:
            return None

    def release(self) -> None:
        """Let the file go (the next waiter in line takes it); the doorbell goes with it (only a holder
        is rung, and a store dropped without ``close()`` must not leave a socket open)."""
        fd, self._fd = self._fd, None
        self._close_bell()
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def _close_bell(self) -> None:
        bell, self._bell = self._bell, None
        if bell is not None:
            with contextlib.suppress(OSError):
                bell.close()

    def close(self) -> None:
        """Release the lock and the doorbell."""
        self.release()


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
