"""Slices over current instances: ``proj.instances()`` and its filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..errors import ValidationError
from ._filters import attribute_condition
from ._slice import Slice, _names, _run_name


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
        return type(self)(self.session, self._q, **opts)

    def labels(self, names: Sequence[str] | str, *, exclude: bool = False) -> InstanceSlice:
        """Instances of these labels (``exclude=True``: of any other label).

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> p.instances().labels("car").count()
            0
        """
        state = self.session.schema_state()
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
        attr = self.session.schema_state().attribute(name)
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
        return MediaSlice(self.session)._filter(f"media_id IN (SELECT mi.media_id FROM ({sql}) AS mi)", *params)

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
        with self.session.store.read() as con:
            return con.execute(q, params).df()


from ._media import MediaSlice  # noqa: E402  (at the end: the two slice kinds refer to each other)
