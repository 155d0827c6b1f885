"""The project store: one DuckDB file per project, shared safely by several processes.

Everything that reads or writes the file's tables for the layers above lives here: the connection
and lock (``_store``), the tables (``_ddl``), the session lower layers receive (``_session``), the
schema's rows (``_schema``, ``_schema_load``), lookups (``_lookup``), and the one write path for
media (``_media``), instances (``_prepare``, ``_check_points``, ``_instances``), runs and datasets.
"""

from ._ddl import FORMAT_VERSION
from ._lookup import latest_boxes, media_ids, next_id, run_id, run_name_of, schema_version
from ._schema import Schema
from ._schema_load import load_state
from ._session import Session
from ._store import Store

__all__ = ["FORMAT_VERSION", "Schema", "Session", "Store", "latest_boxes", "load_state", "media_ids", "next_id",
           "run_id", "run_name_of", "schema_version"]
