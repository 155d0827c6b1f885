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

from ..errors import NblabelError, ValidationError, did_you_mean
from ._filters import attribute_condition, json_value_condition, rule_from_json, rule_to_json

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
    _kind = ""

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

    def to_rule(self) -> str:
        """This slice as a dataset rule: its SQL fragments and parameters as JSON.

        Example:
            >>> import nblabel as nl
            >>> '"slice": "media"' in nl.open(":memory:").media().where("width > ?", [5]).to_rule()
            True
        """
        opts = {k: v for k, v in self._options.items() if isinstance(v, (str, int, float, type(None)))}
        return rule_to_json(self._kind, self._q.filters, self._q.order, self._q.limit, self._q.sample, opts)

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
            return con.sql(sql, params=params).to_arrow_table()

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


def _names(names: Sequence[str] | str) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def _run_name(run: Any) -> str:
    name = getattr(run, "name", run)
    if not isinstance(name, str) or not name:
        raise ValidationError(f"a run is given by its name or Run object, got {run!r}")
    return name


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
    _kind = "media"

    def _base(self) -> tuple[str, list[Any]]:
        return (
            "SELECT m.media_id, m.file_name, m.uri, m.sha256, m.width, m.height, m.format, m.meta, m.added_at, "
            "coalesce(c.n, 0) AS n_instances FROM media m LEFT JOIN (SELECT media_id, count(*) AS n "
            "FROM current_instances WHERE run_id IS NULL GROUP BY media_id) c USING (media_id)",
            [],
        )

    def _label_ids(self, names: Sequence[str] | str) -> list[int]:
        state = self.project.schema.state()
        return [state.label(n).id for n in _names(names)]

    def labels(self, names: Sequence[str] | str, *, how: str = "any") -> MediaSlice:
        """Media whose ground truth has any / all / none of the labels.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> p.media().labels(["car"]).count()
            0
        """
        ids = self._label_ids(names)
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
        states = _names(state)
        return self._filter(
            "coalesce((SELECT s.state FROM status s WHERE s.media_id = b.media_id AND s.stage = ?), 'new') "
            "IN (SELECT unnest(?))", stage, states)

    def attribute(self, name: str, value: Any, *, label: str | None = None) -> MediaSlice:
        """Media with a ground-truth instance whose attribute ``name`` has ``value`` (a list: any of them).

        For a multi-select attribute the instance's choices must include the value.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> _ = p.schema.add_attribute("color", kind="select", options=["red", "blue"])
            >>> p.media().attribute("color", "red").count()
            0
        """
        attr = self.project.schema.state().attribute(name)
        cond, params = attribute_condition("i.attributes", name, value, multi=attr.kind == "multiselect")
        sql = ("EXISTS (SELECT 1 FROM current_instances i WHERE i.media_id = b.media_id AND i.run_id IS NULL "
               f"AND {cond}")
        if label is not None:
            sql += " AND i.label_id = ?"
            params.append(self._label_ids(label)[0])
        return self._filter(sql + ")", *params)

    def count_between(self, label: str | Sequence[str] | None = None, min: int | None = None,
                      max: int | None = None, *, run: Any = None) -> MediaSlice:
        """Media whose number of ground-truth instances (of ``label``; of a run's predictions with
        ``run=``) lies in [min, max].

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().count_between(min=0, max=3).count()
            0
        """
        sql = "(SELECT count(*) FROM current_instances i WHERE i.media_id = b.media_id"
        params: list[Any] = []
        if run is None:
            sql += " AND i.run_id IS NULL"
        else:
            sql += " AND i.run_id = (SELECT run_id FROM runs WHERE name = ?)"
            params.append(_run_name(run))
        if label is not None:
            sql += " AND i.label_id IN (SELECT unnest(?))"
            params.append(self._label_ids(label))
        sql += ")"
        s = self
        if min is not None:
            s = s._filter(f"{sql} >= ?", *params, int(min))
        if max is not None:
            s = s._filter(f"{sql} <= ?", *params, int(max))
        return s

    def has_predictions(self, run: Any, *, min_score: float | None = None, max_score: float | None = None,
                        label: str | Sequence[str] | None = None) -> MediaSlice:
        """Media with at least one prediction of ``run`` (scored in [min_score, max_score], of ``label``).

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.media().has_predictions("m", min_score=0.5).count()
            0
        """
        sql = ("EXISTS (SELECT 1 FROM current_instances i WHERE i.media_id = b.media_id "
               "AND i.run_id = (SELECT run_id FROM runs WHERE name = ?)")
        params: list[Any] = [_run_name(run)]
        if min_score is not None:
            sql += " AND i.score >= ?"
            params.append(float(min_score))
        if max_score is not None:
            sql += " AND i.score <= ?"
            params.append(float(max_score))
        if label is not None:
            sql += " AND i.label_id IN (SELECT unnest(?))"
            params.append(self._label_ids(label))
        return self._filter(sql + ")", *params)

    def no_predictions(self, run: Any) -> MediaSlice:
        """Media where ``run`` predicted nothing.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.media().no_predictions("m").count()
            0
        """
        return self._filter("NOT EXISTS (SELECT 1 FROM current_instances i WHERE i.media_id = b.media_id "
                            "AND i.run_id = (SELECT run_id FROM runs WHERE name = ?))", _run_name(run))

    def score_between(self, run: Any, min: float | None = None, max: float | None = None, *,
                      agg: str = "max") -> MediaSlice:
        """Media whose ``agg`` ('max', 'min' or 'mean') prediction score of ``run`` lies in [min, max].

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.media().score_between("m", 0.2, 0.6, agg="mean").count()
            0
        """
        fn = {"max": "max", "min": "min", "mean": "avg"}.get(agg)
        if fn is None:
            raise ValidationError(f"agg must be 'max', 'min' or 'mean', got {agg!r}")
        sql = (f"(SELECT {fn}(i.score) FROM current_instances i WHERE i.media_id = b.media_id "
               "AND i.run_id = (SELECT run_id FROM runs WHERE name = ?))")
        s = self
        if min is not None:
            s = s._filter(f"{sql} >= ?", _run_name(run), float(min))
        if max is not None:
            s = s._filter(f"{sql} <= ?", _run_name(run), float(max))
        return s

    def stage(self, stage: str, state: str | Sequence[str] = ("new", "in_progress", "in_review")) -> MediaSlice:
        """Media of a stage's queue: in the stage's dataset (when one has the stage's name) and in
        ``state`` (default: not yet complete or skipped).

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().stage("review", "complete").count()
            0
        """
        s = self.status(state, stage=stage)
        return s._filter("(NOT EXISTS (SELECT 1 FROM datasets d WHERE d.name = ?) OR media_id IN "
                         "(SELECT dm.media_id FROM dataset_members dm JOIN datasets d USING (dataset_id) "
                         "WHERE d.name = ?))", stage, stage)

    def in_dataset(self, name: str | Sequence[str]) -> MediaSlice:
        """Media in a dataset or split (a static dataset's members; a dynamic one's current rule).

        A list of names means any of them.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.media().save("empty")
            >>> p.media().in_dataset("empty").count()
            0
        """
        parts, params = [], []
        for n in _names(name):
            kind, rule = _dataset_row(self.project, n)
            if kind == "static":
                parts.append("media_id IN (SELECT dm.media_id FROM dataset_members dm JOIN datasets d "
                             "USING (dataset_id) WHERE d.name = ?)")
                params.append(n)
            else:
                sub = slice_from_rule(self.project, rule)
                if not isinstance(sub, MediaSlice):
                    raise ValidationError(f"dataset {n!r} is a rule over instances, not media")
                sql, p = sub.sql()
                parts.append(f"media_id IN (SELECT ds.media_id FROM ({sql}) AS ds)")
                params.extend(p)
        return self._filter("(" + " OR ".join(parts) + ")", *params)

    def not_in_dataset(self, name: str) -> MediaSlice:
        """Media outside a dataset (static members or dynamic rule).

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.media().save("empty")
            >>> p.media().not_in_dataset("empty").count()
            0
        """
        inner = self.project.media().in_dataset(name)
        sql, params = inner.sql()
        return self._filter(f"media_id NOT IN (SELECT nd.media_id FROM ({sql}) AS nd)", *params)

    def meta(self, key: str, value: Any) -> MediaSlice:
        """Media whose metadata ``key`` equals ``value`` (a list: any of them).

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().meta("camera", "front").count()
            0
        """
        if isinstance(value, (list, tuple, set)):
            return self.meta_where(key, "in", list(value))
        return self.meta_where(key, "=", value)

    def meta_where(self, key: str, op: str, value: Any = None) -> MediaSlice:
        """Media whose metadata ``key`` compares with ``value``: ``= != < <= > >=``, ``in``, ``not in``,
        ``contains``, ``like``, ``ilike``, ``is null``, ``is not null``.

        Numbers compare as numbers, text as text; the key and the value travel as parameters.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().meta_where("iso", ">=", 800).count()
            0
        """
        cond, params = json_value_condition("meta", key, op, value)
        return self._filter(cond, *params)

    def image_size(self, *, min_width: int | None = None, max_width: int | None = None,
                   min_height: int | None = None, max_height: int | None = None,
                   min_pixels: int | None = None, max_pixels: int | None = None) -> MediaSlice:
        """Media whose width / height / pixel count lie in the given (inclusive) ranges.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().image_size(min_width=640).count()
            0
        """
        s = self
        for expr, op, v in (("width", ">=", min_width), ("width", "<=", max_width), ("height", ">=", min_height),
                            ("height", "<=", max_height), ("width * height", ">=", min_pixels),
                            ("width * height", "<=", max_pixels)):
            if v is not None:
                s = s._filter(f"{expr} {op} ?", int(v))
        return s

    def ids_in(self, media_ids: Sequence[int]) -> MediaSlice:
        """Media with these ids.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().ids_in([1, 2]).count()
            0
        """
        return self._filter("media_id IN (SELECT unnest(?))", [int(i) for i in media_ids])

    def instances(self, run: Any = None) -> InstanceSlice:
        """The current instances (ground truth, or ``run``'s predictions) of the media in this slice.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().meta("camera", "front").instances().count()
            0
        """
        return self.project.instances(run=run).in_media(self)

    def save(self, name: str, *, overwrite: bool = False, split_group: str | None = None) -> int:
        """Freeze the slice as a static dataset (its current members); returns the number of members.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.media().save("all-now")
            1
        """
        sql, params = self.sql()
        with self.project.store.transaction() as con:
            did = _new_dataset(con, name, "static", None, split_group, overwrite)
            con.execute(f"INSERT INTO dataset_members SELECT ?, sv.media_id FROM ({sql}) AS sv", [did, *params])
            return int(con.execute("SELECT count(*) FROM dataset_members WHERE dataset_id = ?",
                                   [did]).fetchall()[0][0])


