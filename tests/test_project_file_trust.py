"""A project file, and the messages that change it, are treated as data (issue 8, §7 and §8).

Damaged, full or foreign files give an nblabel error that names the file and the fix; what a file
holds never runs as SQL (dataset rules are method calls, our views are recreated from code, foreign
functions are refused); the annotator's messages change only the items and instances it was opened on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import nblabel as nl
from nblabel.errors import NotFoundError, ValidationError
from nblabel.widgets._protocol import dispatch


def _images(n: int) -> list[np.ndarray]:
    return [np.full((40, 60, 3), 10 * i, np.uint8) for i in range(n)]


def _filled(path: Path, n_instances: int = 30) -> nl.Project:
    p = nl.open(path)
    p.add_images(_images(3))
    p.schema.add_label("car")
    p.schema.add_label("person")
    for i in range(n_instances):
        p.add_instance(1 + i % 3, "car" if i % 2 else "person", box=[1, 1, 10 + i % 20, 12])
    return p


# -- §8: an unknown run is one error type everywhere --------------------------------------------
def test_unknown_run_is_not_found_with_did_you_mean_in_evaluate_and_instances() -> None:
    p = nl.open(":memory:")
    p.add_run("m@640")
    for call in (lambda: p.instances(run="m@64"), lambda: p.evaluate("m@64"),
                 lambda: p.disagreements("m@64")):
        with pytest.raises(NotFoundError, match=r"run 'm@64' does not exist; did you mean 'm@640'\?") as e:
            call()
        assert isinstance(e.value, KeyError)
        assert "proj.add_run(name)" in str(e.value)


# -- §8: the annotator changes only its queue's items, and only ground truth -----------------------
@pytest.fixture()
def two_items() -> tuple[nl.Project, dict[str, int]]:
    p = nl.open(":memory:")
    p.add_images(_images(2))
    p.schema.add_label("car")
    run = p.add_run("m")
    ids = {
        "gt_in": p.add_instance(1, "car", box=[1, 1, 20, 20]),
        "gt_out": p.add_instance(2, "car", box=[2, 2, 22, 22]),
    }
    p.add_instances(pd.DataFrame({"media_id": [1, 2], "label": ["car", "car"], "x0": [3.0, 4.0], "y0": [3.0, 4.0],
                                  "x1": [30.0, 30.0], "y1": [30.0, 30.0], "score": [0.9, 0.8]}), run=run)
    preds = p.instances(run="m").df().sort_values("media_id")["instance_id"].tolist()
    ids["pred_in"], ids["pred_out"] = int(preds[0]), int(preds[1])
    return p, ids


def _ask(w: object, kind: str, **msg: object) -> dict:
    return dispatch(w, {"id": "t", "kind": kind, **msg})[0]


def _state(p: nl.Project) -> list[tuple]:
    df = p.instances(run="*").df().sort_values("instance_id")
    return [tuple(r) for r in df[["instance_id", "version", "x0", "y0", "x1", "y1"]].itertuples(index=False)]


def test_annotator_refuses_to_delete_or_edit_outside_its_queue(two_items: tuple[nl.Project, dict[str, int]]) -> None:
    p, ids = two_items
    w = p.annotate([1])
    before = _state(p)
    refusals = [
        _ask(w, "save", op="delete", instance_id=ids["gt_out"], media_id=1),
        _ask(w, "save", op="update", instance={"id": ids["gt_out"], "kind": "box", "box": [0, 0, 5, 5]}, media_id=1),
        _ask(w, "save", op="create", instance={"label_id": 1, "kind": "box", "box": [0, 0, 5, 5], "cid": "c"},
             media_id=2),
        _ask(w, "verdict", verdict="delete_gt", gt_id=ids["gt_out"], media_id=1),
        _ask(w, "accept", pred_id=ids["pred_out"]),
        _ask(w, "status", state="complete", media_id=2, seconds_active=1),
        _ask(w, "copy_to_next", instance_ids=[ids["gt_out"]], media_id=1),
    ]
    for r in refusals:
        assert r["ok"] is False and r["error_type"] == "ValidationError", r
        assert "not in this annotator's queue" in r["error"] or "no next item" in r["error"], r
    assert _state(p) == before
    assert p.status(2)["state"] == "new"
    # the same requests on the queue's own item work
    assert _ask(w, "save", op="update", instance={"id": ids["gt_in"], "kind": "box", "box": [0, 0, 5, 5]},
                media_id=1)["ok"]
    assert _ask(w, "save", op="delete", instance_id=ids["gt_in"], media_id=1)["ok"]
    assert _ask(w, "save", op="delete", instance_id=ids["gt_in"], media_id=1)["ok"]  # a retried delete


def test_annotator_refuses_to_edit_or_delete_a_prediction(two_items: tuple[nl.Project, dict[str, int]]) -> None:
    p, ids = two_items
    w = p.annotate([1, 2])
    before = _state(p)
    for r in (_ask(w, "save", op="update", instance={"id": ids["pred_in"], "kind": "box", "box": [0, 0, 5, 5]},
                   media_id=1),
              _ask(w, "save", op="delete", instance_id=ids["pred_in"], media_id=1),
              _ask(w, "verdict", verdict="delete_gt", gt_id=ids["pred_in"], media_id=1)):
        assert r["ok"] is False and "is a prediction of run 'm'" in r["error"], r
        assert "accept it to copy it into ground truth" in r["error"]
    assert _state(p) == before
    # accepting the prediction (a ground-truth copy) is the way, and still works
    assert _ask(w, "accept", pred_id=ids["pred_in"])["ok"]
    assert p.instances().count() == 3
