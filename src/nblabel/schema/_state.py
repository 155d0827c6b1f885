"""A read-only picture of the schema at one version: labels, attribute groups, keypoint templates.

Pure data with did-you-mean lookups; no SQL (the store builds it, see ``nblabel.store._schema_load``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class SchemaState:
    """Everything the schema says, at ``version`` (read from the store by ``store.load_state``)."""

    version: int
    labels: dict[int, Label] = field(default_factory=dict)
    attributes: dict[int, Attribute] = field(default_factory=dict)
    templates: dict[int, Template] = field(default_factory=dict)

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
