"""Static and dynamic datasets as slices: a slice saved by its members, or by its rule (re-evaluated on read).

A rule is the list of slice-method calls that built the slice (:mod:`._rules`), never SQL.

The rows are written by :mod:`nblabel.store._datasets`.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..store._datasets import dataset_row, new_dataset
from ._rules import replay, rule_from_json
from ._slice import Slice

if TYPE_CHECKING:
    from ..store import Session


def _dataset_row(session: Session, name: str) -> tuple[str, str | None]:
    with session.store.read() as con:
        return dataset_row(con, name)


def define_dataset(session: Session, name: str, rule: Slice, *, overwrite: bool = False) -> None:
    """Store a dynamic dataset: the slice's method calls as data (no SQL), replayed on every read."""
    if not isinstance(rule, Slice):
        raise ValidationError(f"rule must be a slice (proj.media()... or proj.instances()...), "
                              f"got {type(rule).__name__}")
    text = rule.to_rule()
    with session.store.transaction() as con:
        new_dataset(con, name, "dynamic", text, None, overwrite)


# the rules being rebuilt in this context: a dataset whose rule refers (through in_dataset) to itself
_EXPANDING: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("nblabel_rules", default=())


def slice_from_rule(session: Session, text: str | None, *, name: str | None = None) -> Slice:
    """Rebuild the slice stored as a dynamic dataset's rule by replaying its method calls (:mod:`._rules`).

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:")
        >>> slice_from_rule(p._session, p.media().head(3).to_rule()).sql()[1]
        [3]
    """
    if not text:
        raise ValidationError(f"dataset {name!r} has no rule" if name else "this dataset has no rule")
    active = _EXPANDING.get()
    if text in active or len(active) >= 16:
        raise ValidationError(f"dataset {name!r} refers to itself through its rule (in_dataset / not_in_dataset); "
                              "define it again without that reference" if name else
                              "a dynamic dataset refers to itself through its rule; define it again without that")
    token = _EXPANDING.set((*active, text))
    try:
        return replay(session, rule_from_json(text, name=name))
    finally:
        _EXPANDING.reset(token)


def dataset(session: Session, name: str) -> Slice:
    """A dataset as a slice: a static one's members, a dynamic one's rule evaluated now."""
    kind, rule = _dataset_row(session, name)
    if kind == "dynamic":
        return slice_from_rule(session, rule, name=name)
    from ._media import MediaSlice

    return MediaSlice(session).in_dataset(name)
