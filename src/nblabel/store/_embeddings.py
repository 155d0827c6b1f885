"""Embedding rows: one float32 vector per (embedding name, media item), the one write path for them.

A row carries the image's sha256 (so an image added again reuses its vector), the model that made it
and its dimension (one dimension per name). Vectors travel to and from DuckDB through Arrow, never as
Python lists, so reading 100k × 512 vectors is one copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import NotFoundError, ValidationError
from ._arrow_scan import NAME, run_over

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["delete_embeddings", "embedding_info", "embedding_names", "missing_media", "read_embeddings",
           "reuse_by_sha256", "write_embeddings"]

_HINT = "compute one with proj.embed(name) or bring one with proj.import_embeddings(data, name)"


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"an embedding needs a non-empty name, got {name!r}")
    return name


def _as_ids(media_ids: Any, what: str = "media_ids") -> np.ndarray:
    ids = np.asarray(media_ids)
    if ids.ndim != 1:
        raise ValidationError(f"{what} must be one-dimensional, got shape {ids.shape}")
    if ids.size and not np.issubdtype(ids.dtype, np.integer) and (
            not np.issubdtype(ids.dtype, np.floating) or not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids))):
        raise ValidationError(f"{what} must be integers, got dtype {ids.dtype}")
    return ids.astype(np.int64)


def _as_vectors(vectors: Any, n: int) -> np.ndarray:
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # beyond float32 becomes inf: refused below
            v = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ValidationError(f"vectors must be a numeric array of shape (n, d): {e}") from None
    if v.ndim != 2 or v.shape[0] != n or v.shape[1] < 1:
        raise ValidationError(f"vectors must have shape ({n}, d) with d ≥ 1 (one row per media id), got {v.shape}")
    bad = ~np.isfinite(v).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:10].tolist()
        raise ValidationError(f"{int(bad.sum())} vector(s) hold NaN or infinite values (rows {rows}, or not "
                              "finite in float32); fix or drop them before storing")
    return v


def _stored_dim(con: Any, name: str) -> int | None:
    rows = con.execute("SELECT DISTINCT dim FROM embeddings WHERE name = ?", [name]).fetchall()
    return int(rows[0][0]) if rows else None


def write_embeddings(session: Session, name: str, media_ids: Any, vectors: Any, *, model: str) -> int:
    """Store one vector per media id under ``name`` (replacing their old rows); returns how many were written.

    Refused, with nothing stored: a name whose stored vectors have another dimension, unknown or
    repeated media ids, non-finite values (NaN, inf, or beyond float32).

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)] * 1)
        >>> write_embeddings(p.session, "default", np.array([1]), np.ones((1, 3)), model="ones")
        1
        >>> ids, vecs = read_embeddings(p.session, "default"); ids.tolist(), vecs.dtype.name
        ([1], 'float32')
    """
    name = _check_name(name)
    ids = _as_ids(media_ids)
    v = _as_vectors(vectors, len(ids))
    if len(np.unique(ids)) != len(ids):
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].unique()[:10].tolist()
        raise ValidationError(f"media id(s) {dup} appear more than once; give one vector per media item")
    if not isinstance(model, str) or not model:
        raise ValidationError(f"model must be a non-empty string naming what made the vectors, got {model!r}")
    if not len(ids):
        return 0
    d = int(v.shape[1])
    with session.store.transaction() as con:
        dim = _stored_dim(con, name)
        if dim is not None and dim != d:
            raise ValidationError(f"embedding {name!r} holds {dim}-dimensional vectors, these have {d}; "
                                  "use another name, or delete it first (proj.delete_embeddings(name))")
        offsets: Any = pa.array(np.arange(0, (len(ids) + 1) * d, d, dtype=np.int32))
        table = pa.table({"media_id": pa.array(ids), "vector": pa.ListArray.from_arrays(offsets, pa.array(v.ravel()))})
        unknown = run_over(con, f"SELECT n.media_id FROM {NAME} n ANTI JOIN media m USING (media_id) "  # noqa: S608
                           "ORDER BY 1 LIMIT 10", table).fetchall()
        if unknown:
            raise ValidationError(f"media id(s) {[int(r[0]) for r in unknown]} are not in the project; "
                                  "list them with proj.media().df()")
        run_over(con, f"DELETE FROM embeddings WHERE name = ? AND media_id IN (SELECT media_id FROM {NAME})",  # noqa: S608
                 table, [name])
        run_over(con, "INSERT INTO embeddings (name, media_id, sha256, model, dim, vector, created_at) "  # noqa: S608
                 f"SELECT ?, n.media_id, m.sha256, ?, ?, n.vector, now() FROM {NAME} n JOIN media m USING (media_id)",
                 table, [name, model, d])
    return len(ids)


def _not_found(con: Any, name: str) -> NotFoundError:
    names = [r[0] for r in con.execute("SELECT DISTINCT name FROM embeddings ORDER BY 1").fetchall()]
    return NotFoundError.from_key("embedding", name, choices=names, hint=_HINT)


def read_embeddings(session: Session, name: str = "default",
                    media_ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The media ids (int64, sorted) and vectors (float32, ``[n, d]``) of embedding ``name``.

    ``media_ids`` restricts the result to those media (ids without a vector are left out).
    An unknown name is a :class:`~nblabel.errors.NotFoundError` naming the ones there are.

    Example:
        >>> import nblabel as nl
        >>> try:
        ...     read_embeddings(nl.open(":memory:").session, "clip")
        ... except nl.NotFoundError as e:
        ...     print(e)
        embedding 'clip' does not exist; none are defined yet; compute one with proj.embed(name) or bring one with proj.import_embeddings(data, name)
    """
    name = _check_name(name)
    with session.store.read() as con:
        dim = _stored_dim(con, name)
        if dim is None:
            raise _not_found(con, name)
        if media_ids is None:
            tbl = con.sql("SELECT media_id, vector FROM embeddings WHERE name = ? ORDER BY media_id",
                          params=[name]).to_arrow_table()
        else:
            want = [int(i) for i in _as_ids(list(media_ids))]
            tbl = con.sql("SELECT media_id, vector FROM embeddings WHERE name = ? AND media_id IN (SELECT unnest(?)) "
                          "ORDER BY media_id", params=[name, want]).to_arrow_table()
    ids = tbl.column("media_id").to_numpy().astype(np.int64)
    if not len(ids):
        return ids, np.zeros((0, dim), np.float32)
    flat = pa.concat_arrays([c.flatten() for c in tbl.column("vector").chunks])
    return ids, flat.to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(len(ids), dim)


