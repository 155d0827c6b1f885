"""CVAT for images 1.1: round trips on the COCO photos, each shape kind, and bad files refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nblabel as nl
from nblabel.errors import FormatError
from nblabel.geometry import rle_decode
from tests._fixtures import COCO21, copy_project, table_state


@pytest.fixture(scope="module")
def coco_file(coco21_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """coco21 with attribute groups of every kind, set on some instances."""
    f = copy_project(coco21_file, tmp_path_factory.mktemp("coco"))
    p = nl.open(f)
    p.schema.add_attribute("pose", kind="select", options=["front", "side"], labels=["person"])
    p.schema.add_attribute("parked", kind="bool", labels=["motorcycle", "bench"])
    p.schema.add_attribute("note", kind="text")
    p.schema.add_attribute("conf", kind="number", min=0, max=1, step=0.25)
    df = p.instances().df()
    for k, (iid, label) in enumerate(zip(df["instance_id"], df["label"], strict=True)):
        attrs: dict = {"note": f"n{k}, a;b <&>"} if k % 3 == 0 else {}
        if label == "person":
            attrs["pose"] = "side" if k % 2 else "front"
        if label in ("motorcycle", "bench"):
            attrs["parked"] = bool(k % 2)
        if k % 4 == 0:
            attrs["conf"] = 0.75
        if attrs:
            p.update_instance(int(iid), attributes=attrs)
    p.close()
    return f


def _instances(p: nl.Project) -> list[dict]:
    """Every current GT instance as a comparable dict, sorted by image, label, kind and box."""
    df = p.instances().df()
    files = p.media().df().set_index("media_id")["file_name"]
    out = []
    for r in df.itertuples():
        out.append({"file": files[r.media_id], "label": r.label, "kind": r.kind,
                    "box": np.array([r.x0, r.y0, r.x1, r.y1]),
                    "points": json.loads(r.points) if isinstance(r.points, str) else None,
                    "attributes": json.loads(r.attributes) if isinstance(r.attributes, str) else {}})
    return sorted(out, key=lambda d: (d["file"], d["label"], d["kind"], *np.round(d["box"], 2)))


def _same(a: list[dict], b: list[dict], tol: float = 1e-3) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x["file"], x["label"], x["kind"]) == (y["file"], y["label"], y["kind"])
        assert x["attributes"] == y["attributes"], (x, y)
        if x["kind"] == "mask":  # CVAT keeps the pixels; the box is theirs (COCO's crowd bbox may differ by 1 px)
            assert (rle_decode(x["points"]) == rle_decode(y["points"])).all()
            continue
        assert np.abs(x["box"] - y["box"]).max() <= tol, (x, y)
        if x["points"] is not None:
            assert len(x["points"]) == len(y["points"])
            for rx, ry in zip(x["points"], y["points"], strict=True):
                assert np.abs(np.asarray(rx, float) - np.asarray(ry, float)).max() <= tol


def test_round_trip_coco21(coco_proj: nl.Project, tmp_path: Path) -> None:
    out = coco_proj.export_cvat(tmp_path / "cvat" / "annotations.xml")
    text = out.read_text()
    assert text.count("<image ") == 21
    assert "<mask " in text and 'group_id="1"' in text  # the crowd RLE, a polygon of several rings
    q = nl.open(tmp_path / "q.duckdb")
    r = q.import_cvat(out, images=COCO21 / "images")
    assert r.ok, r.summary()
    assert r.added == 102
    a, b = _instances(coco_proj), _instances(q)
    assert sum(1 for d in a if d["attributes"]) > 30
    _same(a, b)
    assert sorted(q.schema.attributes()["name"]) == ["conf", "note", "parked", "pose"]
    assert len(r.extra["complete"]) == 21
    # importing the export into the project it came from adds nothing (the repeats rule) but the crowd
    # mask: its box comes from its pixels, and COCO's file gives it a bbox 1 px smaller than they are
    again = coco_proj.import_cvat(out, images=COCO21 / "images")
    assert again.ok and again.added == 1, again.summary()
    assert coco_proj.instances().df().set_index("instance_id").loc[again.ids[0], "kind"] == "mask"


def test_export_is_deterministic_and_reexport_equal(coco_proj: nl.Project, tmp_path: Path) -> None:
    a = coco_proj.export_cvat(tmp_path / "a.xml").read_bytes()
    b = coco_proj.export_cvat(tmp_path / "b.xml").read_bytes()
    assert a.replace(b"<name>a</name>", b"<name>b</name>") == b


@pytest.fixture
def shapes_proj(proj: nl.Project) -> nl.Project:
    """The conftest project with one instance of every kind and the CVAT fields in extra."""
    proj.add_instance(1, "car", box=[5.5, 6.25, 30.125, 20], attributes={"color": "red", "occluded": True})
    proj.add_instance(1, "car", polygon=[[[1, 1], [20, 2], [10, 15]], [[30, 30], [40, 30], [35, 40]]])
    proj.add_instance(1, "person", keypoints=[[10, 10, 2], [0, 0, 0], [12.5, 14, 1]])
    proj.add_instance(1, "person", point=[3, 4])
    proj.add_instance(1, "person", line=[[1, 2], [30, 40], [50, 2]])
    proj.add_instance(1, "night", tag=True)
    proj.add_instance(2, "car", box=[1, 1, 9, 9])
    with proj.store.transaction() as con:
        con.execute("UPDATE instances SET extra = '{\"z_order\": 3, \"occluded\": false, \"source\": \"auto\"}' "
                    "WHERE instance_id = 7")
    proj.complete([1, 2])
    return proj


def test_each_shape_kind_round_trips(shapes_proj: nl.Project, tmp_path: Path, image_dir: Path) -> None:
    out = shapes_proj.export_cvat(tmp_path / "annotations.xml", include_incomplete=True)
    text = out.read_text()
    for tag in ("<box ", "<polygon ", "<points ", "<polyline ", "<tag ", 'visibility="2,0,1"',
                '<attribute name="color">red</attribute>', 'occluded="1"', 'z_order="3"', 'source="auto"'):
        assert tag in text, tag
    assert text.count("<polygon ") == 2  # one per ring, sharing a group id
    # into a project with the same schema: every instance back, the same kinds
    q = nl.open(tmp_path / "q.duckdb")
    q.schema.load_dict(shapes_proj.schema.to_dict())
    r = q.import_cvat(out, images=image_dir)
    assert r.ok, r.summary()
    _same(_instances(shapes_proj), _instances(q))
    extras = [json.loads(e) for e in q.instances().df()["extra"] if isinstance(e, str)]
    assert {"z_order": 3, "occluded": False, "source": "auto"} in extras
    # into an empty project: labels and attributes come from <meta>; without a template, several points
    # are keypoints (their visibility kept) and one point is a point
    e = nl.open(tmp_path / "e.duckdb")
    r = e.import_cvat(out, images=image_dir)
    assert r.ok, r.summary()
    kinds = sorted(e.instances().df()["kind"])
    assert kinds == ["box", "box", "keypoints", "line", "point", "polygon", "tag"]
    attrs = e.schema.attributes().set_index("name")
    assert attrs.loc["color", "kind"] == "select" and attrs.loc["occluded", "kind"] == "bool"


def test_rotated_box_becomes_polygon_and_groups_merge(tmp_path: Path) -> None:
    Image.new("RGB", (100, 80)).save(tmp_path / "a.png")
    (tmp_path / "annotations.xml").write_text(
        '<annotations><version>1.1</version><meta><task><labels><label><name>car</name><attributes>'
        '<attribute><name>n</name><input_type>number</input_type><default_value>1</default_value>'
        '<values>0\n10\n1</values></attribute></attributes></label></labels></task></meta>'
        '<image id="0" name="a.png" width="100" height="80">'
        '<box label="car" xtl="10" ytl="10" xbr="30" ybr="20" rotation="90"><attribute name="n">3</attribute></box>'
        '<polygon label="car" points="1,1;9,1;5,8" group_id="4"/><polygon label="car" points="50,50;60,50;55,58" '
        'group_id="4"/><mask label="car" rle="2, 3, 1" left="5" top="6" width="3" height="2"/></image></annotations>')
    p = nl.open(":memory:")
    r = p.import_cvat(tmp_path / "annotations.xml", images=tmp_path)
    assert r.ok, r.summary()
    assert any("rotated" in n for n in r.notes)
    df = p.instances().df().sort_values("instance_id")
    assert list(df["kind"]) == ["polygon", "polygon", "mask"]
    corners = np.array(json.loads(df["points"].iloc[0])[0])
    assert np.allclose(corners.min(axis=0), [15, 5]) and np.allclose(corners.max(axis=0), [25, 25])
    assert json.loads(df["attributes"].iloc[0]) == {"n": 3.0}
    assert len(json.loads(df["points"].iloc[1])) == 2
    mask = rle_decode(json.loads(df["points"].iloc[2]))
    assert mask.sum() == 3 and mask[6, 7] and mask[7, 5] and mask[7, 6]  # row-major runs over the mask box
    assert [df["x0"].iloc[2], df["y0"].iloc[2], df["x1"].iloc[2], df["y1"].iloc[2]] == [5, 6, 8, 8]
    lo, hi, step = p.schema.attributes().set_index("name").loc["n", ["min", "max", "step"]]
    assert (lo, hi, step) == (0, 10, 1)


# -- bad files ---------------------------------------------------------------------------------

def _doc(images: str, meta: str = "<label><name>car</name></label>") -> str:
    return (f'<annotations><version>1.1</version><meta><task><labels>{meta}</labels></task></meta>\n'
            f"{images}\n</annotations>")


@pytest.fixture
def imgs(tmp_path: Path) -> Path:
    d = tmp_path / "imgs"
    d.mkdir()
    for n in ("a", "b"):
        Image.new("RGB", (100, 50), (ord(n), 0, 0)).save(d / f"{n}.png")
    (tmp_path / "secret.png").write_bytes((d / "a.png").read_bytes())
    return d


def test_malformed_xml_names_file_and_line(tmp_path: Path, imgs: Path) -> None:
    f = tmp_path / "annotations.xml"
    f.write_text('<annotations>\n<image id="0" name="a.png" width="100" height="50">\n<box label="car"\n'
                 "</annotations>")
    p = nl.open(":memory:")
    before = table_state(p)
    with pytest.raises(FormatError, match=r"annotations.xml' is not well-formed XML at line 4"):
        p.import_cvat(f, images=imgs)
    f.write_text("<annotation/>")
    with pytest.raises(FormatError, match="has root <annotation>"):
        p.import_cvat(f, images=imgs)
    with pytest.raises(FormatError, match="does not exist"):
        p.import_cvat(tmp_path / "nope.xml", images=imgs)
    assert table_state(p) == before


@pytest.mark.parametrize("decl", [
    '<!DOCTYPE a [<!ENTITY x "xxxxxxxx">]>',
    '<!DOCTYPE annotations SYSTEM "http://example.invalid/a.dtd">',
    '<!ENTITY % p SYSTEM "file:///etc/passwd">',
])
def test_entities_and_dtds_refused(tmp_path: Path, imgs: Path, decl: str) -> None:
    f = tmp_path / "annotations.xml"
    f.write_text(f'<?xml version="1.0"?>\n{decl}\n' + _doc('<image id="0" name="a.png" width="100" height="50">'
                                                           '<box label="car" xtl="1" ytl="1" xbr="5" ybr="5"/></image>'))
    p = nl.open(":memory:")
    before = table_state(p)
    with pytest.raises(FormatError, match="DOCTYPE/ENTITY declaration"):
        p.import_cvat(f, images=imgs)
    assert table_state(p) == before


def test_bad_shapes_reported_with_lines(tmp_path: Path, imgs: Path) -> None:
    f = tmp_path / "annotations.xml"
    f.write_text(_doc(
        '<image id="0" name="a.png" width="100" height="50">\n'
        '<box label="car" xtl="1" ytl="1" xbr="5" ybr="5"/>\n'
        '<box label="cra" xtl="1" ytl="1" xbr="5" ybr="5"/>\n'
        '<box label="car" xtl="x" ytl="1" xbr="5" ybr="5"/>\n'
        '<box label="car" xtl="9" ytl="1" xbr="5" ybr="5"/>\n'
        '<ellipse label="car" cx="5" cy="5" rx="2" ry="2"/>\n'
        '<box label="car" xtl="1" ytl="1" xbr="5" ybr="5"><attribute name="zz">1</attribute></box>\n'
        '</image>\n'
        '<image id="1" name="b.png" width="100" height="50"><box label="car" xtl="2" ytl="2" xbr="8" ybr="8"/></image>\n'
        '<image id="2" name="missing.png" width="100" height="50"/>\n'
        '<image id="3" name="../secret.png" width="100" height="50"/>\n'
        '<image id="4" name="a.png" width="-100" height="50"/>\n'
        '<track id="0" label="car"/>'))
    p = nl.open(tmp_path / "p.duckdb")
    r = p.import_cvat(f, images=imgs)
    problems = {x.item.split(" ")[0]: x.reason for x in r.problems}
    assert "neither declared" in problems["annotations.xml:4"] and "'cra'" in problems["annotations.xml:4"]
    assert "xtl='x' is not a number" in problems["annotations.xml:5"]
    assert "annotations.xml:6" in problems  # xbr < xtl: the store's box check
    assert "no nblabel form" in problems["annotations.xml:7"]
    assert "'zz' is declared neither" in problems["annotations.xml:8"]
    assert "does not exist" in problems["annotations.xml:11"]
    assert "escapes the image root" in problems["annotations.xml:12"]
    assert "positive whole number" in problems["annotations.xml:13"]
    assert "video" in problems["annotations.xml:14"]
    assert r.added == 2  # the good box of a.png and b.png's box
    assert p.status("b.png")["state"] == "complete" and p.status("a.png")["state"] != "complete"
    # errors="raise": the same file refuses everything, nothing stored changes
    q = nl.open(tmp_path / "q.duckdb")
    before = table_state(q)
    with pytest.raises(FormatError):
        q.import_cvat(f, images=imgs, errors="raise")
    assert table_state(q) == before


def test_size_mismatch_and_outside_root_allowed(tmp_path: Path, imgs: Path) -> None:
    f = tmp_path / "annotations.xml"
    f.write_text(_doc('<image id="0" name="a.png" width="50" height="50"><box label="car" xtl="1" ytl="1" xbr="5" '
                      'ybr="5"/></image><image id="1" name="../secret.png" width="100" height="50"><box label="car" '
                      'xtl="1" ytl="1" xbr="120" ybr="5"/></image>'))
    p = nl.open(":memory:")
    r = p.import_cvat(f, images=imgs, allow_outside_root=True)
    assert [x.item.split(" ")[0] for x in r.problems] == ["annotations.xml:2"]
    assert "the XML says 50x50 but the image is 100x50" in r.problems[0].reason
    assert r.added == 1 and any("past the image border; stored as given" in n for n in r.notes)
    assert p.instances().df()["x1"].tolist() == [120.0]
    c = nl.open(":memory:")
    c.import_cvat(f, images=imgs, allow_outside_root=True, clip=True)
    assert c.instances().df()["x1"].tolist() == [100.0]


def test_replace_mode_and_bad_arguments(tmp_path: Path, imgs: Path) -> None:
    f = tmp_path / "annotations.xml"
    f.write_text(_doc('<image id="0" name="a.png" width="100" height="50"><box label="car" xtl="1" ytl="1" xbr="5" '
                      'ybr="5"/></image>'))
    p = nl.open(":memory:")
    assert p.import_cvat(f, images=imgs).added == 1
    assert p.import_cvat(f, images=imgs).added == 0
    assert p.import_cvat(f, images=imgs, mode="append").added == 1
    assert p.import_cvat(f, images=imgs, mode="replace").added == 1
    assert len(p.instances().df()) == 1
    with pytest.raises(nl.ValidationError, match="errors="):
        p.import_cvat(f, images=imgs, errors="ignore")
    with pytest.raises(FormatError, match="holds 0 .xml files"):
        p.import_cvat(imgs)


def test_export_leaves_incomplete_out_and_copies_images(shapes_proj: nl.Project, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="1 media item"):
        out = shapes_proj.export_cvat(tmp_path / "x" / "annotations.xml", copy_images=True)
    assert out.read_text().count("<image ") == 2
    assert sorted(p.name for p in (tmp_path / "x" / "images").iterdir()) == ["a.jpg", "b.jpg"]
    with pytest.raises(nl.ValidationError, match="is a folder"):
        shapes_proj.export_cvat(tmp_path)
