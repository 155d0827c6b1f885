"""The project's schema as users change it: labels, attribute groups and keypoint templates, versioned.

``proj.schema`` is a :class:`Schema`: every change is one store transaction that writes the rows and
bumps the schema version. The read-only picture (:class:`~nblabel.schema.SchemaState`) is pure and
lives in :mod:`nblabel.schema`; :func:`~nblabel.store._schema_load.load_state` reads it.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from ..errors import SchemaError, ValidationError, did_you_mean
from ..schema import ATTRIBUTE_KINDS, PALETTE, SPATIAL_TYPES, SchemaState
from ._lookup import next_id, schema_version
from ._schema_load import load_state
from ._store import Store

__all__ = ["Schema"]


class Schema:
    """Labels, attribute groups and keypoint templates of a project.

    Every change bumps :attr:`version`; instances and completions record the version they were made
    under, so completions made before a change show up as stale.

    Example:
        >>> import nblabel as nl
        >>> proj = nl.open(":memory:")
        >>> proj.schema.add_label("car", spatial=["box", "polygon"], hotkey="1")
        1
        >>> proj.schema.add_attribute("color", kind="select", options=["red", "green"], labels=["car"])
        1
        >>> proj.schema.version
        2
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- reading -----------------------------------------------------------------------------
    def state(self) -> SchemaState:
        """The whole schema as it is now (one consistent read).

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> p.schema.state().label("car").spatial
            ('box',)
        """
        with self._store.read() as con:
            return load_state(con)

    @property
    def version(self) -> int:
        """The schema version: bumped by every change."""
        with self._store.read() as con:
            return schema_version(con)

    def labels(self, *, retired: bool = False) -> pd.DataFrame:
        """Labels as a DataFrame (id, name, color, hotkey, spatial, guide).

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> list(p.schema.labels()["name"])
            ['car']
        """
        st = self.state()
        rows = [
            {"label_id": lab.id, "name": lab.name, "color": lab.color, "hotkey": lab.hotkey,
             "spatial": list(lab.spatial), "guide": lab.guide, "retired": lab.retired}
            for lab in st.labels.values() if retired or not lab.retired
        ]
        return pd.DataFrame(rows, columns=["label_id", "name", "color", "hotkey", "spatial", "guide", "retired"])

    def attributes(self) -> pd.DataFrame:
        """Attribute groups as a DataFrame.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_attribute("notes", kind="text")
            >>> list(p.schema.attributes()["kind"])
            ['text']
        """
        st = self.state()
        rows = [
            {"group_id": a.id, "name": a.name, "kind": a.kind, "options": a.option_names(),
             "min": a.min, "max": a.max, "step": a.step, "required": a.required,
             "labels": None if a.label_ids is None else [st.labels[i].name for i in a.label_ids],
             "parent": None if a.parent_group_id is None else (
                 st.attributes[a.parent_group_id].name,
                 next(o["name"] for o in st.attributes[a.parent_group_id].options
                      if o["id"] == a.parent_option_id))}
            for a in st.attributes.values()
        ]
        cols = ["group_id", "name", "kind", "options", "min", "max", "step", "required", "labels", "parent"]
        return pd.DataFrame(rows, columns=cols)

    # -- changing ----------------------------------------------------------------------------
    def _bump(self, con: duckdb.DuckDBPyConnection, change: str) -> int:
        v = schema_version(con) + 1
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(v)])
        con.execute("INSERT INTO schema_versions VALUES (?, now(), ?)", [v, change])
        return v

    def add_label(
        self,
        name: str,
        *,
        spatial: Sequence[str] | str = ("box",),
        color: str | None = None,
        hotkey: str | None = None,
        guide: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> int:
        """Add a label; returns its stable id.

        Args:
            name: the label's name, unique among active labels.
            spatial: spatial types instances of this label may use: box, polygon, keypoints,
                point, line, tag (whole image).
            color: CSS colour; a palette colour by default.
            hotkey: key that picks the label in the annotator (default: its position 1–9).
            guide: a short labeling guideline shown to annotators.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:")
            >>> p.schema.add_label("person", spatial=["box", "keypoints"])
            1
        """
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"label name must be a non-empty string, got {name!r}")
        spatial = [spatial] if isinstance(spatial, str) else list(spatial)
        if not spatial:
            raise ValidationError(f"label {name!r} needs at least one spatial type, e.g. spatial=['box']")
        for s in spatial:
            if s not in SPATIAL_TYPES:
                raise ValidationError(f"spatial type {s!r} of label {name!r} is unknown{did_you_mean(s, SPATIAL_TYPES)}")
        with self._store.transaction() as con:
            st = load_state(con)
            if name in st.label_ids_by_name():
                raise SchemaError(f"label {name!r} already exists; rename it with proj.schema.rename_label")
            lid = next_id(con, "labels")
            if hotkey is None and lid <= 9:
                hotkey = str(lid)
            color = color or PALETTE[(lid - 1) % len(PALETTE)]
            con.execute(
                "INSERT INTO labels VALUES (?, ?, ?, ?, ?, ?, NULL, ?, now(), NULL)",
                [lid, name, color, hotkey, spatial, guide, json.dumps(meta or {})],
            )
            v = self._bump(con, json.dumps({"op": "add_label", "label_id": lid, "name": name}))
            con.execute("INSERT INTO label_names VALUES (?, ?, ?, now())", [lid, name, v])
        return lid

    def rename_label(self, old: str, new: str) -> None:
        """Rename a label; its id (and every instance) stays, the old name stays in history.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> p.schema.rename_label("car", "vehicle")
            >>> list(p.schema.labels()["name"])
            ['vehicle']
        """
        with self._store.transaction() as con:
            st = load_state(con)
            lab = st.label(old)
            if new in st.label_ids_by_name():
                raise SchemaError(f"cannot rename {old!r} to {new!r}: a label {new!r} exists already")
            con.execute("UPDATE labels SET name = ? WHERE label_id = ?", [new, lab.id])
            v = self._bump(con, json.dumps({"op": "rename_label", "label_id": lab.id, "old": old, "new": new}))
            con.execute("INSERT INTO label_names VALUES (?, ?, ?, now())", [lab.id, new, v])

    def label_history(self, name: str) -> pd.DataFrame:
        """Every name a label has had, with the schema version it took effect.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car"); p.schema.rename_label("car", "auto")
            >>> list(p.schema.label_history("auto")["name"])
            ['car', 'auto']
        """
        with self._store.read() as con:
            lab = load_state(con).label(name, allow_retired=True)
            return con.execute(
                "SELECT name, from_version, renamed_at FROM label_names WHERE label_id = ? ORDER BY from_version",
                [lab.id]).df()

    def update_label(self, name: str, *, color: str | None = None, hotkey: str | None = None,
                     guide: str | None = None, spatial: Sequence[str] | None = None) -> None:
        """Change a label's colour, hotkey, guide or allowed spatial types.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> p.schema.update_label("car", spatial=["box", "polygon"])
        """
        with self._store.transaction() as con:
            lab = load_state(con).label(name)
            sp = list(spatial) if spatial is not None else list(lab.spatial)
            for s in sp:
                if s not in SPATIAL_TYPES:
                    raise ValidationError(f"spatial type {s!r} is unknown{did_you_mean(s, SPATIAL_TYPES)}")
            con.execute(
                "UPDATE labels SET color = ?, hotkey = ?, guide = ?, spatial_types = ? WHERE label_id = ?",
                [color or lab.color, hotkey if hotkey is not None else lab.hotkey,
                 guide if guide is not None else lab.guide, sp, lab.id])
            self._bump(con, json.dumps({"op": "update_label", "label_id": lab.id}))

    def retire_label(self, name: str) -> None:
        """Retire a label: it is no longer offered, its instances stay.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car"); p.schema.retire_label("car")
            >>> len(p.schema.labels())
            0
        """
        with self._store.transaction() as con:
            lab = load_state(con).label(name)
            con.execute("UPDATE labels SET retired_at = now() WHERE label_id = ?", [lab.id])
            self._bump(con, json.dumps({"op": "retire_label", "label_id": lab.id}))

    def add_attribute(
        self,
        name: str,
        *,
        kind: str,
        options: Sequence[str] | None = None,
        labels: Sequence[str] | None = None,
        min: float | None = None,
        max: float | None = None,
        step: float | None = None,
        required: bool = False,
        parent: tuple[str, str] | None = None,
    ) -> int:
        """Add an attribute group (a typed question asked of instances); returns its id.

        Args:
            name: unique attribute name.
            kind: select, multiselect, text, number, bool, date or time.
            options: the choices of a select / multiselect.
            labels: label names it applies to (default: all labels).
            min, max, step: range of a number.
            required: an instance needs a value before its image can be completed.
            parent: ``(attribute, option)``: ask this only when that option is chosen.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> _ = p.schema.add_attribute("color", kind="select", options=["red", "green"])
            >>> p.schema.add_attribute("damage", kind="multiselect", options=["dent"], parent=("color", "red"))
            2
        """
        if kind not in ATTRIBUTE_KINDS:
            raise ValidationError(f"attribute kind {kind!r} is unknown{did_you_mean(kind, ATTRIBUTE_KINDS)}")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"attribute name must be a non-empty string, got {name!r}")
        if kind in ("select", "multiselect"):
            if not options:
                raise ValidationError(f"attribute {name!r} ({kind}) needs options=[...]")
            if len(set(options)) != len(options):
                raise ValidationError(f"attribute {name!r} has duplicate options: {list(options)}")
        elif options:
            raise ValidationError(f"attribute {name!r} is a {kind}; options only apply to select/multiselect")
        if kind != "number" and any(v is not None for v in (min, max, step)):
            raise ValidationError(f"attribute {name!r} is a {kind}; min/max/step only apply to numbers")
        if min is not None and max is not None and min > max:
            raise ValidationError(f"attribute {name!r}: min {min} is above max {max}")
        with self._store.transaction() as con:
            st = load_state(con)
            if any(a.name == name for a in st.attributes.values()):
                raise SchemaError(f"attribute {name!r} already exists")
            label_ids = None if labels is None else [st.label(lbl).id for lbl in labels]
            parent_gid = parent_oid = None
            if parent is not None:
                pattr = st.attribute(parent[0])
                if pattr.kind not in ("select", "multiselect"):
                    raise SchemaError(f"parent attribute {parent[0]!r} must be a select or multiselect")
                opt = next((o for o in pattr.options if o["name"] == parent[1]), None)
                if opt is None:
                    raise SchemaError(
                        f"option {parent[1]!r} is not an option of {parent[0]!r}"
                        f"{did_you_mean(parent[1], pattr.option_names())}")
                parent_gid, parent_oid = pattr.id, opt["id"]
                if label_ids is None:
                    label_ids = list(pattr.label_ids) if pattr.label_ids is not None else None
            opt_rows = []
            if options:
                first = builtins.max([o["id"] for a in st.attributes.values() for o in a.options] or [0]) + 1
                opt_rows = [{"id": first + i, "name": str(o)} for i, o in enumerate(options)]
            gid = next_id(con, "attribute_groups")
            con.execute(
                "INSERT INTO attribute_groups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), NULL)",
                [gid, name, kind, json.dumps(opt_rows), min, max, step, bool(required), label_ids,
                 parent_gid, parent_oid],
            )
            self._bump(con, json.dumps({"op": "add_attribute", "group_id": gid, "name": name}))
        return gid

    def add_keypoints(
        self,
        label: str,
        *,
        points: Sequence[str],
        skeleton: Sequence[tuple[int, int]] = (),
        sigmas: Sequence[float] | None = None,
    ) -> int:
        """Give a label a keypoint template (creating the label if needed); returns the template id.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:")
            >>> p.schema.add_keypoints("face", points=["l_eye", "r_eye", "nose"], skeleton=[(0, 1)])
            1
        """
        points = [str(p) for p in points]
        if len(points) < 1 or len(set(points)) != len(points):
            raise ValidationError(f"keypoint template of {label!r} needs unique point names, got {points}")
        edges = []
        for e in skeleton:
            i, j = int(e[0]), int(e[1])
            if not (0 <= i < len(points) and 0 <= j < len(points)):
                raise ValidationError(
                    f"skeleton edge {tuple(e)} of {label!r} refers to a point outside 0..{len(points) - 1}")
            edges.append([i, j])
        if sigmas is not None:
            sigmas = [float(s) for s in sigmas]
            if len(sigmas) != len(points) or any(not s > 0 for s in sigmas):
                raise ValidationError(
                    f"sigmas of {label!r} need one positive number per point ({len(points)}), got {sigmas}")
        with self._store.transaction() as con:
            st = load_state(con)
            if label not in st.label_ids_by_name():
                self.add_label(label, spatial=["keypoints"])
                st = load_state(con)
            lab = st.label(label)
            tid = next_id(con, "keypoint_templates")
            con.execute("INSERT INTO keypoint_templates VALUES (?, ?, ?, ?, ?, now())",
                        [tid, lab.id, json.dumps(points), json.dumps(edges),
                         json.dumps(sigmas) if sigmas else None])
            sp = list(lab.spatial) if "keypoints" in lab.spatial else [*lab.spatial, "keypoints"]
            con.execute("UPDATE labels SET template_id = ?, spatial_types = ? WHERE label_id = ?", [tid, sp, lab.id])
            self._bump(con, json.dumps({"op": "add_keypoints", "label_id": lab.id, "template_id": tid}))
        return tid

    # -- (de)serialising ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The schema as plain data (JSON-ready); :meth:`from_dict` rebuilds it.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
            >>> p.schema.to_dict()["labels"][0]["name"]
            'car'
        """
        st = self.state()
        labels = []
        for lab in st.labels.values():
            if lab.retired:
                continue
            d: dict[str, Any] = {"name": lab.name, "spatial": list(lab.spatial), "color": lab.color,
                                 "hotkey": lab.hotkey, "guide": lab.guide}
            t = st.template_for(lab.id)
            if t is not None:
                d["keypoints"] = {"points": list(t.points), "skeleton": [list(e) for e in t.skeleton],
                                  "sigmas": list(t.sigmas) if t.sigmas else None}
            labels.append(d)
        attrs = []
        for a in st.attributes.values():
            d = {"name": a.name, "kind": a.kind, "required": a.required}
            if a.options:
                d["options"] = a.option_names()
            for k in ("min", "max", "step"):
                if getattr(a, k) is not None:
                    d[k] = getattr(a, k)
            if a.label_ids is not None:
                d["labels"] = [st.labels[i].name for i in a.label_ids]
            if a.parent_group_id is not None:
                p = st.attributes[a.parent_group_id]
                d["parent"] = [p.name, next(o["name"] for o in p.options if o["id"] == a.parent_option_id)]
            attrs.append(d)
        return {"version": st.version, "labels": labels, "attributes": attrs}

    def load_dict(self, d: dict[str, Any]) -> None:
        """Add every label and attribute of ``d`` (as made by :meth:`to_dict`) that is missing here.

        Example:
            >>> import nblabel as nl
            >>> a = nl.open(":memory:"); _ = a.schema.add_label("car")
            >>> b = nl.open(":memory:"); b.schema.load_dict(a.schema.to_dict())
            >>> list(b.schema.labels()["name"])
            ['car']
        """
        unknown = set(d) - {"version", "labels", "attributes"}
        if unknown:
            raise ValidationError(f"schema dict has unknown keys {sorted(unknown)}; expected labels, attributes")
        with self._store.transaction():
            have = self.state().label_ids_by_name()
            for lab in d.get("labels", []):
                if lab["name"] not in have:
                    self.add_label(lab["name"], spatial=lab.get("spatial", ["box"]), color=lab.get("color"),
                                   hotkey=lab.get("hotkey"), guide=lab.get("guide"))
                    if lab.get("keypoints"):
                        k = lab["keypoints"]
                        self.add_keypoints(lab["name"], points=k["points"], skeleton=k.get("skeleton", []),
                                           sigmas=k.get("sigmas"))
            existing = {a.name for a in self.state().attributes.values()}
            for a in d.get("attributes", []):
                if a["name"] in existing:
                    continue
                self.add_attribute(a["name"], kind=a["kind"], options=a.get("options"), labels=a.get("labels"),
                                   min=a.get("min"), max=a.get("max"), step=a.get("step"),
                                   required=a.get("required", False),
                                   parent=tuple(a["parent"]) if a.get("parent") else None)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        """Build a stand-alone (in-memory) schema from :meth:`to_dict` output.

        Example:
            >>> import nblabel as nl
            >>> s = nl.Schema.from_dict({"labels": [{"name": "car", "spatial": ["box"]}]})
            >>> list(s.labels()["name"])
            ['car']
        """
        s = cls(Store(":memory:"))
        s.load_dict(d)
        return s

    def __repr__(self) -> str:
        st = self.state()
        names = ", ".join(lab.name for lab in st.labels.values() if not lab.retired)
        return f"<Schema v{st.version}: labels [{names}], {len(st.attributes)} attributes>"
