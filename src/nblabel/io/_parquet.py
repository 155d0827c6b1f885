"""Instances as one Parquet table: the way out to Spark/Ray/pandas and back in by path.

Every current instance (ground truth, or one run's predictions) with its media's file name and
size, its label name and the media's status in stage "label"; geometry, attributes and extra stay
JSON text. Rows are sorted (media, instance) so the same data gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..store import media_ids, run_id
from ._exports import ExportInfo

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["export_parquet"]


def export_parquet(session: Session, path: str | Path, *, slice: Any = None, run: Any = None) -> ExportInfo:
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
