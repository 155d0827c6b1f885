"""CVAT for images 1.1 checked with datumaro, the library CVAT itself uses for formats.

(1) datumaro's ``cvat`` importer loads ``export_cvat``'s output with the same instances (boxes within
1e-3 px, polygons, the crowd mask's pixels, points, polylines, tags, labels, attributes); (2) a
datumaro dataset built from tests/data/coco21 and written by datumaro's ``cvat`` exporter is read by
``import_cvat`` with the same instances. Run with the interop venv::

    PYTHONPATH=$PWD/src /work/venv-interop/bin/python -m pytest tests_interop/test_cvat_datumaro.py -q
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nblabel as nl
from nblabel.geometry import rle_decode

dm = pytest.importorskip("datumaro")
from datumaro.components.annotation import (  # noqa: E402
    AnnotationType,
    Bbox,
    LabelCategories,
    Mask,
    Polygon,
)
from datumaro.components.dataset_base import DatasetItem  # noqa: E402
from datumaro.components.media import Image as DmImage  # noqa: E402

COCO21 = Path(__file__).parents[1] / "tests" / "data" / "coco21"
TOL = 1e-3
ATTRS = ("pose", "parked", "note", "conf")


def _text(v: Any) -> str:
    """An attribute value as CVAT text (what a text attribute holds after a trip through the XML)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


@pytest.fixture(scope="module")
def coco_proj(tmp_path_factory: pytest.TempPathFactory) -> nl.Project:
    """coco21 imported, with attributes of every CVAT input type on some of its instances."""
    p = nl.open(tmp_path_factory.mktemp("coco") / "coco.duckdb")
    assert p.import_coco(COCO21 / "instances.json", images=COCO21 / "images").ok
    p.schema.add_attribute("pose", kind="select", options=["front", "side"], labels=["person"])
    p.schema.add_attribute("parked", kind="bool", labels=["motorcycle", "bench"])
    p.schema.add_attribute("note", kind="text")
    p.schema.add_attribute("conf", kind="number", min=0, max=1, step=0.25)
    df = p.instances().df()
    cols = ["instance_id", "media_id", "label", "kind", "x0", "y0", "x1", "y1"]
    for k, (iid, mid, label, kind, x0, y0, x1, y1) in enumerate(df[cols].itertuples(index=False)):
        attrs: dict[str, Any] = {"note": f"n{k}, a;b <&>"} if k % 3 == 0 else {}
        if label == "person":
            attrs["pose"] = "side" if k % 2 else "front"
        if label in ("motorcycle", "bench"):
            attrs["parked"] = bool(k % 2)
        if k % 4 == 0:
            attrs["conf"] = 0.75
        if k % 3 == 1 and kind == "polygon":  # a third of them as boxes, so boxes are compared too
            p.delete_instance(int(iid))
            p.add_instance(int(mid), label, box=[x0, y0, x1, y1], attributes=attrs or None)
        elif attrs:
            p.update_instance(int(iid), attributes=attrs)
    return p


def _ours(p: nl.Project) -> dict[str, list[dict[str, Any]]]:
    """GT instances per image stem: label, kind, box, points (rings / xy), pixels of masks, attributes."""
    files = p.media().df().set_index("media_id")["file_name"]
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in p.instances().df().itertuples():
        pts = json.loads(r.points) if isinstance(r.points, str) else None
        d: dict[str, Any] = {"label": r.label, "kind": r.kind, "box": [r.x0, r.y0, r.x1, r.y1],
                             "attributes": json.loads(r.attributes) if isinstance(r.attributes, str) else {}}
        if r.kind == "polygon":
            d["rings"] = [np.asarray(ring, float).reshape(-1, 2) for ring in pts]
        elif r.kind == "mask":
            d["pixels"] = rle_decode(pts)
        elif r.kind in ("keypoints", "point", "line"):
            d["xy"] = np.asarray(pts, float).reshape(-1, 3 if r.kind == "keypoints" else 2)[:, :2]
        out[Path(files[r.media_id]).stem].append(d)
    return out


