"""Writing instance rows: new instances, new versions, tombstones and restores — all append-only.

The one place that writes the ``instances`` table. Every INSERT names its columns (:data:`COLUMNS`),
so adding a column means changing this module only. An edit supersedes the current row and
appends the next version; a delete appends a tombstone; nothing is overwritten or erased.
Callers hold the transaction (``store.transaction()``); rows arrive checked by :mod:`._prepare`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import NotFoundError
from ._arrow_scan import NAME, run_over
from ._lookup import next_id
from ._points_json import dumps

__all__ = ["COLUMNS", "append_version", "copy_version", "current_row", "insert_new", "insert_one", "insert_rows",
           "insert_table", "instance_table", "tombstone_many", "version_row"]

# every column of ``instances`` that a write sets; created_at is now(), superseded_at starts NULL
COLUMNS = ("instance_id", "version", "media_id", "run_id", "label_id", "kind", "x0", "y0", "x1", "y1", "points",
           "attributes", "score", "track_id", "area", "iscrowd", "extra", "author", "schema_version", "deleted")
_JSON = {"points", "attributes", "extra"}
_NAMES = ", ".join(COLUMNS)
_VALUES = ", ".join("?::JSON" if c in _JSON else "?" for c in COLUMNS)
_INSERT_ONE = f"INSERT INTO instances ({_NAMES}, created_at) VALUES ({_VALUES}, now())"  # noqa: S608
# a new version copied from a stored one: only the version, author, schema version and deleted flag change
_COPIED = ", ".join({"version": "?", "author": "?", "schema_version": "?", "deleted": "?"}.get(c, c) for c in COLUMNS)
_INSERT_COPY = (f"INSERT INTO instances ({_NAMES}, created_at) SELECT {_COPIED}, now() FROM instances "  # noqa: S608
                "WHERE instance_id = ? AND version = ?")
_SELECT_FRAME = ", ".join(
    {"points": "points::JSON", "attributes": "attributes::JSON", "extra": "extra::JSON",
     "score": "CASE WHEN isnan(score) THEN NULL ELSE score END",
     "area": "CASE WHEN isnan(area) THEN NULL ELSE area END", "author": "?", "schema_version": "?",
     "deleted": "false"}.get(c, c) for c in COLUMNS)
_INSERT_FRAME = f"INSERT INTO instances ({_NAMES}, created_at) SELECT {_SELECT_FRAME}, now() FROM {NAME}"  # noqa: S608


def _num(v: Any, cast: type) -> Any:
    return None if v is None or pd.isna(v) else cast(v)


def _flag(v: Any) -> bool:
    return False if v is None or (not isinstance(v, (bool, np.bool_)) and pd.isna(v)) else bool(v)


def insert_one(con: Any, row: dict[str, Any], *, instance_id: int, version: int, author: str | None,
               schema_version: int, deleted: bool = False) -> None:
    """Append one row (a checked instance as a dict, keys as :data:`COLUMNS`) as ``version`` of ``instance_id``."""
    con.execute(_INSERT_ONE, _params(row, int(instance_id), version, author, schema_version, deleted))


def _params(row: dict[str, Any], instance_id: int | None, version: int, author: str | None, schema_version: int,
            deleted: bool) -> list[Any]:
    """The values of :data:`COLUMNS` for one row, in order."""
    return [
        instance_id, int(version), int(row["media_id"]), _num(row.get("run_id"), int), int(row["label_id"]),
        row["kind"], float(row["x0"]), float(row["y0"]), float(row["x1"]), float(row["y1"]),
        dumps(row.get("points")), dumps(row.get("attributes")), _num(row.get("score"), float),
        _num(row.get("track_id"), int), _num(row.get("area"), float), _flag(row.get("iscrowd")),
        dumps(row.get("extra")), author, int(schema_version), bool(deleted)]


_INSERT_NEW = (f"INSERT INTO instances ({_NAMES}, created_at) SELECT coalesce(max(instance_id), 0) + 1, "  # noqa: S608
               f"{_VALUES.split(', ', 1)[1]}, now() FROM instances RETURNING instance_id")


def insert_new(con: Any, row: dict[str, Any], *, author: str | None, schema_version: int,
               instance_id: int | None = None) -> int:
    """Append one row as version 1 of a new instance; returns its id: ``instance_id`` when the caller
    knows the next free one (see :mod:`._write_context`), else the next free one taken in the same
    statement (one round trip either way for the annotator's save)."""
    if instance_id is not None:
        insert_one(con, row, instance_id=instance_id, version=1, author=author, schema_version=schema_version)
        return int(instance_id)
    return int(con.execute(_INSERT_NEW, _params(row, None, 1, author, schema_version, False)[1:]).fetchall()[0][0])


def _texts(col: pd.Series, n: int) -> pa.Array:
    """A JSON column as Arrow strings (NULL for None/NaN), compact while a writer holds it."""
    if not col.notna().any():
        return pa.nulls(n, type=pa.string())
    return pa.array([v if isinstance(v, str) else dumps(v) for v in col.to_list()], type=pa.string())


def _nullable(col: pd.Series, dtype: Any, typ: pa.DataType) -> pa.Array:
    return pa.Array.from_pandas(col.astype(dtype), type=typ)


def instance_table(frame: pd.DataFrame) -> pa.Table:
    """Checked rows (``prepare_instances`` output) as the Arrow columns an insert reads, without
    ``instance_id`` (given when they are written, :func:`insert_table`): compact, so a writer can hold
    a row group's worth of them while the frames are let go.

    Example:
        >>> f = pd.DataFrame({"media_id": [1], "run_id": [None], "label_id": [2], "kind": ["box"], "x0": [1.0],
        ...                   "y0": [1.0], "x1": [5.0], "y1": [5.0], "points": [None], "attributes": [None],
        ...                   "score": [np.nan], "track_id": [pd.NA], "area": [np.nan], "iscrowd": [False],
        ...                   "extra": [None]})
        >>> instance_table(f).column_names[:4]
        ['version', 'media_id', 'run_id', 'label_id']
    """
    n = len(frame)
    columns: dict[str, Any] = {
        "version": np.ones(n, dtype=np.int32),
        "media_id": frame["media_id"].to_numpy(np.int64),
        "run_id": _nullable(frame["run_id"], "Int32", pa.int32()),
        "label_id": frame["label_id"].to_numpy(np.int32),
        "kind": pa.array(frame["kind"].astype(str).to_list(), type=pa.string()),
        "x0": frame["x0"].to_numpy(float), "y0": frame["y0"].to_numpy(float),
        "x1": frame["x1"].to_numpy(float), "y1": frame["y1"].to_numpy(float),
        "points": _texts(frame["points"], n),
        "attributes": _texts(frame["attributes"], n),
        "score": pd.to_numeric(frame["score"], errors="coerce").to_numpy(float),
        "track_id": _nullable(frame["track_id"], "Int64", pa.int64()),
        "area": pd.to_numeric(frame["area"], errors="coerce").to_numpy(float),
        "iscrowd": frame["iscrowd"].fillna(False).astype(bool).to_numpy(),
        "extra": _texts(frame["extra"], n),
    }
    return pa.table(columns)


def insert_table(con: Any, table: pa.Table, *, author: str | None, schema_version: int) -> np.ndarray:
    """Append the rows of :func:`instance_table` (one or several, concatenated) as version 1 of new
    instances in one statement; returns their ids."""
    n = table.num_rows
    start = next_id(con, "instances")
    ids = np.arange(start, start + n, dtype=np.int64)
    if n == 0:
        return ids
    run_over(con, _INSERT_FRAME, table.add_column(0, "instance_id", pa.array(ids)), [author, schema_version])
    return ids


def insert_rows(con: Any, frame: pd.DataFrame, *, author: str | None, schema_version: int) -> np.ndarray:
    """Append checked rows (``prepare_instances`` output) as version 1 of new instances; returns their ids."""
    n = len(frame)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == 1:  # one parameterised INSERT, no DataFrame registration
        start = next_id(con, "instances")
        insert_one(con, {str(k): v for k, v in frame.iloc[0].to_dict().items()}, instance_id=start, version=1,
                   author=author, schema_version=schema_version)
        return np.array([start], dtype=np.int64)
    return insert_table(con, instance_table(frame), author=author, schema_version=schema_version)


def _fetch(con: Any, sql: str, params: list[Any]) -> dict[str, Any] | None:
    cur = con.execute(sql, params)
    rows = cur.fetchall()
    if not rows:
        return None
    return dict(zip([d[0] for d in cur.description], rows[0], strict=True))


def current_row(con: Any, instance_id: Any) -> dict[str, Any]:
    """The current version of an instance (a tombstone included) as a dict; NotFoundError if there is none."""
    row = _fetch(con, "SELECT * FROM instances WHERE instance_id = ? AND superseded_at IS NULL", [int(instance_id)])
    if row is None:
        raise NotFoundError.from_key("instance", instance_id, hint="list instances with proj.instances().df()")
    return row


def version_row(con: Any, instance_id: int, version: int) -> dict[str, Any]:
    """One stored version of an instance; NotFoundError if it has no such version."""
    row = _fetch(con, "SELECT * FROM instances WHERE instance_id = ? AND version = ?", [int(instance_id), int(version)])
    if row is None:
        raise NotFoundError(f"instance {instance_id} has no version {version}; see proj.history({instance_id})")
    return row


def _supersede(con: Any, instance_id: int) -> None:
    con.execute("UPDATE instances SET superseded_at = now() WHERE instance_id = ? AND superseded_at IS NULL",
                [int(instance_id)])


def append_version(con: Any, old: dict[str, Any], row: dict[str, Any], *, author: str | None,
                   schema_version: int) -> int:
    """Supersede ``old`` (the current row) with the checked ``row`` as the next version; returns its number.

    The run stays the old row's; ``row`` gives everything else (media, label, geometry, attributes...).
    """
    version = int(old["version"]) + 1
    _supersede(con, old["instance_id"])
    insert_one(con, {**row, "run_id": old["run_id"]}, instance_id=int(old["instance_id"]), version=version,
               author=author, schema_version=schema_version)
    return version


def copy_version(con: Any, current: dict[str, Any], source_version: int, *, deleted: bool, author: str | None,
                 schema_version: int) -> int:
    """Supersede ``current`` with a copy of ``source_version`` (a tombstone, or a restore); returns the new number."""
    version = int(current["version"]) + 1
    _supersede(con, current["instance_id"])
    con.execute(_INSERT_COPY, [version, author, int(schema_version), bool(deleted), int(current["instance_id"]),
                               int(source_version)])
    return version


_TOMBSTONES = (f"INSERT INTO instances ({_NAMES}, created_at) SELECT "  # noqa: S608
               + ", ".join({"version": "version + 1", "author": "?", "schema_version": "?", "deleted": "true"}.get(c, c)
                           for c in COLUMNS)
               + ", now() FROM instances WHERE superseded_at IS NULL AND NOT deleted AND run_id IS NOT DISTINCT FROM ? "
               "AND list_contains(?::BIGINT[], media_id) RETURNING instance_id")


def tombstone_many(con: Any, *, media: list[int], run_id: int | None, author: str | None,
                   schema_version: int) -> int:
    """Delete every current instance of a source (ground truth when ``run_id`` is None, else that run)
    on ``media``, as tombstone versions in two statements; returns how many were deleted.

    The same history as :func:`copy_version` with ``deleted=True`` one instance at a time: each
    current row is superseded by a copy of itself, one version up, flagged deleted.
    """
    if not media:
        return 0
    ids = [int(r[0]) for r in con.execute(_TOMBSTONES, [author, int(schema_version), run_id,
                                                        [int(m) for m in media]]).fetchall()]
    if ids:
        con.execute("UPDATE instances SET superseded_at = now() WHERE superseded_at IS NULL AND NOT deleted "
                    "AND list_contains(?::BIGINT[], instance_id)", [ids])
    return len(ids)
