"""Lazy, composable queries over media and instances.

A slice is SQL text plus parameters; nothing runs until ``.df()``, ``.arrow()``, ``.count()`` or
``.ids()``. Filters compose (each returns a new slice); user values only ever travel as parameters.
Slices run on a short-lived connection (see :mod:`nblabel.store`), so they stay valid while other
processes write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ValidationError, did_you_mean

if TYPE_CHECKING:
    import pyarrow as pa

    from ..project import Project


@dataclasses.dataclass(frozen=True)
class _Query:
    filters: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    order: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None
    sample: tuple[int, int] | None = None


class Slice:
    """Base of :class:`MediaSlice` and :class:`InstanceSlice`."""

    _columns: tuple[str, ...] = ()
    _key = ""

    def __init__(self, project: Project, query: _Query | None = None, **options: Any) -> None:
        self.project = project
        self._q = query or _Query()
        self._options = options

    # -- composing ---------------------------------------------------------------------------
    def _with(self, **changes: Any) -> Any:
        return type(self)(self.project, dataclasses.replace(self._q, **changes), **self._options)

    def _filter(self, sql: str, *params: Any) -> Any:
        return self._with(filters=(*self._q.filters, (sql, tuple(params))))

    def where(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Keep rows where a SQL condition holds (the escape hatch); values go in ``params`` as ``?``.

        Columns are those of ``.df()``.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:")
            >>> p.media().where("width > ?", [100]).count()
            0
        """
        return self._filter(f"({sql})", *(params or ()))

    def sort_by(self, column: str | Sequence[str], *, descending: bool = False) -> Any:
        """Sort by one or more columns of ``.df()``.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().sort_by("width", descending=True).count()
            0
        """
        cols = [column] if isinstance(column, str) else list(column)
        for c in cols:
            if c not in self._all_columns():
                raise ValidationError(f"cannot sort by {c!r}{did_you_mean(c, self._all_columns())}")
        return self._with(order=tuple((c, descending) for c in cols))

    def head(self, n: int = 10) -> Any:
        """The first ``n`` rows (after sorting).

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().head(5).count()
            0
        """
        return self._with(limit=int(n))

    def sample(self, n: int, seed: int = 0) -> Any:
        """A reproducible random sample of ``n`` rows (the same seed gives the same rows).

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().sample(3, seed=1).count()
            0
        """
        return self._with(sample=(int(n), int(seed)))

    # -- running -----------------------------------------------------------------------------
    def _base(self) -> tuple[str, list[Any]]:
        raise NotImplementedError

    def _all_columns(self) -> tuple[str, ...]:
        return self._columns

    def sql(self) -> tuple[str, list[Any]]:
        """The SQL text and parameters this slice runs.

        Example:
            >>> import nblabel as nl
            >>> sql, params = nl.open(":memory:").media().where("width > ?", [5]).sql()
            >>> params
            [5]
        """
        base, params = self._base()
        sql = f"SELECT * FROM ({base}) AS b"
        if self._q.filters:
            sql += " WHERE " + " AND ".join(f for f, _ in self._q.filters)
            for _, p in self._q.filters:
                params.extend(p)
        if self._q.sample is not None:
            n, seed = self._q.sample
            # hash-based order: reproducible for a seed, independent of insertion order
            sql = f"SELECT * FROM ({sql}) AS s ORDER BY hash({self._key} + ?), {self._key} LIMIT ?"
            params += [seed * 1_000_003, n]
        if self._q.order:
            sql = f"SELECT * FROM ({sql}) AS o ORDER BY " + ", ".join(
                f'"{c}" {"DESC" if d else "ASC"} NULLS LAST' for c, d in self._q.order) + f", {self._key}"
        elif self._q.sample is None:
            sql += f" ORDER BY {self._key}"
        if self._q.limit is not None:
            sql += " LIMIT ?"
            params.append(self._q.limit)
        return sql, params

    def df(self) -> pd.DataFrame:
        """Run the slice and return a pandas DataFrame.

        Example:
            >>> import nblabel as nl
            >>> list(nl.open(":memory:").media().df().columns)[:3]
            ['media_id', 'file_name', 'uri']
        """
        sql, params = self.sql()
        with self.project.store.read() as con:
            return con.execute(sql, params).df()

    def arrow(self) -> pa.Table:
        """Run the slice and return a pyarrow Table.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().arrow().num_rows
            0
        """
        sql, params = self.sql()
        with self.project.store.read() as con:
            res = con.execute(sql, params)
            return res.to_arrow_table() if hasattr(res, "to_arrow_table") else res.arrow()

    def count(self) -> int:
        """Number of rows.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").instances().count()
            0
        """
        sql, params = self.sql()
        with self.project.store.read() as con:
            return int(con.execute(f"SELECT count(*) FROM ({sql}) AS c", params).fetchall()[0][0])

    def ids(self) -> list[int]:
        """The ids (media ids or instance ids) in the slice, in order.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().ids()
            []
        """
        sql, params = self.sql()
        with self.project.store.read() as con:
            return [int(r[0]) for r in con.execute(f"SELECT {self._key} FROM ({sql}) AS c", params).fetchall()]

    def __len__(self) -> int:
        return self.count()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.count()} rows>"


