"""Static and dynamic datasets as slices: a slice saved by its members, or by its rule (re-evaluated on read).

The rows are written by :mod:`nblabel.store._datasets`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..store._datasets import dataset_row, new_dataset
from ._filters import rule_from_json
from ._slice import Slice, _Query

if TYPE_CHECKING:
    from ..store import Session


def _dataset_row(session: Session, name: str) -> tuple[str, str | None]:
    with session.store.read() as con:
        return dataset_row(con, name)


def define_dataset(session: Session, name: str, rule: Slice, *, overwrite: bool = False) -> None:
    """Store a dynamic dataset: the slice's SQL fragments and parameters, re-evaluated on every read."""
    if not isinstance(rule, Slice):
        raise ValidationError(f"rule must be a slice (proj.media()... or proj.instances()...), "
                              f"got {type(rule).__name__}")
    text = rule.to_rule()
    with session.store.transaction() as con:
        new_dataset(con, name, "dynamic", text, None, overwrite)


def slice_from_rule(session: Session, text: str | None) -> Slice:
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
    return cls(session, q, **r.get("options", {}))


def dataset(session: Session, name: str) -> Slice:
    """A dataset as a slice: a static one's members, a dynamic one's rule evaluated now."""
    kind, rule = _dataset_row(session, name)
    if kind == "dynamic":
        return slice_from_rule(session, rule)
    from ._media import MediaSlice

    return MediaSlice(session).in_dataset(name)
