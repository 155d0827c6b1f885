"""A selection: a media slice in pick order, with why each item was picked.

:class:`Selection` is a :class:`~nblabel.query.MediaSlice` over fixed media ids whose default order
is the pick order (column ``pick_rank``, 1 first); every slice method works on it (``.head()``,
``.where()``, ``.save(name)``, an annotator queue), and filters keep the pick order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ..query import MediaSlice
from ..query._slice import _Query

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["Selection"]


class Selection(MediaSlice):
    """Media picked by :meth:`~nblabel.Project.select`, in pick order.

    Attributes:
        reasons: ``media_id, rank, why, distance, uncertainty, disagreement, weight, quota``: one row
            per pick, in pick order (``why`` says it in words; NaN where a strategy did not use a value).
        coverage_radius: the largest distance from a candidate to its nearest labelled or picked
            item after the picks (NaN without an embedding).
        strategy: the strategy that picked.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.full((4, 6, 3), v, np.uint8) for v in (0, 9)])
        >>> s = Selection(p.session, picks=(2, 1))
        >>> s.ids(), s.head(1).ids()
        ([2, 1], [2])
    """

    def __init__(self, session: Session, query: _Query | None = None, *, picks: tuple[int, ...] = (),
                 reasons: pd.DataFrame | None = None, coverage_radius: float = float("nan"),
                 strategy: str = "") -> None:
        q = query or _Query()
        if not q.order and q.sample is None:
            q = _Query(filters=q.filters, order=(("pick_rank", False),), limit=q.limit, sample=q.sample)
        super().__init__(session, q, picks=tuple(int(i) for i in picks), reasons=reasons,
                         coverage_radius=coverage_radius, strategy=strategy)

    def _all_columns(self) -> tuple[str, ...]:
        return (*self._columns, "pick_rank")

    @property
    def picks(self) -> list[int]:
        """All picked media ids in pick order (before any filter of this slice)."""
        return list(self._options["picks"])

    @property
    def reasons(self) -> pd.DataFrame:
        """Why each item was picked (see the class docstring)."""
        r = self._options["reasons"]
        return r.copy() if r is not None else pd.DataFrame({"media_id": self.picks})

    @property
    def coverage_radius(self) -> float:
        """Largest distance from a candidate to its nearest labelled or picked item (NaN if unknown)."""
        return float(self._options["coverage_radius"])

    @property
    def strategy(self) -> str:
        """The strategy that made this selection."""
        return str(self._options["strategy"])

    def _base(self) -> tuple[str, list[Any]]:
        base, params = super()._base()  # code-built SQL; the ids travel as parameters
        return (f"SELECT s.*, p.pick_rank FROM ({base}) AS s JOIN"  # noqa: S608
                "  (SELECT unnest(?::BIGINT[]) AS media_id, "
                "generate_subscripts(?::BIGINT[], 1) AS pick_rank) AS p USING (media_id)",
                [*params, list(self.picks), list(self.picks)])

    def to_rule(self) -> str:
        """As a dataset rule: the picked ids (and this slice's filters), without the pick order.

        Example:
            >>> import nblabel as nl
            >>> '"slice": "media"' in Selection(nl.open(":memory:").session, picks=(1,)).to_rule()
            True
        """
        plain = MediaSlice(self.session).ids_in(self.picks)
        for sql, params in self._q.filters:
            plain = plain._filter(sql, *params)
        return plain.to_rule()

    def __repr__(self) -> str:
        return f"<Selection ({self.strategy or 'picks'}): {self.count()} media>"
