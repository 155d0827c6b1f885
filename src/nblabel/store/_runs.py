"""Model runs' rows: registering a run, listing runs with their prediction counts, and project counts."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..errors import ValidationError
from ._lookup import next_id, schema_version

__all__ = ["add_run", "counts", "list_runs"]


def add_run(con: Any, name: str, model: str | None, params: dict[str, Any] | None) -> int:
    """Insert a run; a name that exists already is refused. Returns the new run id."""
    if not isinstance(name, str) or not name:
        raise ValidationError(f"a run needs a non-empty name, got {name!r}")
    if con.execute("SELECT 1 FROM runs WHERE name = ?", [name]).fetchall():
        raise ValidationError(f"run {name!r} exists already; get it with proj.run({name!r})")
    rid = next_id(con, "runs")
    con.execute("INSERT INTO runs (run_id, name, model, params, created_at) VALUES (?, ?, ?, ?, now())",
                [rid, name, model or name.split("@")[0], json.dumps(params or {})])
    return rid


def list_runs(con: Any) -> pd.DataFrame:
    """All runs with their number of current predictions."""
    return con.execute(
        "SELECT r.run_id, r.name, r.model, r.params, r.created_at, count(i.instance_id) AS n_predictions "
        "FROM runs r LEFT JOIN current_instances i USING (run_id) GROUP BY ALL ORDER BY r.run_id").df()


def counts(con: Any) -> tuple[int, int, int, int]:
    """(media, ground-truth instances, predictions, schema version) of the project, for its repr.

    Counted as ``proj.instances().count()`` and ``proj.instances(run="*")`` count them: current
    instances of media items and labels the project has.

    Example:
        >>> from nblabel.store import Store
        >>> with Store(":memory:").read() as con:
        ...     counts(con)
        (0, 0, 0, 0)
    """
    nm = con.execute("SELECT count(*) FROM media").fetchall()[0][0]
    ni, npred = con.execute(
        "SELECT count(*) FILTER (WHERE run_id IS NULL), count(*) FILTER (WHERE run_id IS NOT NULL) "
        "FROM current_instances i JOIN labels l USING (label_id) JOIN media m USING (media_id)").fetchall()[0]
    return int(nm), int(ni), int(npred), schema_version(con)
