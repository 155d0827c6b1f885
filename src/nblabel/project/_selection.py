"""Project methods for picking what to label next and for splits.

Each delegates to select/ (selection, splits) and, for the disagreement ranking, to debug/ (the
facade may use both rooms; select/ may not import debug/, so the ranking is passed down).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..select._selection import select_media
from ..select._splits import make_split, split_table
from ..select._splits_report import SplitReport, split_report

if TYPE_CHECKING:
    from ..select._selection_slice import Selection
    from ..store import Session


class SelectionMixin:
    """Project methods: ``select``, ``split``, ``split_of``, ``split_report``."""

    _session: Session

    def select(self, n: int, *, strategy: str = "diverse", run: Any = None, slice: Any = None,
               embedding: str | None = None, per_label: Mapping[str, int] | None = None, exclude: Any = None,
               seed: int = 0, measure: str = "entropy", weights: Mapping[str, float] | None = None) -> Selection:
        """Pick ``n`` media to label next; a media slice in pick order with ``.reasons`` and ``.coverage_radius``.

        Args:
            n: how many to pick (more than the pool holds is an error).
            strategy: ``"diverse"`` (greedy k-center from what is labelled: a ground-truth instance or
                ``complete``), ``"uncertain"`` (``run``'s least sure images, by ``measure``: ``"entropy"``,
                ``"margin"`` or ``"least_confidence"``), ``"disagreement"`` (where ground truth and
                ``run`` disagree most, as :meth:`disagreements` ranks images) or ``"hybrid"``
                (``Π score ^ weight`` with diversity inside the k-center loop; ``weights`` like
                ``{"diversity": 1, "uncertain": 2}``).
            run: the model run whose scores / predicted labels are used.
            slice: pick among these media (default: all).
            embedding: the vectors for diversity and near-duplicates (default ``"default"``).
            per_label: ``{label: count}`` quotas among the media ``run`` predicted each label on.
            exclude: media never to pick (a slice or ids).
            seed: the first pick when nothing is labelled.

        See :mod:`nblabel.select._selection` for the exact rules.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> rng = np.random.default_rng(0)
            >>> p = nl.open(":memory:"); _ = p.add_images([rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in range(6)])
            >>> _ = p.embed(progress=False)
            >>> sel = p.select(3)
            >>> len(sel.ids()), sel.reasons.columns[:3].tolist()
            (3, ['media_id', 'rank', 'why'])
        """
        session = self._session

        def ranking(ids: list[int]) -> pd.Series:
            from ..debug._disagree import disagreements
            from ..query import MediaSlice

            df = disagreements(session, run, per="image", slice=MediaSlice(session).ids_in(ids))
            return df.set_index("media_id")["score"]

        return select_media(session, n, strategy=strategy, run=run, slice=slice, embedding=embedding,
                            per_label=per_label, exclude=exclude, seed=seed, measure=measure, weights=weights,
                            disagreement=ranking if run is not None else None)

    def split(self, name: str, ratios: Mapping[str, float] | None = None, *, stratify: str | None = None,
              group_by: str | None = None, seed: int | None = None, slice: Any = None) -> pd.DataFrame:
        """Split the media into parts (static datasets ``"<name>/<part>"``), stratified, grouped and stable.

        Args:
            name: the split's name; calling again with it after new media arrived keeps every earlier
                assignment and places only the new media (a new item joins its group's part).
            ratios: ``{"train": 0.8, "val": 0.1, "test": 0.1}`` (each > 0, summing to 1); needed the
                first time, stored with the split.
            stratify: ``"labels"`` (default: every label's share balanced across parts, by iterative
                stratification over groups) or ``"none"``.
            group_by: ``None``, ``"near_duplicates"`` (the default embedding's near-duplicate groups)
                or ``"meta:<key>"`` (a media metadata key, e.g. a scene or a patient).
            seed: breaks ties (default 0); the same seed gives the same split.
            slice: split these media (default: all).

        Returns:
            ``media_id, split`` of every media item in the split.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.full((4, 6, 3), v, np.uint8) for v in range(10)])
            >>> p.split("v1", {"train": 0.8, "test": 0.2})["split"].value_counts().to_dict()
            {'train': 8, 'test': 2}
            >>> p.dataset("v1/test").count()
            2
        """
        return make_split(self._session, name, ratios, stratify=stratify, group_by=group_by, seed=seed,
                          slice=slice)

    def split_of(self, name: str) -> pd.DataFrame:
        """``media_id, split`` of every media item of split ``name``.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> _ = p.split("v1", {"train": 1.0}); p.split_of("v1").to_dict("list")
            {'media_id': [1], 'split': ['train']}
        """
        return split_table(self._session, name)

    def split_report(self, name: str) -> SplitReport:
        """Sizes, per-label shares per part (``.plot()``: a bar chart) and near-duplicate leaks of a split.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.full((4, 6, 3), v, np.uint8) for v in range(4)])
            >>> _ = p.split("v1", {"train": 0.5, "test": 0.5}); p.split_report("v1").sizes["n"].tolist()
            [2, 2]
        """
        return split_report(self._session, name)
