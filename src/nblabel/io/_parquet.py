"""Instances as one Parquet table: the way out to Spark/Ray/pandas and back in by path.

Every current instance (ground truth, or one run's predictions) with its media's file name and
size, its label name and the media's status in stage "label"; geometry, attributes and extra stay
JSON text. Rows are sorted (media, instance) so the same data gives the same bytes.

Back in: :func:`read_instances_parquet` reads such a table (or one a cluster job wrote with the
same columns) as the instance frame ``add_instances`` / ``run.add_predictions`` take; its boxes go
through the border rule like every import's (stored as given, counted in the report).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import FormatError
from ..store import media_ids, run_id
from ._exports import ExportInfo

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["export_parquet", "read_instances_parquet"]

#: columns of an exported table that describe the stored row, not the instance to add
_STORED = ("instance_id", "version", "run", "author", "schema_version", "created_at", "status", "width", "height")


def _loads(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def read_instances_parquet(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A Parquet table of instances as an instance frame (JSON text columns parsed).

    Media are matched by ``file_name`` and labels by name (``label``) when those columns are there
    (ids differ between projects); the stored-row columns of an export (ids, versions, authors,
    status) are dropped.

    Example:
        >>> import tempfile, os, pandas as pd
        >>> p = os.path.join(tempfile.mkdtemp(), "p.parquet")
        >>> pd.DataFrame({"file_name": ["a.png"], "label": ["car"], "x0": [1.0], "y0": [1.0], "x1": [5.0],
        ...               "y1": [5.0], "points": [None]}).to_parquet(p)
        >>> read_instances_parquet(p).columns.tolist()
        ['file_name', 'label', 'x0', 'y0', 'x1', 'y1', 'points']
    """
    p = Path(path)
    try:
        df = pq.read_table(p).to_pandas()
    except FileNotFoundError:
        raise FormatError(f"Parquet file {str(p)!r} does not exist; check the path") from None
    except (OSError, pa.ArrowException) as e:
        raise FormatError(f"{str(p)!r} is not a readable Parquet file ({e})") from None
    drop = [c for c in _STORED if c in df.columns]
    if "file_name" in df.columns and "media_id" in df.columns:
        drop.append("media_id")
    if "label" in df.columns and "label_id" in df.columns:
        drop.append("label_id")
    df = df.drop(columns=drop)
    for c in ("points", "attributes", "extra"):
        if c in df.columns:
            df[c] = pd.Series([_loads(v) for v in df[c].to_list()], index=df.index, dtype=object)
    return df


def export_parquet(session: Session, path: str | os.PathLike[str], *, slice: Any = None,
                   run: Any = None) -> ExportInfo:
    """Write current instances joined with media and labels to a Parquet file (see ``Project.export_parquet``)."""
    out = Path(path)
    with session.store.read() as con:
        rid = run_id(con, run) if run is not None else None
        ids = None if slice is None else media_ids(con, slice)
        df = con.execute(
            "SELECT i.instance_id, i.version, i.media_id, m.file_name, m.width, m.height, i.label_id, "
            "l.name AS label, i.kind, i.x0, i.y0, i.x1, i.y1, CAST(i.points AS VARCHAR) AS points, "
            "CAST(i.attributes AS VARCHAR) AS attributes, i.score, i.track_id, i.area, i.iscrowd, "
            "CAST(i.extra AS VARCHAR) AS extra, r.name AS run, i.author, i.schema_version, i.created_at, "
            "coalesce(s.state, 'new') AS status "
            "FROM current_instances i JOIN media m USING (media_id) JOIN labels l USING (label_id) "
            "LEFT JOIN runs r USING (run_id) "
            "LEFT JOIN status s ON s.media_id = i.media_id AND s.stage = 'label' "
            "WHERE ((?::INTEGER IS NULL AND i.run_id IS NULL) OR i.run_id = ?::INTEGER) "
            "AND (?::BIGINT[] IS NULL OR list_contains(?::BIGINT[], i.media_id)) "
            "ORDER BY i.media_id, i.instance_id",
            [rid, rid, ids, ids]).df()
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(out)
    return ExportInfo(out, int(df["media_id"].nunique()), len(df))