def _theirs(ds: Any) -> dict[str, list[dict[str, Any]]]:
    """datumaro's annotations in the same shape (polygons of one group and label are one instance)."""
    names = [c.name for c in ds.categories()[AnnotationType.label].items]
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in ds:
        groups: dict[tuple[int, int], dict[str, Any]] = {}
        for a in item.annotations:
            attrs = {k: v for k, v in a.attributes.items() if k != "occluded"}
            d: dict[str, Any] = {"label": names[a.label], "attributes": attrs}
            if a.type == AnnotationType.bbox:
                d.update(kind="box", box=[a.x, a.y, a.x + a.w, a.y + a.h])
            elif a.type == AnnotationType.polygon:
                ring = np.asarray(a.points, float).reshape(-1, 2)
                if a.group and (a.group, a.label) in groups:
                    groups[(a.group, a.label)]["rings"].append(ring)
                    continue
                d.update(kind="polygon", rings=[ring])
                if a.group:
                    groups[(a.group, a.label)] = d
            elif a.type == AnnotationType.mask:
                d.update(kind="mask", pixels=a.image.astype(bool))
            elif a.type == AnnotationType.points:
                d.update(kind="points", xy=np.asarray(a.points, float).reshape(-1, 2))
            elif a.type == AnnotationType.polyline:
                d.update(kind="line", xy=np.asarray(a.points, float).reshape(-1, 2))
            elif a.type == AnnotationType.label:
                d.update(kind="tag")
            out[item.id].append(d)
    return out


def _key(d: dict[str, Any]) -> tuple:
    if "box" in d and d["kind"] == "box":
        first = d["box"][:2]
    elif "rings" in d:
        first = d["rings"][0][0].tolist()
    elif "xy" in d:
        first = d["xy"][0].tolist()
    elif "pixels" in d:
        first = [float(d["pixels"].sum()), 0.0]
    else:
        first = [0.0, 0.0]
    kind = "points" if d["kind"] in ("keypoints", "point") else d["kind"]
    return (d["label"], kind, round(first[0], 1), round(first[1], 1))


def _compare(ours: dict[str, list[dict[str, Any]]], theirs: dict[str, list[dict[str, Any]]],
             attr_text: bool) -> int:
    """Assert both hold the same instances per image; returns how many were compared."""
    assert sorted(ours) == sorted(k for k in theirs if theirs[k] or k in ours)
    n = 0
    for stem in ours:
        a, b = sorted(ours[stem], key=_key), sorted(theirs[stem], key=_key)
        assert [_key(x)[:2] for x in a] == [_key(y)[:2] for y in b], stem
        for x, y in zip(a, b, strict=True):
            if x["kind"] == "box":
                assert np.abs(np.subtract(x["box"], y["box"])).max() <= TOL, (stem, x, y)
            elif x["kind"] == "polygon":
                assert len(x["rings"]) == len(y["rings"]), (stem, x["label"])
                for rx, ry in zip(x["rings"], y["rings"], strict=True):
                    assert rx.shape == ry.shape, (stem, x["label"])
                    assert np.abs(rx - ry).max() <= TOL, (stem, x["label"])
            elif x["kind"] == "mask":
                assert (x["pixels"] == y["pixels"]).all(), stem
            elif "xy" in x:
                assert x["xy"].shape == y["xy"].shape, stem
                assert np.abs(x["xy"] - y["xy"]).max() <= TOL, stem
            want = {k: _text(v) for k, v in x["attributes"].items()} if attr_text else x["attributes"]
            got = {k: _text(v) for k, v in y["attributes"].items()} if attr_text else y["attributes"]
            assert want == got, (stem, x, y)
            n += 1
    return n


def test_datumaro_loads_our_export(coco_proj: nl.Project, tmp_path: Path) -> None:
    out = coco_proj.export_cvat(tmp_path / "cvat" / "default.xml", copy_images=True)
    ds = dm.Dataset.import_from(str(out.parent), "cvat")
    assert len(ds) == 21
    theirs = _theirs(ds)
    # datumaro reads the attributes by their declared input types: select/text as text, checkbox and
    # number as bool and float — the values we wrote
    assert _compare(_ours(coco_proj), theirs, attr_text=True) == 102
    flags = [a for item in ds for a in item.annotations if a.type != AnnotationType.label]
    assert all(a.attributes.get("occluded") is False for a in flags)
    bools = {type(a.attributes["parked"]) for item in ds for a in item.annotations if "parked" in a.attributes}
    assert bools == {bool}


