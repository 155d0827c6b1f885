"""Importing embeddings computed elsewhere (a Spark or Ray job): a DataFrame, Arrow table or Parquet file
with a ``vector`` column, keyed by ``media_id``, ``file_name`` or ``sha256``.

The whole import is checked before anything is written: keys that match no media, repeated keys,
vectors of mixed dimension, NaN or infinite values are refused with the offending keys named, and
nothing stored changes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import FormatError, ValidationError
from ..store._embeddings import write_embeddings

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["KEYS", "import_embeddings"]

KEYS = ("media_id", "sha256", "file_name")  # key=None takes the first of these the data has


def _table(data: Any) -> pa.Table:
    if isinstance(data, (str, os.PathLike)):
        import pyarrow.parquet as pq

        try:
            return pq.read_table(os.fspath(data))
        except (OSError, pa.ArrowException) as e:
            raise FormatError(f"cannot read embeddings from {os.fspath(data)!r}: {e}; give a Parquet file "
                              "(or a DataFrame) with a 'vector' column") from None
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise ValidationError(f"embeddings must be a DataFrame, a pyarrow Table or a Parquet path, got {type(data).__name__}")


def _vectors(col: pa.ChunkedArray, keys: pd.Series, what: str) -> np.ndarray:
    arr: Any = col.combine_chunks()
    if pa.types.is_fixed_size_list(arr.type):
        arr = arr.cast(pa.list_(arr.type.value_type))
    if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)):
        raise ValidationError(f"column 'vector' of {what} must hold arrays (lists of numbers), got {arr.type}")
    if arr.null_count:
        bad = keys[np.asarray(arr.is_null())].tolist()[:5]
        raise ValidationError(f"{arr.null_count} rows of {what} have no vector (keys {bad}); drop them first")
    lengths = np.asarray(_list_lengths(arr))
    if len(lengths) and (lengths != lengths[0]).any():
        dims = pd.Series(lengths).value_counts()
        odd = keys[lengths != dims.index[0]].tolist()[:5]
        raise ValidationError(f"vectors of {what} have mixed dimensions {sorted(dims.index.tolist())}: "
                              f"e.g. keys {odd} are not {dims.index[0]}-dimensional; one dimension per embedding")
    if not len(lengths) or lengths[0] == 0:
        raise ValidationError(f"{what} holds no vectors (an empty table or empty arrays)")
    try:
        flat = arr.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    except (pa.ArrowException, TypeError, ValueError) as e:
        raise ValidationError(f"column 'vector' of {what} must hold numbers: {e}") from None
    v = flat.reshape(len(lengths), int(lengths[0]))
    with np.errstate(invalid="ignore"):
        bad_rows = ~np.isfinite(v).all(axis=1)
    if bad_rows.any():
        raise ValidationError(f"{int(bad_rows.sum())} vectors of {what} hold NaN or infinite values "
                              f"(keys {keys[bad_rows].tolist()[:5]}); fix or drop them; nothing was stored")
    return v


def _list_lengths(arr: pa.Array) -> Any:
    """Lengths of the lists of a list array."""
    import pyarrow.compute as pc

    return pc.list_value_length(arr).to_numpy(zero_copy_only=False)


def import_embeddings(session: Session, data: Any, name: str, *, key: str | None = None,
                      model: str | None = None, on_missing: str = "raise") -> int:
    """Store the vectors of ``data`` under ``name``; returns how many were stored.

    Args:
        data: a DataFrame, pyarrow Table or Parquet path with a ``vector`` column (arrays) and a key column.
        name: the embedding's name.
        key: ``"media_id"``, ``"sha256"`` or ``"file_name"``; ``None``: the first of these present.
        model: what made the vectors (stored with them; default ``"imported"``).
        on_missing: ``"raise"`` (default): a key matching no media refuses the import;
            ``"skip"``: such rows are left out (keys matching nothing at all still refuse).

    Example:
        >>> import nblabel as nl, numpy as np, pandas as pd
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
        >>> import_embeddings(p.session, pd.DataFrame({"media_id": [1], "vector": [[0.5, 0.5]]}), "clip")
        1
    """
    what = repr(os.fspath(data)) if isinstance(data, (str, os.PathLike)) else "the embeddings"
    if on_missing not in ("raise", "skip"):
        raise ValidationError(f"on_missing must be 'raise' or 'skip', got {on_missing!r}")
    table = _table(data)
    cols = table.column_names
    if "vector" not in cols:
        raise ValidationError(f"{what} has no 'vector' column (columns: {cols[:10]}); name the column of arrays 'vector'")
    if key is None:
        present = [k for k in KEYS if k in cols]
        if not present:
            raise ValidationError(f"{what} has none of the key columns {list(KEYS)} (columns: {cols[:10]}); "
                                  "add one, or pass key=")
        key = present[0]
    elif key not in KEYS:
        raise ValidationError(f"key must be one of {list(KEYS)}, got {key!r}")
    elif key not in cols:
        raise ValidationError(f"{what} has no {key!r} column (columns: {cols[:10]})")
    keys = table.column(key).to_pandas()
    if keys.isna().any():
        raise ValidationError(f"{int(keys.isna().sum())} rows of {what} have no {key}; every vector needs one")
    if keys.duplicated().any():
        raise ValidationError(f"{key} values repeat in {what} (e.g. {keys[keys.duplicated()].tolist()[:5]}); "
                              "give one vector per media item")
    vecs = _vectors(table.column("vector"), keys, what)
    rows, ids = _media_for(session, key, keys, what, on_missing)
    return write_embeddings(session, name, ids, vecs[rows], model=model or "imported")


def _media_for(session: Session, key: str, keys: pd.Series, what: str,
               on_missing: str) -> tuple[np.ndarray, np.ndarray]:
    """``(row, media id)`` pairs: the media item(s) each key names, refusing unmatched keys unless
    ``on_missing="skip"``. A sha256 names every media item holding those bytes (identical pixels
    under several file names are several items, and each gets the vector)."""
    many: dict[str, list[int]] | None = None
    with session.store.read() as con:
        if key == "media_id":
            try:
                wanted = keys.astype("int64")
            except (TypeError, ValueError):
                raise ValidationError(f"media_id of {what} must be integers") from None
            known = {int(r[0]) for r in con.execute("SELECT media_id FROM media WHERE media_id IN (SELECT unnest(?))",
                                                    [wanted.tolist()]).fetchall()}
            ids = np.array([i if i in known else -1 for i in wanted.tolist()], np.int64)
        elif key == "sha256":
            many = {}
            for sha, mid in con.execute("SELECT sha256, media_id FROM media WHERE sha256 IN (SELECT unnest(?)) "
                                        "ORDER BY media_id", [keys.astype(str).tolist()]).fetchall():
                many.setdefault(str(sha), []).append(int(mid))
            ids = np.array([many[str(k)][0] if str(k) in many else -1 for k in keys.tolist()], np.int64)
        else:
            rows = con.execute(f"SELECT {key}, min(media_id), count(*) FROM media WHERE {key} IN (SELECT unnest(?)) "  # noqa: S608
                               "GROUP BY 1", [keys.astype(str).tolist()]).fetchall()
            ambiguous = [r[0] for r in rows if r[2] > 1]
            if ambiguous:
                raise ValidationError(f"file names {ambiguous[:5]} of {what} match several media; key by "
                                      "media_id or sha256 instead")
            by = {str(r[0]): int(r[1]) for r in rows}
            ids = np.array([by.get(str(k), -1) for k in keys.tolist()], np.int64)
    missing = ids < 0
    if missing.all():
        raise ValidationError(f"none of the {len(ids)} {key} values of {what} match a media item "
                              f"(e.g. {keys.tolist()[:3]}); add the images first, or key by another column")
    if missing.any() and on_missing == "raise":
        raise ValidationError(f"{int(missing.sum())} {key} values of {what} match no media item "
                              f"(e.g. {keys[missing].tolist()[:5]}); pass on_missing='skip' to leave them out; "
                              "nothing was stored")
    if many is None:
        found = np.flatnonzero(ids >= 0)
        return found, ids[found]
    pairs = [(i, mid) for i, k in enumerate(keys.astype(str).tolist()) for mid in many.get(k, [])]
    return np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64)
