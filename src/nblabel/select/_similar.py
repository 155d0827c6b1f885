"""The media most similar to one image: "is this new image already in my set?".

The query is a media id (its stored vector), or an image (a path or a PIL image) embedded with the
embedding's model: the default embedder, or the ``model=`` callable that made the embedding. One
query is one pass over the vectors (blocked dot products): no index is needed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from PIL import Image

from ..errors import ValidationError
from ..io._images import load_display_image
from ..store._embeddings import embedding_info, read_embeddings
from ._embed import resolve_model
from ._embedder import DEFAULT_MODEL, THUMB
from ._neighbours import unit_rows

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["find_similar"]


def _query_vector(session: Session, query: Any, name: str, ids: np.ndarray, vecs: np.ndarray,
                  model: Any) -> tuple[np.ndarray, int | None]:
    if isinstance(query, (int, np.integer)) and not isinstance(query, bool):
        pos = np.searchsorted(ids, int(query))
        if pos >= len(ids) or ids[pos] != int(query):
            raise ValidationError(f"media {int(query)} has no vector in embedding {name!r}; "
                                  f"compute it with proj.embed({name!r})")
        return vecs[pos], int(query)
    if isinstance(query, (str, os.PathLike)):
        image = load_display_image(query, fit=(4 * THUMB, 4 * THUMB)).convert("RGB")
    elif isinstance(query, Image.Image):
        image = query.convert("RGB")
    else:
        raise ValidationError(f"query must be a media id, an image path or a PIL image, got {type(query).__name__}")
    info = embedding_info(session)
    stored = info.loc[info["name"] == name, "model"].tolist()
    if model is None and stored != [DEFAULT_MODEL]:
        raise ValidationError(f"embedding {name!r} was made by {stored[0] if stored else 'another model'!r}; "
                              "pass that model (model=...) to embed the query image the same way")
    fn, _ = resolve_model(model)
    v = np.asarray(fn([image]), np.float32)
    if v.shape != (1, vecs.shape[1]):
        raise ValidationError(f"the model gave a vector of shape {v.shape} for the query; embedding {name!r} "
                              f"holds {vecs.shape[1]}-dimensional vectors")
    return v[0], None


def find_similar(session: Session, query: Any, k: int = 10, *, embedding: str | None = None,
                 model: Any = None) -> pd.DataFrame:
    """The ``k`` media nearest to ``query``: DataFrame ``media_id, distance`` (cosine), nearest first.

    A media id as the query is left out of its own answer.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> from PIL import Image
        >>> rng = np.random.default_rng(0)
        >>> imgs = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(3)]
        >>> p = nl.open(":memory:"); _ = p.add_images(imgs); _ = p.embed()
        >>> find_similar(p.session, Image.fromarray(imgs[2][:, ::-1]), k=1)["media_id"].tolist()
        [3]
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValidationError(f"k must be a positive integer, got {k!r}")
    name = "default" if embedding is None else embedding
    ids, vecs = read_embeddings(session, name)
    q, self_id = _query_vector(session, query, name, ids, vecs, model)
    q = unit_rows(q[None, :])[0]
    dist = np.empty(len(ids), np.float32)
    for s in range(0, len(ids), 65_536):
        dist[s:s + 65_536] = 1.0 - unit_rows(vecs[s:s + 65_536]) @ q
    if self_id is not None:
        dist[np.searchsorted(ids, self_id)] = np.inf
    n = min(int(k), len(ids) - (self_id is not None))
    if n <= 0:
        return pd.DataFrame({"media_id": pd.Series([], dtype="int64"), "distance": pd.Series([], dtype="float64")})
    top = np.argpartition(dist, n - 1)[:n] if n < len(dist) else np.arange(len(dist))
    top = top[np.lexsort((ids[top], dist[top]))][:n]
    return pd.DataFrame({"media_id": ids[top], "distance": np.maximum(dist[top], 0).astype(np.float64)})
