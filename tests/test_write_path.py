"""The instance write path's fast branches store and check exactly what the reference rules do.

Batch writes of point geometry flatten uniform input with one ``np.asarray`` and build the
``points`` column's JSON text in DuckDB; the one-row branch (the annotator's save) reads the schema
state and media sizes from caches. These tests pin both to the slow, obvious behaviour: the text
``json.dumps`` writes of the reference check's result, and caches that follow schema changes made
elsewhere and media inserts that were rolled back.
"""

from __future__ import annotations

import contextlib
import json
import math

import duckdb
import numpy as np
import pandas as pd
import pytest

import nblabel as nl
from nblabel.store import Session, _edits
from nblabel.store._check_points import check_points, check_points_row
from nblabel.store._points_flat import _walk, flatten
from nblabel.store._points_json import points_json

W, H = 64, 48


def _project(tmp_path, name="p"):
    p = nl.open(":memory:", author="t", media_dir=tmp_path / name)
    p.add_images([np.full((H, W, 3), i, np.uint8) for i in range(2)])
    p.schema.add_label("car", spatial=["box", "polygon", "line", "point"])
    p.schema.add_keypoints("person", points=["a", "b", "c"], skeleton=[(0, 1)])
    return p


def _stored(p):
    with p.store.read() as con:
        return [r[0] for r in con.execute("SELECT points::VARCHAR FROM instances ORDER BY instance_id").fetchall()]


def _reference_text(kind, pts, n_kp=None):
    checked, _, _ = check_points_row(kind, pts, float(W), float(H), False, n_kp)
    return json.dumps(checked)