def _dataset_row(project: Project, name: str) -> tuple[str, str | None]:
    with project.store.read() as con:
        rows = con.execute("SELECT kind, rule FROM datasets WHERE name = ?", [name]).fetchall()
        if not rows:
            names = [r[0] for r in con.execute("SELECT name FROM datasets").fetchall()]
            raise NblabelError(f"dataset {name!r} does not exist{did_you_mean(name, names)}; "
                               "make one with slice.save(name) or proj.define_dataset(name, rule=slice)")
    return str(rows[0][0]), rows[0][1]


def _new_dataset(con: Any, name: str, kind: str, rule: str | None, split_group: str | None,
                 overwrite: bool) -> int:
    if not isinstance(name, str) or not name:
        raise ValidationError(f"a dataset needs a non-empty name, got {name!r}")
    old = con.execute("SELECT dataset_id FROM datasets WHERE name = ?", [name]).fetchall()
    if old:
        if not overwrite:
            raise ValidationError(f"dataset {name!r} exists already; pass overwrite=True to replace it "
                                  "or choose another name")
        con.execute("DELETE FROM dataset_members WHERE dataset_id = ?", [old[0][0]])
        con.execute("DELETE FROM datasets WHERE dataset_id = ?", [old[0][0]])
    did = int(con.execute("SELECT coalesce(max(dataset_id), 0) + 1 FROM datasets").fetchall()[0][0])
    con.execute("INSERT INTO datasets VALUES (?, ?, ?, ?, ?, now())", [did, name, kind, rule, split_group])
    return did


