"""The Label Studio labeling config (the XML beside an exported tasks file): written from the schema, read back.

The config names one control per geometry and one per attribute group, all pointing at
``<Image name="image" value="$image"/>``:

- ``RectangleLabels name="box"``, ``PolygonLabels name="polygon"``, ``KeyPointLabels name="point"``
  (single points) and ``Choices name="tags" choice="multiple"`` (whole-image tags) list the labels
  that allow that spatial type; each ``<Label>`` carries ``category=`` (the label's COCO category id,
  else its label id: the id ``export_coco`` writes, so Label Studio's own COCO converter numbers the
  categories as nblabel does) and ``background=`` (its colour);
- a label with a keypoint template gets ``KeyPointLabels name="<label>_keypoints"`` whose labels are
  the template's point names with ``model_index=`` their position (Label Studio's converter orders
  COCO keypoints by it);
- an attribute group becomes a per-region control named as the group: ``select``/``multiselect``/
  ``bool`` → ``Choices`` (single, multiple, ``true``/``false``), ``text`` → ``TextArea``, ``number``
  → ``Number`` (with min/max/step), ``date``/``time`` → ``DateTime only="date"|"time"``; a group for
  one label only is shown for that label (``whenLabelValue``);
- labels with RLE masks in the export are listed by ``BrushLabels name="brush"``.

Reading a config (``read_config``) goes through :mod:`._safe_xml`, which refuses DOCTYPE/ENTITY declarations.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from ..schema import SchemaState
from ._safe_xml import read_xml

__all__ = ["ATTRIBUTE_CONTROLS", "BRUSH_CONTROL", "GEOMETRY_CONTROLS", "build_config", "keypoint_control",
           "read_config"]

#: spatial type -> (control tag, control name)
GEOMETRY_CONTROLS = {"box": ("RectangleLabels", "box"), "polygon": ("PolygonLabels", "polygon"),
                     "point": ("KeyPointLabels", "point"), "tag": ("Choices", "tags")}
BRUSH_CONTROL = "brush"  # BrushLabels of the labels that have RLE masks
#: attribute kind -> (control tag, the key of its value in a Label Studio result)
ATTRIBUTE_CONTROLS = {"select": ("Choices", "choices"), "multiselect": ("Choices", "choices"),
                      "bool": ("Choices", "choices"), "text": ("TextArea", "text"), "number": ("Number", "number"),
                      "date": ("DateTime", "datetime"), "time": ("DateTime", "datetime")}
_LABEL_TAGS = {"Label", "Choice"}


def keypoint_control(label: str) -> str:
    """The name of the KeyPointLabels control of a label's keypoint template.

    Example:
        >>> keypoint_control("person")
        'person_keypoints'
    """
    return f"{label}_keypoints"


def _num(v: float) -> str:
    return f"{v:g}" if float(v) != int(v) else str(int(v))


def build_config(state: SchemaState, category_ids: dict[int, int], brush: Sequence[int] = ()) -> str:
    """The labeling config XML for the schema (see the module docstring); ``category_ids``: label id -> the
    COCO category id written as ``category=``; ``brush``: the labels with masks (a ``BrushLabels`` control).

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.schema.add_label("car", spatial=["box"])
        >>> print(build_config(p.schema.state(), {1: 3}))  # doctest: +NORMALIZE_WHITESPACE
        <View>
          <Image name="image" value="$image" />
          <RectangleLabels name="box" toName="image">
            <Label value="car" background="#e6194b" category="3" />
          </RectangleLabels>
        </View>
    """
    labels = [lab for lab in state.labels.values() if not lab.retired]
    names = ({c[1] for c in GEOMETRY_CONTROLS.values()} | {keypoint_control(lab.name) for lab in labels}
             | {BRUSH_CONTROL})
    clash = sorted(a.name for a in state.attributes.values() if a.name in names or a.name == "image")
    if clash:
        raise ValidationError(f"attribute {clash[0]!r} has the name of a Label Studio control of the export "
                              f"({sorted(names | {'image'})}), so its answers could not be told apart: export from a schema where it "
                              "has another name")
    view = ET.Element("View")
    ET.SubElement(view, "Image", name="image", value="$image")
    for spatial, (tag, name) in GEOMETRY_CONTROLS.items():
        members = [lab for lab in labels if spatial in lab.spatial or (spatial == "polygon" and "mask" in lab.spatial)]
        if not members:
            continue
        ctl = ET.SubElement(view, tag, name=name, toName="image")
        if tag == "Choices":
            ctl.set("choice", "multiple")
        for lab in members:
            ET.SubElement(ctl, "Choice" if tag == "Choices" else "Label", value=lab.name, background=lab.color,
                          category=str(category_ids.get(lab.id, lab.id)))
    if brush:
        ctl = ET.SubElement(view, "BrushLabels", name=BRUSH_CONTROL, toName="image")
        for lab in labels:
            if lab.id in brush:
                ET.SubElement(ctl, "Label", value=lab.name, background=lab.color,
                              category=str(category_ids.get(lab.id, lab.id)))
    for lab in labels:
        tpl = state.template_for(lab.id)
        if tpl is None:
            continue
        ctl = ET.SubElement(view, "KeyPointLabels", name=keypoint_control(lab.name), toName="image")
        for k, point in enumerate(tpl.points):
            ET.SubElement(ctl, "Label", value=point, model_index=str(k), background=lab.color)
    by_id = {lab.id: lab.name for lab in state.labels.values()}
    for a in state.attributes.values():
        tag, _ = ATTRIBUTE_CONTROLS[a.kind]
        ctl = ET.SubElement(view, tag, name=a.name, toName="image", perRegion="true")
        if a.label_ids is not None and len(a.label_ids) == 1 and a.label_ids[0] in by_id:
            ctl.set("whenLabelValue", by_id[a.label_ids[0]])
        if a.required:
            ctl.set("required", "true")
        if a.kind in ("select", "multiselect", "bool"):
            ctl.set("choice", "multiple" if a.kind == "multiselect" else "single")
            for opt in (["true", "false"] if a.kind == "bool" else a.option_names()):
                ET.SubElement(ctl, "Choice", value=opt)
        elif a.kind == "number":
            for key in ("min", "max", "step"):
                v = getattr(a, key)
                if v is not None:
                    ctl.set(key, _num(v))
        elif a.kind in ("date", "time"):
            ctl.set("only", a.kind)
    ET.indent(view)
    return ET.tostring(view, encoding="unicode")


def read_config(path: str | Path) -> dict[str, dict[str, Any]]:
    """The controls of a labeling config: ``{name: {"type": tag, "labels": [values], "attrs": {...},
    "label_attrs": {value: {...}}}}`` (``attrs``: the control's XML attributes; ``label_attrs``: each label's).

    Raises:
        FormatError: the file cannot be read, has a DOCTYPE/ENTITY declaration or is not well-formed XML.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp(), "c.xml")
        >>> _ = p.write_text('<View><Image name="image" value="$image"/><RectangleLabels name="box" toName="image">'
        ...                  '<Label value="car"/></RectangleLabels></View>')
        >>> c = read_config(p)["box"]; c["type"], c["labels"], c["attrs"]["toName"]
        ('RectangleLabels', ['car'], 'image')
    """
    root = read_xml(path, "Label Studio config")
    out: dict[str, dict[str, Any]] = {}

    def walk(el: ET.Element, control: str | None) -> None:
        for child in el:
            name = child.get("name")
            if name and child.get("toName"):
                out[name] = {"type": child.tag, "labels": [], "attrs": dict(child.attrib), "label_attrs": {}}
                walk(child, name)
                continue
            if child.tag in _LABEL_TAGS and control is not None:
                value = child.get("alias") or child.get("value")
                if value:
                    out[control]["labels"].append(value)
                    out[control]["label_attrs"][value] = dict(child.attrib)
            walk(child, control)

    walk(root, None)
    return out
