"""Importing a "CVAT for images 1.1" XML file as ground truth, in one transaction.

Each ``<image name>`` is resolved under the image root (a name escaping it is refused, see
:mod:`._paths`) and added as media; its shapes become instances: ``<box>`` → box (a box with a
``rotation`` becomes the polygon of its corners, with ``extra["rotation"]`` and a note),
``<polygon>`` → polygon (polygons of one label sharing a ``group_id`` are the rings of one
instance: that is how :func:`export_cvat` writes a polygon of several parts), ``<polyline>`` →
line, ``<points>`` → keypoints when the label has a keypoint template of that many points (the
non-standard ``visibility`` attribute nblabel writes gives the COCO flags), a single point → point
(when the label allows points or is new), several → keypoints, ``<mask>``
→ mask (a COCO RLE of the whole image), ``<tag>`` → tag. ``<attribute>`` children become instance
attributes. CVAT's shape fields that nblabel has no column for go into ``extra``:
``occluded`` (bool), ``z_order`` (int), ``group_id`` (int) and ``source`` (str); the export writes
them back. Labels and attributes missing from the schema come from ``<meta>`` (see
:mod:`._cvat_schema`); a shape whose label is in neither is a problem.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._report import ImportReport
from ..errors import FormatError, SchemaError, ValidationError
from ..geometry import rle_encode, rle_to_bbox
from ..store._repeats import DEFAULT_MODE, check_mode
from ..store._schema_load import load_state
from ._cvat_read import CvatDoc, CvatImage, CvatShape, mask_from_cvat, read_cvat
from ._cvat_schema import attribute_value, ensure_cvat_schema, points_kind
from ._import_tail import finish_import
from ._ingest import add_media, probe_files
from ._paths import resolve_under_root

if TYPE_CHECKING:
    from ..schema import SchemaState
    from ..store import Session

__all__ = ["CVAT_TOLERANCE", "import_cvat"]

#: a re-imported shape repeats a stored instance within this many pixels: files from CVAT and datumaro
#: have 2 decimals (datumaro rounds every coordinate to 2), and a COCO box is a 2-decimal rounding of
#: its polygon's extent, which is the box a CVAT polygon comes back with
CVAT_TOLERANCE = 0.01 + 1e-6
_TYPE_SPATIAL = {"rectangle": "box", "polygon": "polygon", "polyline": "line", "points": "point", "tag": "tag",
                 "mask": "polygon"}


def _xml_file(path: Path) -> Path:
    if path.is_dir():
        found = sorted(path.glob("*.xml"))
        if len(found) != 1:
            raise FormatError(f"CVAT folder {str(path)!r} holds {len(found)} .xml files; pass the XML file itself "
                              "(CVAT writes annotations.xml, datumaro <subset>.xml)")
        return found[0]
    if not path.is_file():
        raise FormatError(f"CVAT file {str(path)!r} does not exist; check the path")
    return path


def _kind(state: SchemaState, s: CvatShape) -> str:
    if s.tag == "box":
        return "polygon" if s.rotation else "box"
    if s.tag == "points":
        return points_kind(state, s.label or "", len(s.coords))
    return {"polyline": "line", "mask": "mask"}.get(s.tag, s.tag)


def _spatial(state: SchemaState, doc: CvatDoc, images: list[CvatImage]) -> dict[str, set[str]]:
    """The spatial types each label needs: from its shapes, or its ``<meta>`` type when it has none."""
    out: dict[str, set[str]] = {name: set() for name in doc.labels}
    for im in images:
        for s in im.shapes:
            if s.error is None and s.label is not None and (s.label in out or s.label in state.label_ids_by_name()):
                k = _kind(state, s)
                out.setdefault(s.label, set()).add("polygon" if k == "mask" else k)
    for name, kinds in out.items():
        if not kinds:
            kinds.add(_TYPE_SPATIAL.get(doc.label_types.get(name, ""), "box"))
    return out


def _rotated(box: list[float], degrees: float) -> list[list[float]]:
    """The corners of a box turned ``degrees`` clockwise about its centre (CVAT's rotation)."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    return [[cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c]
            for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]