def embedding_names(session: Session) -> list[str]:
    """The names of the stored embeddings, sorted.

    Example:
        >>> import nblabel as nl
        >>> embedding_names(nl.open(":memory:").session)
        []
    """
    with session.store.read() as con:
        return [str(r[0]) for r in con.execute("SELECT DISTINCT name FROM embeddings ORDER BY 1").fetchall()]


def embedding_info(session: Session) -> pd.DataFrame:
    """One row per stored embedding: name, model(s), dim, number of vectors.

    Example:
        >>> import nblabel as nl
        >>> list(embedding_info(nl.open(":memory:").session).columns)
        ['name', 'model', 'dim', 'n']
    """
    with session.store.read() as con:
        return con.execute("SELECT name, string_agg(DISTINCT model, ', ' ORDER BY model) AS model, min(dim) AS dim, "
                           "count(*) AS n FROM embeddings GROUP BY name ORDER BY name").df()


def missing_media(session: Session, name: str, media_ids: Sequence[int]) -> list[int]:
    """Those of ``media_ids`` (kept in order) that have no vector under ``name`` yet.

    Example:
        >>> import nblabel as nl
        >>> missing_media(nl.open(":memory:").session, "default", [3, 1])
        [3, 1]
    """
    ids = [int(i) for i in media_ids]
    if not ids:
        return []
    with session.store.read() as con:
        have = {int(r[0]) for r in con.execute(
            "SELECT media_id FROM embeddings WHERE name = ? AND media_id IN (SELECT unnest(?))", [name, ids]).fetchall()}
    return [i for i in ids if i not in have]


def reuse_by_sha256(session: Session, name: str, model: str, media_ids: Sequence[int]) -> int:
    """Copy, under ``name``, the vector another row made by ``model`` holds for the same image bytes (sha256).

    Covers an image added again under a new media id and a second name computed with the same model;
    returns how many media got a vector this way (nothing is computed).

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
        >>> _ = write_embeddings(p.session, "a", [1], np.ones((1, 2)), model="m")
        >>> reuse_by_sha256(p.session, "b", "m", [1]), read_embeddings(p.session, "b")[1].tolist()
        (1, [[1.0, 1.0]])
    """
    ids = [int(i) for i in media_ids]
    if not ids or "<" in model:  # a lambda or a local function: its name does not identify it
        return 0
    with session.store.transaction() as con:
        dim = _stored_dim(con, name)
        rows = con.execute(
            "INSERT INTO embeddings (name, media_id, sha256, model, dim, vector, created_at) "
            "SELECT ?, m.media_id, m.sha256, e.model, e.dim, e.vector, now() FROM media m "
            "JOIN (SELECT * FROM embeddings WHERE model = ? AND (? IS NULL OR dim = ?) "
            "      QUALIFY row_number() OVER (PARTITION BY sha256 ORDER BY created_at, name) = 1) e USING (sha256) "
            "WHERE m.media_id IN (SELECT unnest(?)) "
            "AND m.media_id NOT IN (SELECT media_id FROM embeddings WHERE name = ?) RETURNING media_id",
            [name, model, dim, dim, ids, name]).fetchall()
    return len(rows)


def delete_embeddings(session: Session, name: str) -> int:
    """Delete every vector of embedding ``name``; returns how many rows went (unknown name: NotFoundError).

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
        >>> _ = write_embeddings(p.session, "a", [1], np.ones((1, 2)), model="m")
        >>> delete_embeddings(p.session, "a"), embedding_names(p.session)
        (1, [])
    """
    name = _check_name(name)
    with session.store.transaction() as con:
        n = int(con.execute("SELECT count(*) FROM embeddings WHERE name = ?", [name]).fetchall()[0][0])
        if not n:
            raise _not_found(con, name)
        con.execute("DELETE FROM embeddings WHERE name = ?", [name])
    return n
