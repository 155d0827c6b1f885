"""The media a select/ call looks at: a media slice, media ids or file names, or every media item."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..store import media_ids

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["scope_ids"]


def scope_ids(session: Session, slice: Any = None) -> list[int]:
    """Media ids of ``slice`` (a :class:`~nblabel.query.MediaSlice`, ids or file names), sorted and unique;
    every media item for ``None``.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8), np.ones((4, 6, 3), np.uint8)])
        >>> scope_ids(p.session), scope_ids(p.session, [2, 2])
        ([1, 2], [2])
    """
    if getattr(slice, "_kind", None) == "instances":
        raise ValidationError("slice must be a media slice (proj.media()...), not an instance slice; "
                              "take the media of instances with proj.media().ids_in(slice.df()['media_id'])")
    with session.store.read() as con:
        if slice is None:
            return [int(r[0]) for r in con.execute("SELECT media_id FROM media ORDER BY 1").fetchall()]
        return sorted(set(media_ids(con, slice)))
