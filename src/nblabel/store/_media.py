"""Media rows and per-stage status: inserting probed images, setting and reading status.

Status is the one table written by upsert (``ON CONFLICT DO UPDATE``): a media item has one
current state per stage, and ``seconds_active`` accumulates. Everything else is append-only.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._report import ImportReport
from ..errors import ValidationError, did_you_mean
from ._arrow_scan import NAME, run_over, run_over_values
from ._lookup import media_ids, next_id, schema_version
from ._write_context import new_media_token

__all__ = ["STATES", "insert_media", "media_info", "set_status", "status", "status_summary"]

STATES = ("new", "in_progress", "skipped", "complete", "in_review")
_MEDIA_COLUMNS = (("media_id", pa.int64()), ("uri", pa.string()), ("file_name", pa.string()), ("sha256", pa.string()),
                  ("width", pa.int64()), ("height", pa.int64()), ("format", pa.string()), ("orientation", pa.int64()),
                  ("bytes", pa.int64()), ("meta", pa.string()))


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, (pd.Timestamp,)):
        return v.isoformat()
    return v


def insert_media(con: Any, good: list[tuple[int, Any]], meta: Any, meta_rows: pd.DataFrame | None,
                 report: ImportReport) -> int:
    """Insert probed images (``(position, ImageInfo)``); returns how many went in.

    A media item is one file name: an image whose file name and bytes (sha256) are both in the
    project already is that item (a duplicate, not added again); files with identical pixels
    under different names stay separate media items (each keeps its own annotations and COCO id)
    sharing the sha256, and ``report.notes`` names them. ``meta``: a dict for every image;
    ``meta_rows``: per-position metadata. New and duplicate ids are appended to ``report.ids`` in
    input order.
    """
    shas = sorted({info.sha256 for _, info in good})
    stored: list[tuple[Any, ...]] = []
    if good:  # every sha256 of the batch: as a joined Arrow column (see ._value_table)
        stored = run_over_values(con, f"SELECT m.sha256, m.file_name, m.media_id FROM media m SEMI JOIN {NAME} "  # noqa: S608
                                 f"ON m.sha256 = {NAME}.v ORDER BY m.media_id", shas, pa.string()).fetchall()
    have: dict[tuple[str, str], int] = {}
    names_of: dict[str, list[str]] = {}  # sha256 -> file names holding those bytes, stored ones first
    for sha, name, mid in stored:
        have.setdefault((sha, name), int(mid))
        names_of.setdefault(sha, []).append(name)
    start = next_id(con, "media")
    # one list per column (not a tuple and a dict per image: 100k images are held at once)
    cols: list[list[Any]] = [[] for _ in _MEDIA_COLUMNS]
    mids, uris, names, shas_col, widths, heights, formats, orients, sizes, metas = cols
    meta_cols: dict[Hashable, list[Any]] = ({c: meta_rows.iloc[:, j].tolist() for j, c in enumerate(meta_rows.columns)}
                                          if meta_rows is not None else {})
    n_meta = len(meta_rows) if meta_rows is not None else 0  # one row lookup costs ~50 µs: columns instead
    base: dict[Hashable, Any] = dict(meta) if isinstance(meta, dict) else {}  # column names as given
    shared: set[str] = set()  # sha256 of new items whose bytes another file name holds too
    for i, info in good:
        mid = have.get((info.sha256, info.file_name))
        if mid is not None:
            report.duplicates += 1
            report.skipped += 1
            report.ids.append(int(mid))
            continue
        m = dict(base)
        if i < n_meta:
            m.update({k: _jsonable(v[i]) for k, v in meta_cols.items()})
        mid = start + len(mids)
        have[(info.sha256, info.file_name)] = mid
        if names_of.setdefault(info.sha256, []):
            shared.add(info.sha256)
        names_of[info.sha256].append(info.file_name)
        mids.append(mid)
        uris.append(info.uri)
        names.append(info.file_name)
        shas_col.append(info.sha256)
        widths.append(info.width)
        heights.append(info.height)
        formats.append(info.format)
        orients.append(info.orientation)
        sizes.append(info.nbytes)
        metas.append(json.dumps(m))
        report.ids.append(mid)
    _note_identical(report, [names_of[s] for s in sorted(shared, key=lambda s: names_of[s])])
    if mids:
        # Arrow columns, not an object DataFrame, read by name (not registered: see ._arrow_scan)
        table = pa.table({name: pa.array(col, type=typ) for (name, typ), col in zip(_MEDIA_COLUMNS, cols,
                                                                                      strict=True)})
        del cols, mids, uris, names, shas_col, widths, heights, formats, orients, sizes, metas
        run_over(con, "INSERT INTO media (media_id, uri, file_name, sha256, width, height, format, orientation, "  # noqa: S608
                 "bytes, meta, added_at) SELECT media_id, uri, file_name, sha256, width, height, format, "
                 f"orientation, bytes, meta::JSON, now() FROM {NAME}", table)
        new_media_token(con)  # sizes cached for ids of a rolled-back insert must not outlive it
        return table.num_rows
    return 0


def _note_identical(report: ImportReport, groups: list[list[str]]) -> None:
    """Say which files have identical pixels (one note per group, the first five groups)."""
    if not groups:
        return
    report.extra["identical_pixels"] = groups
    for names in groups[:5]:
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        report.notes.append(f"{len(names)} files have identical pixels: {shown}; kept as separate media items "
                            "(one per file name, the same sha256)")
    if len(groups) > 5:
        report.notes.append(f"... and {len(groups) - 5} more groups of files with identical pixels "
                            "(report.extra['identical_pixels'] lists them all)")


def set_status(con: Any, media: Any, state: str, *, stage: str, reason: str | None, seconds_active: float,
               author: str) -> None:
    """Set the status of media items in a stage (see ``Project.set_status``)."""
    if state not in STATES:
        raise ValidationError(f"state {state!r} is unknown{did_you_mean(state, STATES)}")
    if state == "skipped" and not reason:
        raise ValidationError("skipping needs a reason, e.g. set_status(m, 'skipped', reason='blurry')")
    ids = media_ids(con, media)
    con.execute(
        """INSERT INTO status AS s (media_id, stage, state, reason, author, schema_version, started_at,
                                    finished_at, seconds_active, updated_at)
           SELECT unnest(?), ?, ?, ?, ?, ?, now(), CASE WHEN ? IN ('complete', 'skipped') THEN now() END, ?, now()
           ON CONFLICT (media_id, stage) DO UPDATE SET state = excluded.state,
               reason = excluded.reason, author = excluded.author,
               schema_version = excluded.schema_version,
               started_at = coalesce(s.started_at, excluded.started_at),
               finished_at = excluded.finished_at,
               seconds_active = s.seconds_active + excluded.seconds_active,
               updated_at = excluded.updated_at""",
        [ids, stage, state, reason, author, schema_version(con), state, float(seconds_active)],
    )


def media_info(con: Any, media: Any) -> dict[str, Any]:
    """One media item as a dict (see ``Project.media_info``)."""
    (mid,) = media_ids(con, media)
    r = con.execute("SELECT * FROM media WHERE media_id = ?", [mid]).df().iloc[0].to_dict()
    r["meta"] = json.loads(r["meta"]) if r.get("meta") else {}
    return r


def status(con: Any, media: Any, stage: str) -> dict[str, Any]:
    """The status of one media item in a stage (see ``Project.status``)."""
    (mid,) = media_ids(con, media)
    sv = schema_version(con)
    df = con.execute("SELECT * FROM status WHERE media_id = ? AND stage = ?", [mid, stage]).df()
    if df.empty:
        return {"media_id": mid, "stage": stage, "state": "new", "stale": False}
    r = df.iloc[0].to_dict()
    r["stale"] = r["state"] == "complete" and int(r["schema_version"]) < sv
    return r


def status_summary(con: Any, stage: str | None) -> pd.DataFrame:
    """Counts of media per stage and state (see ``Project.status_summary``)."""
    df = con.execute(
        """WITH sv AS (SELECT CAST(value AS INTEGER) v FROM meta WHERE key = 'schema_version'),
           stages AS (SELECT DISTINCT stage FROM status WHERE ? IS NULL OR stage = ?
                      UNION SELECT coalesce(?, 'label')),
           grid AS (SELECT m.media_id, st.stage FROM media m, stages st)
           SELECT g.stage,
                  CASE WHEN s.state IS NULL THEN 'new'
                       WHEN s.state = 'complete' AND s.schema_version < (SELECT v FROM sv) THEN 'stale'
                       ELSE s.state END AS state,
                  count(*) AS count, sum(coalesce(s.seconds_active, 0)) AS seconds_active
           FROM grid g LEFT JOIN status s USING (media_id, stage)
           GROUP BY ALL ORDER BY 1, 2""",
        [stage, stage, stage],
    ).df()
    df["count"] = df["count"].astype("int64")
    return df