def _attributes(state: SchemaState, s: CvatShape) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, text in s.attributes.items():
        try:
            attr = state.attribute(name)
        except SchemaError:
            raise ValueError(f"attribute {name!r} is declared neither for label {s.label!r} in <meta> nor in the "
                             "schema; declare it in the task's labels or add it with proj.schema.add_attribute") from None
        v = attribute_value(attr, text)
        if v is not None:
            out[name] = v
    return out


def _row(state: SchemaState, s: CvatShape, mid: int, lid: int, w: int, h: int) -> dict[str, Any]:
    """One instance row from a shape; raises ``ValueError`` with the reason it cannot be one."""
    kind = _kind(state, s)
    row: dict[str, Any] = {"media_id": mid, "label_id": lid, "kind": kind, "x0": math.nan, "y0": math.nan,
                           "x1": math.nan, "y1": math.nan, "points": None, "attributes": _attributes(state, s) or None,
                           "extra": dict(s.extra) or None}
    if s.tag == "box" and not s.rotation:
        row.update(zip(("x0", "y0", "x1", "y1"), s.coords, strict=True))
    elif s.tag == "box":
        row["points"] = [_rotated(s.coords, s.rotation)]
        row["extra"] = {**(row["extra"] or {}), "rotation": s.rotation}
    elif kind == "polygon":
        row["points"] = [s.coords]
    elif kind == "keypoints":
        vis = s.visibility or [2] * len(s.coords)
        row["points"] = [[x, y, float(v)] for (x, y), v in zip(s.coords, vis, strict=True)]
    elif kind in ("point", "line"):
        row["points"] = s.coords
    elif kind == "mask":
        assert s.mask is not None
        rle = rle_encode(mask_from_cvat(*s.mask, w, h))
        bx, by, bw, bh = (float(v) for v in rle_to_bbox(rle))
        row.update(points=rle, x0=bx, y0=by, x1=bx + bw, y1=by + bh)
    return row


def _image_rows(state: SchemaState, im: CvatImage, mid: int, w: int, h: int, lids: dict[str, int],
                report: ImportReport) -> tuple[list[dict[str, Any]], list[str], bool]:
    """The rows of one image (grouped polygons merged), their names, and whether any shape was refused."""
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    groups: dict[tuple[str, int], int] = {}
    bad = False
    for s in im.shapes:
        name = f"{s.where} <{s.tag}>" + (f" ({s.label})" if s.label else "")
        if s.error is None and s.label not in lids:
            s.error = (f"label {s.label!r} is neither declared in <meta> nor in the schema; declare it in the task or "
                       f"add it with proj.schema.add_label({s.label!r})")
        if s.error is not None:
            report.add_problem(name, s.error)
            bad = True
            continue
        try:
            row = _row(state, s, mid, lids[s.label or ""], w, h)
        except (ValueError, ValidationError) as e:
            report.add_problem(name, str(e))
            bad = True
            continue
        gid = (s.extra or {}).get("group_id")
        if row["kind"] == "polygon" and s.tag == "polygon" and gid is not None:
            key = (s.label or "", int(gid))
            if key in groups:
                rows[groups[key]]["points"].append(s.coords)
                continue
            groups[key] = len(rows)
        rows.append(row)
        names.append(name)
    return rows, names, bad