RNG = np.random.default_rng(3)
_RING = np.stack([20 + 9 * np.cos(np.linspace(0, 6, 5)), 20 + 7 * np.sin(np.linspace(0, 6, 5))], -1)
CASES = {
    "polygon pairs": ("polygon", [(_RING + i).tolist() for i in range(6)]),
    "polygon flat": ("polygon", [(_RING + i).ravel().tolist() for i in range(6)]),
    "polygon rings of pairs": ("polygon", [[(_RING + i).tolist(), (_RING + i + 3).tolist()] for i in range(6)]),
    "polygon flat rings": ("polygon", [[(_RING + i).ravel().tolist()] for i in range(6)]),
    "polygon arrays": ("polygon", [_RING + i for i in range(6)]),
    "polygon ints": ("polygon", [[[1, 1], [30, 2], [20, 25 + i]] for i in range(6)]),
    "polygon ragged": ("polygon", [_RING[: 3 + i % 3].tolist() for i in range(6)]),
    # numbers Python prints in exponent notation: the VARCHAR-cast branch
    "polygon odd numbers": ("polygon", [[[1e-05, 2.5e-07], [30.000000000000004, 1e-4], [3.3333333333333335, 20.1]]] * 3),
    "keypoints": ("keypoints", [np.c_[RNG.uniform(1, 40, (3, 2)), [2.0, 1.0, 0.0]].tolist() for _ in range(6)]),
    "keypoints flat": ("keypoints", [np.c_[RNG.uniform(1, 40, (3, 2)), [2.0, 2.0, 1.0]].ravel().tolist() for _ in range(4)]),
    "keypoints invisible NaN/inf": ("keypoints", [[[5.0, 6.0, 2.0], [math.nan, math.nan, 0.0], [math.inf, -math.inf, 0.0]]] * 3),
    "line": ("line", [[[1.0 + i, 2.0], [30.5, 9.25], [40.0, 1e-4]] for i in range(6)]),
    "point": ("point", [[[3.0 + i, 4.0]] for i in range(6)]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_batch_points_are_stored_as_json_dumps_of_the_reference(case, tmp_path):
    kind, rows = CASES[case]
    p = _project(tmp_path)
    label = "person" if kind == "keypoints" else "car"
    df = pd.DataFrame({"media_id": 1, "label": label, "kind": kind, "points": pd.Series(rows, dtype=object)})
    rep = p.add_instances(df)
    assert rep.added == len(rows)
    expected = [_reference_text(kind, r, 3 if kind == "keypoints" else None) for r in rows]
    assert _stored(p) == expected
    assert p.instances().df().sort_values("instance_id")["points"].tolist() == expected  # the text users read


def test_points_json_both_branches_match_json_dumps_on_random_numbers():
    rng = np.random.default_rng(0)
    vals = np.concatenate([rng.uniform(0, 4000, 3000), np.round(rng.uniform(0, 4000, 1000), 2),
                           10.0 ** rng.uniform(-8, 20, 1000), [0.0, -0.0, 1e-4, 9.999999999999999e-05, 1e16,
                                                               9999999999999998.0, math.nan, math.inf, -math.inf]])
    rng.shuffle(vals)
    rows = vals[: len(vals) // 6 * 6].reshape(-1, 3, 2)
    kinds = np.array(["line"] * len(rows))
    pts, _, problems, _ = check_points(kinds, list(rows), np.full(len(rows), 1e30), np.full(len(rows), 1e30),
                                       np.full(len(rows), -1), False)
    texts = points_json(duckdb.connect(), pts)
    lists = pts.to_lists()
    refused = {i for i, _ in problems}
    for i, (t, v) in enumerate(zip(texts, lists, strict=True)):
        if i in refused:
            assert t is None and v is None
        else:
            assert t == json.dumps(v)
    assert len(refused) < len(rows)  # most rows went through the flat branch


SHAPES = [
    ([[1.0, 2.0], [3.0, 4.0], [5.0, 1.0]], 2, True), ([1, 2, 3, 4, 5, 6], 2, True), ([[1, 2, 3, 4, 5, 6]], 2, True),
    ([[1, 2, 3], [4, 5, 6]], 2, True), ([[[1, 2], [3, 4], [5, 6]], [[0, 0], [1, 1], [2, 0]]], 2, True),
    ([[[1, 2, 3], [3, 4, 5]]], 2, True), ([[1, 2, 2], [3, 4, 2]], 3, False), ([1, 2, 2, 3, 4, 2], 3, False),
    ([[1, 2], [3, 4]], 3, False), ([[1, 2], [3, 4]], 2, False), ([[[1, 2]]], 2, False), ([[1]], 2, True),
]


@pytest.mark.parametrize("as_given", ["lists", "tuples", "arrays", "mixed"])
@pytest.mark.parametrize(("row", "dim", "several"), SHAPES)
def test_flatten_of_uniform_rows_equals_the_walk(row, dim, several, as_given):
    def tuples(x):
        return tuple(tuples(v) for v in x) if isinstance(x, list) else x

    shaped = {"lists": row, "tuples": tuples(row), "arrays": np.asarray(row)}
    rows = [shaped["lists"], shaped["tuples"], shaped["arrays"]] if as_given == "mixed" else [shaped[as_given]] * 3
    got, walked = flatten(rows, dim, several=several), _walk(rows, dim, several)
    for a, b in zip(got, walked, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("rows", [
    [[[1, 2], [3, 4], [5, 6]], [[1, 2], [3, 4]]],  # different lengths
    [[[1, 2], [3, 4], [5, 6]], [[1, 2], [3, 4], [5, 6, 7]]],
    [[[1, 2], [3, 4], [5, 6]], [[1, 2], [3, 4], "56"]],  # a string is not a point
    [[[1, 2], [3, 4], [5, 6]], [[1, 2], [3, 4], [5, None]]],
    [[[1, 2], [3, 4], [5, 6]], [[1, 2], [3, 4], [5, [6]]]],
])
def test_flatten_of_irregular_rows_is_the_walk(rows):
    try:
        walked = _walk(rows, 2, True)
    except (TypeError, ValueError) as e:
        with pytest.raises(type(e)):
            flatten(rows, 2, several=True)
        return
    for a, b in zip(flatten(rows, 2, several=True), walked, strict=True):
        np.testing.assert_array_equal(a, b)


# -- the one-row branch: caches that stay true -------------------------------------------------
class _CountingStore:
    """A store that counts the statements run through it (the real store underneath)."""

    def __init__(self, store):
        self.store, self.statements = store, []

    @contextlib.contextmanager
    def transaction(self):
        with self.store.transaction() as con:
            yield self._wrap(con)

    read = transaction

    @contextlib.contextmanager
    def one_write(self):  # reads and the one write both counted
        with self.store.one_write() as w:
            yield type(w)(self._wrap(w.con), self._wrap(w.write))

    def __getattr__(self, name):  # write_number, turn_cache...: the real store's
        return getattr(self.store, name)

    def _wrap(self, con):
        outer = self

        class Con:
            def execute(self, sql, *args):
                outer.statements.append(sql)
                return con.execute(sql, *args)

            def __getattr__(self, name):
                return getattr(con, name)

        return Con()


def test_one_row_add_runs_two_statements_once_cached(tmp_path):
    p = nl.open(tmp_path / "s.duckdb", author="t")
    p.add_images([np.zeros((H, W, 3), np.uint8)])
    p.schema.add_label("car")
    p.add_instance(1, "car", box=[1, 1, 5, 5])  # fills the caches
    counting = _CountingStore(p.store)
    s = Session(counting, author="t", media_dir=None)
    iid = _edits.add_instance(s, 1, "car", box=[2, 2, 9, 9], quiet=True)
    # the meta and the next instance id are the previous write's: the insert alone (no BEGIN/COMMIT)
    assert [q for q in counting.statements if "INSERT" not in q] == [], counting.statements
    assert len(counting.statements) == 1
    assert iid == 2 and p.instances().df()["instance_id"].tolist() == [1, 2]


def test_one_row_add_reads_the_facts_again_after_any_other_write(tmp_path):
    p = nl.open(tmp_path / "s.duckdb", author="t")
    p.add_images([np.zeros((H, W, 3), np.uint8)])
    p.schema.add_label("car")
    p.add_instance(1, "car", box=[1, 1, 5, 5])
    p.add_images([np.full((H, W, 3), 1, np.uint8)])  # another write: a new media token
    p.add_instances(pd.DataFrame({"media_id": [1, 2], "label": "car", "x0": 1, "y0": 1, "x1": 4, "y1": 4}))
    counting = _CountingStore(p.store)
    s = Session(counting, author="t", media_dir=None)
    iid = _edits.add_instance(s, 2, "car", box=[2, 2, 9, 9], quiet=True)
    assert any("meta" in q for q in counting.statements), counting.statements
    assert iid == 4
    p.schema.add_label("bus")  # a schema change in the same turn: the cached meta is stale
    assert _edits.add_instance(s, 2, "bus", box=[2, 2, 9, 9], quiet=True) == 5
    assert p.add_instance(2, "bus", box=[3, 3, 9, 9]) == 6
    with p.store.transaction():  # an add inside someone else's transaction reads what that one did
        p.add_images([np.full((H, W, 3), 2, np.uint8)])
        assert p.add_instance(3, "car", box=[1, 1, 5, 5]) == 7
    assert p.add_instance(3, "car", box=[1, 1, 6, 6]) == 8
    assert p.instances().df()["instance_id"].tolist() == list(range(1, 9))


def test_one_row_add_after_a_rolled_back_add_takes_the_free_id(tmp_path):
    p = nl.open(tmp_path / "s.duckdb", author="t")
    p.add_images([np.zeros((H, W, 3), np.uint8)])
    p.schema.add_label("car")
    p.add_instance(1, "car", box=[1, 1, 5, 5])

    def add_then_fail():
        with p.store.transaction():
            p.add_instance(1, "car", box=[1, 1, 5, 5])
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        add_then_fail()
    assert p.add_instance(1, "car", box=[1, 1, 7, 7]) == 2
    assert p.add_instance(1, "car", box=[1, 1, 8, 8]) == 3


def test_one_row_add_sees_a_schema_change_made_by_another_project_object(tmp_path):
    path = tmp_path / "s.duckdb"
    a = nl.open(path, author="a")
    a.add_images([np.zeros((H, W, 3), np.uint8)])
    a.schema.add_label("car")
    a.add_instance(1, "car", box=[1, 1, 5, 5])
    a.store.release()
    b = nl.open(path, author="b")
    b.schema.add_label("bus")
    b.schema.update_label("car", spatial=["box", "line"])
    b.store.release()
    a.add_instance(1, "bus", box=[1, 1, 5, 5])
    a.add_instance(1, "car", line=[[1, 1], [4, 4]])
    assert sorted(a.instances().df()["label"]) == ["bus", "car", "car"]


def test_a_rolled_back_media_insert_leaves_no_cached_size(tmp_path):
    p = nl.open(":memory:", author="t", media_dir=tmp_path / "m")
    p.add_images([np.zeros((H, W, 3), np.uint8)])
    p.schema.add_label("car")
    added = []

    def add_then_fail():
        with p.store.transaction():
            (mid,) = p.add_images([np.full((10, 10, 3), 7, np.uint8)]).ids
            added.append(mid)
            p.add_instance(mid, "car", box=[1, 1, 8, 8])  # reads (and caches) the 10 x 10 size
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        add_then_fail()
    (mid,) = added
    with pytest.raises(nl.errors.MediaError):
        p.add_instance(mid, "car", box=[1, 1, 5, 5])  # that media item is gone with the rollback
    (again,) = p.add_images([np.full((30, 40, 3), 9, np.uint8)]).ids
    assert again == mid  # the id is handed out again, for an image of another size
    iid = _edits.add_instance(p._session, again, "car", box=[1, 1, 100, 100], quiet=True)
    box = p.instances().df().set_index("instance_id").loc[iid, ["x0", "y0", "x1", "y1"]].tolist()
    assert box == [1.0, 1.0, 40.0, 30.0]  # clipped to the new image, not to the rolled-back one
