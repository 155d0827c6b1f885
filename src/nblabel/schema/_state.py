"""A read-only picture of the schema at one version, loaded from the store in a few queries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from ..errors import SchemaError, did_you_mean

SPATIAL_TYPES = ("box", "polygon", "keypoints", "point", "line", "tag")
ATTRIBUTE_KINDS = ("select", "multiselect", "text", "number", "bool", "date", "time")
PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075",
)


@dataclass(frozen=True)
class Label:
    """One label of the schema."""

    id: int
    name: str
    color: str
    hotkey: str | None
    spatial: tuple[str, ...]
    guide: str | None
    template_id: int | None
    meta: dict[str, Any]
    retired: bool


@dataclass(frozen=True)
class Attribute:
    """One attribute group (a typed question asked of an instance)."""

    id: int
    name: str
    kind: str
    options: tuple[dict[str, Any], ...]  # [{"id": int, "name": str}]
    min: float | None
    max: float | None
    step: float | None
    required: bool
    label_ids: tuple[int, ...] | None
    parent_group_id: int | None
    parent_option_id: int | None

    def option_names(self) -> list[str]:
        return [o["name"] for o in self.options]


@dataclass(frozen=True)
class Template:
    """A keypoint template: named points, skeleton edges, per-point OKS sigmas."""

    id: int
    label_id: int
    points: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]
    sigmas: tuple[float, ...] | None


_CACHE: dict[tuple[str, int], SchemaState] = {}


def _db_key(con: duckdb.DuckDBPyConnection) -> str:
    # the database's identity: a random id written when the project was created
    return str(con.execute("SELECT value FROM meta WHERE key = 'project_id'").fetchall()[0][0])


@dataclass
class SchemaState:
    """Everything the schema says, at ``version``."""

    version: int
    labels: dict[int, Label] = field(default_factory=dict)
    attributes: dict[int, Attribute] = field(default_factory=dict)
    templates: dict[int, Template] = field(default_factory=dict)

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> SchemaState:
        """Load the schema; cached per database and version (every schema change bumps the version)."""
        version = int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0])
        key = (_db_key(con), version)
        hit = _CACHE.get(key)
        if hit is not None:
            return hit
        st = cls._load(con, version)
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = st
        return st

    @classmethod
    def _load(cls, con: duckdb.DuckDBPyConnection, version: int) -> SchemaState:
        st = cls(version)
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

    # -- lookups with did-you-mean errors -----------------------------------------------------
    def label(self, key: str | int, *, allow_retired: bool = False) -> Label:
        if isinstance(key, (int,)) and not isinstance(key, bool):
            lab = self.labels.get(int(key))
            if lab is None:
                raise SchemaError(f"label id {key} is not in the schema; see proj.schema.labels()")
            return lab
        for lab in self.labels.values():
            if lab.name == key and (allow_retired or not lab.retired):
                return lab
        names = [lbl.name for lbl in self.labels.values() if not lbl.retired]
        raise SchemaError(
            f"label {key!r} is not in the schema{did_you_mean(str(key), names)} "
            f"(add it with proj.schema.add_label({str(key)!r}))"
        )

    def label_ids_by_name(self) -> dict[str, int]:
        return {lbl.name: lbl.id for lbl in self.labels.values() if not lbl.retired}

    def attribute(self, name: str) -> Attribute:
        for a in self.attributes.values():
            if a.name == name:
                return a
        raise SchemaError(
            f"attribute {name!r} is not in the schema"
            f"{did_you_mean(name, [a.name for a in self.attributes.values()])}"
        )

    def attributes_for(self, label_id: int) -> list[Attribute]:
        return [a for a in self.attributes.values() if a.label_ids is None or label_id in a.label_ids]

    def template_for(self, label_id: int) -> Template | None:
        lab = self.labels[label_id]
        return self.templates.get(lab.template_id) if lab.template_id else None
