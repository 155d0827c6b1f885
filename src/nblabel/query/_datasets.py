"""Static and dynamic datasets: a slice saved by its members, or by its rule (re-evaluated on read)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import NblabelError, ValidationError, did_you_mean
from ._filters import rule_from_json
from ._slice import Slice, _Query

if TYPE_CHECKING:
    from ..project import Project


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
    from ._instances import InstanceSlice
    from ._media import MediaSlice

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
