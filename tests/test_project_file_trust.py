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
@pytest.fixture
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


# -- §7: a damaged, foreign or empty file --------------------------------------------------------
def test_truncated_project_file_is_a_project_file_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "p.duckdb"
    _filled(path).store.close()
    data = path.read_bytes()
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(nl.ProjectFileError) as e:
        nl.open(cut)
    msg = str(e.value)
    assert str(cut) in msg and "is damaged" in msg and "truncated" in msg and "restore it" in msg
    assert isinstance(e.value.__cause__, duckdb.Error)  # DuckDB's own words stay attached, not raised
    # the lock is let go at once: the original still opens, and the cut file can be replaced and opened
    assert nl.open(path).instances().count() == 30
    shutil.copy(path, cut)
    assert nl.open(cut).instances().count() == 30


def test_a_file_that_is_not_duckdb_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("these are my notes\n" * 50, encoding="utf-8")
    with pytest.raises(nl.ProjectFileError, match=r"is not an nblabel project: it is not a DuckDB database.*pass a new path"):
        nl.open(path)
    assert path.read_text(encoding="utf-8").startswith("these are my notes")


@pytest.mark.parametrize("table", ["media", "foo"])
def test_an_unrelated_duckdb_database_is_refused_and_left_unchanged(tmp_path: Path, table: str) -> None:
    path = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE {table} (a INTEGER)")
    con.execute(f"INSERT INTO {table} VALUES (7)")
    con.close()
    with pytest.raises(nl.ProjectFileError, match=rf"not an nblabel project: it has the table '{table}' but no "
                                                  r"nblabel 'meta' table.*pass a new path"):
        nl.open(path)
    con = duckdb.connect(str(path), read_only=True)
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    rows = con.execute(f"SELECT * FROM {table}").fetchall()
    con.close()
    assert tables == [table] and rows == [(7,)]


def test_a_foreign_meta_table_is_not_taken_for_a_project(tmp_path: Path) -> None:
    path = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('owner', 'someone else')")
    con.close()
    with pytest.raises(nl.ProjectFileError, match="no 'format_version' row"):
        nl.open(path)


