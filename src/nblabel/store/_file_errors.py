"""DuckDB's errors about the project file itself, as nblabel errors that name the file and the fix.

DuckDB reports a damaged file, a file that is not a database, or a full disk as an ``IOException``
(or a ``TransactionException`` when the commit is what failed) whose text says which. The store
hands every DuckDB error it sees while opening or running a transaction to :func:`file_error`;
the ones about the file become a :class:`~nblabel.errors.ProjectFileError` or a
:class:`~nblabel.errors.DiskFullError`, anything else is left to the caller.

Example:
    >>> import duckdb
    >>> e = duckdb.IOException('Could not write file "p.duckdb.wal": No space left on device')
    >>> type(file_error(e, "p.duckdb")).__name__
    'DiskFullError'
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ..errors import DiskFullError, ProjectFileError, StoreError

__all__ = ["damaged", "file_error", "not_a_project"]

# what DuckDB (and the OS, through it) says when a write finds no room
_FULL = ("no space left on device", "file too large", "disk quota exceeded", "not enough space")
# ... when the bytes it reads are not what it wrote
_DAMAGED = ("could not read enough bytes", "checksum", "corrupt", "block id", "failed to read", "unexpected end",
            "deserializ", "serializ")


def _wal_note(path: Path) -> str:
    wal = Path(str(path) + ".wal")
    if wal.exists():
        return (f" The file {wal.name!r} next to it holds changes written after the damaged state: move it "
                "aside together with the damaged file, and do not pair it with a restored copy.")
    return ""


def damaged(path: str | os.PathLike[str], detail: str) -> ProjectFileError:
    """The error for a project file whose bytes DuckDB cannot read back (truncated or overwritten).

    Example:
        >>> print(damaged("p.duckdb", "Could not read enough bytes").args[0][:61])
        project file 'p.duckdb' is damaged: it is shorter than DuckDB
    """
    path = Path(path)
    short = "could not read enough bytes" in detail.lower() or "unexpected end" in detail.lower()
    what = ("it is shorter than DuckDB expects (truncated: an interrupted copy, download or sync?)"
            if short else "its contents do not read back as DuckDB wrote them")
    return ProjectFileError(
        f"project file {str(path)!r} is damaged: {what} ({detail.strip()[:200]}). nblabel cannot repair it: "
        "restore it from a backup or from the copy it came from (a copy taken while no notebook was writing "
        "is whole)." + _wal_note(path))


def not_a_project(path: str | os.PathLike[str], reason: str) -> ProjectFileError:
    """The error for a file that is not an nblabel project (``reason`` says what it is instead).

    Example:
        >>> print(not_a_project("a.duckdb", "it has no 'meta' table").args[0][:52])
        'a.duckdb' is not an nblabel project: it has no 'met
    """
    return ProjectFileError(
        f"{str(path)!r} is not an nblabel project: {reason}. nblabel does not add its tables to another "
        "database; pass a new path (or an empty file) to create a project, or the path of an nblabel project")


def file_error(e: duckdb.Error, path: str | os.PathLike[str] | None) -> StoreError | None:
    """The nblabel error for a DuckDB error about the file (full disk, damaged bytes, not DuckDB), else None.

    Example:
        >>> import duckdb
        >>> file_error(duckdb.CatalogException("Table with name x does not exist"), "p.duckdb") is None
        True
    """
    text = str(e)
    low = text.lower()
    shown = ":memory:" if path is None else str(path)
    if any(s in low for s in _FULL):
        return DiskFullError(
            f"could not write to project {shown!r}: the disk is full ({text.strip()[:200]}). Nothing was lost: "
            "this change was rolled back as a whole, and everything saved before it is intact. Free some space "
            "(or move the project to a disk with room) and run the call again.")
    if path is None:
        return None
    if "not a valid duckdb database file" in low:
        return not_a_project(path, "it is not a DuckDB database (or its first bytes are damaged)")
    if "trying to read a database file with version number" in low:
        return ProjectFileError(f"project file {shown!r} was written by a newer DuckDB than the one installed "
                                f"({text.strip()[:200]}); upgrade duckdb (pip install -U duckdb)")
    if isinstance(e, (duckdb.IOException, duckdb.SerializationException, duckdb.InternalException)) \
            and any(s in low for s in _DAMAGED):
        return damaged(path, text)
    return None
