import pytest

import nblabel as nl


@pytest.fixture
def p():
    return nl.open(":memory:")


def test_issue_example_schema(p):
    s = p.schema
    s.add_label("car", spatial=["box", "polygon"], hotkey="1", guide="any motor vehicle")
    s.add_attribute("occluded", kind="bool", labels=["car"])
    s.add_attribute("color", kind="select", options=["red", "green"], labels=["car"])
    s.add_attribute("damage", kind="multiselect", options=["dent", "scratch"], parent=("color", "red"))
    s.add_attribute("ripeness", kind="number", min=0, max=1, step=0.1)
    s.add_attribute("notes", kind="text")
    s.add_attribute("seen", kind="date")
    s.add_attribute("at", kind="time")
    s.add_keypoints("person", points=["nose", "l_eye", "r_eye"], skeleton=[(0, 1), (0, 2)], sigmas=[0.26, 0.25, 0.25])
    v = s.version
    assert v == 10  # 8 changes + add_keypoints on a new label (label + template)
    lid = s.state().label("car").id
    s.rename_label("car", "vehicle")
    assert s.version == v + 1
    st = s.state()
    assert st.label("vehicle").id == lid
    assert list(s.label_history("vehicle")["name"]) == ["car", "vehicle"]
    d = s.to_dict()
    damage = next(a for a in d["attributes"] if a["name"] == "damage")
    assert damage["parent"] == ["color", "red"]
    assert damage["labels"] == ["vehicle"]  # inherited from its parent
    s2 = nl.Schema.from_dict(d)
    d2 = s2.to_dict()
    assert {k: v for k, v in d2.items() if k != "version"} == {k: v for k, v in d.items() if k != "version"}
    kp = next(lab for lab in d["labels"] if lab["name"] == "person")["keypoints"]
    assert kp["points"] == ["nose", "l_eye", "r_eye"] and kp["sigmas"] == [0.26, 0.25, 0.25]


def test_unknown_names_suggest(p):
    p.schema.add_label("car")
    p.schema.add_attribute("color", kind="select", options=["red", "green"])
    with pytest.raises(nl.SchemaError, match="did you mean 'car'"):
        p.schema.state().label("cra")
    with pytest.raises(nl.SchemaError, match="did you mean 'color'"):
        p.schema.state().attribute("colour")
    with pytest.raises(nl.SchemaError, match="did you mean 'red'"):
        p.schema.add_attribute("shade", kind="multiselect", options=["x"], parent=("color", "rde"))
    with pytest.raises(nl.ValidationError, match="did you mean 'polygon'"):
        p.schema.add_label("bus", spatial=["polygn"])
    with pytest.raises(nl.ValidationError, match="did you mean 'select'"):
        p.schema.add_attribute("x", kind="selct", options=["a"])


def test_bad_definitions(p):
    with pytest.raises(nl.ValidationError, match="needs options"):
        p.schema.add_attribute("c", kind="select")
    with pytest.raises(nl.ValidationError, match="min 2 is above max 1"):
        p.schema.add_attribute("n", kind="number", min=2, max=1)
    with pytest.raises(nl.ValidationError, match="outside"):
        p.schema.add_keypoints("face", points=["a", "b"], skeleton=[(0, 5)])
    with pytest.raises(nl.ValidationError, match="one positive number per point"):
        p.schema.add_keypoints("face", points=["a", "b"], sigmas=[0.1])
    p.schema.add_label("car")
    with pytest.raises(nl.SchemaError, match="already exists"):
        p.schema.add_label("car")
    assert p.schema.version == 1  # refused changes do not bump the version


def test_values_checked_against_kind_and_range(proj):
    proj.schema.add_attribute("ripeness", kind="number", min=0, max=1)
    proj.schema.add_attribute("seen", kind="date")
    proj.schema.add_attribute("at", kind="time")
    proj.schema.add_attribute("tags", kind="multiselect", options=["a", "b"])
    ok = proj.add_instance(1, "car", box=[1, 1, 5, 5], attributes={
        "color": "red", "occluded": True, "ripeness": 0.5, "seen": "2024-02-29", "at": "13:05", "tags": ["a", "b"]})
    assert ok == 1
    bad = [
        ({"color": "blue"}, "did you mean|choose one of"),
        ({"occluded": "yes"}, "True or False"),
        ({"ripeness": 1.5}, "above its maximum"),
        ({"ripeness": float("nan")}, "finite"),
        ({"seen": "2024-02-30"}, "date like"),
        ({"at": "25:00"}, "time like"),
        ({"tags": ["c"]}, "not defined"),
        ({"colour": "red"}, "did you mean 'color'"),
    ]
    for attrs, msg in bad:
        with pytest.raises(nl.ValidationError, match=msg):
            proj.add_instance(1, "car", box=[1, 1, 5, 5], attributes=attrs)
    # an attribute bound to 'car' does not apply to 'person'
    with pytest.raises(nl.ValidationError, match="does not apply to label 'person'"):
        proj.add_instance(1, "person", box=[1, 1, 5, 5], attributes={"color": "red"})
    assert proj.instances().count() == 1


def test_spatial_type_not_allowed_is_refused(proj):
    with pytest.raises(nl.ValidationError, match="does not allow polygons"):
        proj.add_instance(1, "person", polygon=[[1, 1], [5, 1], [5, 5]])
    with pytest.raises(nl.ValidationError, match="does not allow boxs|does not allow box"):
        proj.add_instance(1, "night", box=[1, 1, 5, 5])
    assert proj.add_instance(1, "night", tag=True) > 0


def test_stale_completion_after_schema_change(proj):
    proj.complete([1, 2])
    s = proj.status_summary()
    assert s.set_index("state")["count"].to_dict() == {"complete": 2, "new": 1}
    proj.schema.add_attribute("weather", kind="select", options=["sun", "rain"])
    s = proj.status_summary()
    assert s.set_index("state")["count"].to_dict() == {"stale": 2, "new": 1}
    assert proj.status(1)["stale"] is True
    proj.complete(1)
    assert proj.status_summary().set_index("state")["count"].to_dict() == {"complete": 1, "stale": 1, "new": 1}
