import json
import math

import numpy as np
import pandas as pd
import pytest

import nblabel as nl


def test_every_spatial_type_round_trips(proj):
    ids = [
        proj.add_instance(1, "car", box=[1, 2, 30, 40], attributes={"color": "green"}),
        proj.add_instance(1, "car", polygon=[[1, 1], [20, 1], [20, 15], [1, 15]]),
        proj.add_instance(1, "person", keypoints=[[10, 10, 2], [12, 20, 1], [0, 0, 0]]),
        proj.add_instance(1, "person", point=[5, 6]),
        proj.add_instance(1, "person", line=[[1, 1], [30, 20], [40, 5]]),
        proj.add_instance(1, "night", tag=True),
        proj.add_instance(2, "car", box=[10, 10, 20, 20], box_format="xywh"),
    ]
    df = proj.instances().df().set_index("instance_id")
    assert list(df.index) == ids
    assert df.loc[ids[0], ["x0", "y0", "x1", "y1"]].tolist() == [1, 2, 30, 40]
    assert json.loads(df.loc[ids[0], "attributes"]) == {"color": "green"}
    assert json.loads(df.loc[ids[1], "points"]) == [[[1, 1], [20, 1], [20, 15], [1, 15]]]
    assert df.loc[ids[1], ["x0", "y0", "x1", "y1"]].tolist() == [1, 1, 20, 15]  # extent filled
    # extent of keypoints covers visible/labeled points only
    assert df.loc[ids[2], ["x0", "y0", "x1", "y1"]].tolist() == [10, 10, 12, 20]
    assert df.loc[ids[4], "kind"] == "line"
    assert df.loc[ids[5], ["x0", "y0", "x1", "y1"]].tolist() == [0, 0, 64, 48]  # a tag spans the image
    assert df.loc[ids[6], ["x0", "y0", "x1", "y1"]].tolist() == [10, 10, 30, 30]


@pytest.mark.parametrize(("box", "msg"), [
    ([float("nan"), 1, 5, 5], "NaN or infinite"),
    ([1, 1, math.inf, 5], "NaN or infinite"),
    ([5, 5, 5, 9], "no area"),
    ([9, 5, 2, 9], "no area"),
    ([100, 100, 200, 200], "entirely outside"),
])
def test_bad_boxes_refused(proj, box, msg):
    with pytest.raises(nl.GeometryError if False else nl.ValidationError, match=msg):
        proj.add_instance(1, "car", box=box)
    assert proj.instances().count() == 0


def test_out_of_image_clipped_with_warning_or_refused_when_strict(proj):
    with pytest.warns(UserWarning, match="clipped"):
        i = proj.add_instance(1, "car", box=[-5, -5, 70, 30])
    assert proj.instances().df().iloc[0][["x0", "y0", "x1", "y1"]].tolist() == [0, 0, 64, 30]
    with pytest.raises(nl.ValidationError, match="strict"):
        proj.add_instance(1, "car", box=[-5, -5, 70, 30], strict=True)
    with pytest.warns(UserWarning):
        proj.add_instance(1, "car", polygon=[[-3, 1], [20, 1], [20, 15]])
    with pytest.raises(nl.ValidationError):
        proj.add_instance(1, "car", polygon=[[float("nan"), 1], [20, 1], [20, 15]])
    assert i == 1


def test_keypoints_must_match_template(proj):
    with pytest.raises(nl.ValidationError, match="template has 3"):
        proj.add_instance(1, "person", keypoints=[[1, 1, 2]])


def test_history_update_delete_restore(proj):
    i = proj.add_instance(1, "car", box=[1, 1, 10, 10], attributes={"color": "red"})
    assert proj.update_instance(i, box=[2, 2, 12, 12]) == 2
    assert proj.update_instance(i, label="person") == 3
    assert proj.update_instance(i, attributes={}) == 4
    with pytest.raises(nl.NblabelError, match="version 4, not 2"):
        proj.update_instance(i, box=[3, 3, 9, 9], expected_version=2)
    assert proj.delete_instance(i) == 5
    assert proj.instances().count() == 0
    h = proj.history(i)
    assert h["version"].tolist() == [1, 2, 3, 4, 5]
    assert h["label"].tolist()[:3] == ["car", "car", "person"]
    assert h["deleted"].tolist() == [False] * 4 + [True]
    assert (h["author"] == "tester").all()
    assert h["superseded_at"].isna().tolist() == [False] * 4 + [True]
    assert proj.restore(i, 1) == 6
    cur = proj.instances().df().iloc[0]
    assert (cur["label"], cur["x1"], json.loads(cur["attributes"])) == ("car", 10, {"color": "red"})
    with pytest.raises(nl.NblabelError, match="no version 9"):
        proj.restore(i, 9)
    with pytest.raises(nl.ValidationError, match="unknown change"):
        proj.update_instance(i, colour="red")


