"""Slices over media items: ``proj.media()`` and its filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ValidationError
from ..store._datasets import add_members, new_dataset
from ._datasets import _dataset_row, slice_from_rule
from ._filters import attribute_condition, json_value_condition
from ._slice import Slice, _names, _run_name


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
        state = self.session.schema_state()
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
        attr = self.session.schema_state().attribute(name)
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
            kind, rule = _dataset_row(self.session, n)
            if kind == "static":
                parts.append("media_id IN (SELECT dm.media_id FROM dataset_members dm JOIN datasets d "
                             "USING (dataset_id) WHERE d.name = ?)")
                params.append(n)
            else:
                sub = slice_from_rule(self.session, rule, name=n)
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
        inner = MediaSlice(self.session).in_dataset(name)
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
        return InstanceSlice(self.session, run=getattr(run, "name", run)).in_media(self)

    def save(self, name: str, *, overwrite: bool = False, split_group: str | None = None) -> int:
        """Freeze the slice as a static dataset (its current members); returns the number of members.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.media().save("all-now")
            1
        """
        sql, params = self.sql()
        with self.session.store.transaction() as con:
            did = new_dataset(con, name, "static", None, split_group, overwrite)
            return add_members(con, did, sql, params)


from ._instances import InstanceSlice  # noqa: E402  (at the end: the two slice kinds refer to each other)
