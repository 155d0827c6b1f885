"""Embeddings: the store's write path, reading back, migration, embed() (batches, resume, reuse), import."""

import duckdb
import numpy as np
import pytest

import nblabel as nl
from nblabel.store import FORMAT_VERSION, _ddl
from nblabel.store._embeddings import embedding_names, read_embeddings, write_embeddings


def _images(n, seed=0, size=(24, 32)):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (*size, 3), dtype=np.uint8) for _ in range(n)]


@pytest.fixture
def proj():
    p = nl.open(":memory:")
    p.add_images(_images(4))
    return p


def _count(p):
    with p.store.read() as con:
        return con.execute("SELECT count(*) FROM embeddings").fetchall()[0][0]


def test_write_and_read_round_trip_sorted_float32(proj):
    v = np.arange(12, dtype=np.float64).reshape(4, 3)
    assert write_embeddings(proj.session, "e", np.array([3, 1, 4, 2]), v, model="m") == 4
    ids, vecs = read_embeddings(proj.session, "e")
    assert ids.dtype == np.int64 and vecs.dtype == np.float32
    assert ids.tolist() == [1, 2, 3, 4]
    np.testing.assert_array_equal(vecs, v[[1, 3, 0, 2]].astype(np.float32))
    ids2, vecs2 = read_embeddings(proj.session, "e", media_ids=[4, 2, 99])
    assert ids2.tolist() == [2, 4] and vecs2.tolist() == [[9, 10, 11], [6, 7, 8]]
    assert embedding_names(proj.session) == ["e"]


def test_write_replaces_rows_of_those_media_only(proj):
    write_embeddings(proj.session, "e", [1, 2], np.ones((2, 2)), model="m")
    write_embeddings(proj.session, "e", [2], np.full((1, 2), 5.0), model="m")
    assert read_embeddings(proj.session, "e")[1].tolist() == [[1, 1], [5, 5]]


@pytest.mark.parametrize(("ids", "vecs", "match"), [
    ([1, 2], [[1.0, np.nan], [1, 1]], "NaN or infinite"),
    ([1], [[1e39, 0]], "NaN or infinite"),
    ([1, 99], [[1, 0], [0, 1]], r"media id\(s\) \[99\] are not in the project"),
    ([1, 1], [[1, 0], [0, 1]], "more than once"),
    ([1, 2], [[1, 0]], r"shape \(2, d\)"),
    ([1.5], [[1, 0]], "integers"),
])
def test_bad_writes_are_refused_and_store_nothing(proj, ids, vecs, match):
    with pytest.raises(nl.ValidationError, match=match):
        write_embeddings(proj.session, "e", ids, vecs, model="m")
    assert _count(proj) == 0


def test_one_dimension_per_name(proj):
    write_embeddings(proj.session, "e", [1], np.ones((1, 3)), model="m")
    with pytest.raises(nl.ValidationError, match="holds 3-dimensional vectors, these have 2"):
        write_embeddings(proj.session, "e", [2], np.ones((1, 2)), model="m")
    assert _count(proj) == 1


def test_unknown_name_suggests_the_close_one(proj):
    write_embeddings(proj.session, "clip", [1], np.ones((1, 3)), model="m")
    with pytest.raises(nl.NotFoundError, match=r"embedding 'clp' does not exist; did you mean 'clip'\?.*proj.embed"):
        read_embeddings(proj.session, "clp")


def test_version_1_file_is_migrated_keeping_its_vectors(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    for stmt in _ddl.DDL_V1:
        con.execute(stmt)
    con.execute("INSERT INTO meta VALUES ('format_version', '1'), ('schema_version', '0'), ('app_version', '0'), "
                "('created_at', 'x'), ('project_id', 'y')")
    con.execute("INSERT INTO media VALUES (1, '/x.png', 'x.png', 'abc', 4, 3, 'PNG', 1, 10, '{}', now())")
    con.execute("INSERT INTO embeddings VALUES (1, 'old', [0.5, 0.25])")
    con.close()
    p = nl.open(path)
    ids, vecs = read_embeddings(p.session, "old")
    assert ids.tolist() == [1] and vecs.tolist() == [[0.5, 0.25]]
    with p.store.read() as c:
        assert c.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchall()[0][0] == str(FORMAT_VERSION)
        assert c.execute("SELECT sha256, dim FROM embeddings").fetchall() == [("abc", 2)]
