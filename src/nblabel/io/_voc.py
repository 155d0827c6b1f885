"""Pascal VOC XML in and out (boxes, with ``difficult``/``truncated``/``pose`` kept in ``extra``).

VOC boxes are 1-based pixel indices, inclusive: ``xmin=1, xmax=10`` covers the first ten pixel
columns, i.e. ``[0, 10)`` in nblabel's continuous 0-based coordinates. Import maps
``x0 = xmin - 1, x1 = xmax`` and export the reverse (rounded to whole pixels), so a round trip
stays within one pixel.

XML is read through :mod:`._safe_xml`, which refuses any DOCTYPE/ENTITY declaration (entity
expansion, "billion laughs", external entities).
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._report import ImportReport
from ..errors import FormatError, ValidationError
from ..store._repeats import DEFAULT_MODE, check_mode
from ._exports import ExportInfo, export_instances, export_media, write_atomic
from ._import_tail import finish_import
from ._ingest import add_media, probe_files
from ._labels import ensure_labels
from ._paths import image_index, resolve_under_root, safe_relative
from ._safe_xml import read_xml

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["export_voc", "import_voc", "parse_voc"]

_OBJECT_STANDARD = {"name", "bndbox", "part", "actions", "point"}
#: a re-imported export is the same box within this many pixels (VOC writes whole pixels)
VOC_TOLERANCE = 0.5 + 1e-6


def parse_voc(path: str | Path) -> dict[str, Any]:
    """Read one VOC XML file into ``{filename, path, width, height, objects: [...]}``.

    Raises:
        FormatError: the file has a DOCTYPE/ENTITY declaration, is not well-formed XML, or lacks
            ``<annotation>``, an object's ``<name>`` or ``<bndbox>`` coordinates.

    Example:
        >>> import tempfile, os, pathlib
        >>> p = os.path.join(tempfile.mkdtemp(), "a.xml")
        >>> _ = pathlib.Path(p).write_text("<annotation><filename>a.jpg</filename><object><name>dog</name>"
        ...     "<difficult>1</difficult><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>10</xmax><ymax>20</ymax>"
        ...     "</bndbox></object></annotation>")
        >>> o = parse_voc(p)["objects"][0]
        >>> o["name"], o["box"], o["extra"]
        ('dog', [0.0, 1.0, 10.0, 20.0], {'difficult': 1})
    """
    p = Path(path)
    root = read_xml(p, "VOC file")
    if root.tag != "annotation":
        raise FormatError(f"VOC file {str(p)!r} has root <{root.tag}>; a VOC file has <annotation>")

    def num(el: Any, tag: str) -> float | None:
        t = el.findtext(tag)
        if t is None or not t.strip():
            return None
        try:
            return float(t)
        except ValueError:
            return math.nan

    size = root.find("size")
    out: dict[str, Any] = {
        "filename": (root.findtext("filename") or "").strip() or None,
        "path": (root.findtext("path") or "").strip() or None,
        "width": num(size, "width") if size is not None else None,
        "height": num(size, "height") if size is not None else None,
        "objects": [],
    }
    for k, obj in enumerate(root.findall("object")):
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        o: dict[str, Any] = {"index": k, "name": name or None, "box": None, "extra": {}, "error": None}
        if not name:
            o["error"] = "has no <name>"
        elif bb is None:
            o["error"] = "has no <bndbox>"
        else:
            v = [x for t in ("xmin", "ymin", "xmax", "ymax") if (x := num(bb, t)) is not None]
            if len(v) < 4:
                o["error"] = "<bndbox> needs xmin, ymin, xmax and ymax"
            else:
                xmin, ymin, xmax, ymax = v
                o["box"] = [xmin - 1.0, ymin - 1.0, xmax, ymax]
        for child in obj:
            if child.tag in _OBJECT_STANDARD or len(child):
                continue
            text = (child.text or "").strip()
            o["extra"][child.tag] = int(text) if re.fullmatch(r"-?\d+", text) else text
        out["objects"].append(o)
    return out


def import_voc(session: Session, xml_dir: str | os.PathLike[str], images: str | os.PathLike[str], *,
               complete: bool = True, errors: str = "report", allow_outside_root: bool = False,
               strict: bool = False, clip: bool = False, mode: str = DEFAULT_MODE) -> ImportReport:
    """Import a folder of VOC XML files as ground truth in one transaction (see ``Project.import_voc``)."""
    mode = check_mode(mode)

    if errors not in ("report", "raise"):
        raise ValidationError(f"errors={errors!r}: use 'report' or 'raise'")
    xdir, root = Path(xml_dir), Path(images)
    for folder, what in ((xdir, "xml_dir"), (root, "images")):
        if not folder.is_dir():
            raise FormatError(f"{what} {str(folder)!r} is not a folder")
    report = ImportReport(f"VOC {xdir.name}")
    files = sorted(f for f in xdir.rglob("*.xml") if f.is_file())
    index = image_index(root)
    parsed: list[tuple[str, dict[str, Any], Path, str]] = []
    for f in files:
        item = f.relative_to(xdir).as_posix()
        try:
            d = parse_voc(f)
        except FormatError as e:
            report.add_problem(item, str(e))
            continue
        full: Path | None = None
        problem = None
        for cand in (d["filename"], d["path"]):
            if not cand:
                continue
            full, problem = resolve_under_root(root, cand, allow_outside_root=allow_outside_root)
            if problem is None and not full.is_file():
                sub = Path(item).parent / Path(cand).name  # the XML's own sub-folder
                alt, _ = resolve_under_root(root, sub.as_posix())
                full = alt if alt.is_file() else None
            if problem or full is not None:
                break
        if full is None and problem is None:
            key = Path(item).with_suffix("").as_posix()
            full = index.get(key)
            if full is None:
                problem = (f"image {d['filename'] or key!r} not found under {str(root)!r}; check images= and the "
                           "<filename> in the file")
        if problem:
            report.add_problem(item, problem)
            continue
        assert full is not None
        rel = full.relative_to(root.resolve()).as_posix() if full.is_relative_to(root.resolve()) else full.name
        parsed.append((item, d, full, rel))
    # probe the image files before the write transaction opens
    probed = probe_files(session, [p[2] for p in parsed], [p[3] for p in parsed])
    with session.store.transaction() as con:
        names = sorted({o["name"] for _, d, _, _ in parsed for o in d["objects"] if o["name"]})
        lid_by_name = ensure_labels(session, names, ["box"])
        media_at = add_media(con, probed, [p[2] for p in parsed], report, [p[0] for p in parsed])
        sizes = con.execute("SELECT media_id, width, height FROM media WHERE list_contains(?::BIGINT[], media_id)",
                            [sorted(set(media_at.values()))]).df().set_index("media_id")
        rows, row_names = [], []
        bad_media: set[int] = set()
        for i, (item, d, _, _) in enumerate(parsed):
            if i not in media_at:
                continue
            mid = media_at[i]
            w, h = int(sizes.at[mid, "width"]), int(sizes.at[mid, "height"])
            if d["width"] and d["height"] and (int(d["width"]), int(d["height"])) != (w, h):
                report.add_problem(item, f"<size> says {d['width']:g}x{d['height']:g} but the image is {w}x{h} "
                                   "(upright); its boxes would be misplaced: fix <size> or the image")
                bad_media.add(mid)
                continue
            for o in d["objects"]:
                oname = f"{item} object {o['index']}" + (f" ({o['name']})" if o["name"] else "")
                if o["error"]:
                    report.add_problem(oname, o["error"])
                    bad_media.add(mid)
                    continue
                rows.append({"media_id": mid, "label_id": lid_by_name[o["name"]], "kind": "box",
                             "x0": o["box"][0], "y0": o["box"][1], "x1": o["box"][2], "y1": o["box"][3],
                             "extra": o["extra"] or None})
                row_names.append(oname)
        df = pd.DataFrame(rows, columns=["media_id", "label_id", "kind", "x0", "y0", "x1", "y1", "extra"])
        df["extra"] = df["extra"].astype(object)
        finish_import(con, session, df, row_names, report, what="objects", media=list(media_at.values()),
                      bad_media=bad_media, strict=strict, errors=errors, complete=complete,
                      refused_note="{n} image(s) with refused objects were not marked complete",
                      mode=mode, tolerance=VOC_TOLERANCE, clip=clip)
    return report


def _sub(parent: ET.Element, tag: str, text: Any) -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = str(text)
    return el


def export_voc(session: Session, out_dir: str | os.PathLike[str], *, slice: Any = None,
               include_incomplete: bool = False) -> ExportInfo:
    """Write one VOC XML per media item (see ``Project.export_voc``)."""
    out = Path(out_dir)
    with session.store.read() as con:
        mdf, left_out = export_media(con, slice, include_incomplete=include_incomplete)
        inst = export_instances(con, mdf["media_id"].tolist())
    notes: list[str] = []
    tag = (inst["kind"] == "tag").to_numpy()
    if tag.any():
        notes.append(f"{int(tag.sum())} whole-image tag(s) have no VOC form and were left out")
    inst = inst[~tag]
    shapes = int((inst["kind"] != "box").sum())
    if shapes:
        notes.append(f"{shapes} polygon/mask/keypoint/point/line instance(s) were written as their boxes")
    rels = [safe_relative(f) for f in mdf["file_name"]]
    stems = pd.Series([str(Path(r).with_suffix("")) for r in rels])
    if stems.duplicated().any():
        raise FormatError(f"several media share the XML name {stems[stems.duplicated()].iloc[0]!r}.xml; export a "
                          "slice without the duplicates")
    b = inst[["x0", "y0", "x1", "y1"]].to_numpy(float)
    vb = np.column_stack([np.round(b[:, 0]) + 1, np.round(b[:, 1]) + 1, np.round(b[:, 2]), np.round(b[:, 3])])
    vb = vb.astype(np.int64) if len(vb) else vb
    by_media = {int(k): v for k, v in inst.groupby("media_id").indices.items()}
    columns = (mdf[c].to_numpy(np.int64) for c in ("media_id", "width", "height"))
    for mid, width, height, rel, stem in zip(*columns, rels, stems, strict=True):
        ann = ET.Element("annotation")
        _sub(ann, "folder", str(Path(rel).parent) if "/" in rel else "")
        _sub(ann, "filename", rel)
        size = ET.SubElement(ann, "size")
        _sub(size, "width", int(width))
        _sub(size, "height", int(height))
        _sub(size, "depth", 3)
        _sub(ann, "segmented", 0)
        for j in by_media.get(int(mid), []):
            r = inst.iloc[j]
            obj = ET.SubElement(ann, "object")
            _sub(obj, "name", r["label"])
            extra = r["extra"] or {}
            _sub(obj, "pose", extra.get("pose", "Unspecified"))
            _sub(obj, "truncated", extra.get("truncated", 0))
            _sub(obj, "difficult", extra.get("difficult", 0))
            for k in sorted(extra):
                if k not in ("pose", "truncated", "difficult", "coco_id") and re.fullmatch(r"[A-Za-z_][\w.-]*", k) \
                        and not isinstance(extra[k], (dict, list)):
                    _sub(obj, k, extra[k])
            bb = ET.SubElement(obj, "bndbox")
            for t, v in zip(("xmin", "ymin", "xmax", "ymax"), vb[j], strict=True):
                _sub(bb, t, int(v))
        ET.indent(ann)
        write_atomic(out / f"{stem}.xml", ET.tostring(ann, encoding="utf-8", xml_declaration=False) + b"\n")
    if left_out:
        notes.append(f"{left_out} media item(s) not complete in stage 'label' were left out "
                     "(pass include_incomplete=True to export them too)")
    return ExportInfo(out, len(mdf), len(inst), left_out, int(tag.sum()), notes)
