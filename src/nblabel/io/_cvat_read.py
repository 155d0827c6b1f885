"""Parsing "CVAT for images 1.1" XML into plain records (labels, images, shapes); no store access.

The layout::

    <annotations><version>1.1</version>
      <meta><task>  (or <project>, <job>)
        <labels><label><name>car</name><type>any</type>
          <attributes><attribute><name>color</name><input_type>select</input_type>
            <default_value>red</default_value><values>red\\ngreen</values></attribute></attributes>
        </label></labels></task></meta>
      <image id="0" name="a.jpg" width="640" height="480">
        <box label="car" xtl=".." ytl=".." xbr=".." ybr=".." occluded="0" z_order="0" [rotation="30"]>
          <attribute name="color">red</attribute></box>
        <polygon label=".." points="x,y;x,y;..."/>  <polyline .../>  <points .../>
        <mask label=".." rle="3, 5, ..." left="10" top="20" width="30" height="40"/>
        <tag label=".."/>
      </image>
    </annotations>

A shape that cannot be read (a missing coordinate, text where a number belongs, a kind nblabel has
no form for such as ``<ellipse>`` or a video ``<track>``) becomes a record with ``error`` set and
its line, so the import reports it as ``file.xml:line`` while the rest goes in.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ._safe_xml import XmlTree, read_xml_lines

__all__ = ["CvatAttribute", "CvatDoc", "CvatImage", "CvatShape", "mask_from_cvat", "read_cvat"]

SHAPES = ("box", "polygon", "polyline", "points", "mask", "tag")
_UNSUPPORTED = ("ellipse", "cuboid", "skeleton", "cuboid_3d")


@dataclass
class CvatAttribute:
    """One attribute a label declares in ``<meta>``."""

    name: str
    input_type: str
    values: list[str]
    default: str


@dataclass
class CvatShape:
    """One ``<box>``/``<polygon>``/``<polyline>``/``<points>``/``<mask>``/``<tag>`` of an image.

    ``coords``: box ``[xtl, ytl, xbr, ybr]``; polygon/polyline/points ``[[x, y], ...]``; mask the
    COCO RLE of the whole image (set by the import, which knows the image size: see
    :func:`mask_from_cvat`); tag ``None``.
    """

    tag: str
    label: str | None
    where: str
    coords: Any = None
    mask: tuple[list[int], int, int, int, int] | None = None  # counts, left, top, width, height
    attributes: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    rotation: float = 0.0
    visibility: list[int] | None = None
    error: str | None = None


@dataclass
class CvatImage:
    """One ``<image>`` with its shapes."""

    id: str
    name: str | None
    width: float | None
    height: float | None
    where: str
    shapes: list[CvatShape]
    error: str | None = None


@dataclass
class CvatDoc:
    """A parsed CVAT file: labels declared in ``<meta>`` (name → attributes, and ``<type>``), images,
    and problems outside any image (a ``<track>``)."""

    path: Path
    labels: dict[str, list[CvatAttribute]]
    label_types: dict[str, str]
    images: list[CvatImage]
    problems: list[tuple[str, str]]


def _num(text: str | None, what: str) -> float:
    if text is None or not text.strip():
        raise ValueError(f"has no {what}")
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{what}={text!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{what}={text!r} is not a finite number")
    return v


def _int(text: str | None, what: str, default: int | None = None) -> int:
    if text is None and default is not None:
        return default
    v = _num(text, what)
    if not v.is_integer():
        raise ValueError(f"{what}={text!r} is not a whole number")
    return int(v)


def _pairs(text: str | None) -> list[list[float]]:
    if text is None or not text.strip():
        raise ValueError("has no points")
    out = []
    for pair in text.strip().split(";"):
        xy = pair.split(",")
        if len(xy) != 2:
            raise ValueError(f"points {pair!r} is not 'x,y' (points are 'x1,y1;x2,y2;...')")
        out.append([_num(xy[0], "x"), _num(xy[1], "y")])
    return out


def _meta(meta: ET.Element | None) -> tuple[dict[str, list[CvatAttribute]], dict[str, str]]:
    labels: dict[str, list[CvatAttribute]] = {}
    types: dict[str, str] = {}
    if meta is None:
        return labels, types
    for lab in meta.iter("label"):
        name = (lab.findtext("name") or "").strip()
        if not name or name in labels:
            continue
        attrs = []
        for a in lab.iter("attribute"):
            aname = (a.findtext("name") or "").strip()
            if aname:
                values = [v.strip() for v in (a.findtext("values") or "").split("\n")]
                attrs.append(CvatAttribute(aname, (a.findtext("input_type") or "text").strip().lower(),
                                           values, (a.findtext("default_value") or "").strip()))
        labels[name] = attrs
        types[name] = (lab.findtext("type") or "any").strip().lower()
    return labels, types


def _shape(tree: XmlTree, el: ET.Element) -> CvatShape:
    s = CvatShape(el.tag, el.get("label"), tree.where(el))
    if el.tag in _UNSUPPORTED:
        s.error = f"<{el.tag}> shapes have no nblabel form; convert them in CVAT (or leave them out)"
        return s
    if el.tag not in SHAPES:
        s.error = f"<{el.tag}> is not a CVAT image shape (box, polygon, polyline, points, mask, tag)"
        return s
    if not s.label:
        s.error = f"<{el.tag}> has no label"
        return s
    try:
        for a in el.findall("attribute"):
            if not a.get("name"):
                raise ValueError("has an <attribute> without a name")
            s.attributes[a.get("name", "")] = (a.text or "").strip()
        if el.tag != "tag":
            if el.get("occluded") is not None:
                s.extra["occluded"] = _int(el.get("occluded"), "occluded") != 0
            s.extra["z_order"] = _int(el.get("z_order"), "z_order", 0)
        if el.get("group_id") not in (None, "", "0"):
            s.extra["group_id"] = _int(el.get("group_id"), "group_id")
        if el.get("source"):
            s.extra["source"] = el.get("source")
        if el.tag == "box":
            s.coords = [_num(el.get(k), k) for k in ("xtl", "ytl", "xbr", "ybr")]
            s.rotation = _num(el.get("rotation"), "rotation") if el.get("rotation") else 0.0
        elif el.tag in ("polygon", "polyline", "points"):
            s.coords = _pairs(el.get("points"))
            if el.tag == "points" and el.get("visibility"):
                vis = [_int(v, "visibility") for v in (el.get("visibility") or "").split(",")]
                if len(vis) != len(s.coords) or any(v not in (0, 1, 2) for v in vis):
                    raise ValueError(f"visibility {el.get('visibility')!r} needs one 0/1/2 per point "
                                     f"({len(s.coords)} points)")
                s.visibility = vis
        elif el.tag == "mask":
            counts = [_int(c, "rle") for c in (el.get("rle") or "").split(",") if c.strip()]
            box = [_int(el.get(k), k) for k in ("left", "top", "width", "height")]
            if box[2] < 0 or box[3] < 0 or any(c < 0 for c in counts):
                raise ValueError("mask width/height and rle counts must not be negative")
            if sum(counts) != box[2] * box[3]:
                raise ValueError(f"mask rle covers {sum(counts)} pixels but width × height is {box[2] * box[3]}")
            s.mask = (counts, box[0], box[1], box[2], box[3])
    except ValueError as e:
        s.error = f"<{el.tag}> {e}"
    return s


def mask_from_cvat(counts: list[int], left: int, top: int, width: int, height: int, img_w: int,
                   img_h: int) -> np.ndarray:
    """The full-image bool mask of a CVAT ``<mask>`` (row-major runs over its box, background first).

    Raises ``ValueError`` when the box reaches outside the image.

    Example:
        >>> mask_from_cvat([1, 2, 1], 1, 0, 2, 2, 4, 3).astype(int).tolist()
        [[0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    """
    if left < 0 or top < 0 or left + width > img_w or top + height > img_h:
        raise ValueError(f"mask box left={left}, top={top}, {width}x{height} reaches outside the "
                         f"{img_w}x{img_h} image")
    values = (np.arange(len(counts)) % 2).astype(bool)
    crop = np.repeat(values, counts).reshape(height, width)
    out = np.zeros((img_h, img_w), dtype=bool)
    out[top:top + height, left:left + width] = crop
    return out


def _image(tree: XmlTree, el: ET.Element) -> CvatImage:
    im = CvatImage(el.get("id", ""), el.get("name"), None, None, tree.where(el),
                   [_shape(tree, child) for child in el])
    try:
        if not im.name:
            raise ValueError("has no name")
        im.width, im.height = (_num(el.get(k), k) for k in ("width", "height"))
        if im.width <= 0 or im.height <= 0 or not im.width.is_integer() or not im.height.is_integer():
            raise ValueError(f"size {el.get('width')}x{el.get('height')} is not a positive whole number of pixels")
    except ValueError as e:
        im.error = f"<image id={im.id!r}> {e}"
    return im


def read_cvat(path: str | Path) -> CvatDoc:
    """Read a CVAT for images 1.1 XML file.

    Raises:
        FormatError: unsafe or malformed XML (with its line), or a root that is not ``<annotations>``.

    Example:
        >>> import tempfile, os, pathlib
        >>> p = os.path.join(tempfile.mkdtemp(), "annotations.xml")
        >>> _ = pathlib.Path(p).write_text('<annotations><version>1.1</version>'
        ...     '<image id="0" name="a.jpg" width="64" height="48">'
        ...     '<box label="car" xtl="1" ytl="2" xbr="10" ybr="20" occluded="1"/></image></annotations>')
        >>> d = read_cvat(p)
        >>> s = d.images[0].shapes[0]
        >>> s.tag, s.label, s.coords, s.extra
        ('box', 'car', [1.0, 2.0, 10.0, 20.0], {'occluded': True, 'z_order': 0})
    """
    tree = read_xml_lines(path, "CVAT file")
    root = tree.root
    if root.tag != "annotations":
        raise FormatError(f"CVAT file {str(tree.path)!r} has root <{root.tag}>; a CVAT for images 1.1 file has "
                          "<annotations>")
    labels, types = _meta(root.find("meta"))
    images: list[CvatImage] = []
    problems: list[tuple[str, str]] = []
    for el in root:
        if el.tag == "image":
            images.append(_image(tree, el))
        elif el.tag == "track":
            problems.append((tree.where(el), f"<track id={el.get('id')!r}> is video (interpolation) annotation; "
                             "export the task from CVAT as 'CVAT for images 1.1', not 'CVAT for video'"))
    return CvatDoc(tree.path, labels, types, images, problems)
