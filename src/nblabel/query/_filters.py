"""Code-owned SQL fragments for slice filters and the debug layer's data reads.

Every fragment here is fixed text chosen from a whitelist; user input (values, but also
identifiers such as metadata keys and attribute names) only ever travels as a ``?`` parameter.
Identifiers become JSON pointers (``/key``, with ``~`` and ``/`` escaped) passed to
``json_extract`` as parameters, so a key like ``"a') OR 1=1 --"`` is just a key nobody has.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..errors import ValidationError, did_you_mean

__all__ = [
    "META_OPS",
    "boxes_sql",
    "json_pointer",
    "json_value_condition",
]

# op -> how the comparison is written (the left side is filled in by json_value_condition)
META_OPS = ("=", "==", "!=", "<>", "<", "<=", ">", ">=", "in", "not in", "contains", "like", "ilike",
            "is null", "is not null")
_CMP = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def json_pointer(key: str) -> str:
    """The JSON pointer of a top-level key (RFC 6901 escaping), passed to SQL as a parameter.

    Example:
        >>> json_pointer("camera/front")
        '/camera~1front'
    """
    if not isinstance(key, str) or not key:
        raise ValidationError(f"a metadata / attribute key must be a non-empty string, got {key!r}")
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def json_value_condition(column: str, key: str, op: str, value: Any = None) -> tuple[str, list[Any]]:
    """SQL condition comparing the value under ``key`` of a JSON column with ``value``.

    ``column`` must be a code-owned column name (``meta`` or ``attributes``). Numbers compare as
    numbers, booleans as ``true``/``false``, everything else as text; ``in`` / ``not in`` take a
    list; ``contains`` holds when the JSON value is a list containing ``value`` or a string
    containing it as a substring.

    Example:
        >>> json_value_condition("meta", "iso", ">=", 800)
        ('TRY_CAST(json_extract_string(meta, ?) AS DOUBLE) >= ?', ['/iso', 800.0])
    """
    if column not in ("meta", "attributes", "b.meta", "i.attributes", "m.meta"):
        raise ValidationError(f"cannot filter JSON column {column!r}")  # pragma: no cover - code-owned
    op_l = str(op).strip().lower()
    if op_l not in META_OPS:
        raise ValidationError(f"operator {op!r} is unknown{did_you_mean(str(op), META_OPS)}")
    ptr = json_pointer(key)
    text = f"json_extract_string({column}, ?)"
    if op_l == "is null":
        return f"{text} IS NULL", [ptr]
    if op_l == "is not null":
        return f"{text} IS NOT NULL", [ptr]
    if op_l in ("in", "not in"):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise ValidationError(f"operator {op!r} takes a list of values, got {value!r}")
        vals = list(value)
        neg = "NOT " if op_l == "not in" else ""
        if vals and all(_is_number(v) for v in vals):
            return (f"coalesce(TRY_CAST({text} AS DOUBLE) {neg}IN (SELECT unnest(?)), false)",
                    [ptr, [float(v) for v in vals]])
        return f"coalesce({text} {neg}IN (SELECT unnest(?)), false)", [ptr, [_as_text(v) for v in vals]]
    if op_l == "contains":
        return (f"(CASE WHEN json_type({column}, ?) = 'ARRAY' THEN "
                f"list_contains(from_json(json_extract({column}, ?), '[\"VARCHAR\"]'), ?) "
                f"ELSE contains({text}, ?) END)", [ptr, ptr, _as_text(value), ptr, _as_text(value)])
    if op_l in ("like", "ilike"):
        return f"{text} {op_l.upper()} ?", [ptr, _as_text(value)]
    cmp = _CMP[op_l]
    if value is None:
        return (f"{text} IS NULL", [ptr]) if cmp == "=" else (f"{text} IS NOT NULL", [ptr])
    if _is_number(value):
        return f"TRY_CAST({text} AS DOUBLE) {cmp} ?", [ptr, float(value)]
    if isinstance(value, bool):
        if cmp not in ("=", "<>"):
            raise ValidationError(f"a boolean compares with '=' or '!=', not {op!r}")
        return f"{text} {cmp} ?", [ptr, "true" if value else "false"]
    return f"{text} {cmp} ?", [ptr, _as_text(value)]


def _as_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(v)
    return str(v)


def attribute_condition(column: str, name: str, value: Any, *, multi: bool) -> tuple[str, list[Any]]:
    """Condition "attribute ``name`` has ``value``" (for a multi-select: the list contains it).

    A list ``value`` means any of the values.

    Example:
        >>> attribute_condition("attributes", "color", "red", multi=False)[1]
        ['/color', ['red']]
    """
    vals = list(value) if isinstance(value, (list, tuple, set)) else [value]
    ptr = json_pointer(name)
    if multi:
        return (f"coalesce(len(list_intersect(from_json(json_extract({column}, ?), '[\"VARCHAR\"]'), ?)) > 0, "
                "false)", [ptr, [_as_text(v) for v in vals]])
    if vals and all(_is_number(v) for v in vals):
        return (f"coalesce(TRY_CAST(json_extract_string({column}, ?) AS DOUBLE) IN (SELECT unnest(?)), false)",
                [ptr, [float(v) for v in vals]])
    return (f"coalesce(json_extract_string({column}, ?) IN (SELECT unnest(?)), false)",
            [ptr, [_as_text(v) for v in vals]])


# -- reads for the debug layer ---------------------------------------------------------------
_GEOM_KINDS = ("box", "polygon", "mask", "keypoints")


def boxes_sql(media_sql: str | None, media_params: Sequence[Any], *, run_id: int | None,
              kinds: Sequence[str] = _GEOM_KINDS, complete_stage: str | None = None,
              extra_columns: bool = False) -> tuple[str, list[Any]]:
    """SQL reading current instances (GT when ``run_id`` is None) of media in a slice, by media.

    ``media_sql`` is the SQL of a :class:`MediaSlice` (None: every media item); with
    ``complete_stage`` only media whose status in that stage is 'complete' are read.

    Example:
        >>> boxes_sql(None, [], run_id=None)[1]
        [['box', 'polygon', 'mask', 'keypoints']]
    """
    cols = ("i.instance_id, i.media_id, i.label_id, i.kind, i.x0, i.y0, i.x1, i.y1, i.score, i.area, "
            "i.iscrowd")
    if extra_columns:
        cols += ", i.points, i.extra"
    sql = f"SELECT {cols} FROM current_instances i WHERE i.kind IN (SELECT unnest(?))"
    params: list[Any] = [list(kinds)]
    if run_id is None:
        sql += " AND i.run_id IS NULL"
    else:
        sql += " AND i.run_id = ?"
        params.append(int(run_id))
    if media_sql is not None:
        sql += f" AND i.media_id IN (SELECT ms.media_id FROM ({media_sql}) AS ms)"
        params.extend(media_params)
    if complete_stage is not None:
        sql += (" AND i.media_id IN (SELECT st.media_id FROM status st WHERE st.stage = ? "
                "AND st.state = 'complete')")
        params.append(complete_stage)
    sql += " ORDER BY i.media_id, i.instance_id"
    return sql, params


def media_sql(media_sql: str | None, media_params: Sequence[Any], *,
              complete_stage: str | None = None) -> tuple[str, list[Any]]:
    """SQL reading ``media_id, file_name, width, height`` of the media in a slice (all when None).

    Example:
        >>> media_sql(None, [])[0].startswith("SELECT m.media_id")
        True
    """
    sql = "SELECT m.media_id, m.file_name, m.width, m.height FROM media m WHERE true"
    params: list[Any] = []
    if media_sql is not None:
        sql += f" AND m.media_id IN (SELECT ms.media_id FROM ({media_sql}) AS ms)"
        params.extend(media_params)
    if complete_stage is not None:
        sql += (" AND m.media_id IN (SELECT st.media_id FROM status st WHERE st.stage = ? "
                "AND st.state = 'complete')")
        params.append(complete_stage)
    return sql + " ORDER BY m.media_id", params
