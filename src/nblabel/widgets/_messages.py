"""Request handlers of the annotator (see ``js/PROTOCOL.md``): load, save, and the table of its kinds.

Each handler takes the widget and one request from the browser and returns ``(reply, buffers)``.
Every change is committed to the store in ONE transaction before the handler returns, so an
acknowledged change survives a kernel crash. Handlers raise on bad input; the one dispatcher
(:func:`nblabel.widgets._protocol.dispatch`) turns any exception into the error envelope
``{id, ok: false, error, error_type}`` so a bad message never breaks the widget.
The shared helpers live in :mod:`nblabel.widgets._messages_common`, the review / queue handlers
in :mod:`nblabel.widgets._messages_queue`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..store import _edits
from ._messages_common import (
    INST_COLUMNS,
    Reply,
    _media_of,
    check_deletable,
    inst_from_row,
    read_instances,
    save_create,
    save_update,
)
from ._messages_queue import on_accept, on_copy_to_next, on_nav, on_reject, on_status, on_tags, on_verdict
from ._protocol import Commands

if TYPE_CHECKING:
    from ._annotator import Annotator

__all__ = ["COMMANDS", "INST_COLUMNS", "inst_from_row", "read_instances"]


def _index_of(w: Annotator, msg: dict[str, Any]) -> int:
    index = int(msg.get("index", w.index))
    if not 0 <= index < w.total:
        raise ValidationError(f"index {index} is outside the queue (0..{w.total - 1})")
    return index


def on_load(w: Annotator, msg: dict[str, Any]) -> Reply:
    """``load``: the item and its display image; with ``preview: true`` a small preview when there is one.

    A preview reply carries ``item.preview = {display_width, display_height, display_scale, mime}``
    and the preview bytes; the browser then asks for the full image with ``load_full``.
    """
    index = _index_of(w, msg)
    if msg.get("preview"):
        prev = w._preview(index)
        if prev is not None:
            w._prefetch(index)  # the full image is asked for next: encode it while the preview travels
            item = w._item(index, None)
            item.update(w._display_fields(index))
            item["preview"] = {"display_width": prev.display_width, "display_height": prev.display_height,
                               "display_scale": prev.display_scale, "mime": prev.mime}
            w._prefetch_after(index, index + 1)  # not while this one's full image is still on its way
            return {"item": item}, [prev.data]
    img = w._image(index)
    item = w._item(index, img)
    w._prefetch(index + 1)
    return {"item": item}, [img.data]


def on_load_full(w: Annotator, msg: dict[str, Any]) -> Reply:
    """``load_full``: the full display image of queue item ``index`` (after a preview); the index is unchanged."""
    index = _index_of(w, msg)
    img = w._image(index)
    return {"index": index, "media_id": int(w._queue[index]["media_id"]), "display_width": img.display_width,
            "display_height": img.display_height, "display_scale": img.display_scale, "mime": img.mime}, [img.data]


def on_save(w: Annotator, msg: dict[str, Any]) -> Reply:
    op = msg.get("op")
    if op == "create":
        inst = dict(msg.get("instance") or {})
        cid = inst.get("cid")
        key = str(cid) if cid is not None else None
        if key is not None and key in w._created:  # a retried create (its reply was lost or late)
            iid = w._created[key]
        else:
            iid = save_create(w, _media_of(w, msg), inst)
            if key is not None:
                w._created[key] = iid
        out: dict[str, Any] = {"instance_id": iid, "version": 1}
        if cid is not None:
            out["cid"] = cid
        return out, []
    if op == "update":
        inst = dict(msg.get("instance") or {})
        if inst.get("id") is None:
            raise ValidationError("an update needs instance.id")
        iid = int(inst["id"])
        version = save_update(w, inst)
        return {"instance_id": iid, "version": int(version)}, []
    if op == "delete":
        if msg.get("instance_id") is None:
            raise ValidationError("a delete needs instance_id")
        with w.session.store.transaction() as con:
            iid = check_deletable(w, con, msg["instance_id"])
            version = _edits.delete_instance(w.session, iid, author=w.author)
        return {"instance_id": iid, "version": int(version)}, []
    raise ValidationError(f"save op {op!r} is unknown; use create, update or delete")


def _record_timing(w: Annotator, kind: str, ms: float) -> None:
    w._last_handler_ms = ms
    w._timings.append((kind, ms))


COMMANDS = Commands("annotator", {
    "load": on_load, "load_full": on_load_full, "save": on_save, "accept": on_accept, "reject": on_reject,
    "verdict": on_verdict, "tags": on_tags, "status": on_status, "nav": on_nav, "copy_to_next": on_copy_to_next,
}, on_answered=_record_timing)
"""The annotator's request kinds (``js/PROTOCOL.md``), answered by :func:`nblabel.widgets._protocol.dispatch`.

Example:
    >>> import nblabel as nl, numpy as np
    >>> from nblabel.widgets._protocol import dispatch
    >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
    >>> dispatch(p.annotate(), {"id": "a", "kind": "nav", "action": "next"})[0]
    {'index': 0, 'id': 'a', 'ok': True}
"""
