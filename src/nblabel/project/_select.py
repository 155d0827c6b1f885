"""Project methods for what to label next: embeddings, near-duplicates, similar images.

Each delegates to select/ (the room beside debug/) and store/; no SQL here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ..select import NearDuplicates, find_near_duplicates
from ..select._embed import embed_media
from ..select._import import import_embeddings
from ..select._scope import scope_ids
from ..select._similar import find_similar
from ..store import _embeddings

if TYPE_CHECKING:
    from ..store import Session


class SelectMixin:
    """Project methods for embeddings and near-duplicates."""

    _session: Session

    def embed(self, name: str = "default", *, model: Any = None, slice: Any = None, batch_size: int = 64,
              image_size: int | None = None, overwrite: bool = False, progress: bool | None = None) -> int:
        """Compute one vector per media item and store it under ``name``; returns how many were stored.

        Resumable: media that already have a vector under ``name`` are skipped, so a run that was
        interrupted continues where it stopped. An image whose bytes (sha256) another embedding made
        with the same model reuses that vector. ``model=None`` is the offline default
        (:func:`nblabel.select.default_embedder`, hand-made flip-invariant features); a callable
        taking a list of PIL images and returning ``[n, d]`` plugs in any network (see
        docs/embeddings.md).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((8, 8, 3), np.uint8)])
            >>> p.embed(), p.embeddings()["vector"][0].shape
            (1, (478,))
        """
        return embed_media(self._session, name, model=model, slice=slice, batch_size=batch_size,
                           image_size=image_size, overwrite=overwrite, progress=progress)

    def import_embeddings(self, data: Any, name: str, *, key: str | None = None, model: str | None = None,
                          on_missing: str = "raise") -> int:
        """Store vectors computed elsewhere (a DataFrame, Arrow table or Parquet path with a ``vector`` column).

        Rows are keyed by ``media_id``, ``sha256`` or ``file_name`` (``key=None``: the first of those
        columns present). Keys matching no media, mixed dimensions and NaN vectors refuse the whole
        import (nothing stored changes); ``on_missing="skip"`` leaves unmatched keys out instead.
        Returns how many vectors were stored.

        Example:
            >>> import nblabel as nl, numpy as np, pandas as pd
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((8, 8, 3), np.uint8)])
            >>> sha = p.media_info(1)["sha256"]
            >>> p.import_embeddings(pd.DataFrame({"sha256": [sha], "vector": [np.ones(4)]}), "clip")
            1
        """
        return import_embeddings(self._session, data, name, key=key, model=model, on_missing=on_missing)

    def find_similar(self, query: Any, k: int = 10, *, embedding: str | None = None,
                     model: Any = None) -> pd.DataFrame:
        """The ``k`` media most similar to ``query`` (a media id, an image path or a PIL image): ``media_id, distance``.

        "Is this new image already in my set?": a distance under ``proj.near_duplicates().threshold``
        means a near-duplicate. An image query is embedded with the default embedder, or with
        ``model`` for an embedding another model made.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> rng = np.random.default_rng(1)
            >>> p = nl.open(":memory:"); _ = p.add_images([rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
            ...                                            for _ in range(3)]); _ = p.embed()
            >>> p.find_similar(1, k=2)["media_id"].isin([2, 3]).all()
            np.True_
        """
        return find_similar(self._session, query, k, embedding=embedding, model=model)

    def embeddings(self, name: str = "default", *, slice: Any = None) -> pd.DataFrame:
        """The vectors of embedding ``name``: a DataFrame ``media_id, vector`` (float32 arrays), by media id.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((8, 8, 3), np.uint8)]); _ = p.embed()
            >>> p.embeddings().columns.tolist()
            ['media_id', 'vector']
        """
        ids, vecs = _embeddings.read_embeddings(self._session, name,
                                                None if slice is None else scope_ids(self._session, slice))
        return pd.DataFrame({"media_id": ids, "vector": list(vecs)})

    def embedding_names(self) -> pd.DataFrame:
        """The stored embeddings: name, model, dim, number of vectors.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").embedding_names().empty
            True
        """
        return _embeddings.embedding_info(self._session)

    def delete_embeddings(self, name: str) -> int:
        """Delete embedding ``name`` (every vector of it); returns how many vectors went.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((8, 8, 3), np.uint8)]); _ = p.embed()
            >>> p.delete_embeddings("default")
            1
        """
        return _embeddings.delete_embeddings(self._session, name)

    def near_duplicates(self, *, embedding: str | None = None, threshold: float | None = None,
                        slice: Any = None) -> NearDuplicates:
        """Near-duplicate pairs and groups (``.pairs``, ``.groups``, ``.threshold``, ``.plot()``, ``.drop()``, ``.tag()``).

        ``embedding`` defaults to ``"default"`` (computed with :meth:`embed`); ``threshold`` is a
        cosine distance (default: tuned for the default embedder). Groups are transitive; the kept
        member of a group is labelled > higher resolution > earlier.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> img = np.random.default_rng(0).integers(0, 255, (32, 48, 3), dtype=np.uint8)
            >>> p = nl.open(":memory:"); _ = p.add_images([img, img[:, ::-1].copy()]); _ = p.embed()
            >>> p.near_duplicates().groups["keep"].tolist()
            [True, False]
        """
        ids = None if slice is None else scope_ids(self._session, slice)
        return find_near_duplicates(self._session, embedding=embedding, threshold=threshold, media_ids=ids)
