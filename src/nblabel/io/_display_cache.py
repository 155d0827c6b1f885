"""Encoded display images kept across sessions, so a huge image pays its decode once.

A 12000×12000 PNG takes seconds to decode (PNG has no reduced decode); the annotator shows it
downscaled, and the downscaled bytes are the same every time. They are kept under a key made of the
file's sha256 (the media row has it) and the display variant (longest side, quality, orientation, a
format version):

- a project file ``p.duckdb`` keeps them in ``p.cache/display/<sha[:2]>/<sha>-<variant>.bin``, beside
  the project (not inside the DuckDB file, so the project stays small and copying it stays cheap);
- an in-memory or read-only project keeps them in an in-process LRU shared by every widget of the
  process (:data:`MEMORY_BYTES` in total).

An entry is written atomically (a temporary file, then ``os.replace``) and carries the sha256 of its
payload and the source file's size: a truncated, corrupt or stale entry is ignored (and rebuilt by
the caller), never shown. The folder is pruned, oldest first, past ``max_bytes``. Deleting it is
always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MEMORY_BYTES", "CachedDisplay", "DisplayStore", "display_store", "display_store_folder"]

_MAGIC = b"NBLDISP1\n"
_MIMES = {"image/jpeg", "image/png"}
MEMORY_BYTES = 256 * 1024 * 1024  # the in-process LRU's total size
DISK_BYTES = 2 * 1024 * 1024 * 1024  # a project's display cache folder, pruned oldest first past this


@dataclass(frozen=True)
class CachedDisplay:
    """The encoded bytes of one display image and their MIME type."""

    data: bytes
    mime: str


class _MemoryLRU:
    """Entries in this process, least recently used dropped first past ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[tuple[str, str], tuple[CachedDisplay, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], source_size: int) -> CachedDisplay | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            if hit[1] != source_size:  # the file changed since: rebuild
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: tuple[str, str], entry: CachedDisplay, source_size: int) -> None:
        if len(entry.data) > self.max_bytes:
            return
        with self._lock:
            self._drop(key)
            self._items[key] = (entry, source_size)
            self._bytes += len(entry.data)
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))

    def _drop(self, key: tuple[str, str]) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= len(old[0].data)


_MEMORY = _MemoryLRU(MEMORY_BYTES)


class DisplayStore:
    """Get and put display images by (sha256, variant): in a folder, or in the process's LRU.

    Example:
        >>> import tempfile, os, pathlib
        >>> d = tempfile.mkdtemp(); src = os.path.join(d, "a.png"); _ = pathlib.Path(src).write_bytes(b"x" * 10)
        >>> s = DisplayStore(os.path.join(d, "p.cache", "display"))
        >>> s.get("ab" * 32, "4096", src) is None
        True
        >>> s.put("ab" * 32, "4096", src, CachedDisplay(b"jpeg bytes", "image/jpeg"))
        >>> s.get("ab" * 32, "4096", src)
        CachedDisplay(data=b'jpeg bytes', mime='image/jpeg')
    """

    def __init__(self, folder: str | os.PathLike[str] | None, *, max_bytes: int = DISK_BYTES,
                 memory: _MemoryLRU | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.max_bytes = int(max_bytes)
        self._memory = memory if memory is not None else _MEMORY

    def entry_path(self, sha256: str, variant: str) -> Path | None:
        """Where the entry lives on disk (``None`` for an in-memory store)."""
        if self.folder is None:
            return None
        return self.folder / sha256[:2] / f"{sha256}-{variant}.bin"

    def get(self, sha256: str, variant: str, source: str | os.PathLike[str]) -> CachedDisplay | None:
        """The cached display image, or ``None`` (missing, corrupt, or the source file changed size)."""
        size = _size(source)
        if size is None:
            return None
        where = self.entry_path(sha256, variant)
        if where is None:
            return self._memory.get((sha256, variant), size)
        try:
            entry = _parse(where.read_bytes(), size)
        except OSError:
            entry = None
        if entry is None:  # kept in memory when the folder could not be written
            return self._memory.get((sha256, variant), size)
        with contextlib.suppress(OSError):
            os.utime(where)  # pruning drops the least recently used first
        return entry

    def put(self, sha256: str, variant: str, source: str | os.PathLike[str], entry: CachedDisplay) -> None:
        """Keep ``entry``; a folder that cannot be written keeps it in memory instead (never raises)."""
        size = _size(source)
        if size is None or entry.mime not in _MIMES:
            return
        where = self.entry_path(sha256, variant)
        if where is None or not _write(where, _format(entry, size)):
            self._memory.put((sha256, variant), entry, size)
            return
        self._prune()

    def _prune(self) -> None:
        assert self.folder is not None
        files: list[tuple[float, int, Path]] = []
        with contextlib.suppress(OSError):
            for sub in os.scandir(self.folder):
                if not sub.is_dir(follow_symlinks=False):
                    continue
                for f in os.scandir(sub.path):
                    if not f.is_file(follow_symlinks=False):
                        continue
                    st = f.stat()
                    if f.name.endswith(".bin"):
                        files.append((st.st_mtime, st.st_size, Path(f.path)))
                    elif f.name.startswith(".tmp-") and st.st_mtime < time.time() - 3600:
                        with contextlib.suppress(OSError):  # left by a process killed while writing
                            os.unlink(f.path)
        total = sum(f[1] for f in files)
        for _mtime, nbytes, path in sorted(files, key=lambda f: f[0]):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= nbytes


def display_store_folder(project_path: str | os.PathLike[str] | None) -> Path | None:
    """The display cache folder of a project file: ``p.duckdb`` → ``p.cache/display`` (``None`` in memory).

    Example:
        >>> display_store_folder("/data/p.duckdb").as_posix(), display_store_folder(None)
        ('/data/p.cache/display', None)
    """
    if project_path is None:
        return None
    p = Path(project_path)
    return p.with_name(p.stem + ".cache") / "display"


def display_store(project_path: str | os.PathLike[str] | None, read_only: bool = False) -> DisplayStore:
    """The display store of a project: its cache folder, or the in-process LRU (in memory, read-only).

    Example:
        >>> display_store(None).folder is None, display_store("/data/p.duckdb").folder.name
        (True, 'display')
    """
    return DisplayStore(None if read_only else display_store_folder(project_path))


def _size(source: str | os.PathLike[str]) -> int | None:
    try:
        return os.stat(source).st_size
    except OSError:
        return None


def _format(entry: CachedDisplay, source_size: int) -> bytes:
    head = {"mime": entry.mime, "sha256": hashlib.sha256(entry.data).hexdigest(), "length": len(entry.data),
            "source_size": int(source_size)}
    return _MAGIC + json.dumps(head, sort_keys=True).encode() + b"\n" + entry.data


def _parse(raw: bytes, source_size: int) -> CachedDisplay | None:
    if not raw.startswith(_MAGIC):
        return None
    end = raw.find(b"\n", len(_MAGIC))
    if end < 0:
        return None
    try:
        head = json.loads(raw[len(_MAGIC):end])
    except ValueError:
        return None
    data = raw[end + 1:]
    if (not isinstance(head, dict) or head.get("mime") not in _MIMES or head.get("length") != len(data)
            or head.get("source_size") != source_size or head.get("sha256") != hashlib.sha256(data).hexdigest()):
        return None
    return CachedDisplay(data, str(head["mime"]))


def _write(where: Path, blob: bytes) -> bool:
    """Write ``blob`` to ``where`` atomically; False when the folder cannot be written."""
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=where.parent)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, where)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
