"""The schema a Label Studio labeling config describes, brought into the project before its tasks are read.

Imported with a config (``config=``, or the ``.xml`` beside the JSON that ``export_label_studio``
writes), a project gains what the config declares and the schema lacks, so a round trip into a
fresh project keeps attributes and keypoints:

- labels of ``RectangleLabels`` (box), ``PolygonLabels`` and ``BrushLabels`` (polygon: masks need it),
  ``KeyPointLabels`` (point) and whole-image ``Choices`` (tag), with their ``background`` colour and ``category`` (kept as
  ``meta.coco_id``, the id ``export_coco`` then writes);
- a keypoint template for each ``KeyPointLabels name="<label>_keypoints"`` (points ordered by
  ``model_index``; Label Studio has no skeleton, so the template has none);
- an attribute group for each per-region control (``perRegion="true"``): ``Choices`` → ``select``
  (``choice="multiple"``: ``multiselect``; choices exactly ``true``/``false``: ``bool``),
  ``TextArea`` → ``text``, ``Number``/``Rating`` → ``number`` (min/max/step), ``DateTime`` →
  ``date`` or ``time`` (``only=``), for the label named by ``whenLabelValue`` if any.

Nothing that exists is changed, except that a label gains a spatial type it lacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import FormatError, SchemaError, ValidationError
from ..store import Schema

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["schema_from_config"]

_SPATIAL = {"RectangleLabels": "box", "PolygonLabels": "polygon", "KeyPointLabels": "point", "Choices": "tag",
            "BrushLabels": "polygon"}  # an RLE mask needs a label that allows polygons
_KEYPOINTS = "_keypoints"


def _float(v: Any) -> float | None:
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


def _attribute_kind(c: dict[str, Any]) -> str | None:
    tag, attrs = c["type"], c["attrs"]
    if tag == "Choices":
        if sorted(c["labels"]) == ["false", "true"]:
            return "bool"
        return "multiselect" if attrs.get("choice") == "multiple" else "select"
    if tag == "DateTime":
        return "time" if attrs.get("only") == "time" else "date"
    return {"TextArea": "text", "Number": "number", "Rating": "number"}.get(tag)


def schema_from_config(session: Session, cfg: dict[str, dict[str, Any]], where: str) -> int:
    """Add the labels, keypoint templates and attribute groups ``cfg`` declares and the schema lacks;
    returns how many things were added. ``where`` names the config in errors."""
    schema = Schema(session.store)
    added = 0
    labels: dict[str, tuple[list[str], dict[str, Any]]] = {}  # name -> (spatial types, its <Label> attributes)
    attrs: list[tuple[str, dict[str, Any]]] = []
    templates: list[tuple[str, dict[str, Any]]] = []
    try:
        for name, c in cfg.items():
            per_region = c["attrs"].get("perRegion") == "true"
            if name.endswith(_KEYPOINTS) and c["type"] == "KeyPointLabels" and not per_region:
                templates.append((name[: -len(_KEYPOINTS)], c))
                continue
            spatial = _SPATIAL.get(c["type"])
            if spatial is not None and not per_region:
                for value in c["labels"]:
                    want = labels.setdefault(value, ([], c["label_attrs"].get(value, {})))
                    if spatial not in want[0]:
                        want[0].append(spatial)
                continue
            attrs.append((name, c))
        added += _labels(schema, labels)
        for label, c in templates:
            state = schema.state()
            lid = state.label_ids_by_name().get(label)
            if lid is None or state.template_for(lid) is None:
                order = sorted(c["labels"], key=lambda v: _float(c["label_attrs"][v].get("model_index")) or 0.0)
                schema.add_keypoints(label, points=order)
                added += 1
        for name, c in attrs:
            kind = _attribute_kind(c) if c["attrs"].get("perRegion") == "true" else None
            if kind is None or name in {a.name for a in schema.state().attributes.values()}:
                continue
            when = c["attrs"].get("whenLabelValue")
            only = [when] if when and when in schema.state().label_ids_by_name() else None
            a = c["attrs"]
            schema.add_attribute(name, kind=kind, labels=only,
                                 options=c["labels"] if kind in ("select", "multiselect") else None,
                                 min=_float(a.get("min")) if kind == "number" else None,
                                 max=_float(a.get("max")) if kind == "number" else None,
                                 step=_float(a.get("step")) if kind == "number" else None,
                                 required=a.get("required") == "true")
            added += 1
    except (SchemaError, ValidationError) as e:
        raise FormatError(f"Label Studio config {where!r}: {e}") from None
    return added


def _labels(schema: Schema, labels: dict[str, tuple[list[str], dict[str, Any]]]) -> int:
    """Add the missing labels (each with every spatial type the config gives it), extend the others."""
    state = schema.state()
    have = state.label_ids_by_name()
    added = 0
    for value, (spatial, la) in labels.items():
        lid = have.get(value)
        if lid is None:
            cat = la.get("category")
            meta = {"coco_id": int(cat)} if cat is not None and str(cat).isdigit() else None
            color = la.get("background")
            schema.add_label(value, spatial=spatial, meta=meta,
                             color=color if isinstance(color, str) and color.startswith("#") else None)
            added += 1
        elif any(s not in state.labels[lid].spatial for s in spatial):
            lab = state.labels[lid]
            schema.update_label(value, spatial=[*lab.spatial, *(s for s in spatial if s not in lab.spatial)])
    return added