def test_datumaro_loads_every_shape_kind(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (64, 48), (9, 9, 9)).save(tmp_path / "imgs" / "a.png")
    p = nl.open(tmp_path / "p.duckdb")
    p.add_images(tmp_path / "imgs")
    p.schema.add_label("car", spatial=["box", "polygon"])
    p.schema.add_label("person", spatial=["keypoints", "point", "line"])
    p.schema.add_label("night", spatial=["tag"])
    p.schema.add_attribute("color", kind="select", options=["red", "green"], labels=["car"])
    p.schema.add_keypoints("person", points=["head", "l_hand", "r_hand"], skeleton=[(0, 1)])
    # datumaro keeps shapes as float32 rounded to 2 decimals (COORDINATE_ROUNDING_DIGITS), so the
    # coordinates here are on that grid, as coco21's are
    p.add_instance(1, "car", box=[5.5, 6.25, 30.75, 20], attributes={"color": "green"})
    p.add_instance(1, "car", polygon=[[[1, 1], [20, 2], [10, 15]], [[30, 30], [40, 30], [35, 40]]])
    p.add_instance(1, "person", keypoints=[[10, 10, 2], [11, 12, 2], [12.5, 14, 1]])
    p.add_instance(1, "person", point=[3, 4])
    p.add_instance(1, "person", line=[[1, 2], [30, 40], [50, 2]])
    p.add_instance(1, "night", tag=True)
    p.complete(1)
    out = p.export_cvat(tmp_path / "cvat" / "default.xml", copy_images=True)
    ds = dm.Dataset.import_from(str(out.parent), "cvat")
    theirs = _theirs(ds)
    assert sorted(d["kind"] for d in theirs["a"]) == ["box", "line", "points", "points", "polygon", "tag"]
    assert _compare(_ours(p), theirs, attr_text=False) == 6


def _dataset_of(p: nl.Project) -> Any:
    """A datumaro dataset built in code from the coco21 project: boxes as Bbox, each polygon ring as a
    Polygon of the instance's group, the crowd RLE as a Mask, with the instances' attributes."""
    names = list(p.schema.labels()["name"])
    cats = LabelCategories()
    for n in names:
        cats.add(n, attributes=set(ATTRS))
    media = p.media().df()
    items = []
    for stem, instances in _ours(p).items():
        anns: list[Any] = []
        for g, d in enumerate(instances, start=1):
            label, attrs = names.index(d["label"]), d["attributes"]
            if d["kind"] == "box":
                x0, y0, x1, y1 = d["box"]
                anns.append(Bbox(x0, y0, x1 - x0, y1 - y0, label=label, attributes=attrs))
            elif d["kind"] == "polygon":
                anns += [Polygon(ring.ravel().tolist(), label=label, attributes=attrs, group=g) for ring in d["rings"]]
            else:
                anns.append(Mask(image=d["pixels"].astype(np.uint8), label=label, attributes=attrs))
        file_name = media.loc[media["file_name"].map(lambda f: Path(f).stem) == stem, "file_name"].iloc[0]
        items.append(DatasetItem(id=stem, subset="default", annotations=anns,
                                 media=DmImage.from_file(path=str(COCO21 / "images" / file_name))))
    return dm.Dataset.from_iterable(items, categories={AnnotationType.label: cats})


def test_we_import_what_datumaro_writes(coco_proj: nl.Project, tmp_path: Path) -> None:
    ds = _dataset_of(coco_proj)
    out = tmp_path / "dm"
    ds.export(str(out), "cvat", save_media=True)
    assert sorted(f.name for f in out.iterdir()) == ["default.xml", "images"]
    q = nl.open(tmp_path / "q.duckdb")
    r = q.import_cvat(out / "default.xml")  # images/ next to the XML is the default root
    assert r.ok, r.summary()
    assert r.added == 102
    assert sorted(set(q.instances().df()["kind"])) == ["box", "mask", "polygon"]
    # datumaro declares every attribute as text: the values come back as their CVAT text
    assert _compare(_ours(coco_proj), _ours(q), attr_text=True) == 102
    assert set(q.schema.attributes()["kind"]) == {"text"}
    shutil.rmtree(out)