def define_dataset(project: Project, name: str, rule: Slice, *, overwrite: bool = False) -> None:
    """Store a dynamic dataset: the slice's SQL fragments and parameters, re-evaluated on every read."""
    if not isinstance(rule, Slice):
        raise ValidationError(f"rule must be a slice (proj.media()... or proj.instances()...), "
                              f"got {type(rule).__name__}")
    text = rule.to_rule()
    with project.store.transaction() as con:
        _new_dataset(con, name, "dynamic", text, None, overwrite)


def slice_from_rule(project: Project, text: str | None) -> Slice:
    """Rebuild the slice stored as a dynamic dataset's rule."""
    if not text:
        raise ValidationError("this dataset has no rule")
    r = rule_from_json(text)
    cls = {"media": MediaSlice, "instances": InstanceSlice}.get(r["slice"])
    if cls is None:
        raise ValidationError(f"dataset rule names an unknown slice kind {r['slice']!r}")
    q = _Query(filters=r["filters"], order=r["order"], limit=r["limit"], sample=r["sample"])
    return cls(project, q, **r.get("options", {}))


def dataset(project: Project, name: str) -> Slice:
    """A dataset as a slice: a static one's members, a dynamic one's rule evaluated now."""
    kind, rule = _dataset_row(project, name)
    if kind == "dynamic":
        return slice_from_rule(project, rule)
    return project.media().in_dataset(name)


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
                "author", "schema_version", "created_at", "box_area", "width", "height")
    _key = "instance_id"
    _kind = "instances"

    def _base(self) -> tuple[str, list[Any]]:
        run = self._options.get("run")
        sql = ("SELECT i.instance_id, i.version, i.media_id, m.file_name, r.name AS run, i.run_id, l.name AS label, "
               "i.label_id, i.kind, i.x0, i.y0, i.x1, i.y1, i.points, i.attributes, i.score, i.track_id, i.area, "
               "i.iscrowd, i.extra, i.author, i.schema_version, i.created_at, "
               "(i.x1 - i.x0) * (i.y1 - i.y0) AS box_area, i.x1 - i.x0 AS width, i.y1 - i.y0 AS height "
               "FROM current_instances i "
               "JOIN labels l USING (label_id) JOIN media m USING (media_id) LEFT JOIN runs r USING (run_id)")
        if run is None:
            return sql + " WHERE i.run_id IS NULL", []
        if run == "*":
            return sql, []
        return sql + " WHERE r.name = ?", [str(run)]

    def run(self, run: Any) -> InstanceSlice:
        """The same filters over another source: a run's predictions (name or Run), ``None`` for
        ground truth, ``"*"`` for everything.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.instances().run("m").count()
            0
        """
        opts = dict(self._options)
        opts["run"] = None if run is None else ("*" if run == "*" else _run_name(run))
        return type(self)(self.project, self._q, **opts)

    def labels(self, names: Sequence[str] | str, *, exclude: bool = False) -> InstanceSlice:
        """Instances of these labels (``exclude=True``: of any other label).

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> p.instances().labels("car").count()
            0
        """
        state = self.project.schema.state()
        ids = [state.label(n).id for n in _names(names)]
        return self._filter(f"label_id {'NOT ' if exclude else ''}IN (SELECT unnest(?))", ids)

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

    def attribute(self, name: str, value: Any) -> InstanceSlice:
        """Instances whose attribute ``name`` has ``value`` (a list: any of them; multi-select: includes it).

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> _ = p.schema.add_attribute("color", kind="select", options=["red", "blue"])
            >>> p.instances().attribute("color", ["red", "blue"]).count()
            0
        """
        attr = self.project.schema.state().attribute(name)
        cond, params = attribute_condition("attributes", name, value, multi=attr.kind == "multiselect")
        return self._filter(cond, *params)

    def kind(self, kinds: str | Sequence[str]) -> InstanceSlice:
        """Instances of these spatial kinds (box, polygon, keypoints, point, line, tag, mask).

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").instances().kind(["box", "polygon"]).count()
            0
        """
        return self._filter("kind IN (SELECT unnest(?))", _names(kinds))

    def area(self, min: float | None = None, max: float | None = None) -> InstanceSlice:
        """Instances whose area (the stored one, e.g. a COCO mask area; else the box area) lies in [min, max].

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").instances().area(max=32 ** 2).count()
            0
        """
        s = self
        if min is not None:
            s = s._filter("coalesce(area, box_area) >= ?", float(min))
        if max is not None:
            s = s._filter("coalesce(area, box_area) <= ?", float(max))
        return s

    def box_size(self, *, min_width: float | None = None, max_width: float | None = None,
                 min_height: float | None = None, max_height: float | None = None) -> InstanceSlice:
        """Instances whose box width / height lie in the given ranges (pixels).

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").instances().box_size(min_width=10).count()
            0
        """
        s = self
        for col, op, v in (("width", ">=", min_width), ("width", "<=", max_width), ("height", ">=", min_height),
                           ("height", "<=", max_height)):
            if v is not None:
                s = s._filter(f"{col} {op} ?", float(v))
        return s

    def in_media(self, media: MediaSlice) -> InstanceSlice:
        """Instances of the media in a media slice.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:")
            >>> p.instances().in_media(p.media().image_size(min_width=100)).count()
            0
        """
        if not isinstance(media, MediaSlice):
            raise ValidationError(f"in_media takes a media slice (proj.media()...), got {type(media).__name__}")
        sql, params = media.sql()
        return self._filter(f"media_id IN (SELECT im.media_id FROM ({sql}) AS im)", *params)

    def media(self) -> MediaSlice:
        """The media items that have at least one instance of this slice, as a media slice.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").instances().score(0.9).media().count()
            0
        """
        sql, params = self.sql()
        return self.project.media()._filter(f"media_id IN (SELECT mi.media_id FROM ({sql}) AS mi)", *params)

    def group_by_media(self, top: int | None = None, *, by: str = "n") -> pd.DataFrame:
        """Per media item: ``n`` instances of this slice, ``max_score``, ``mean_score``; sorted by
        ``by`` ('n', 'max_score' or 'mean_score') descending, the first ``top`` rows.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").instances().group_by_media(10).columns.tolist()
            ['media_id', 'file_name', 'n', 'max_score', 'mean_score']
        """
        if by not in ("n", "max_score", "mean_score"):
            raise ValidationError(f"by must be 'n', 'max_score' or 'mean_score', got {by!r}")
        sql, params = self.sql()
        q = (f"SELECT media_id, any_value(file_name) AS file_name, count(*) AS n, max(score) AS max_score, "
             f"avg(score) AS mean_score FROM ({sql}) AS g GROUP BY media_id "
             f"ORDER BY {by} DESC NULLS LAST, media_id")
        if top is not None:
            q += " LIMIT ?"
            params.append(int(top))
        with self.project.store.read() as con:
            return con.execute(q, params).df()
