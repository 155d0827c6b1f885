"""Labels an import needs: reused when the schema has them (gaining the spatial types they lack), added otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..store import Schema

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["ensure_labels"]


def ensure_labels(session: Session, names: list[str], spatial: list[str]) -> dict[str, int]:
    """Label ids for ``names``: existing labels are reused (gaining the ``spatial`` types they lack),
    missing ones are created with ``spatial``."""
    out: dict[str, int] = {}
    schema = Schema(session.store)
    for name in names:
        state = schema.state()
        lid = state.label_ids_by_name().get(name)
        if lid is None:
            lid = schema.add_label(name, spatial=spatial)
        else:
            lab = state.labels[lid]
            if any(s not in lab.spatial for s in spatial):
                schema.update_label(name, spatial=list(lab.spatial) + [s for s in spatial if s not in lab.spatial])
        out[name] = int(lid)
    return out
