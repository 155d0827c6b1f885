"""Checking attribute values against their attribute group (kind, options, range)."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from ..errors import SchemaError, ValidationError, did_you_mean
from ._state import Attribute, SchemaState

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")


def check_value(attr: Attribute, value: Any) -> Any:
    """Return ``value`` normalised for ``attr`` (JSON-ready), or raise ValidationError."""
    where = f"attribute {attr.name!r} ({attr.kind})"
    if value is None:
        return None
    if attr.kind == "bool":
        if isinstance(value, bool):
            return value
        raise ValidationError(f"{where} takes True or False, got {value!r}")
    if attr.kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ValidationError(f"{where} takes a number, got {value!r}") from None
        value = float(value)
        if not math.isfinite(value):
            raise ValidationError(f"{where} takes a finite number, got {value!r}")
        if attr.min is not None and value < attr.min - 1e-12:
            raise ValidationError(f"{where}: {value} is below its minimum {attr.min}")
        if attr.max is not None and value > attr.max + 1e-12:
            raise ValidationError(f"{where}: {value} is above its maximum {attr.max}")
        return value
    if attr.kind == "text":
        if not isinstance(value, str):
            raise ValidationError(f"{where} takes a string, got {value!r}")
        return value
    if attr.kind == "date":
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValidationError(f"{where} takes a date like '2024-05-31', got {value!r}") from None
    if attr.kind == "time":
        if isinstance(value, dt.time):
            return value.isoformat(timespec="seconds")
        if isinstance(value, str) and _TIME.match(value):
            return value
        raise ValidationError(f"{where} takes a time like '14:30' or '14:30:05', got {value!r}")
    names = attr.option_names()
    if attr.kind == "select":
        if value not in names:
            raise ValidationError(f"{where}: option {value!r} is not defined{did_you_mean(str(value), names)}")
        return value
    if attr.kind == "multiselect":
        if isinstance(value, str):
            value = [value]
        out = []
        for v in value:
            if v not in names:
                raise ValidationError(f"{where}: option {v!r} is not defined{did_you_mean(str(v), names)}")
            if v not in out:
                out.append(v)
        return out
    raise SchemaError(f"{where}: unknown kind")  # pragma: no cover - kinds are checked on creation


def check_attributes(state: SchemaState, label_id: int, values: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a whole attribute dict for an instance of ``label_id``.

    Example:
        >>> from nblabel.schema._state import SchemaState
        >>> check_attributes(SchemaState(0), 1, None)
        {}
    """
    if not values:
        return {}
    if not isinstance(values, dict):
        raise ValidationError(f"attributes must be a dict of name -> value, got {type(values).__name__}")
    out: dict[str, Any] = {}
    label = state.labels.get(label_id)
    for name, value in values.items():
        attr = state.attribute(name)
        if attr.label_ids is not None and label_id not in attr.label_ids:
            allowed = [state.labels[i].name for i in attr.label_ids if i in state.labels]
            raise ValidationError(
                f"attribute {name!r} does not apply to label {label.name if label else label_id!r}; "
                f"it applies to {allowed}; add the label with proj.schema.add_attribute(..., labels=...)"
            )
        v = check_value(attr, value)
        if v is not None:
            out[name] = v
    return out


def missing_required(state: SchemaState, label_id: int, values: dict[str, Any]) -> list[str]:
    """Names of required attributes of the label that are unset (children only when their parent applies)."""
    missing = []
    for a in state.attributes_for(label_id):
        if not a.required or values.get(a.name) not in (None, "", []):
            continue
        if a.parent_group_id is not None:
            parent = state.attributes.get(a.parent_group_id)
            if parent is None:
                continue
            chosen = values.get(parent.name)
            opt = next((o["name"] for o in parent.options if o["id"] == a.parent_option_id), None)
            if not (chosen == opt or (isinstance(chosen, list) and opt in chosen)):
                continue
        missing.append(a.name)
    return missing
