"""The project store: one DuckDB file per project, shared safely by several processes."""

from ._ddl import FORMAT_VERSION
from ._store import Store

__all__ = ["FORMAT_VERSION", "Store"]
