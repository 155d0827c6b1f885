"""Label Studio results (one annotation's or one prediction's ``result`` list) as nblabel instance rows.

Region results, by ``type``: ``rectanglelabels`` (or ``rectangle`` + a ``labels`` result of the same
id) → a box, or — rotated (``rotation`` ≠ 0, degrees clockwise about the top-left corner, in
pixels) — a 4-point polygon, counted in ``Parsed.rotated``; ``polygonlabels``/``polygon`` → a
polygon (results whose ``parentID`` is another polygon of the same label are its further rings);
``keypointlabels``/``keypoint`` → a point of a keypoint instance when the control is
``<label>_keypoints`` and the value is one of that label's template points (points sharing a
``parentID`` are one instance; ``hidden`` = visibility 1), else a ``point`` instance of that label;
``brushlabels`` (format ``rle``) → an RLE mask (COCO RLE of the decoded brush, :mod:`._label_studio_brush`);
``choices`` with no region of its id → whole-image tags (one per choice). Results of another
control sharing a region's ``id`` are that region's attribute values (the control's name is the
attribute group). Coordinates are percent of ``original_width``/``original_height``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import FormatError
from ..geometry import rle_encode, rle_to_bbox
from ..schema import SchemaState
from ._label_studio_brush import decode_brush
from ._label_studio_config import keypoint_control

__all__ = ["Parsed", "parse_results"]

_REGION_TYPES = {"rectanglelabels": "rectangle", "rectangle": "rectangle", "polygonlabels": "polygon",
                 "polygon": "polygon", "keypointlabels": "keypoint", "keypoint": "keypoint", "brushlabels": "brush",
                 "brush": "brush"}
_VALUE_TYPES = {"choices", "textarea", "number", "datetime", "rating", "labels"}


@dataclass
class Parsed:
    """Instances of one result list: ``rows`` (dicts for an instance frame, without ``media_id``, with the
    ``control`` (``from_name``) of their region), their
    ``names`` (``region <id>``), ``problems`` (name, reason) and how many rectangles were ``rotated``."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    rotated: int = 0
    labels: dict[str, set[str]] = field(default_factory=dict)  # label -> spatial types it needs


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _label_of(value: dict[str, Any], rtype: str, extra: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """(label, problem) of a region: its ``<type>labels`` list, else a ``labels`` result of its id."""
    names = value.get(rtype) if rtype.endswith("labels") else None
    if names is None:
        for key in ("rectanglelabels", "polygonlabels", "keypointlabels", "brushlabels", "labels"):
            if key in value:
                names = value[key]
                break
    if names is None:
        for e in extra:
            if e.get("type") == "labels" and isinstance(e.get("value"), dict):
                names = e["value"].get("labels")
    if not isinstance(names, list) or not names:
        return None, "has no label (its value lists none)"
    if len(names) > 1:
        return None, f"has {len(names)} labels {names!r}; an nblabel instance has one: keep one in Label Studio"
    if not isinstance(names[0], str) or not names[0].strip():
        return None, f"has label {names[0]!r}; labels are non-empty strings"
    return names[0], None


def _rotated_corners(x: float, y: float, w: float, h: float, deg: float) -> list[list[float]]:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return [[x, y], [x + w * c, y + w * s], [x + w * c - h * s, y + w * s + h * c], [x - h * s, y + h * c]]


def _attribute_value(state: SchemaState, name: str, value: dict[str, Any]) -> tuple[Any, str | None]:
    try:
        attr = state.attribute(name)
    except Exception as e:  # SchemaError with a did-you-mean
        return None, f"{e}; add it with proj.schema.add_attribute({name!r}, kind=...) or leave the control out"
    for key in ("choices", "text", "number", "datetime", "rating"):
        if key in value:
            v = value[key]
            break
    else:
        return None, f"attribute {name!r}: the result has none of choices/text/number/datetime/rating"
    if attr.kind == "multiselect":
        return (list(v) if isinstance(v, list) else [v]), None
    if isinstance(v, list):
        if attr.kind == "text":
            return "\n".join(str(t) for t in v), None
        if len(v) != 1:
            return None, f"attribute {name!r} ({attr.kind}) takes one value, the result has {v!r}"
        v = v[0]
    if attr.kind == "bool":
        if isinstance(v, bool):
            return v, None
        text = str(v).strip().lower()
        if text in ("true", "yes", "1"):
            return True, None
        if text in ("false", "no", "0"):
            return False, None
        return None, f"attribute {name!r} (bool) has choice {v!r}; use 'true' or 'false'"
    return v, None


def parse_results(results: Any, state: SchemaState, w: int, h: int, default_score: Any = None) -> Parsed:
    """Instance rows (absolute pixels of a ``w`` × ``h`` image) of one result list."""
    out = Parsed()
    if not isinstance(results, list):
        out.problems.append(("result", f"'result' must be a list, it is a {type(results).__name__}"))
        return out
    by_id: dict[str, list[dict[str, Any]]] = {}
    for k, r in enumerate(results):
        if not isinstance(r, dict) or not isinstance(r.get("value"), dict):
            out.problems.append((f"result #{k}", "a result needs a 'value' object"))
            continue
        by_id.setdefault(str(r.get("id", f"#{k}")), []).append(r)
    regions = {rid: next((r for r in rs if r.get("type") in _REGION_TYPES), None) for rid, rs in by_id.items()}
    groups: dict[tuple[str, str], dict[str, Any]] = {}  # (kind, group id) -> row being built
    for rid, rs in by_id.items():
        reg = regions[rid]
        item = f"region {rid}"
        if reg is None:
            other = [r.get("type") for r in rs if r.get("type") not in _VALUE_TYPES]
            if other:
                out.problems.append((item, f"result type {other[0]!r} is not supported (nblabel reads rectangles, "
                                     "polygons, keypoints and choices)"))
                continue
            attr_names = {a.name for a in state.attributes.values()}
            tags = [r for r in rs if r.get("type") == "choices" and r.get("from_name") not in attr_names]
            tag_attrs: dict[str, Any] = {}
            for r in rs:
                if r not in tags:
                    val, problem = _attribute_value(state, str(r.get("from_name")), r["value"])
                    if problem:
                        break
                    tag_attrs[str(r.get("from_name"))] = val
            else:
                problem = None if tags else "has attribute values but no region or whole-image choice of its id"
            if problem:
                out.problems.append((item, problem))
                continue
            for r in tags:
                score = r.get("score", default_score)
                for c in r["value"].get("choices") or []:
                    out.rows.append({"label": str(c), "kind": "tag", "points": None, "attributes": tag_attrs or None,
                                     "score": score, "extra": {"ls_id": rid}, "control": r.get("from_name")})
                    out.names.append(item)
                    out.labels.setdefault(str(c), set()).add("tag")
            continue
        shape = _REGION_TYPES[reg["type"]]
        v = reg["value"]
        others = [r for r in rs if r is not reg]
        label, problem = _label_of(v, reg["type"], others)
        if problem is None and reg.get("image_rotation") not in (None, 0):
            problem = f"image_rotation {reg['image_rotation']!r} is not supported; export without rotating the image"
        attrs: dict[str, Any] = {}
        for r in others:
            if r.get("type") == "labels" or problem:
                continue
            val, problem = _attribute_value(state, str(r.get("from_name")), r["value"])
            attrs[str(r.get("from_name"))] = val
        if problem is None and shape in ("rectangle", "keypoint") and not all(_num(v.get(c)) for c in ("x", "y")):
            problem = f"x/y {v.get('x')!r}, {v.get('y')!r} are not numbers"
        if problem:
            out.problems.append((item, problem))
            continue
        assert label is not None
        score = reg.get("score", default_score)
        row: dict[str, Any] = {"label": label, "points": None, "attributes": attrs or None, "score": score,
                               "extra": {"ls_id": rid}, "control": reg.get("from_name")}
        if shape == "rectangle":
            if not all(_num(v.get(c)) for c in ("width", "height")):
                out.problems.append((item, f"width/height {v.get('width')!r}, {v.get('height')!r} are not numbers"))
                continue
            x, y, bw, bh = v["x"] * w / 100, v["y"] * h / 100, v["width"] * w / 100, v["height"] * h / 100
            rot = v.get("rotation") or 0
            if not _num(rot):
                out.problems.append((item, f"rotation {rot!r} is not a number"))
                continue
            if rot % 360:
                out.rotated += 1
                row.update(kind="polygon", points=[_rotated_corners(x, y, bw, bh, rot)])
                out.labels.setdefault(label, set()).add("polygon")
            else:
                row.update(kind="box", x0=x, y0=y, x1=x + bw, y1=y + bh)
                out.labels.setdefault(label, set()).add("box")
        elif shape == "brush":
            if v.get("format", "rle") != "rle":
                out.problems.append((item, f"brush format {v.get('format')!r} is not supported; Label Studio "
                                           "exports brushes as format 'rle'"))
                continue
            try:
                mask = decode_brush(v.get("rle"), h, w)
            except FormatError as e:
                out.problems.append((item, str(e)))
                continue
            rle = rle_encode(mask)
            bx, by, bw, bh = (float(c) for c in rle_to_bbox(rle))
            row.update(kind="mask", points=rle, x0=bx, y0=by, x1=bx + bw, y1=by + bh)
            out.labels.setdefault(label, set()).add("polygon")
        elif shape == "polygon":
            pts = v.get("points")
            if not isinstance(pts, list) or not all(isinstance(p, list) and len(p) == 2 and all(_num(c) for c in p)
                                                    for p in pts):
                out.problems.append((item, "points must be a list of [x, y] percent pairs"))
                continue
            ring = [[p[0] * w / 100, p[1] * h / 100] for p in pts]
            parent = str(reg.get("parentID") or "")
            host = groups.get(("polygon", parent))
            if parent and host is not None and host["label"] == label:
                host["points"].append(ring)
                continue
            row.update(kind="polygon", points=[ring])
            groups[("polygon", rid)] = row
            out.labels.setdefault(label, set()).add("polygon")
        else:
            x, y = v["x"] * w / 100, v["y"] * h / 100
            owner = str(reg.get("from_name") or "")
            tpl_label = next((lab for lab in state.labels.values() if keypoint_control(lab.name) == owner
                              and not lab.retired), None)
            tpl = state.template_for(tpl_label.id) if tpl_label is not None else None
            if tpl_label is None or tpl is None or label not in tpl.points:
                row.update(kind="point", points=[[x, y]])
                out.labels.setdefault(label, set()).add("point")
            else:
                gid = str(reg.get("parentID") or rid)
                host = groups.get(("keypoints", gid))
                if host is None:
                    host = {**row, "label": tpl_label.name, "kind": "keypoints",
                            "points": [[0.0, 0.0, 0] for _ in tpl.points]}
                    groups[("keypoints", gid)] = host
                    out.rows.append(host)
                    out.names.append(item)
                elif attrs:
                    host["attributes"] = {**(host["attributes"] or {}), **attrs}
                host["points"][tpl.points.index(label)] = [x, y, 1 if v.get("hidden") else 2]
                continue
        out.rows.append(row)
        out.names.append(item)
    return out
