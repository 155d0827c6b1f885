"""What every exporter shares: which media go out, their instances, atomic writes, and the notes.

Only media complete in the stage go out unless asked otherwise: an incomplete item exported without
its missing instances would read as a background image.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._warnings import warn
from ..errors import ValidationError
from ..store import media_ids

__all__ = ["ExportInfo", "check_target", "export_instances", "export_media", "staged_folder", "warn_notes",
           "write_atomic"]


@dataclass
class ExportInfo:
    """What an export wrote: where, how many media and instances, and what it left out.

    Example:
        >>> ExportInfo(Path("a.json"), 2, 5).left_out_incomplete
        0
    """

    path: Path
    n_media: int
    n_instances: int
    left_out_incomplete: int = 0
    skipped_instances: int = 0
    notes: list[str] = field(default_factory=list)


def export_media(con: Any, slice: Any = None, *, include_incomplete: bool = False,
                 stage: str = "label") -> tuple[pd.DataFrame, int]:
    """The media an export writes (sorted by id) and how many incomplete ones were left out.

    Without ``include_incomplete`` only media complete in ``stage`` go out: an incomplete item
    exported without instances would claim to be a background image.
    """
    ids = None if slice is None else media_ids(con, slice)
    df = con.execute(
        "SELECT m.media_id, m.file_name, m.uri, m.width, m.height, m.meta, s.state FROM media m "
        "LEFT JOIN status s ON s.media_id = m.media_id AND s.stage = ? "
        "WHERE ?::BIGINT[] IS NULL OR list_contains(?::BIGINT[], m.media_id) ORDER BY m.media_id",
        [stage, ids, ids]).df()
    done = (df["state"] == "complete").to_numpy()
    left_out = 0 if include_incomplete else int((~done).sum())
    if not include_incomplete:
        df = df[done]
    df = df.reset_index(drop=True)
    df["meta"] = [json.loads(m) if isinstance(m, str) and m else {} for m in df["meta"]]
    return df, left_out


def export_instances(con: Any, media_ids: list[int], run_id: int | None = None) -> pd.DataFrame:
    """Current instances (ground truth, or one run's predictions) of the media, with label names."""
    df = con.execute(
        "SELECT i.instance_id, i.media_id, i.label_id, l.name AS label, i.kind, i.x0, i.y0, i.x1, i.y1, "
        "i.points, i.attributes, i.score, i.track_id, i.area, i.iscrowd, i.extra FROM current_instances i "
        "JOIN labels l USING (label_id) WHERE list_contains(?::BIGINT[], i.media_id) "
        "AND ((?::INTEGER IS NULL AND i.run_id IS NULL) OR i.run_id = ?::INTEGER) "
        "ORDER BY i.media_id, i.instance_id",
        [[int(m) for m in media_ids], run_id, run_id]).df()
    for c in ("points", "attributes", "extra"):
        df[c] = [json.loads(v) if isinstance(v, str) else None for v in df[c]]
    return df


def check_target(path: Path, what: str = "export") -> None:
    """Refuse an output file path that is a folder (or sits in a "folder" that is a file) before anything is written.

    Example:
        >>> import tempfile
        >>> check_target(Path(tempfile.mkdtemp()))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nblabel.errors.ValidationError: export path '...' is a folder; give a file path inside it, e.g. '.../export.json'
    """
    if path.is_dir():
        raise ValidationError(f"{what} path {str(path)!r} is a folder; give a file path inside it, "
                              f"e.g. {str(path / 'export.json')!r}")
    _check_parents(path, what)


def _check_parents(path: Path, what: str) -> None:
    """Refuse a path whose nearest existing parent is a file."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValidationError(f"{what} path {str(path)!r}: {str(parent)!r} is a file, not a folder")
            break


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file and a rename (no half-written exports).

    A folder as ``path`` is a :class:`~nblabel.errors.ValidationError` before anything is written; if the
    write fails (a full disk) the temporary file is removed before the error goes on."""
    check_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """Build an export folder in a temporary sibling folder, then move it into ``out`` in one step.

    ``out`` missing or empty: the temporary folder is renamed to it. ``out`` holding files already (a
    re-export): each file is moved in with a rename, replacing its old version. If the body fails,
    the temporary folder is removed and ``out`` is as it was.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp()) / "yolo"
        >>> with staged_folder(out) as tmp:
        ...     _ = (tmp / "data.yaml").write_text("nc: 0")
        >>> sorted(p.name for p in out.iterdir())
        ['data.yaml']
    """
    if out.exists() and not out.is_dir():
        raise ValidationError(f"export folder {str(out)!r} is a file; give a folder path")
    _check_parents(out, "export")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()  # not tempfile.mkdtemp: its 0700 mode would become the export folder's
    try:
        yield tmp
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        if not out.exists():
            os.replace(tmp, out)
            return
        for src in sorted(p for p in tmp.rglob("*") if not p.is_dir()):
            dst = out / src.relative_to(tmp)
            check_target(dst)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def warn_notes(info: ExportInfo) -> None:
    """Warn (at the user's line) about what an export left out (incomplete media, kinds the format cannot hold)."""
    if info.notes:
        warn(f"export to {str(info.path)!r}: " + "; ".join(info.notes))
