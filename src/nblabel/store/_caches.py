"""Rows the widgets and exports keep beside the data: review verdicts, the thumbnail cache, snapshots.

These are the only writes the layers above make besides media, statuses, datasets and instances
(``_media``, ``_datasets``, ``_edits``); widgets and io call these instead of writing SQL themselves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["add_snapshot", "add_verdict", "cached_thumbnails", "put_thumbnails", "snapshot_row", "snapshot_rows"]


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


def add_verdict(con: Any, media_id: int, run_id: Any, gt_id: Any, pred_id: Any, verdict: str, author: str) -> None:
    """Record a reviewer's verdict on a (ground truth, prediction) pair of ``media_id``.

    Example:
        >>> from nblabel.store import Store
        >>> s = Store(":memory:")
        >>> with s.transaction() as con:
        ...     add_verdict(con, 1, None, 5, None, "confirm_gt", "ana")
        ...     con.execute("SELECT gt_id, verdict, author FROM verdicts").fetchall()
        [(5, 'confirm_gt', 'ana')]
    """
    con.execute("INSERT INTO verdicts (media_id, run_id, gt_id, pred_id, verdict, author, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, now())",
                [int(media_id), _opt_int(run_id), _opt_int(gt_id), _opt_int(pred_id), str(verdict), author])


def cached_thumbnails(con: Any, size: int, media_ids: Sequence[int]) -> dict[int, bytes]:
    """The cached thumbnails of ``media_ids`` at ``size`` (ids without one are absent).

    Example:
        >>> from nblabel.store import Store
        >>> with Store(":memory:").transaction() as con:
        ...     put_thumbnails(con, 32, {1: b"png"}); cached_thumbnails(con, 32, [1, 2])
        {1: b'png'}
    """
    rows = con.execute("SELECT media_id, any_value(data) FROM thumbnails WHERE size = ? "
                       "AND media_id IN (SELECT unnest(?)) GROUP BY media_id", [int(size), [int(i) for i in media_ids]])
    return {int(m): bytes(d) for m, d in rows.fetchall()}


def put_thumbnails(con: Any, size: int, blobs: dict[int, bytes]) -> None:
    """Cache thumbnails at ``size``, replacing any cached meanwhile (never two rows for one image and size)."""
    keys = [int(k) for k in blobs]
    con.execute("DELETE FROM thumbnails WHERE size = ? AND media_id IN (SELECT unnest(?))", [int(size), keys])
    con.execute("INSERT INTO thumbnails (media_id, size, data) SELECT unnest(?), ?, unnest(?)",
                [keys, int(size), list(blobs.values())])


def snapshot_row(con: Any, name: str) -> tuple[str, str | None, str, str] | None:
    """``(format, query JSON, sha256, path)`` of the snapshot ``name``, or ``None``."""
    rows = con.execute("SELECT format, query, sha256, path FROM snapshots WHERE name = ?", [name]).fetchall()
    return (str(rows[0][0]), rows[0][1], str(rows[0][2]), str(rows[0][3])) if rows else None


def snapshot_rows(con: Any) -> Any:
    """Every snapshot as a DataFrame (oldest first)."""
    return con.execute("SELECT name, format, query, created_at, sha256, path, n_media, n_instances "
                       "FROM snapshots ORDER BY created_at, name").df()


def add_snapshot(con: Any, name: str, fmt: str, query: dict[str, Any], sha256: str, path: str,
                 n_media: int, n_instances: int) -> None:
    """Record a snapshot (a frozen export) under ``name``."""
    con.execute("INSERT INTO snapshots (name, format, query, created_at, sha256, path, n_media, n_instances) "
                "VALUES (?, ?, ?::JSON, now(), ?, ?, ?, ?)",
                [name, fmt, json.dumps(query, sort_keys=True), sha256, path, int(n_media), int(n_instances)])
