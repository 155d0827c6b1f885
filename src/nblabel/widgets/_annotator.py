"""The annotator widget (Python side): a queue of media items, synced state, request handling.

The browser half (``js/annotator``, bundled to ``static/annotator.js``) draws and edits; every
finished change arrives here as one small request and is committed before it is acknowledged
(see ``js/PROTOCOL.md`` and :mod:`nblabel.widgets._messages`).
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..errors import ValidationError
from ..io._display_cache import display_store
from ..schema import SchemaState
from ..store import load_state
from ._colors import run_color
from ._display import DisplayImage
from ._display_queue import DisplayCache
from ._messages import COMMANDS, read_instances
from ._protocol import dispatch, register

if TYPE_CHECKING:
    from ..store import Session, Store

__all__ = ["Annotator", "schema_for_browser"]

_STATIC = Path(__file__).resolve().parent.parent / "static"
WIDGET_LINGER = 20.0  # seconds the project file stays open after a request while an annotator is shown
_LINGER_LOCK = threading.Lock()
_LINGER_USERS: weakref.WeakKeyDictionary[Any, list[float]] = weakref.WeakKeyDictionary()  # store -> [before, n]


def _hold_linger(store: Store) -> bool:
    """Keep ``store``'s connection open longer between requests (saves skip the ~10 ms reopen)."""
    if store.memory:
        return False
    with _LINGER_LOCK:
        ent = _LINGER_USERS.get(store)
        if ent is None:
            _LINGER_USERS[store] = [store.linger, 1.0]
            store.linger = max(store.linger, WIDGET_LINGER)
        else:
            ent[1] += 1
    return True


def _release_linger(store: Store) -> None:
    with _LINGER_LOCK:
        ent = _LINGER_USERS.get(store)
        if ent is None:
            return
        ent[1] -= 1
        if ent[1] <= 0:
            store.linger = ent[0]
            del _LINGER_USERS[store]


def schema_for_browser(state: SchemaState) -> dict[str, Any]:
    """The schema as the browser reads it (``schema`` trait of PROTOCOL.md); retired labels are left out.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.schema.add_label("car")
        >>> schema_for_browser(p.schema.state())["labels"][0]["name"]
        'car'
    """
    labels = []
    for lab in state.labels.values():
        if lab.retired:
            continue
        tpl = state.template_for(lab.id)
        labels.append({
            "id": lab.id, "name": lab.name, "color": lab.color, "hotkey": lab.hotkey, "spatial": list(lab.spatial),
            "guide": lab.guide,
            "keypoints": None if tpl is None else {"points": list(tpl.points),
                                                  "skeleton": [list(e) for e in tpl.skeleton]},
        })
    attrs = []
    for a in state.attributes.values():
        attrs.append({
            "id": a.id, "name": a.name, "kind": a.kind, "options": [dict(o) for o in a.options],
            "min": a.min, "max": a.max, "step": a.step, "required": a.required,
            "label_ids": None if a.label_ids is None else list(a.label_ids),
            "parent": None if a.parent_group_id is None else {"group_id": a.parent_group_id,
                                                             "option_id": a.parent_option_id},
        })
    return {"version": state.version, "labels": labels, "attributes": attrs}


