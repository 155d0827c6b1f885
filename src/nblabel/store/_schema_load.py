"""Reading the schema's rows into a :class:`~nblabel.schema.SchemaState`, cached per project and version.

Every schema change bumps the version, so a state loaded once for ``(project, version)`` stays true;
a read costs one small query when the cache hits (or none: :func:`state_at` takes the version a
caller read together with other things). Another process that changes the schema bumps the
version in the file, so the next read sees the new version and loads it.
"""

from __future__ import annotations

import json
from typing import Any

from ..schema import Attribute, Label, SchemaState, Template

__all__ = ["load_state", "state_at"]

_CACHE: dict[tuple[str, int], SchemaState] = {}


def load_state(con: Any) -> SchemaState:
    """The schema as stored now (cached per database and version).

    Example:
        >>> from nblabel.store import Store
        >>> with Store(":memory:").read() as con:
        ...     load_state(con).version
        0
    """
    meta = dict(con.execute("SELECT key, value FROM meta WHERE key IN ('schema_version', 'project_id')").fetchall())
    return state_at(con, meta["project_id"], meta["schema_version"])


def state_at(con: Any, project_id: Any, version: Any) -> SchemaState:
    """The schema at ``version`` of project ``project_id`` (both read from ``meta`` in this transaction,
    e.g. by :func:`._lookup.create_context` together with other small reads); loaded on a cache miss."""
    version = int(version)
    key = (str(project_id), version)  # the database's identity: a random id written at creation
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    st = _load(con, version)
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[key] = st
    return st


def _load(con: Any, version: int) -> SchemaState:
    st = SchemaState(version)
    for r in con.execute(
        "SELECT label_id, name, color, hotkey, spatial_types, guide, template_id, meta, "
        "retired_at IS NOT NULL FROM labels ORDER BY label_id"
    ).fetchall():
        st.labels[r[0]] = Label(r[0], r[1], r[2], r[3], tuple(r[4]), r[5], r[6],
                                json.loads(r[7]) if r[7] else {}, bool(r[8]))
    for r in con.execute(
        "SELECT group_id, name, kind, options, min, max, step, required, label_ids, "
        "parent_group_id, parent_option_id FROM attribute_groups WHERE retired_at IS NULL "
        "ORDER BY group_id"
    ).fetchall():
        st.attributes[r[0]] = Attribute(
            r[0], r[1], r[2], tuple(json.loads(r[3]) if r[3] else ()), r[4], r[5], r[6],
            bool(r[7]), tuple(r[8]) if r[8] is not None else None, r[9], r[10])
    for r in con.execute(
        "SELECT template_id, label_id, points, skeleton, sigmas FROM keypoint_templates"
    ).fetchall():
        sig = json.loads(r[4]) if r[4] else None
        st.templates[r[0]] = Template(
            r[0], r[1], tuple(json.loads(r[2])), tuple(tuple(e) for e in json.loads(r[3])),
            tuple(sig) if sig else None)
    return st