def test_an_empty_file_or_a_new_path_still_creates_a_project(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(b"")
    fresh = tmp_path / "fresh.duckdb"
    blank = tmp_path / "blank.duckdb"
    duckdb.connect(str(blank)).close()  # a DuckDB database with nothing in it
    for path in (empty, fresh, blank):
        p = nl.open(path)
        p.add_images(_images(1))
        p.store.close()
        assert nl.open(path).media().count() == 1


# -- §7: a full disk -------------------------------------------------------------------------------
FULL_DISK = textwrap.dedent("""
    import os, resource, signal, sys
    import pandas as pd
    import nblabel as nl
    p = nl.open(sys.argv[1])
    p.store.release()  # the WAL is empty, the file whole
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(sys.argv[1]) + 4096, hard))
    big = pd.DataFrame({"media_id": [1] * 200, "label": ["car"] * 200, "x0": 1.0, "y0": 1.0, "x1": 9.0, "y1": 9.0,
                        "extra": [{"note": "x" * 50_000}] * 200})
    try:
        p.add_instances(big)
    except nl.DiskFullError as e:
        print("REFUSED", str(e).replace(chr(10), " "))
    except BaseException as e:
        print("RAW", type(e).__name__, e)
    print("COUNT", p.instances().count())
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space freed: the same project takes writes again
    p.add_instance(2, "car", box=[2, 2, 8, 8])
    print("AFTER", p.instances().count())
""")


def test_a_full_disk_rolls_back_and_says_nothing_was_lost(tmp_path: Path) -> None:
    path = tmp_path / "p.duckdb"
    _filled(path).store.close()
    env = {**os.environ, "PYTHONPATH": str(Path(nl.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", FULL_DISK, str(path)], capture_output=True, text=True, env=env,
                         timeout=120)
    lines = {ln.split(" ", 1)[0]: ln.split(" ", 1)[1] for ln in out.stdout.splitlines() if " " in ln}
    assert "REFUSED" in lines, out.stdout + out.stderr
    msg = lines["REFUSED"]
    assert str(path) in msg and "the disk is full" in msg and "Nothing was lost" in msg
    assert "rolled back" in msg and "Free some space" in msg
    assert lines["COUNT"] == "30" and lines["AFTER"] == "31"
    # a fresh process sees the earlier data intact, the refused batch absent, the later write kept
    p = nl.open(path)
    assert p.instances().count() == 31
    assert p.instances().df()["extra"].isna().all()


def test_a_full_disk_during_a_write_is_mapped_whatever_statement_fails(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    p = _filled(tmp_path / "p.duckdb", n_instances=2)
    real = p.store._connect

    class FullCon:  # DuckDB's connection, except that an INSERT meets a full disk
        def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
            self.con = con

        def execute(self, sql: str, *args: object) -> object:
            if sql.lstrip().upper().startswith("INSERT INTO INSTANCES"):
                raise duckdb.IOException('Could not write file "p.duckdb.wal": No space left on device')
            return self.con.execute(sql, *args)

        def cursor(self) -> FullCon:  # the one-statement write's cursor meets the same disk
            return FullCon(self.con.cursor())

        def __getattr__(self, name: str) -> object:
            return getattr(self.con, name)

    p.store.close()
    monkeypatch.setattr(p.store, "_connect", lambda: FullCon(real()))
    with pytest.raises(nl.DiskFullError, match="Nothing was lost"):
        p.add_instance(1, "car", box=[1, 1, 5, 5])
    monkeypatch.undo()
    p.store.close()
    assert nl.open(tmp_path / "p.duckdb").instances().count() == 2


# -- §8: what a file holds never runs as code -------------------------------------------------------
def _edit_file(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    for stmt in statements:
        con.execute(stmt)
    con.close()


EVIL_VIEW = ("CREATE OR REPLACE VIEW current_instances AS SELECT * EXCLUDE (superseded_at, deleted) FROM instances "
             "WHERE instance_id = 1")


def test_an_edited_view_has_no_effect_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "p.duckdb"
    _filled(path).store.close()
    _edit_file(path, EVIL_VIEW)
    p = nl.open(path)
    assert p.instances().count() == 30 and p.media().df()["n_instances"].sum() == 30
    p.store.close()
    con = duckdb.connect(str(path), read_only=True)  # the file itself was repaired by the writable open
    assert con.execute("SELECT count(*) FROM current_instances").fetchall() == [(30,)]
    con.close()


def test_an_edited_view_in_a_read_only_file_is_hidden_by_ours(tmp_path: Path) -> None:
    path = tmp_path / "p.duckdb"
    _filled(path).store.close()
    _edit_file(path, EVIL_VIEW)
    p = nl.open(path, read_only=True)
    assert p.instances().count() == 30
    assert p.media().df()["n_instances"].sum() == 30
    p.store.close()
    con = duckdb.connect(str(path), read_only=True)  # the file is untouched, and its view is still the edited one
    assert con.execute("SELECT count(*) FROM current_instances").fetchall() == [(1,)]
    con.close()


def test_a_file_with_macros_is_refused_before_any_query_calls_them(tmp_path: Path) -> None:
    path = tmp_path / "p.duckdb"
    _filled(path).store.close()
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret", encoding="utf-8")
    # a macro in the file shadows DuckDB's own function of the same name inside every query
    _edit_file(path, f"CREATE MACRO json_extract_string(j, p) AS (SELECT content FROM read_text('{secret}'))")
    for read_only in (False, True):
        with pytest.raises(nl.ProjectFileError, match=r"defines the SQL function\(s\) \['json_extract_string'\]"):
            nl.open(path, read_only=read_only)


def test_a_table_replaced_by_a_view_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.duckdb"
    _filled(path).store.close()
    _edit_file(path, "DROP TABLE runs", "CREATE VIEW runs AS SELECT 1 AS run_id, 'x' AS name")
    with pytest.raises(nl.ProjectFileError, match=r"lacks the table\(s\) \['runs'\].*edited outside nblabel"):
        nl.open(path)


# -- §8: dynamic dataset rules are data -------------------------------------------------------------
def test_rules_are_stored_as_method_calls_and_replayed(tmp_path: Path) -> None:
    p = _filled(tmp_path / "p.duckdb")
    p.add_run("m")
    p.define_dataset("wide", rule=p.media().labels("car").image_size(min_width=50).sort_by("media_id").head(2))
    p.define_dataset("cars_on_wide", rule=p.instances().labels(["car"]).in_media(p.media().in_dataset("wide")))
    p.define_dataset("with_cars", rule=p.instances().labels("car").box_size(min_width=1).media())
    p.define_dataset("preds", rule=p.instances(run="m").score(min=0.5))
    rules = p.datasets().set_index("name")["rule"].map(json.loads)
    assert rules["wide"] == {"version": 2, "slice": "media", "options": {},
                             "steps": [["labels", ["car"], {}], ["image_size", [], {"min_width": 50}],
                                       ["sort_by", ["media_id"], {}], ["head", [2], {}]]}
    assert rules["cars_on_wide"]["steps"][1] == [
        "in_media", [{"$slice": {"slice": "media", "options": {}, "steps": [["in_dataset", ["wide"], {}]]}}], {}]
    assert rules["preds"]["options"] == {"run": "m"}
    for r in rules:
        assert "select" not in json.dumps(r).lower()
    p.store.close()
    q = nl.open(tmp_path / "p.duckdb")
    assert q.dataset("wide").ids() == [1, 2]
    assert q.dataset("with_cars").ids() == [1, 2, 3]
    assert q.dataset("cars_on_wide").ids() == q.instances().labels("car").in_media(q.media().ids_in([1, 2])).ids()
    assert q.dataset("preds").count() == 0
    assert q.media().in_dataset("wide").ids() == [1, 2]


def test_a_slice_with_raw_sql_cannot_become_a_rule() -> None:
    p = nl.open(":memory:")
    for rule in (p.media().where("width > ?", [5]), p.media().where("1=1").head(3),
                 p.instances().in_media(p.media().where("width > 1"))):
        with pytest.raises(ValidationError, match=r"cannot be saved as a rule: it uses raw SQL \(\.where\(\)\).*\.save\(name\)"):
            p.define_dataset("x", rule=rule)
    assert p.datasets().empty
    assert p.media().where("width > ?", [5]).save("frozen") == 0  # a static dataset of its members is fine


def _rule_file(tmp_path: Path, rule: object) -> Path:
    path = tmp_path / "p.duckdb"
    _filled(path).store.close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO datasets (dataset_id, name, kind, rule, created_at) VALUES "
                "(9, 'crafted', 'dynamic', ?, now())", [json.dumps(rule)])
    con.close()
    return path


def test_a_crafted_rule_cannot_inject_sql(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret", encoding="utf-8")
    injection = f"1=1) UNION SELECT 1, content, content, '', 0, 0, '', NULL, now(), 0 FROM read_text('{secret}') --"
    attempts = [
        {"version": 2, "slice": "media", "options": {}, "steps": [["where", [injection], {}]]},
        {"version": 2, "slice": "media", "options": {}, "steps": [["_filter", [injection], {}]]},
        {"version": 2, "slice": "media", "options": {}, "steps": [["sort_by", [f'media_id" , (SELECT content FROM read_text(\'{secret}\')) --'], {}]]},
        {"version": 2, "slice": "media", "options": {}, "steps": [["meta_where", ["k", f"= 1 OR {injection}", 1], {}]]},
        {"version": 2, "slice": "media", "options": {}, "steps": [["meta", [f"') OR {injection}", "x"], {}]]},
        {"version": 2, "slice": "instances", "options": {"run": f"x' OR {injection}"}, "steps": []},
        {"version": 2, "slice": "media", "options": {}, "steps": [["in_media", [{"$slice": {"sql": injection}}], {}]]},
        # the old layout ran its fragments as SQL: this one reads a local file and keeps every row if it can
        {"version": 1, "slice": "media", "filters": [[f"(SELECT content FROM read_text('{secret}')) = ?", ["s3cret"]]],
         "order": [], "limit": None, "sample": None, "options": {}},
    ]
    outcomes = []
    for i, rule in enumerate(attempts):
        (tmp_path / str(i)).mkdir()
        p = nl.open(_rule_file(tmp_path / str(i), rule))
        try:
            out = p.dataset("crafted").df()
        except nl.NblabelError as e:
            outcomes.append(type(e).__name__)
            continue
        assert "s3cret" not in out.to_string(), rule
        outcomes.append(len(out))
    # raw SQL, private methods, SQL as a column name, an operator, a run name or an argument object are
    # refused; SQL inside a metadata key is just a key nobody has (0 rows); the old SQL rule is refused
    assert outcomes == ["ValidationError", "ValidationError", "ValidationError", "ValidationError", 0,
                        "NotFoundError", "ValidationError", "ValidationError"]


def test_an_old_sql_rule_is_refused_with_how_to_define_it_again(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, {"version": 1, "slice": "media", "filters": [["width > ?", [5]]], "order": [],
                                 "limit": None, "sample": None, "options": {}})
    p = nl.open(path)
    for call in (lambda: p.dataset("crafted"), lambda: p.media().in_dataset("crafted")):
        with pytest.raises(ValidationError, match=r"dataset 'crafted' was saved by nblabel 0\.1 as SQL text.*"
                                                  r"define it again.*overwrite=True.*delete_dataset"):
            call()
    p.define_dataset("crafted", rule=p.media().image_size(min_width=5), overwrite=True)
    assert p.dataset("crafted").count() == 3


def test_a_rule_that_refers_to_itself_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    path = _rule_file(tmp_path, {"version": 2, "slice": "media", "options": {},
                                 "steps": [["in_dataset", ["crafted"], {}]]})
    with pytest.raises(ValidationError, match="refers to itself"):
        nl.open(path).dataset("crafted").count()
