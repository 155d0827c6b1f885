"""Near-duplicate search over an embedding: candidate pairs, transitive groups, keep / drop / tag.

:func:`find_near_duplicates` finds every pair of media within a generous cut-off (``pairs``), and
groups them at a threshold (``groups``: connected components, so groups do not depend on the order
of the media; one member kept per group: labelled > higher resolution > earlier). Exact duplicates
(identical vectors: identical decoded pixels under any deterministic embedder) are always grouped.
Change the threshold afterwards with :meth:`NearDuplicates.at` (no new search).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._warnings import warn
from ..errors import ValidationError
from ..store._embeddings import embedding_info, read_embeddings
from ._embedder import DEFAULT_MODEL, DEFAULT_THRESHOLD
from ._groups import group_pairs
from ._media_facts import labelled_and_pixels
from ._neighbours import candidate_pairs

if TYPE_CHECKING:
    from ..query import MediaSlice
    from ..store import Session

__all__ = ["OTHER_MODEL_THRESHOLD", "NearDuplicates", "cutoff_for", "default_threshold", "find_near_duplicates"]

OTHER_MODEL_THRESHOLD = 0.10  # cosine distance for embeddings not made by the default embedder (check .plot())


def default_threshold(session: Session, embedding: str) -> float:
    """The threshold used when none is given: tuned for the default embedder, 0.10 for other models.

    Example:
        >>> import nblabel as nl
        >>> default_threshold(nl.open(":memory:").session, "none") == OTHER_MODEL_THRESHOLD
        True
    """
    info = embedding_info(session)
    models = info.loc[info["name"] == embedding, "model"].tolist()
    return DEFAULT_THRESHOLD if models == [DEFAULT_MODEL] else OTHER_MODEL_THRESHOLD


def cutoff_for(threshold: float) -> float:
    """The generous cut-off up to which candidate pairs are kept: 1.5 × the threshold, at least +0.05.

    Example:
        >>> cutoff_for(0.2)
        0.3
    """
    return float(round(max(1.5 * threshold, threshold + 0.05), 12))


@dataclass
class NearDuplicates:
    """Near-duplicate pairs and groups of an embedding.

    Attributes:
        pairs: ``media_a, media_b, distance`` (cosine distance, smaller = more similar;
            ``media_a < media_b``, sorted by distance): every pair within ``threshold``, and up to
            ``cutoff`` the pairs among each item's 10 nearest neighbours.
        groups: ``media_id, group, keep`` of every media item in a group of two or more at ``threshold``.
        threshold: the distance at which pairs join a group.
        cutoff: the largest distance in ``pairs``.
        media_ids: the media searched (those with a vector).

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.full((4, 6, 3), v, np.uint8) for v in (0, 9, 200)])
        >>> from nblabel.store._embeddings import write_embeddings
        >>> _ = write_embeddings(p.session, "e", [1, 2, 3], [[1, 0], [1, 0.01], [0, 1]], model="m")
        >>> d = find_near_duplicates(p.session, embedding="e")
        >>> d.groups.to_dict("list")
        {'media_id': [1, 2], 'group': [0, 0], 'keep': [True, False]}
        >>> d.drop_ids(), d.at(0.0).groups.empty
        ([2], True)
    """

    pairs: pd.DataFrame
    groups: pd.DataFrame
    threshold: float
    cutoff: float
    media_ids: np.ndarray
    embedding: str = "default"
    _session: Any = field(default=None, repr=False)
    _labelled: np.ndarray | None = field(default=None, repr=False)
    _pixels: np.ndarray | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        n_groups = int(self.groups["group"].nunique()) if len(self.groups) else 0
        return (f"<NearDuplicates {self.embedding!r}: {n_groups} groups, {len(self.drop_ids())} to drop of "
                f"{len(self.media_ids)} media at threshold {self.threshold:.3g}; {len(self.pairs)} pairs up to "
                f"{self.cutoff:.3g}>")

    def at(self, threshold: float) -> NearDuplicates:
        """The same search grouped at another threshold (at most ``cutoff``; no new search).

        Above the search's threshold only the pairs among each item's nearest neighbours are
        known: for exact groups at a larger threshold, search again with that threshold.

        Example:
            >>> d = NearDuplicates(pd.DataFrame({"media_a": [1], "media_b": [2], "distance": [0.05]}),
            ...                    pd.DataFrame(), 0.1, 0.2, np.array([1, 2]))
            >>> d.at(0.06).groups["media_id"].tolist(), d.at(0.01).groups["media_id"].tolist()
            ([1, 2], [])
        """
        t = _check_threshold(threshold)
        if t > self.cutoff + 1e-12:
            raise ValidationError(f"threshold {threshold} is above this search's cut-off {self.cutoff:.3g}; "
                                  f"search again with proj.near_duplicates(threshold={threshold})")
        g = group_pairs(self.media_ids, self.pairs["media_a"].to_numpy(), self.pairs["media_b"].to_numpy(),
                        self.pairs["distance"].to_numpy(), t, labelled=self._labelled, pixels=self._pixels)
        return NearDuplicates(self.pairs, g, t, self.cutoff, self.media_ids, self.embedding, self._session,
                              self._labelled, self._pixels)

    def drop_ids(self) -> list[int]:
        """The media ids a deduplication drops: every grouped item not kept (sorted).

        Example:
            >>> g = pd.DataFrame({"media_id": [1, 2, 3], "group": [0, 0, 0], "keep": [False, True, False]})
            >>> NearDuplicates(pd.DataFrame(), g, 0.1, 0.2, np.array([1, 2, 3])).drop_ids()
            [1, 3]
        """
        if not len(self.groups):
            return []
        return sorted(int(i) for i in self.groups.loc[~self.groups["keep"], "media_id"])

    def keep_ids(self) -> list[int]:
        """The media ids a deduplication keeps: every searched item but :meth:`drop_ids` (sorted).

        Example:
            >>> g = pd.DataFrame({"media_id": [1, 2], "group": [0, 0], "keep": [False, True]})
            >>> NearDuplicates(pd.DataFrame(), g, 0.1, 0.2, np.array([1, 2, 5])).keep_ids()
            [2, 5]
        """
        drop = np.asarray(self.drop_ids(), np.int64)
        return [int(i) for i in np.setdiff1d(self.media_ids, drop)]

    def _need_session(self) -> Session:
        if self._session is None:
            raise ValidationError("this result is not tied to a project; get one from proj.near_duplicates()")
        return self._session

    def drop(self) -> MediaSlice:
        """The searched media without the non-kept duplicates, as a media slice (nothing is deleted).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> _ = p.embed()
            >>> p.near_duplicates().drop().count()
            1
        """
        from ..query import MediaSlice

        return MediaSlice(self._need_session()).ids_in(self.keep_ids())

    def tag(self, dataset: str = "near-duplicates", *, overwrite: bool = True) -> int:
        """Save the non-kept duplicates as the static dataset ``dataset``; returns its size (nothing is deleted).

        Leave them out later with ``proj.media().not_in_dataset(dataset)``.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> _ = p.embed()
            >>> p.near_duplicates().tag()
            0
        """
        from ..query import MediaSlice

        return MediaSlice(self._need_session()).ids_in(self.drop_ids()).save(dataset, overwrite=overwrite)

    def plot(self, ax: Any = None, *, bins: int = 50) -> Any:
        """Histogram of the pair distances with the threshold marked (a matplotlib Figure; draws on ``ax`` if given).

        Example:
            >>> d = NearDuplicates(pd.DataFrame({"media_a": [1], "media_b": [2], "distance": [0.05]}),
            ...                    pd.DataFrame(), 0.1, 0.2, np.array([1, 2]))
            >>> from matplotlib.figure import Figure
            >>> isinstance(d.plot(), Figure), len(d.plot().axes[0].patches)
            (True, 50)
        """
        from .._figure import figure_axes

        fig, ax = figure_axes(ax, figsize=(6, 3.2))
        dist = self.pairs["distance"].to_numpy() if len(self.pairs) else np.zeros(0)
        ax.hist(dist, bins=bins, range=(0, self.cutoff), color="#4c72b0")
        ax.axvline(self.threshold, color="#d62728", linestyle="--", label=f"threshold {self.threshold:.3g}")
        ax.set_xlabel("cosine distance (smaller = more similar)")
        ax.set_ylabel("pairs")
        ax.set_title(f"near-duplicate candidates of {self.embedding!r}: {len(self.drop_ids())} to drop")
        ax.legend()
        return fig


def _check_threshold(threshold: object) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)) \
            or not np.isfinite(threshold) or not 0 <= float(threshold) <= 2:
        raise ValidationError(f"threshold must be a cosine distance between 0 and 2, got {threshold!r}")
    return float(threshold)


def find_near_duplicates(session: Session, *, embedding: str | None = None, threshold: float | None = None,
                         media_ids: Sequence[int] | None = None, k: int = 10) -> NearDuplicates:
    """Near-duplicate pairs and groups among the media with a vector in ``embedding`` (default ``"default"``).

    ``threshold``: cosine distance at which two media are duplicates (default: tuned for the default
    embedder, :data:`OTHER_MODEL_THRESHOLD` for other models). ``media_ids``: search only these.
    Memory is O(N·k + pairs): no N × N matrix.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
        >>> find_near_duplicates(p.session, embedding="nope")
        Traceback (most recent call last):
        ...
        nblabel.errors.NotFoundError: embedding 'nope' does not exist; none are defined yet; compute one with proj.embed(name) or bring one with proj.import_embeddings(data, name)
    """
    name = "default" if embedding is None else embedding
    ids, vecs = read_embeddings(session, name, media_ids)
    if media_ids is not None:
        missing = len({int(i) for i in media_ids}) - len(ids)
        if missing:
            warn(f"{missing} of the media searched have no vector in embedding {name!r} and are left out; "
                 f"compute them with proj.embed({name!r})")
    t = default_threshold(session, name) if threshold is None else _check_threshold(threshold)
    cut = cutoff_for(t)
    i, j, d = candidate_pairs(vecs, t, cut, k=k)
    pairs = pd.DataFrame({"media_a": ids[i], "media_b": ids[j], "distance": d.astype(np.float64)})
    labelled, pixels = labelled_and_pixels(session, ids)
    groups = group_pairs(ids, pairs["media_a"].to_numpy(), pairs["media_b"].to_numpy(), d, t,
                         labelled=labelled, pixels=pixels)
    return NearDuplicates(pairs, groups, t, cut, ids, name, session, labelled, pixels)
