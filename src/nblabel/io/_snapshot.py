"""Snapshots: an export frozen under a name, with its options and a content hash.

``snapshot(name)`` exports once into ``<project>.snapshots/<name>/`` and records the sha256 of the
bytes (for a folder export: of every file's path and hash). Asking for the same name later returns
the same path after checking the hash: the stored bytes are the truth, they are never silently
re-exported. A tampered or missing snapshot is an error.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from ..errors import StoreError, ValidationError
from ..store._caches import add_snapshot, snapshot_row, snapshot_rows
from ._exports import ExportInfo

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["FORMATS", "content_sha256", "list_snapshots", "snapshot", "snapshot_root", "stage"]

FORMATS = ("coco", "yolo", "voc", "parquet")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
T = TypeVar("T")


def content_sha256(path: Path) -> str:
    """sha256 of a file, or of a folder (every file's relative path and sha256, sorted).

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a.txt").write_text("x")
        >>> content_sha256(d) == content_sha256(d)
        True
    """
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f.relative_to(path).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).hexdigest().encode() + b"\n")
    return h.hexdigest()


def snapshot_root(session: Session) -> Path:
    """Where snapshots live: ``<file stem>.snapshots/`` next to the project file (in-memory
    projects: next to their media folder)."""
    if session.path is not None:
        return session.path.with_name(session.path.stem + ".snapshots")
    media = session.media_dir or Path(tempfile.mkdtemp(prefix="nblabel-"))
    return media.with_name(media.name + ".snapshots")


def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Export options as JSON-ready data (a slice becomes its SQL and parameters)."""
    from ..query import MediaSlice

    out: dict[str, Any] = {}
    for k, v in sorted(kwargs.items()):
        if isinstance(v, MediaSlice):
            sql, params = v.sql()
            out[k] = {"slice_sql": sql, "params": [str(p) for p in params]}
        elif hasattr(v, "name") and hasattr(v, "run_id"):
            out[k] = v.name
        elif isinstance(v, (list, tuple)):
            out[k] = [int(x) if hasattr(x, "__index__") else str(x) for x in v]
        else:
            out[k] = v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
    return out


_OPTIONS = {"coco": {"slice", "include_incomplete", "run"},
            "yolo": {"task", "copy_images", "slice", "include_incomplete"},
            "voc": {"slice", "include_incomplete"},
            "parquet": {"slice", "run"}}


def _export(session: Session, fmt: str, target: Path, kwargs: dict[str, Any]) -> ExportInfo:
    unknown = set(kwargs) - _OPTIONS[fmt]
    if unknown:
        raise ValidationError(f"a {fmt} snapshot takes the options {sorted(_OPTIONS[fmt])}, not {sorted(unknown)}")
    if fmt == "coco":
        from ._coco import export_coco

        return export_coco(session, target / "annotations.json", **kwargs)
    if fmt == "yolo":
        from ._yolo import export_yolo

        return export_yolo(session, target, **kwargs)
    if fmt == "voc":
        from ._voc import export_voc

        return export_voc(session, target, **kwargs)
    from ._parquet import export_parquet

    return export_parquet(session, target / "instances.parquet", **kwargs)


def snapshot(session: Session, name: str, fmt: str | None, kwargs: dict[str, Any]) -> tuple[Path, ExportInfo | None]:
    """Create or verify the snapshot ``name``; returns its path (and the export info when new)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValidationError(f"snapshot name {name!r} must be 1-128 letters, digits, '.', '_' or '-' "
                              "(starting with a letter or digit), e.g. 'v1' or 'train-2024-05'")
    if fmt is not None and fmt not in FORMATS:
        raise ValidationError(f"snapshot format {fmt!r} is unknown; use one of {list(FORMATS)}")
    with session.store.transaction() as con:
        row = snapshot_row(con, name)
        if row is not None:
            sfmt, query, sha, spath = row
            stored = json.loads(query) if query else {}
            if (fmt is not None and fmt != sfmt) or (kwargs and _options(kwargs) != stored.get("options")):
                raise ValidationError(f"snapshot {name!r} exists already as {sfmt} with options "
                                      f"{stored.get('options')}; a snapshot never changes: pick a new name")
            p = _resolve(session, spath)
            if not p.exists():
                raise StoreError(f"snapshot {name!r} is missing: {spath!r} does not exist. The recorded bytes "
                                 f"(sha256 {sha[:12]}...) are the truth and are not re-exported; restore the "
                                 "files from a backup, or make a new snapshot under another name")
            now = content_sha256(p)
            if now != sha:
                raise StoreError(f"snapshot {name!r} at {spath!r} was modified: its sha256 is {now[:12]}..., "
                                 f"recorded {sha[:12]}...; restore the original files from a backup, or make a "
                                 "new snapshot under another name")
            return p, None
        made_fmt = fmt or "coco"
        root = snapshot_root(session)

        def write(tmp: Path) -> tuple[ExportInfo, Path]:
            info = _export(session, made_fmt, tmp, kwargs)
            return info, info.path.relative_to(tmp)  # "." for a folder export

        def record(target: Path, made: tuple[ExportInfo, Path]) -> None:
            info, rel = made
            path = target / rel
            add_snapshot(con, name, made_fmt, {"format": made_fmt, "options": _options(kwargs),
                                               "left_out_incomplete": info.left_out_incomplete,
                                               "skipped_instances": info.skipped_instances},
                         content_sha256(path), path.relative_to(root).as_posix(), info.n_media, info.n_instances)

        target, (info, rel) = stage(root, name, write, record)
        info.path = target / rel
        return info.path, info


def stage(root: Path, name: str, write: Callable[[Path], T], record: Callable[[Path, T], None]) -> tuple[Path, T]:
    """Make the snapshot folder ``root/name`` so that a failed or killed call leaves nothing at ``root/name``.

    Refuses a target that exists already, calls ``write(tmp)`` on a fresh hidden folder
    ``root/.<name>.*`` and renames it to ``root/name``, then calls ``record(target, result)`` (the
    catalogue row). If ``write`` fails the temporary folder is removed; if ``record`` fails the renamed
    folder is. A kill -9 during ``write`` leaves only a hidden ``.<name>.*`` folder, never a half
    snapshot under its name. Returns the target and what ``write`` returned.

    Raises:
        StoreError: ``root/name`` exists (with no snapshot recorded under that name).

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp()) / "p.snapshots"
        >>> target, n = stage(root, "v1", lambda tmp: (tmp / "a.txt").write_text("hi"), lambda t, n: None)
        >>> target.name, n, (target / "a.txt").read_text(), [p.name for p in root.iterdir()]
        ('v1', 2, 'hi', ['v1'])
        >>> def fail(target, n): raise RuntimeError("catalogue refused")
        >>> stage(root, "v2", lambda tmp: 0, fail)
        Traceback (most recent call last):
        ...
        RuntimeError: catalogue refused
        >>> [p.name for p in root.iterdir()]
        ['v1']
    """
    target = root / name
    if target.exists():
        raise StoreError(f"{str(target)!r} exists but no snapshot {name!r} is recorded in this project; "
                         "move it away or pick another name")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        result = write(tmp)
        tmp.replace(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        record(target, result)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target, result

def _resolve(session: Session, stored: str) -> Path:
    """A recorded path: relative to the snapshot folder (so moving the project with it keeps working)."""
    p = Path(stored)
    return p if p.is_absolute() else snapshot_root(session) / p


def list_snapshots(session: Session) -> pd.DataFrame:
    """Every snapshot: name, format, query/options, created_at, sha256, path, counts."""
    with session.store.read() as con:
        df = snapshot_rows(con)
    df["path"] = [str(_resolve(session, p)) for p in df["path"]]
    return df
