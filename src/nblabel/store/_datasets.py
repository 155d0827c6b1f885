"""Dataset rows: creating a (static or dynamic) dataset, adding members, finding, listing and deleting."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import NotFoundError, ValidationError
from ._lookup import next_id

__all__ = ["add_members", "add_static_members", "dataset_row", "delete_dataset", "list_datasets", "new_dataset"]


def dataset_row(con: Any, name: str) -> tuple[str, str | None]:
    """``(kind, rule)`` of a dataset; :class:`~nblabel.errors.NotFoundError` (with the names there are) if none."""
    rows = con.execute("SELECT kind, rule FROM datasets WHERE name = ?", [name]).fetchall()
    if not rows:
        names = [r[0] for r in con.execute("SELECT name FROM datasets").fetchall()]
        raise NotFoundError.from_key("dataset", name, choices=names,
                                     hint="make one with slice.save(name) or proj.define_dataset(name, rule=slice)")
    return str(rows[0][0]), rows[0][1]


def new_dataset(con: Any, name: str, kind: str, rule: str | None, split_group: str | None, overwrite: bool) -> int:
    """Create a dataset (``overwrite``: replacing one of the same name); returns its id."""
    if not isinstance(name, str) or not name:
        raise ValidationError(f"a dataset needs a non-empty name, got {name!r}")
    old = con.execute("SELECT dataset_id FROM datasets WHERE name = ?", [name]).fetchall()
    if old:
        if not overwrite:
            raise ValidationError(f"dataset {name!r} exists already; pass overwrite=True to replace it "
                                  "or choose another name")
        con.execute("DELETE FROM dataset_members WHERE dataset_id = ?", [old[0][0]])
        con.execute("DELETE FROM datasets WHERE dataset_id = ?", [old[0][0]])
    did = next_id(con, "datasets")
    con.execute("INSERT INTO datasets (dataset_id, name, kind, rule, split_group, created_at) "
                "VALUES (?, ?, ?, ?, ?, now())", [did, name, kind, rule, split_group])
    return did


def add_members(con: Any, dataset_id: int, sql: str, params: list[Any]) -> int:
    """Add the media ids a (code-built) query selects as members; returns the dataset's member count."""
    con.execute(f"INSERT INTO dataset_members SELECT ?, sv.media_id FROM ({sql}) AS sv",  # noqa: S608
                [dataset_id, *params])
    return int(con.execute("SELECT count(*) FROM dataset_members WHERE dataset_id = ?", [dataset_id]).fetchall()[0][0])


def add_static_members(con: Any, name: str, media: list[int]) -> tuple[int, int]:
    """Add media ids to the static dataset ``name`` (created if new); returns (new members, dataset id)."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"a dataset needs a non-empty name, got {name!r}")
    rows = con.execute("SELECT dataset_id, kind FROM datasets WHERE name = ?", [name]).fetchall()
    if rows:
        did, kind = int(rows[0][0]), rows[0][1]
        if kind != "static":
            raise ValidationError(f"dataset {name!r} is {kind} (a saved filter); add items to a static dataset")
    else:
        did = new_dataset(con, name, "static", None, None, overwrite=False)
    new = con.execute(
        "SELECT DISTINCT u.m FROM (SELECT unnest(?) AS m) u WHERE u.m NOT IN "
        "(SELECT media_id FROM dataset_members WHERE dataset_id = ?)", [list(media), did]).fetchall()
    new_ids = [int(r[0]) for r in new]
    if new_ids:
        con.execute("INSERT INTO dataset_members (dataset_id, media_id) SELECT ?, unnest(?)", [did, new_ids])
    return len(new_ids), did


def list_datasets(con: Any) -> pd.DataFrame:
    """All datasets with their number of static members."""
    return con.execute(
        "SELECT d.dataset_id, d.name, d.kind, d.split_group, d.rule, d.created_at, "
        "count(m.media_id) AS n_members FROM datasets d LEFT JOIN dataset_members m USING (dataset_id) "
        "GROUP BY ALL ORDER BY d.dataset_id").df()


def delete_dataset(con: Any, name: str) -> None:
    """Delete a dataset definition and its members (the media stay)."""
    dataset_row(con, name)
    ids = [r[0] for r in con.execute("SELECT dataset_id FROM datasets WHERE name = ?", [name]).fetchall()]
    con.execute("DELETE FROM dataset_members WHERE dataset_id IN (SELECT unnest(?))", [ids])
    con.execute("DELETE FROM datasets WHERE dataset_id IN (SELECT unnest(?))", [ids])