class Annotator(anywidget.AnyWidget):
    """Label a queue of images: boxes, polygons, keypoints, points, lines, tags, attributes.

    Create one with :meth:`nblabel.Project.annotate` (or :meth:`~nblabel.Project.review`).
    Python is the source of truth for the position in the queue: ``w.next()``, ``w.prev()``,
    ``w.goto(i)`` move the browser too.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)] * 1)
        >>> _ = p.schema.add_label("car")
        >>> w = p.annotate()
        >>> w.total, w.index, w.current["width"]
        (1, 0, 60)
    """

    _esm = _STATIC / "annotator.js"
    commands = COMMANDS  # the request kinds this widget answers (js/PROTOCOL.md)

    schema = traitlets.Dict().tag(sync=True)
    runs = traitlets.List(traitlets.Dict()).tag(sync=True)
    index = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    completed = traitlets.Int(0).tag(sync=True)
    stage = traitlets.Unicode("label").tag(sync=True)
    author = traitlets.Unicode("").tag(sync=True)
    focus = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    mode = traitlets.Unicode("label").tag(sync=True)
    # set by the browser on every label pick (most recent first); keys 1-9 with many labels
    recent_labels = traitlets.List(traitlets.Int()).tag(sync=True)

    def __init__(self, session: Session, media_ids: list[int], *, stage: str = "label",
                 runs: list[str] | None = None, author: str | None = None, max_display: int = 4096,
                 mode: str = "label", focus: list[dict[str, Any] | None] | None = None,
                 review_run_id: int | None = None) -> None:
        if mode not in ("label", "review"):
            raise ValidationError(f"mode must be 'label' or 'review', got {mode!r}")
        if focus is not None and len(focus) != len(media_ids):
            raise ValidationError("focus needs one entry per queue item")
        self.session = session
        self.max_display = int(max_display)
        self._on_complete: list[Callable[[int], Any]] = []
        self._focus_list = focus
        self._review_run_id = review_run_id
        self._display = DisplayCache(self.max_display,
                                     store=display_store(session.path, read_only=session.store.read_only))
        self._created: dict[str, int] = {}  # create cid -> instance id: a retried create is not inserted twice
        self._last_handler_ms = 0.0
        self._timings: deque[tuple[str, float]] = deque(maxlen=5000)  # (request kind, handler ms)
        with session.store.read() as con:
            state = load_state(con)
            rows = con.execute(
                "SELECT media_id, uri, file_name, width, height, format, orientation, sha256 FROM media "
                "WHERE media_id IN (SELECT unnest(?))", [[int(m) for m in media_ids]]).fetchall()
            run_rows = con.execute("SELECT run_id, name FROM runs ORDER BY run_id").fetchall()
        by_id = {int(r[0]): r for r in rows}
        missing = [m for m in media_ids if int(m) not in by_id]
        if missing:
            raise ValidationError(f"media id(s) {missing[:10]} are not in the project")
        keys = ("media_id", "uri", "file_name", "width", "height", "format", "orientation", "sha256")
        self._queue: list[dict[str, Any]] = [dict(zip(keys, by_id[int(m)], strict=True)) for m in media_ids]
        self._state = state
        known = [r[1] for r in run_rows]
        run_ids = {str(r[1]): int(r[0]) for r in run_rows}
        if runs is not None:
            unknown = [r for r in runs if r not in known]
            if unknown:
                raise ValidationError(f"run(s) {unknown} do not exist; the project has {known}")
        self._runs = list(runs) if runs is not None else None
        shown = self._runs if self._runs is not None else known
        super().__init__(
            schema=schema_for_browser(state),
            runs=[{"name": n, "color": run_color(run_ids[n])} for n in shown],
            total=len(self._queue), stage=stage, author=author or session.author, mode=mode,
            focus=focus[0] if focus else None, index=0,
        )
        with session.store.read() as con:
            self.completed = self._count_completed(con)
        register(self)
        self._linger_held = _hold_linger(session.store)
        if self._queue:  # the browser's first request is this preview: prepare it while the widget is shown
            self._prefetch_preview(0)

    # -- queue navigation (Python API) ---------------------------------------------------------
    def _set_index(self, i: int) -> None:
        if self._focus_list is not None:
            # traitlets.Dict has no allow_none overload, so its type says dict although the trait takes None
            self.focus = self._focus_list[i]  # type: ignore[assignment]
        self.index = i

    def goto(self, i: int) -> None:
        """Show the queue item at position ``i``.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8), np.ones((4, 6, 3), np.uint8)])
            >>> w = p.annotate(); w.goto(1); w.index
            1
        """
        i = int(i)
        if not 0 <= i < self.total:
            raise ValidationError(f"index {i} is outside the queue (0..{self.total - 1})")
        self._set_index(i)

    def next(self) -> None:
        """Show the next queue item (stays on the last one).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8), np.ones((4, 6, 3), np.uint8)])
            >>> w = p.annotate(); w.next(); w.index
            1
        """
        if self.total:
            self._set_index(min(self.index + 1, self.total - 1))

    def prev(self) -> None:
        """Show the previous queue item (stays on the first one).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8), np.ones((4, 6, 3), np.uint8)])
            >>> w = p.annotate(); w.goto(1); w.prev(); w.index
            0
        """
        if self.total:
            self._set_index(max(self.index - 1, 0))

    def on_complete(self, fn: Callable[[int], Any]) -> Callable[[int], Any]:
        """Call ``fn(media_id)`` after each item is completed in the widget; returns ``fn`` (a decorator).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> w = p.annotate(); done = []
            >>> _ = w.on_complete(done.append)
            >>> _ = w.handle_message({"id": 1, "kind": "status", "state": "complete", "seconds_active": 3})
            >>> done
            [1]
        """
        self._on_complete.append(fn)
        return fn

    @property
    def media_ids(self) -> list[int]:
        """The media ids of the queue, in order.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.annotate().media_ids
            [1]
        """
        return [int(q["media_id"]) for q in self._queue]

    @property
    def current(self) -> dict[str, Any] | None:
        """The current item as a dict: media id, file name, sizes, status, instances and predictions.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.annotate().current["status"]
            'new'
        """
        if not self.total:
            return None
        return self._item(self.index, None)

    def refresh_schema(self) -> None:
        """Send the project's current schema to the browser (after adding labels or attributes).

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); w = p.annotate(); _ = p.schema.add_label("dog")
            >>> w.refresh_schema(); [lab["name"] for lab in w.schema["labels"]]
            ['dog']
        """
        with self.session.store.read() as con:
            self._state = load_state(con)
        self.schema = schema_for_browser(self._state)

    # -- messages ----------------------------------------------------------------------------
    def handle_message(self, msg: dict[str, Any], buffers: list[bytes] | None = None) -> tuple[dict[str, Any], list[bytes]]:
        """Answer one protocol request as the browser would send it; returns ``(reply, buffers)``.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> reply, bufs = p.annotate().handle_message({"id": "x", "kind": "load", "index": 0})
            >>> reply["ok"], reply["item"]["width"], bufs[0][:4] == b"\\x89PNG"
            (True, 6, True)
        """
        return dispatch(self, msg, buffers)

    # -- internals used by the handlers ------------------------------------------------------
    def _schema_state(self, refresh_if_missing: int | None = None) -> SchemaState:
        if refresh_if_missing is not None and refresh_if_missing not in self._state.labels:
            with self.session.store.read() as con:
                self._state = load_state(con)
        return self._state

    def _run_id_of(self, con: Any, pred_id: Any) -> int | None:
        if pred_id is not None:
            rows = con.execute("SELECT run_id FROM instances WHERE instance_id = ? ORDER BY version DESC LIMIT 1",
                               [int(pred_id)]).fetchall()
            if rows and rows[0][0] is not None:
                return int(rows[0][0])
        return self._review_run_id

    def _count_completed(self, con: Any) -> int:
        return int(con.execute(
            "SELECT count(*) FROM status WHERE stage = ? AND state = 'complete' AND media_id IN (SELECT unnest(?))",
            [self.stage, list({int(q["media_id"]) for q in self._queue})]).fetchall()[0][0])

    @property
    def _cache(self) -> Any:  # media id -> Future of its full display image (tests look at it)
        return self._display.images

    @property
    def _previews(self) -> Any:  # media id -> Future of its preview
        return self._display.previews

    def _image(self, index: int) -> DisplayImage:
        return self._display.image(self._queue[index])

    def _prefetch(self, index: int) -> None:
        """Encode the image at ``index`` in a background thread (the next item is usually wanted soon)."""
        if 0 <= index < self.total:
            self._display.prefetch(self._queue[index])

    def _prefetch_after(self, index: int, then: int) -> None:
        """Encode the image at ``then`` once the one at ``index`` is done (they would share the cores)."""
        if 0 <= then < self.total:
            self._display.prefetch_after(self._queue[index], self._queue[then])

    def _prefetch_preview(self, index: int) -> None:
        self._display.prefetch_preview(self._queue[index])

    def _preview(self, index: int) -> DisplayImage | None:
        """The cached preview of the item at ``index`` (None: the image is small, send it whole)."""
        return self._display.preview(self._queue[index])

    def _display_fields(self, index: int) -> dict[str, Any]:
        return self._display.fields(self._queue[index])

    def _item(self, index: int, img: DisplayImage | None) -> dict[str, Any]:
        q = self._queue[index]
        mid = int(q["media_id"])
        with self.session.store.read() as con:
            gt, preds = read_instances(con, mid, self._runs)
            st = con.execute("SELECT state FROM status WHERE media_id = ? AND stage = ?", [mid, self.stage]).fetchall()
        item: dict[str, Any] = {
            "index": index, "media_id": mid, "file_name": q["file_name"], "width": int(q["width"]),
            "height": int(q["height"]), "status": st[0][0] if st else "new", "instances": gt, "predictions": preds,
        }
        if img is not None:
            item.update(display_width=img.display_width, display_height=img.display_height,
                        display_scale=img.display_scale, mime=img.mime)
        if self._focus_list is not None:
            item["focus"] = self._focus_list[index]
        return item

    def close(self) -> None:
        """Close the widget, stop its prefetch threads and give the project's connection its usual linger.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").annotate().close()
        """
        if getattr(self, "_linger_held", False):
            self._linger_held = False
            _release_linger(self.session.store)
        self._display.close()
        super().close()

    # -- display -----------------------------------------------------------------------------
    def __repr__(self) -> str:
        where = f"item {self.index + 1}/{self.total}" if self.total else "empty queue"
        return f"<nblabel Annotator ({self.mode}, stage {self.stage!r}): {where}, {self.completed} complete>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        out = super()._repr_mimebundle_(**kwargs)
        data = out[0] if isinstance(out, tuple) else out
        if data is None:
            return out
        if self.total:
            try:
                from ._static import png_bytes, render_static

                mid = int(self._queue[self.index]["media_id"])
                # small and fast (JPEG draft decoding, light PNG compression): it delays the widget's display
                data["image/png"] = png_bytes(render_static(self.session, mid, runs=self._runs, max_side=480),
                                              compress_level=1)
            except Exception:  # the picture is a courtesy for frontends without widgets
                pass
        return out