def import_cvat(session: Session, path: str | os.PathLike[str], images: str | os.PathLike[str] | None = None, *,
                complete: bool = True, errors: str = "report", allow_outside_root: bool = False,
                strict: bool = False, clip: bool = False, mode: str = DEFAULT_MODE) -> ImportReport:
    """Import a CVAT for images 1.1 XML file as ground truth in one transaction (see ``Project.import_cvat``)."""
    if errors not in ("report", "raise"):
        raise ValidationError(f"errors={errors!r}: use 'report' (store good shapes, list bad ones) or 'raise'")
    mode = check_mode(mode)
    xml = _xml_file(Path(path))
    doc = read_cvat(xml)
    root = Path(images) if images is not None else (xml.parent / "images" if (xml.parent / "images").is_dir()
                                                    else xml.parent)
    if not root.is_dir():
        raise FormatError(f"image root {str(root)!r} is not a folder; pass images= the folder that the <image name> "
                          f"entries of {xml.name} are relative to")
    report = ImportReport(f"CVAT {xml.name}")
    for item, reason in doc.problems:
        report.add_problem(item, reason)
    chosen: list[tuple[CvatImage, Path]] = []
    seen: set[str] = set()
    for im in doc.images:
        item = f"{im.where} <image id={im.id!r}>" + (f" ({im.name})" if im.name else "")
        if im.error is not None:
            report.add_problem(item, im.error)
            continue
        assert im.name is not None
        if im.name in seen:
            report.add_problem(item, f"image {im.name!r} is listed twice; each image appears once")
            continue
        seen.add(im.name)
        full, problem = resolve_under_root(root, im.name, allow_outside_root=allow_outside_root)
        if problem is None and not full.is_file():
            problem = (f"image file {str(full)!r} does not exist; check images= (the folder the <image name> "
                       f"entries of {xml.name} are relative to)")
        if problem is not None:
            report.add_problem(item, problem)
            continue
        chosen.append((im, full))
    # probe the image files before the write transaction opens
    probed = probe_files(session, [c[1] for c in chosen], [c[0].name or "" for c in chosen])
    with session.store.transaction() as con:
        lids = ensure_cvat_schema(session, doc, _spatial(load_state(con), doc, [c[0] for c in chosen]))
        state = load_state(con)
        media_at = add_media(con, probed, [c[1] for c in chosen], report, [c[0].where for c in chosen])
        sizes = con.execute("SELECT media_id, width, height FROM media WHERE list_contains(?::BIGINT[], media_id)",
                            [sorted(set(media_at.values()))]).df().set_index("media_id")
        rows: list[dict[str, Any]] = []
        names: list[str] = []
        bad_media: set[int] = set()
        for i, (im, _) in enumerate(chosen):
            if i not in media_at:
                continue
            mid = media_at[i]
            w, h = int(sizes.at[mid, "width"]), int(sizes.at[mid, "height"])
            if (int(im.width or 0), int(im.height or 0)) != (w, h):
                report.add_problem(f"{im.where} <image id={im.id!r}> ({im.name})",
                                   f"the XML says {im.width:g}x{im.height:g} but the image is {w}x{h} (upright); its "
                                   "shapes would be misplaced: fix width/height or the image")
                bad_media.add(mid)
                continue
            r, n, bad = _image_rows(state, im, mid, w, h, lids, report)
            rows += r
            names += n
            if bad:
                bad_media.add(mid)
        rotated = sum(1 for r in rows if "rotation" in (r["extra"] or {}))
        if rotated:
            report.notes.append(f"{rotated} rotated box(es) became polygons of their corners (the angle is kept "
                                "in extra['rotation'])")
        df = pd.DataFrame(rows, columns=["media_id", "label_id", "kind", "x0", "y0", "x1", "y1", "points",
                                         "attributes", "extra"])
        for c in ("points", "attributes", "extra"):
            df[c] = df[c].astype(object)
        df[["x0", "y0", "x1", "y1"]] = df[["x0", "y0", "x1", "y1"]].astype(np.float64)
        finish_import(con, session, df, names, report, what="shapes", media=list(media_at.values()),
                      bad_media=bad_media, strict=strict, errors=errors, complete=complete,
                      refused_note="{n} image(s) with refused shapes were not marked complete; fix them and mark "
                                   "them with proj.complete(...)", mode=mode, tolerance=CVAT_TOLERANCE, clip=clip)
    return report
