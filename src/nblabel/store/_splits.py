"""Split rows: a split's configuration (JSON in the ``meta`` table) and its static datasets.

A split ``name`` is a set of static datasets ``"<name>/<part>"`` sharing ``split_group = name``,
plus its configuration (ratios, seed, grouping, stratification) stored as JSON under the meta key
``split:<name>``, so a later call knows how the split was made and extends it the same way.
Members are only ever added: an item once assigned keeps its part.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..errors import ConflictError
from ._datasets import new_dataset

__all__ = ["add_split_members", "read_split_config", "split_members", "split_names"]


def _key(name: str) -> str:
    return f"split:{name}"


def read_split_config(con: Any, name: str) -> dict[str, Any] | None:
    """The stored configuration of split ``name`` (``None`` if there is no such split).

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:")
        >>> with p.store.read() as con:
        ...     read_split_config(con, "v1") is None
        True
    """
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [_key(name)]).fetchall()
    return json.loads(rows[0][0]) if rows else None


def split_names(con: Any) -> list[str]:
    """Names of the splits there are.

    Example:
        >>> import nblabel as nl
        >>> with nl.open(":memory:").store.read() as con:
        ...     split_names(con)
        []
    """
    rows = con.execute("SELECT key FROM meta WHERE key LIKE 'split:%' ORDER BY key").fetchall()
    return [str(r[0])[len("split:"):] for r in rows]


def add_split_members(con: Any, name: str, config: dict[str, Any], parts: dict[str, list[int]]) -> int:
    """Store ``config`` and add ``parts`` (part name → media ids) to the datasets ``"<name>/<part>"``.

    Creates the datasets on first use; refuses a dataset of that name that belongs to no split of
    this name (:class:`~nblabel.errors.ConflictError`). Returns the number of members added.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
        >>> with p.store.transaction() as con:
        ...     add_split_members(con, "v1", {"ratios": {"train": 1.0}}, {"train": [1]})
        1
    """
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [_key(name), json.dumps(config)])
    added = 0
    for part, ids in parts.items():
        ds = f"{name}/{part}"
        rows = con.execute("SELECT dataset_id, kind, split_group FROM datasets WHERE name = ?", [ds]).fetchall()
        if rows and (rows[0][1] != "static" or rows[0][2] != name):
            raise ConflictError(f"dataset {ds!r} exists already and is not part of split {name!r}; "
                                "delete it with proj.delete_dataset(...) or choose another split name")
        did = int(rows[0][0]) if rows else new_dataset(con, ds, "static", None, name, overwrite=False)
        new = con.execute(
            "SELECT DISTINCT u.m FROM (SELECT unnest(?::BIGINT[]) AS m) u WHERE u.m NOT IN "
            "(SELECT media_id FROM dataset_members WHERE dataset_id = ?)", [[int(i) for i in ids], did]).fetchall()
        new_ids = [int(r[0]) for r in new]
        if new_ids:
            con.execute("INSERT INTO dataset_members (dataset_id, media_id) SELECT ?, unnest(?::BIGINT[])",
                        [did, new_ids])
        added += len(new_ids)
    return added


def split_members(con: Any, name: str) -> pd.DataFrame:
    """``media_id, split`` of every member of split ``name`` (sorted by media id).

    Example:
        >>> import nblabel as nl
        >>> with nl.open(":memory:").store.read() as con:
        ...     len(split_members(con, "v1"))
        0
    """
    df = con.execute(
        "SELECT m.media_id, substr(d.name, length(d.split_group) + 2) AS split FROM datasets d "
        "JOIN dataset_members m USING (dataset_id) WHERE d.split_group = ? AND d.kind = 'static' "
        "AND d.name LIKE d.split_group || '/%' ORDER BY m.media_id", [name]).df()
    return df.astype({"media_id": "int64"})