class MediaSlice(Slice):
    """A lazy query over media items. ``proj.media()`` starts one.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
        >>> p.media().where("width = ?", [6]).count()
        1
    """

    _columns = ("media_id", "file_name", "uri", "sha256", "width", "height", "format", "meta", "added_at",
                "n_instances")
    _key = "media_id"

    def _base(self) -> tuple[str, list[Any]]:
        return (
            "SELECT m.media_id, m.file_name, m.uri, m.sha256, m.width, m.height, m.format, m.meta, m.added_at, "
            "coalesce(c.n, 0) AS n_instances FROM media m LEFT JOIN (SELECT media_id, count(*) AS n "
            "FROM current_instances WHERE run_id IS NULL GROUP BY media_id) c USING (media_id)",
            [],
        )

    def labels(self, names: Sequence[str] | str, *, how: str = "any") -> MediaSlice:
        """Media whose ground truth has any / all / none of the labels.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> p.media().labels(["car"]).count()
            0
        """
        names = [names] if isinstance(names, str) else list(names)
        state = self.project.schema.state()
        ids = [state.label(n).id for n in names]
        sub = "SELECT media_id FROM current_instances WHERE run_id IS NULL AND label_id IN (SELECT unnest(?))"
        if how == "any":
            return self._filter(f"media_id IN ({sub})", ids)
        if how == "none":
            return self._filter(f"media_id NOT IN ({sub})", ids)
        if how == "all":
            return self._filter(f"media_id IN ({sub} GROUP BY media_id HAVING count(DISTINCT label_id) = ?)",
                                ids, len(set(ids)))
        raise ValidationError(f"how must be 'any', 'all' or 'none', got {how!r}")

    def status(self, state: str | Sequence[str], *, stage: str = "label") -> MediaSlice:
        """Media in the given state(s) of a stage ('new' means never touched).

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().status("complete").count()
            0
        """
        states = [state] if isinstance(state, str) else list(state)
        return self._filter(
            "coalesce((SELECT s.state FROM status s WHERE s.media_id = b.media_id AND s.stage = ?), 'new') "
            "IN (SELECT unnest(?))", stage, states)


class InstanceSlice(Slice):
    """A lazy query over current instances (ground truth by default, or one run's predictions).

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[1, 1, 9, 9])
        >>> p.instances().df()[["instance_id", "label", "x1"]].values.tolist()
        [[1, 'car', 9.0]]
    """

    _columns = ("instance_id", "version", "media_id", "file_name", "run", "run_id", "label", "label_id", "kind",
                "x0", "y0", "x1", "y1", "points", "attributes", "score", "track_id", "area", "iscrowd", "extra",
                "author", "schema_version", "created_at")
    _key = "instance_id"

    def _base(self) -> tuple[str, list[Any]]:
        run = self._options.get("run")
        sql = ("SELECT i.instance_id, i.version, i.media_id, m.file_name, r.name AS run, i.run_id, l.name AS label, "
               "i.label_id, i.kind, i.x0, i.y0, i.x1, i.y1, i.points, i.attributes, i.score, i.track_id, i.area, "
               "i.iscrowd, i.extra, i.author, i.schema_version, i.created_at FROM current_instances i "
               "JOIN labels l USING (label_id) JOIN media m USING (media_id) LEFT JOIN runs r USING (run_id)")
        if run is None:
            return sql + " WHERE i.run_id IS NULL", []
        if run == "*":
            return sql, []
        return sql + " WHERE r.name = ?", [str(run)]

    def labels(self, names: Sequence[str] | str) -> InstanceSlice:
        """Instances of these labels.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> p.instances().labels("car").count()
            0
        """
        names = [names] if isinstance(names, str) else list(names)
        state = self.project.schema.state()
        return self._filter("label_id IN (SELECT unnest(?))", [state.label(n).id for n in names])

    def score(self, min: float | None = None, max: float | None = None) -> InstanceSlice:
        """Instances whose score lies in [min, max].

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").instances(run="*").score(0.5).count()
            0
        """
        s = self
        if min is not None:
            s = s._filter("score >= ?", float(min))
        if max is not None:
            s = s._filter("score <= ?", float(max))
        return s
