"""Writing ground truth as a "CVAT for images 1.1" XML file (the layout is in :mod:`._cvat_read`).

One ``<image id name width height>`` per media item (ids 0, 1, ... in media order; ``name`` is the
file name made safe, see :mod:`._paths`), and per instance: box → ``<box>``, polygon → one
``<polygon>`` per ring (several rings share a ``group_id``, which the import merges back), mask →
``<mask>`` (CVAT's row-major runs over the mask's box), keypoints → ``<points>`` in template order
with a non-standard ``visibility="2,2,0,..."`` attribute keeping the COCO flags (CVAT and datumaro
ignore it), point → ``<points>``, line → ``<polyline>``, tag → ``<tag>``. Instance attributes are
``<attribute name>`` children; ``occluded``, ``z_order``, ``group_id`` and ``source`` come from
``extra`` (``occluded`` also from a bool attribute of that name). ``<meta>`` declares every label
with the attributes that apply to it. Coordinates have up to 6 decimals; the output is
deterministic (no timestamps).
"""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MediaError
from ..geometry import rle_decode
from ..store._schema_load import load_state
from ._cvat_schema import attribute_meta, attribute_text
from ._exports import ExportInfo, check_target, export_instances, export_media, write_atomic
from ._paths import safe_relative

if TYPE_CHECKING:
    from ..schema import SchemaState
    from ..store import Session

__all__ = ["export_cvat", "mask_to_cvat"]


def _n(v: float) -> str:
    """A coordinate with up to 6 decimals and no needless zeros."""
    t = f"{float(v):.6f}".rstrip("0").rstrip(".")
    return "0" if t in ("-0", "") else t


def _xy(points: Any) -> str:
    return ";".join(f"{_n(p[0])},{_n(p[1])}" for p in points)


def mask_to_cvat(mask: np.ndarray) -> dict[str, str]:
    """CVAT ``<mask>`` attributes of a bool image mask: the box of its set pixels and the row-major
    runs over that box, background first.

    Example:
        >>> m = np.zeros((3, 4), dtype=bool); m[0, 2] = m[1, 1] = True
        >>> mask_to_cvat(m)
        {'rle': '1, 2, 1', 'left': '1', 'top': '0', 'width': '2', 'height': '2'}
    """
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return {"rle": "0", "left": "0", "top": "0", "width": "0", "height": "0"}
    top, left = int(ys.min()), int(xs.min())
    crop = mask[top:int(ys.max()) + 1, left:int(xs.max()) + 1].ravel()
    change = np.flatnonzero(np.diff(crop.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [crop.size]])
    runs = np.diff(bounds).tolist()
    if crop[0]:
        runs = [0, *runs]
    return {"rle": ", ".join(str(r) for r in runs), "left": str(left), "top": str(top),
            "width": str(int(xs.max()) - left + 1), "height": str(int(ys.max()) - top + 1)}


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _meta(ann: ET.Element, state: SchemaState, label_ids: list[int], name: str, size: int) -> None:
    task = _sub(_sub(ann, "meta"), "task")
    for tag, text in (("id", "0"), ("name", name), ("size", str(size)), ("mode", "annotation"), ("overlap", "0"),
                      ("start_frame", "0"), ("stop_frame", str(max(size - 1, 0))), ("frame_filter", ""),
                      ("z_order", "False")):
        _sub(task, tag, text)
    labels = _sub(task, "labels")
    for lid in label_ids:
        lab = state.labels[lid]
        el = _sub(labels, "label")
        _sub(el, "name", lab.name)
        _sub(el, "color", lab.color)
        _sub(el, "type", "any")
        attrs = _sub(el, "attributes")
        for a in state.attributes_for(lid):
            input_type, default, values = attribute_meta(a)
            at = _sub(attrs, "attribute")
            _sub(at, "name", a.name)
            _sub(at, "mutable", "False")
            _sub(at, "input_type", input_type)
            _sub(at, "default_value", default)
            _sub(at, "values", values)


def _shape_attrs(r: Any, group: int | None) -> dict[str, str]:
    extra = r.extra or {}
    attrs = r.attributes or {}
    occluded = bool(extra.get("occluded", attrs.get("occluded") is True))
    out = {"label": r.label, "source": str(extra.get("source", "manual")), "occluded": str(int(occluded))}
    if r.kind != "tag":
        out["z_order"] = str(int(extra.get("z_order", 0)))
    else:
        out.pop("occluded")
    if group is not None:
        out["group_id"] = str(group)
    return out