def test_update_validates(proj):
    i = proj.add_instance(1, "car", box=[1, 1, 10, 10])
    with pytest.raises(nl.ValidationError):
        proj.update_instance(i, box=[1, 1, float("nan"), 3])
    with pytest.raises(nl.SchemaError, match="did you mean 'car'"):
        proj.update_instance(i, label="cra")
    assert len(proj.history(i)) == 1


def test_add_instances_batch_is_atomic_by_default(proj):
    df = pd.DataFrame({"file_name": ["a.jpg", "b.jpg", "a.jpg"], "label": ["car", "car", "cra"],
                       "x": [1, 2, 3], "y": [1, 2, 3], "w": [5, 5, 5], "h": [5, 5, 5]})
    with pytest.raises(nl.FormatError, match=r"row 2: label 'cra' is not in the schema; did you mean 'car'\?"):
        proj.add_instances(df, box_format="xywh")
    assert proj.instances().count() == 0
    r = proj.add_instances(df, box_format="xywh", errors="report")
    assert (r.added, r.skipped, len(r.problems)) == (2, 1, 1)
    assert proj.instances().count() == 2


def test_relative_coords_and_formats(proj):
    df = pd.DataFrame({"media_id": [1], "label": ["car"], "cx": [0.5], "cy": [0.5], "w": [0.5], "h": [0.5]})
    proj.add_instances(df, box_format="cxcywh", coords="relative")
    assert proj.instances().df().iloc[0][["x0", "y0", "x1", "y1"]].tolist() == [16, 12, 48, 36]


def test_relative_points_are_refused_not_stored_wrong(proj):
    df = pd.DataFrame({"media_id": [1], "label": ["car"], "kind": ["polygon"],
                       "points": [[[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]]]})
    with pytest.raises(nl.ValidationError, match="absolute pixels"):
        proj.add_instances(df, coords="relative")
    assert proj.instances().count() == 0


def test_runs_and_predictions(proj):
    run = proj.add_run("yolo-v8n@640", params={"conf": 0.25})
    df = pd.DataFrame({"file_name": ["a.jpg", "nope.jpg", "b.jpg", "b.jpg", "a.jpg"],
                       "label": ["car", "car", "bus", "car", "car"],
                       "x0": [1, 1, 1, 1, 1], "y0": [1, 1, 1, 1, 1], "x1": [9, 9, 9, 9, 9], "y1": [9, 9, 9, 9, 9],
                       "score": [0.9, 0.8, 0.7, 0.1, float("nan")]})
    r = run.add_predictions(df, min_score=0.2)
    assert r.added == 1 and r.skipped == 4
    reasons = " | ".join(p.reason for p in r.problems)
    assert "unknown media 'nope.jpg'" in reasons and "label 'bus'" in reasons
    assert any("min_score" in n for n in r.notes)
    assert run.predictions().count() == 1
    assert proj.instances().count() == 0  # predictions are not ground truth
    assert proj.instances(run="*").count() == 1
    with pytest.raises(nl.ValidationError, match="exists already"):
        proj.add_run("yolo-v8n@640")
    assert proj.runs()["n_predictions"].tolist() == [1]
    # relative xywh as a list of dicts
    r2 = run.add_predictions([{"media_id": 2, "label": "car", "x": 0.1, "y": 0.1, "w": 0.5, "h": 0.5, "score": 0.5}],
                             coords="relative", box_format="xywh")
    assert r2.added == 1
    b = proj.instances(run).df().sort_values("instance_id").iloc[-1]
    assert np.allclose(b[["x0", "y0", "x1", "y1"]].astype(float), [8, 6, 48, 36])


def test_predictions_errors_raise_refuses_all(proj):
    run = proj.add_run("m")
    with pytest.raises(nl.FormatError, match="unknown media"):
        run.add_predictions([{"file_name": "zzz.jpg", "label": "car", "x0": 1, "y0": 1, "x1": 3, "y1": 3,
                              "score": 1.0},
                             {"file_name": "a.jpg", "label": "car", "x0": 1, "y0": 1, "x1": 3, "y1": 3,
                              "score": 1.0}], errors="raise")
    assert run.predictions().count() == 0


def test_sql_injection_label_is_plain_data(proj):
    evil = "x'); DROP TABLE media; --"
    proj.schema.add_label(evil)
    i = proj.add_instance(1, evil, box=[1, 1, 5, 5])
    assert proj.instances().labels(evil).ids() == [i]
    proj.schema.rename_label(evil, evil + "2")
    assert proj.media().count() == 3
    assert proj.media().where("file_name = ?", [evil]).count() == 0
    with pytest.raises(nl.ValidationError, match="cannot sort by"):
        proj.media().sort_by("width; DROP TABLE media")
    assert proj.media().count() == 3
