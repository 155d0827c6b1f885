"""The one request/response protocol of nblabel's widgets (specified in ``js/PROTOCOL.md``).

The browser sends ``{id, kind, ...}`` as an anywidget custom message (``model.send``), optionally
with binary buffers; the kernel answers exactly once with the same ``id``:

* ``{id, ok: true, ...fields}`` plus the reply's binary buffers, or
* ``{id, ok: false, error, error_type}``: ``error`` is the message of an nblabel error (it names
  the bad input and the fix), or ``"Type: message"`` for an unexpected exception, which is also
  logged with its traceback (logger ``nblabel.widgets``). Answering never raises.

Each widget class declares its request kinds once, in a :class:`Commands` table (the pattern of
anywidget's ``experimental.command``), and each widget instance installs the single
``msg:custom`` handler once with :func:`register`. :func:`dispatch` is the only place that turns
a request into a reply, for the annotator and the gallery alike.

Example:
    >>> class Echo:
    ...     commands = Commands("echo")
    ...     @commands.command("twice")
    ...     def _twice(self, msg):
    ...         return {"value": 2 * msg["value"]}, []
    >>> dispatch(Echo(), {"id": 1, "kind": "twice", "value": 21})
    ({'value': 42, 'id': 1, 'ok': True}, [])
    >>> dispatch(Echo(), {"id": 2, "kind": "thrice"})[0]["error_type"]
    'ValidationError'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import NblabelError, ValidationError

__all__ = ["Commands", "Reply", "dispatch", "error_reply", "register"]

log = logging.getLogger("nblabel.widgets")

Reply = tuple[dict[str, Any], list[bytes]]
Handler = Callable[..., Reply]


@dataclass(frozen=True)
class _Entry:
    fn: Handler
    takes_buffers: bool


class Commands:
    """The request kinds one widget class answers: ``kind -> handler(widget, msg) -> (reply, buffers)``.

    Register a handler with the :meth:`command` decorator (on a method or a module function) or
    give them all at once. ``on_answered(widget, kind, ms)``, if given, is called after every
    request with the time the handler took (the annotator keeps these for its benchmarks).

    Example:
        >>> t = Commands("demo", {"ping": lambda w, msg: ({}, [])})
        >>> t.kinds, "ping" in t
        (['ping'], True)
    """

    def __init__(self, widget: str, handlers: Mapping[str, Handler] | None = None, *,
                 on_answered: Callable[[Any, str, float], None] | None = None) -> None:
        self.widget = widget
        self.on_answered = on_answered
        self._table: dict[str, _Entry] = {}
        for kind, fn in (handlers or {}).items():
            self.add(kind, fn)

    def add(self, kind: str, fn: Handler, *, takes_buffers: bool = False) -> None:
        """Register ``fn`` for requests of ``kind``; ``takes_buffers``: call ``fn(widget, msg, buffers)``.

        Example:
            >>> t = Commands("demo"); t.add("size", lambda w, msg, bufs: ({"n": len(bufs)}, []), takes_buffers=True)
            >>> dispatch(type("W", (), {"commands": t})(), {"id": 1, "kind": "size"}, [b"ab"])[0]["n"]
            1
        """
        if kind in self._table:
            raise ValidationError(f"the {self.widget} already answers {kind!r}; a kind is registered once")
        self._table[kind] = _Entry(fn, takes_buffers)

    def command(self, kind: str, *, takes_buffers: bool = False) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add`.

        Example:
            >>> t = Commands("demo")
            >>> @t.command("ping")
            ... def ping(widget, msg):
            ...     return {"pong": True}, []
            >>> t.kinds
            ['ping']
        """

        def deco(fn: Handler) -> Handler:
            self.add(kind, fn, takes_buffers=takes_buffers)
            return fn

        return deco

    @property
    def kinds(self) -> list[str]:
        """The registered request kinds, sorted."""
        return sorted(self._table)

    def __contains__(self, kind: object) -> bool:
        return kind in self._table

    def _entry(self, kind: Any) -> _Entry:
        entry = self._table.get(str(kind))
        if entry is None:
            raise ValidationError(f"{self.widget} request kind {kind!r} is unknown; known: {self.kinds}")
        return entry


def error_reply(request_id: Any, exc: BaseException) -> dict[str, Any]:
    """The error envelope ``{id, ok: false, error, error_type}`` for ``exc``.

    Example:
        >>> error_reply("a", ValidationError("label 'cra' is not in the schema"))["error"]
        "label 'cra' is not in the schema"
        >>> error_reply("b", KeyError("media_id"))["error"]
        "KeyError: 'media_id'"
    """
    if isinstance(exc, NblabelError):
        text = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return {"id": request_id, "ok": False, "error": text or type(exc).__name__, "error_type": type(exc).__name__}


def dispatch(widget: Any, msg: Any, buffers: Sequence[Any] | None = None) -> Reply:
    """Answer one request with the handler ``type(widget).commands`` registers for ``msg["kind"]``.

    Returns ``({..., id, ok: True}, buffers)`` or ``({id, ok: False, error, error_type}, [])``;
    never raises.

    Example:
        >>> dispatch(object(), "not a dict")[0]["ok"]
        False
    """
    request_id = msg.get("id") if isinstance(msg, dict) else None
    kind = str(msg.get("kind")) if isinstance(msg, dict) else "?"
    commands: Commands | None = getattr(type(widget), "commands", None)
    t0 = time.perf_counter()
    try:
        if not isinstance(commands, Commands):
            raise ValidationError(f"{type(widget).__name__} declares no request kinds (a Commands table)")
        if not isinstance(msg, dict):
            raise ValidationError(f"a {commands.widget} request must be a JSON object, got {type(msg).__name__}")
        entry = commands._entry(msg.get("kind"))
        if entry.takes_buffers:
            reply, out = entry.fn(widget, msg, list(buffers or []))
        else:
            reply, out = entry.fn(widget, msg)
        answer: Reply = ({**reply, "id": request_id, "ok": True}, list(out))
    except Exception as exc:
        if not isinstance(exc, NblabelError):
            log.exception("%s request %r (id %r) failed", type(widget).__name__, kind, request_id)
        answer = (error_reply(request_id, exc), [])
    if isinstance(commands, Commands) and commands.on_answered is not None:
        try:
            commands.on_answered(widget, kind, (time.perf_counter() - t0) * 1000.0)
        except Exception:
            log.exception("recording the answer to %r failed", kind)
    return answer


def register(widget: Any) -> None:
    """Install the widget's one ``msg:custom`` handler: every request is answered through :func:`dispatch`.

    Call it once per widget instance (from ``__init__``); a second call does nothing.

    Example:
        >>> import anywidget
        >>> class W(anywidget.AnyWidget):
        ...     _esm = "export default {}"
        ...     commands = Commands("w")
        >>> w = W(); register(w); register(w)
        >>> len(w._msg_callbacks.callbacks)
        1
    """
    if getattr(widget, "_nblabel_protocol", False):
        return

    def on_msg(_widget: Any, content: Any, buffers: Sequence[Any] | None = None) -> None:
        reply, out = dispatch(widget, content, buffers)
        try:
            widget.send(reply, buffers=out or None)
        except Exception:  # a closed comm: nothing is left to answer
            log.exception("sending the reply to %r failed", content.get("kind") if isinstance(content, dict) else content)

    widget.on_msg(on_msg)
    widget._nblabel_protocol = True
