"""What every exporter shares: which media go out, their instances, atomic writes, and the notes.

Only media complete in the stage go out unless asked otherwise: an incomplete item exported without
its missing instances would read as a background image.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._warnings import warn
from ..store import media_ids

__all__ = ["ExportInfo", "export_instances", "export_media", "warn_notes", "write_atomic"]


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


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file and a rename (no half-written exports)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def warn_notes(info: ExportInfo) -> None:
    """Warn (at the user's line) about what an export left out (incomplete media, kinds the format cannot hold)."""
    if info.notes:
        warn(f"export to {str(info.path)!r}: " + "; ".join(info.notes))
