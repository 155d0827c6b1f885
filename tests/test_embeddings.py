"""Embeddings: the store's write path, reading back, migration, embed() (batches, resume, reuse), import."""

import duckdb
import numpy as np
import pandas as pd
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


class CountingModel:
    """A model callable that counts images and can fail after some batches (an interrupted run)."""

    name = "counting-v1"

    def __init__(self, fail_after=None):
        self.calls, self.images, self.fail_after = 0, 0, fail_after

    def __call__(self, images):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("out of GPU memory")
        self.calls += 1
        self.images += len(images)
        return np.stack([np.asarray(im.resize((2, 2)), np.float32).ravel() for im in images])


def test_embed_default_one_vector_per_media_float32_unit_length():
    p = nl.open(":memory:")
    p.add_images(_images(5, size=(40, 60)))
    assert p.embed() == 5
    df = p.embeddings()
    assert df["media_id"].tolist() == [1, 2, 3, 4, 5]
    v = np.stack(df["vector"])
    assert v.dtype == np.float32 and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert p.embedding_names()[["name", "model", "n"]].values.tolist() == [["default", nl.select.DEFAULT_MODEL, 5]]
    assert p.embed() == 0  # nothing left to compute


def test_interrupted_embed_keeps_finished_batches_and_the_rerun_computes_only_the_rest():
    p = nl.open(":memory:")
    p.add_images(_images(10))
    failing = CountingModel(fail_after=2)
    with pytest.raises(nl.NblabelError, match="model 'counting-v1' failed on a batch of 3 images: RuntimeError"):
        p.embed("c", model=failing, batch_size=3)
    assert len(p.embeddings("c")) == 6
    rerun = CountingModel()
    assert p.embed("c", model=rerun, batch_size=3) == 4
    assert rerun.images == 4 and rerun.calls == 2
    assert p.embeddings("c")["media_id"].tolist() == list(range(1, 11))


def test_vectors_are_reused_by_sha256_for_the_same_model():
    p = nl.open(":memory:")
    p.add_images(_images(4))
    first = CountingModel()
    p.embed("a", model=first)
    again = CountingModel()
    assert p.embed("b", model=again) == 4
    assert again.images == 0
    np.testing.assert_array_equal(np.stack(p.embeddings("a")["vector"]), np.stack(p.embeddings("b")["vector"]))
    other = CountingModel()
    other.name = "counting-v2"
    p.embed("c", model=other)
    assert other.images == 4  # another model never reuses


def test_embed_refuses_a_second_model_under_one_name_unless_overwrite():
    p = nl.open(":memory:")
    p.add_images(_images(2))
    p.embed("x", model=CountingModel())
    with pytest.raises(nl.ValidationError, match="was made with model 'counting-v1'.*overwrite=True"):
        p.embed("x")
    assert p.embed("x", overwrite=True) == 2
    assert p.embedding_names()["model"].tolist() == [nl.select.DEFAULT_MODEL]


def test_embed_slice_and_bad_model_output():
    p = nl.open(":memory:")
    p.add_images(_images(4))
    assert p.embed(slice=p.media().ids_in([2, 3])) == 2
    assert p.embeddings()["media_id"].tolist() == [2, 3]
    with pytest.raises(nl.ValidationError, match="returned shape"):
        p.embed("bad", model=lambda ims: np.ones((len(ims) + 1, 3)))
    with pytest.raises(nl.ValidationError, match="NaN or infinite"):
        p.embed("nan", model=lambda ims: np.full((len(ims), 3), np.nan))
    with pytest.raises(nl.ValidationError, match="must be a callable"):
        p.embed("x", model="clip")
    assert set(p.embedding_names()["name"]) == {"default"}


