"""CVAT labels and attributes ↔ the nblabel schema, and attribute values from their XML text.

CVAT declares attributes per label; nblabel attribute names are project-wide and list the labels
they apply to. Import: a ``<meta>`` attribute not in the schema is added once, for every label that
declares it (kind from ``input_type``: ``select``/``radio`` → select, ``checkbox`` → bool,
``number`` → number with ``values`` ``min\\nmax\\nstep``, anything else → text); an attribute already
in the schema is reused as it is. Export writes the reverse (multiselect, date and time as text,
a multiselect value as its options joined by ``,``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..schema import Attribute, SchemaState
from ..store import Schema
from ._cvat_read import CvatAttribute, CvatDoc
from ._labels import ensure_labels

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["attribute_meta", "attribute_text", "attribute_value", "ensure_cvat_schema", "points_kind"]

_KIND = {"select": "select", "radio": "select", "checkbox": "bool", "number": "number"}
_INPUT = {"select": "select", "bool": "checkbox", "number": "number"}


def points_kind(state: SchemaState, label: str, n: int) -> str:
    """The nblabel kind of a CVAT ``<points>`` shape with ``n`` points: ``keypoints`` when the label
    has a keypoint template of ``n`` points, ``point`` for one point of a label that allows points (or
    a new label), else ``keypoints``."""
    lid = state.label_ids_by_name().get(label)
    if lid is None:
        return "point" if n == 1 else "keypoints"
    tpl = state.template_for(lid)
    if tpl is not None and len(tpl.points) == n:
        return "keypoints"
    return "point" if n == 1 and "point" in state.labels[lid].spatial else "keypoints"


def _numbers(values: list[str]) -> list[float | None]:
    out: list[float | None] = []
    for v in [*values, "", "", ""][:3]:
        try:
            out.append(float(v))
        except ValueError:
            out.append(None)
    return out


def ensure_cvat_schema(session: Session, doc: CvatDoc, spatial: dict[str, set[str]]) -> dict[str, int]:
    """Labels (with the spatial types their shapes need) and the attributes ``<meta>`` declares;
    returns {label name: label_id} for the labels of ``spatial``."""
    out: dict[str, int] = {}
    for name in sorted(spatial):
        out.update(ensure_labels(session, [name], sorted(spatial[name])))
    schema = Schema(session.store)
    declared: dict[str, tuple[CvatAttribute, list[str]]] = {}
    for label, attrs in doc.labels.items():
        for a in attrs:
            declared.setdefault(a.name, (a, []))[1].append(label)
    state = schema.state()
    known = {a.name for a in state.attributes.values()}
    for name, (a, labels) in declared.items():
        if name in known:
            continue
        labels = [lab for lab in labels if lab in state.label_ids_by_name()]
        if not labels:
            continue
        kind = _KIND.get(a.input_type, "text")
        if kind == "select":
            options = list(dict.fromkeys(v for v in [*a.values, a.default] if v))
            if not options:
                kind = "text"
            else:
                schema.add_attribute(name, kind="select", options=options, labels=labels)
                continue
        if kind == "number":
            lo, hi, step = _numbers(a.values)
            schema.add_attribute(name, kind="number", labels=labels, min=lo, max=hi, step=step)
        else:
            schema.add_attribute(name, kind=kind, labels=labels)
    return out


def attribute_value(attr: Attribute, text: str) -> Any:
    """An attribute value from its CVAT text, for ``attr``'s kind (``None``: unset). Raises
    ``ValueError`` for text the kind cannot take.

    Example:
        >>> from nblabel.schema import Attribute
        >>> a = Attribute(1, "parked", "bool", (), None, None, None, False, None, None, None)
        >>> attribute_value(a, "true"), attribute_value(a, "False")
        (True, False)
    """
    t = text.strip()
    if attr.kind == "bool":
        if t.lower() in ("true", "1"):
            return True
        if t.lower() in ("false", "0", ""):
            return False
        raise ValueError(f"attribute {attr.name!r} (bool) takes true or false, got {text!r}")
    if attr.kind == "text":
        return text
    if t == "":
        return None
    if attr.kind == "number":
        try:
            return float(t)
        except ValueError:
            raise ValueError(f"attribute {attr.name!r} (number) takes a number, got {text!r}") from None
    if attr.kind == "multiselect":
        return [v.strip() for v in t.split(",") if v.strip()]
    return t


def attribute_text(value: Any) -> str:
    """The CVAT text of an attribute value (``true``/``false``, numbers without a needless ``.0``,
    a multiselect list joined by ``,``).

    Example:
        >>> attribute_text(True), attribute_text(3.0), attribute_text(0.25), attribute_text(["a", "b"])
        ('true', '3', '0.25', 'a,b')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def attribute_meta(attr: Attribute) -> tuple[str, str, str]:
    """``(input_type, default_value, values)`` of an nblabel attribute in CVAT's ``<meta>``.

    Example:
        >>> from nblabel.schema import Attribute
        >>> a = Attribute(1, "color", "select", ({"id": 1, "name": "red"}, {"id": 2, "name": "blue"}),
        ...               None, None, None, False, None, None, None)
        >>> attribute_meta(a)
        ('select', 'red', 'red\\nblue')
    """
    kind = _INPUT.get(attr.kind, "text")
    if kind == "select":
        names = attr.option_names()
        return kind, names[0] if names else "", "\n".join(names)
    if kind == "checkbox":
        return kind, "false", "false"
    if kind == "number":
        parts = [attribute_text(float(v)) if v is not None else "" for v in (attr.min, attr.max, attr.step)]
        return kind, parts[0] or "0", "\n".join(parts)
    return kind, "", ""
