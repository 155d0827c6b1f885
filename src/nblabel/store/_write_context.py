"""What a one-row write needs to know besides its row, in as few queries as possible.

Adding or editing one instance (the annotator's save, ``add_instance``, ``update_instance``)
checks the row against the schema and its image's size. Both rarely change, so both are cached
and one small query per transaction says whether the cache still holds:

- the schema state per ``(project id, schema version)`` (:func:`._schema_load.state_at`); every
  schema change, in any process, bumps the version in the file;
- media sizes per ``(project id, media token)``: a media row is never changed, but an insert can
  be rolled back and its id handed out again, so every media insert writes a new random token
  (:func:`new_media_token`, in the insert's transaction: a rollback restores the old token with
  the old rows). Files written before the token existed read as token ``""``; their media rows
  are the committed ones, so a size cached for them stays true.

Within one turn (this process holds the file; see :class:`~nblabel.store.Store`) even that query
is skipped: a one-row write leaves its meta and the next free instance id in the store's
``turn_cache`` (:class:`Facts`), and the next write transaction of the turn uses them when nothing
else wrote in between (``Store.write_number`` is one more). Any other write, a rollback or a new
turn makes them stale, and they are read again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from ._schema_load import state_at

if TYPE_CHECKING:
    from ..schema import SchemaState
    from ._store import Store

__all__ = ["Facts", "Meta", "facts", "media_size", "new_media_token", "read_meta", "remember"]

_META = "SELECT key, value FROM meta WHERE key IN ('project_id', 'schema_version', 'media_token')"
_SIZES: dict[tuple[str, str], dict[int, tuple[float, float]]] = {}


@dataclass(frozen=True)
class Meta:
    """The project's identity, schema version and media token, as read in one transaction."""

    project_id: str
    schema_version: int
    media_token: str

    def state(self, con: Any) -> SchemaState:
        """The schema at this version (cached; loaded with ``con`` on a miss)."""
        return state_at(con, self.project_id, self.schema_version)


def read_meta(con: Any) -> Meta:
    """One query: what says whether the cached schema state and media sizes still hold.

    Example:
        >>> from nblabel.store import Store
        >>> with Store(":memory:").read() as con:
        ...     m = read_meta(con)
        ...     m.schema_version, m.state(con).version
        (0, 0)
    """
    meta = dict(con.execute(_META).fetchall())
    return Meta(str(meta["project_id"]), int(meta["schema_version"]), str(meta.get("media_token", "")))


def media_size(con: Any, meta: Meta, media_id: int) -> tuple[float, float] | None:
    """``(width, height)`` of media item ``media_id`` (``None``: not in the project), cached per media token.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
        >>> with p.store.read() as con:
        ...     media_size(con, read_meta(con), 1), media_size(con, read_meta(con), 2)
        ((6.0, 4.0), None)
    """
    key = (meta.project_id, meta.media_token)
    sizes = _SIZES.get(key)
    if sizes is None:
        if len(_SIZES) > 16:
            _SIZES.clear()
        sizes = _SIZES[key] = {}
    hit = sizes.get(int(media_id))
    if hit is not None:
        return hit
    r = con.execute("SELECT width, height FROM media WHERE media_id = ?", [int(media_id)]).fetchall()
    if not r:
        return None
    sizes[int(media_id)] = size = (float(r[0][0]), float(r[0][1]))
    return size


def new_media_token(con: Any) -> None:
    """Record that media rows were inserted (call it in the inserting transaction)."""
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('media_token', ?)", [uuid.uuid4().hex])


class Facts(NamedTuple):
    """What a one-row write knows at its start: the meta, and the next free instance id if known."""

    meta: Meta
    next_instance_id: int | None


_KEY = "one-row write"


def facts(store: Store, con: Any, began_at: int) -> Facts:
    """The meta (and the next instance id) for a write transaction begun when ``store.write_number``
    was ``began_at``: from the previous write of this turn when nothing came between, else read.

    Example:
        >>> from nblabel.store import Store
        >>> s = Store(":memory:")
        >>> n = s.write_number
        >>> with s.transaction() as con:
        ...     f = facts(s, con, n)
        ...     remember(s, n, f.meta, next_instance_id=1)
        >>> n = s.write_number
        >>> with s.transaction() as con:
        ...     facts(s, con, n).next_instance_id
        1
    """
    mine = store.write_number == began_at + 1  # this block began the transaction (not joined one)
    hit = store.turn_cache.get(_KEY) if mine else None
    if isinstance(hit, tuple) and hit[0] == began_at:
        return hit[1]
    return Facts(read_meta(con), None)


def remember(store: Store, began_at: int, meta: Meta, *, next_instance_id: int | None) -> None:
    """Leave this write's facts for the next write of the turn (only if this block began the transaction)."""
    if store.write_number == began_at + 1:
        store.turn_cache[_KEY] = (began_at + 1, Facts(meta, next_instance_id))