def _write_instance(image: ET.Element, r: Any, next_group: list[int]) -> None:
    gid = (r.extra or {}).get("group_id")
    els: list[ET.Element] = []
    if r.kind == "box":
        els.append(_sub(image, "box", **_shape_attrs(r, gid), xtl=_n(r.x0), ytl=_n(r.y0), xbr=_n(r.x1), ybr=_n(r.y1)))
    elif r.kind == "polygon":
        if len(r.points) > 1 and gid is None:
            gid, next_group[0] = next_group[0], next_group[0] + 1
        els += [_sub(image, "polygon", **_shape_attrs(r, gid), points=_xy(ring)) for ring in r.points]
    elif r.kind == "mask":
        els.append(_sub(image, "mask", **_shape_attrs(r, gid), **mask_to_cvat(rle_decode(r.points))))
    elif r.kind == "keypoints":
        extra = {"visibility": ",".join(str(int(p[2])) for p in r.points)}
        xy = [[v if np.isfinite(v) else 0.0 for v in p[:2]] for p in r.points]  # an unlabeled point may be NaN
        els.append(_sub(image, "points", **_shape_attrs(r, gid), points=_xy(xy), **extra))
    elif r.kind in ("point", "line"):
        els.append(_sub(image, "points" if r.kind == "point" else "polyline", **_shape_attrs(r, gid),
                        points=_xy(r.points)))
    else:  # tag
        els.append(_sub(image, "tag", **_shape_attrs(r, gid)))
    for el in els:
        for k in sorted(r.attributes or {}):
            _sub(el, "attribute", attribute_text(r.attributes[k]), name=k)


def export_cvat(session: Session, path: str | os.PathLike[str], *, slice: Any = None, include_incomplete: bool = False,
                copy_images: bool = False) -> ExportInfo:
    """Write ground truth as one CVAT for images 1.1 XML file (see ``Project.export_cvat``)."""
    out = Path(path)
    check_target(out, "export_cvat")
    with session.store.read() as con:
        state = load_state(con)
        mdf, left_out = export_media(con, slice, include_incomplete=include_incomplete)
        inst = export_instances(con, mdf["media_id"].tolist())
    names = [safe_relative(f) for f in mdf["file_name"]]
    if copy_images:  # every source before anything is written: no half-copied folder
        missing = [f"{f!r} ({u})" for f, u in zip(mdf["file_name"], mdf["uri"], strict=True) if not Path(u).is_file()]
        if missing:
            raise MediaError(f"export_cvat(copy_images=True): {len(missing)} source image(s) are missing: "
                             f"{', '.join(missing[:5])}; restore them, or export without them (slice=) or with "
                             "copy_images=False. Nothing was written")
    used = set(inst["label_id"].astype(int))
    label_ids = sorted(lid for lid, lab in state.labels.items() if not lab.retired or lid in used)
    ann = ET.Element("annotations")
    _sub(ann, "version", "1.1")
    _meta(ann, state, label_ids, out.stem, len(mdf))
    by_media: dict[int, list[int]] = {}
    for j, m in enumerate(inst["media_id"].to_numpy(np.int64)):
        by_media.setdefault(int(m), []).append(j)
    rows: list[Any] = list(inst.itertuples())
    columns = (mdf[c].to_numpy(np.int64) for c in ("media_id", "width", "height"))
    for i, (mid, width, height, name) in enumerate(zip(*columns, names, strict=True)):
        image = _sub(ann, "image", id=str(i), name=name, width=str(int(width)), height=str(int(height)))
        taken = [int(g) for j in by_media.get(int(mid), []) if (g := (rows[j].extra or {}).get("group_id"))]
        next_group = [max(taken, default=0) + 1]
        for j in by_media.get(int(mid), []):
            _write_instance(image, rows[j], next_group)
    ET.indent(ann)
    write_atomic(out, b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(ann, encoding="utf-8", xml_declaration=False) + b"\n")
    if copy_images:
        for uri, name in zip(mdf["uri"], names, strict=True):
            target = out.parent / "images" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(uri, target)
    notes = []
    if left_out:
        notes.append(f"{left_out} media item(s) not complete in stage 'label' were left out "
                     "(pass include_incomplete=True to export them too)")
    return ExportInfo(out, len(mdf), len(inst), left_out, 0, notes)