def test_embed_warns_about_unreadable_files_and_embeds_the_rest(tmp_path):
    from PIL import Image

    paths = []
    for i, arr in enumerate(_images(3)):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(arr).save(paths[-1])
    p = nl.open(":memory:")
    p.add_images([str(x) for x in paths])
    paths[1].unlink()
    with pytest.warns(UserWarning, match="1 media could not be read"):
        assert p.embed() == 2
    assert p.embeddings()["media_id"].tolist() == [1, 3]


def test_import_embeddings_by_each_key_and_from_parquet(tmp_path):
    p = nl.open(":memory:")
    p.add_images(_images(3))
    media = p.media().df()
    vec = [np.arange(4, dtype=np.float32) + i for i in range(3)]
    assert p.import_embeddings(pd.DataFrame({"media_id": media["media_id"], "vector": vec}), "a") == 3
    assert p.import_embeddings(pd.DataFrame({"sha256": media["sha256"], "vector": vec}), "b") == 3
    path = tmp_path / "e.parquet"
    pd.DataFrame({"file_name": media["file_name"], "vector": vec}).to_parquet(path)
    assert p.import_embeddings(path, "c", model="clip-vit-b32") == 3
    for name in "abc":
        np.testing.assert_array_equal(np.stack(p.embeddings(name)["vector"]), np.stack(vec))
    assert p.embedding_names().set_index("name").loc["c", "model"] == "clip-vit-b32"


@pytest.mark.parametrize(("frame", "match"), [
    (pd.DataFrame({"media_id": [1, 77], "vector": [[1.0, 2], [3.0, 4]]}), r"1 media_id values .* match no media.*\[77\]"),
    (pd.DataFrame({"sha256": ["zz"], "vector": [[1.0, 2]]}), "none of the 1 sha256 values"),
    (pd.DataFrame({"media_id": [1, 2], "vector": [[1.0, 2], [3.0, 4, 5]]}), r"mixed dimensions \[2, 3\]"),
    (pd.DataFrame({"media_id": [1, 2], "vector": [[1.0, np.nan], [3.0, 4]]}), r"NaN or infinite values \(keys \[1\]\)"),
    (pd.DataFrame({"media_id": [1, 1], "vector": [[1.0, 2], [3.0, 4]]}), "repeat"),
    (pd.DataFrame({"id": [1], "vector": [[1.0, 2]]}), "none of the key columns"),
    (pd.DataFrame({"media_id": [1], "emb": [[1.0, 2]]}), "no 'vector' column"),
])
def test_bad_imports_name_the_problem_and_store_nothing(proj, frame, match):
    with pytest.raises(nl.ValidationError, match=match):
        proj.import_embeddings(frame, "x")
    assert _count(proj) == 0


def test_import_skip_unmatched_and_bad_path(proj, tmp_path):
    frame = pd.DataFrame({"media_id": [1, 77], "vector": [[1.0, 2], [3.0, 4]]})
    assert proj.import_embeddings(frame, "x", on_missing="skip") == 1
    with pytest.raises(nl.FormatError, match="cannot read embeddings from"):
        proj.import_embeddings(tmp_path / "missing.parquet", "y")


def test_find_similar_by_media_id_and_by_image():
    from PIL import Image

    imgs = _images(4, size=(40, 40))
    p = nl.open(":memory:")
    p.add_images([*imgs, imgs[0][:, ::-1].copy()])
    p.embed()
    sim = p.find_similar(1, k=2)
    assert sim["media_id"].tolist()[0] == 5 and 1 not in sim["media_id"].tolist()
    assert sim["distance"].is_monotonic_increasing
    by_image = p.find_similar(Image.fromarray(imgs[2]), k=1)
    assert by_image["media_id"].tolist() == [3] and by_image["distance"].iloc[0] < 1e-5
    p.import_embeddings(pd.DataFrame({"media_id": [1, 2], "vector": [[1.0, 0], [0, 1.0]]}), "ext")
    with pytest.raises(nl.ValidationError, match="pass that model"):
        p.find_similar(Image.fromarray(imgs[2]), embedding="ext")
    assert p.find_similar(1, embedding="ext")["media_id"].tolist() == [2]
