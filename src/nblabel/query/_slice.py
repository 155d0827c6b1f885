"""Lazy, composable queries over media and instances.

A slice is SQL text plus parameters; nothing runs until ``.df()``, ``.arrow()``, ``.pl()``,
``.count()`` or ``.ids()``. Filters compose (each returns a new slice); user values only ever travel as parameters.
Slices run on a short-lived connection (see :mod:`nblabel.store`), so they stay valid while other
processes write. A slice also remembers the filter-method calls that built it, so it can be saved
as a dynamic dataset rule made of data, not SQL (:mod:`._rules`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import MissingDependencyError, ValidationError, did_you_mean
from ._rules import RULE_METHODS, Step, encode_step, rule_to_json

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from ..store import Session


@dataclasses.dataclass(frozen=True)
class _Query:
    filters: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    order: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None
    sample: tuple[int, int] | None = None
    # How the slice was built, as the method calls a dataset rule replays (see ._rules), from the
    # slice `root` = (kind, options) it started as; None: not describable (raw SQL from .where()).
    steps: tuple[Step, ...] | None = ()
    root: tuple[str, tuple[tuple[str, Any], ...]] = ("", ())


class _Recorded:
    """A slice method that records its call (name and arguments) as a rule step on the slice it returns.

    A descriptor rather than a wrapper function, so the method keeps its module (its doctests run
    where it is defined) and its signature (``__wrapped__``).
    """

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.__wrapped__ = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__qualname__ = fn.__qualname__
        self.__module__ = fn.__module__

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        fn = self.fn

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            return obj._recorded(fn(obj, *args, **kwargs), fn.__name__, args, kwargs)

        return call


class Slice:
    """Base of :class:`MediaSlice` and :class:`InstanceSlice`."""

    _columns: tuple[str, ...] = ()
    _key = ""
    _kind = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in RULE_METHODS.get(cls._kind, ()):
            if not isinstance(inspect.getattr_static(cls, name), _Recorded):
                setattr(cls, name, _Recorded(getattr(cls, name)))

    def __init__(self, session: Session, query: _Query | None = None, **options: Any) -> None:
        self.session = session
        self._q = query or _Query(root=(self._kind, tuple(sorted(options.items()))))
        self._options = options

    # -- composing ---------------------------------------------------------------------------
    def _with(self, **changes: Any) -> Any:
        changes.setdefault("steps", None)  # a change no recorded method describes (see _recorded)
        return type(self)(self.session, dataclasses.replace(self._q, **changes), **self._options)

    def _recorded(self, out: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``out`` (what method ``name`` returned) described as this slice's steps plus this call."""
        if not isinstance(out, Slice):
            return out
        step = encode_step(name, args, kwargs) if self._q.steps is not None else None
        q = dataclasses.replace(out._q, steps=None if step is None else (*(self._q.steps or ()), step),
                                root=self._q.root)
        return type(out)(out.session, q, **out._options)

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

    def rule_dict(self) -> dict[str, Any]:
        """This slice as a dataset rule: the slice it started as and the method calls that built it.

        A slice that used :meth:`where` (raw SQL) cannot be a rule: a project file holds no SQL.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().image_size(min_width=5).rule_dict()["steps"]
            [('image_size', [], {'min_width': 5})]
            >>> nl.open(":memory:").media().where("width > ?", [5]).rule_dict()
            Traceback (most recent call last):
            nblabel.errors.ValidationError: this slice cannot be saved as a rule: ...
        """
        kind, options = self._q.root
        if self._q.steps is None:
            raise ValidationError(
                "this slice cannot be saved as a rule: it uses raw SQL (.where()) or an argument that is not "
                "a plain value, and a rule is stored as data (method calls), never as SQL; build it with the "
                "filter methods, or freeze its current members as a static dataset with .save(name)")
        opts = {k: getattr(v, "name", v) for k, v in options if k == "run"}  # a Run is kept by its name
        if not all(v is None or isinstance(v, str) for v in opts.values()):
            raise ValidationError(f"this slice's run {opts!r} cannot be saved in a rule; give the run by its name")
        return {"slice": kind, "options": opts, "steps": list(self._q.steps)}

    def to_rule(self) -> str:
        """This slice as the JSON text of a dataset rule (see :meth:`rule_dict`).

        Example:
            >>> import nblabel as nl
            >>> '"slice": "media"' in nl.open(":memory:").media().image_size(min_width=5).to_rule()
            True
        """
        return rule_to_json(self.rule_dict())

    def df(self) -> pd.DataFrame:
        """Run the slice and return a pandas DataFrame.

        Example:
            >>> import nblabel as nl
            >>> list(nl.open(":memory:").media().df().columns)[:3]
            ['media_id', 'file_name', 'uri']
        """
        sql, params = self.sql()
        with self.session.store.read() as con:
            return con.execute(sql, params).df()

    def arrow(self) -> pa.Table:
        """Run the slice and return a pyarrow Table.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().arrow().num_rows
            0
        """
        sql, params = self.sql()
        with self.session.store.read() as con:
            return con.sql(sql, params=params).to_arrow_table()

    def pl(self) -> pl.DataFrame:
        """Run the slice and return a polars DataFrame (DuckDB hands the result over as Arrow).

        Needs the optional ``polars`` package (``pip install polars``); without it this raises
        :class:`~nblabel.errors.MissingDependencyError` (also an ``ImportError``).

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().pl().columns[:3]
            ['media_id', 'file_name', 'uri']
        """
        try:
            import polars  # noqa: F401  (only to say what is missing before DuckDB tries)
        except ImportError:
            raise MissingDependencyError(
                "slice.pl() needs the polars package: pip install polars (or use .df() for pandas, "
                ".arrow() for pyarrow)") from None
        sql, params = self.sql()
        with self.session.store.read() as con:
            return con.sql(sql, params=params).pl()

    def count(self) -> int:
        """Number of rows.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").instances().count()
            0
        """
        sql, params = self.sql()
        with self.session.store.read() as con:
            return int(con.execute(f"SELECT count(*) FROM ({sql}) AS c", params).fetchall()[0][0])

    def ids(self) -> list[int]:
        """The ids (media ids or instance ids) in the slice, in order.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().ids()
            []
        """
        sql, params = self.sql()
        with self.session.store.read() as con:
            return [int(r[0]) for r in con.execute(f"SELECT {self._key} FROM ({sql}) AS c", params).fetchall()]

    def __len__(self) -> int:
        return self.count()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.count()} rows>"


def _names(names: Sequence[str] | str) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def _run_name(run: Any) -> str:
    name = getattr(run, "name", run)
    if not isinstance(name, str) or not name:
        raise ValidationError(f"a run is given by its name or Run object, got {run!r}")
    return name
