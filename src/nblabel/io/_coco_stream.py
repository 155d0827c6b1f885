"""Reading a COCO file without holding it: its top-level object walked value by value, lists item by item.

``json.loads`` of a 264 MB COCO file builds every annotation as Python objects at once (~4 GB).
Here the file is read in blocks and each top-level value is decoded on its own with the standard
library's C decoder (``JSONDecoder.raw_decode``): a list is decoded one item at a time, so only the
item at hand and the block it sits in are held. The decoder is the one ``json.loads`` uses, so
numbers, strings, ``NaN``, duplicate keys (the last wins) and the messages of malformed input
(``Expecting ',' delimiter: line 3 column 9 (char 41)``, positions counted from the file's start)
are the same as reading it whole; a value nested too deeply raises :class:`RecursionError` as
``json.loads`` does.

:func:`read_head` walks the whole file once (so a malformed file is refused before any image is
read) and keeps ``images`` and ``categories`` (small next to the annotations) with the type of every
top-level value; the import hands it a stager that turns the annotations into compact columns as
they go by (:mod:`._coco_staged`), so the file is read once. The annotations list is offered to the
stager in stretches of about a megabyte of text, cut at item borders, for a C-level decode
(:mod:`._coco_fast`); a stretch it refuses is decoded here item by item, as above.
:func:`iter_annotations` walks the file again and hands out the annotations of the last
``annotations`` key in chunks (for other readers). :mod:`._coco_source` opens a file for import.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = ["CocoHead", "iter_annotations", "read_head", "starts_with_object"]

_BLOCK = 1 << 22  # 4 MiB of text per read
_WINDOW = 1 << 20  # characters of annotations offered to the C-level decode at a time (:mod:`._coco_fast`)
_WS = re.compile(r"[ \t\n\r]*")
_SEP = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")  # after a list item: the separator and the space around it
_DECODER = json.JSONDecoder()
# the C scanner raw_decode wraps (StopIteration when no value starts at the index); not in typeshed
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_KEPT = ("images", "categories")


class _Text:
    """A file's text read block by block; positions in messages count from the start of the file."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        head = f.read(4)
        self.encoding = json.detect_encoding(head)
        self.dec = codecs.getincrementaldecoder(self.encoding)("surrogatepass")  # as json.loads decodes bytes
        self.nbytes = 0  # bytes decoded before the current block
        self.buf = self._decode(head, final=False)
        self.pos = 0  # index into buf
        self.base = 0  # characters dropped before buf
        self.lines = 0  # newlines dropped
        self.last_nl = -1  # absolute index of the last dropped newline
        self.eof = False

    def more(self, size: int = _BLOCK) -> bool:
        """Read another block (dropping what was consumed); False at the end of the file."""
        if self.eof:
            return False
        raw = self.f.read(size)
        text = self._decode(raw, final=not raw)
        if self.pos:
            k = self.pos
            nl = self.buf.count("\n", 0, k)
            if nl:
                self.lines += nl
                self.last_nl = self.base + self.buf.rfind("\n", 0, k)
            self.base += k
            self.buf = self.buf[k:]
            self.pos = 0
        self.buf += text
        self.eof = not raw
        return bool(raw) or bool(text)

    def _decode(self, raw: bytes, *, final: bool) -> str:
        try:
            return self.dec.decode(raw, final=final)
        except UnicodeDecodeError as e:  # worded as decoding the file whole says, positions from its start
            bad = bytes(e.object[e.start:e.end])
            what = f"byte 0x{bad[0]:02x}" if len(bad) == 1 else f"bytes in position {self.nbytes + e.start}-"
            pos = (f"in position {self.nbytes + e.start}" if len(bad) == 1 else f"{self.nbytes + e.end - 1}")
            raise UnicodeError(f"{e.encoding!r} codec can't decode {what} {pos}: {e.reason}") from None
        finally:
            self.nbytes += len(raw)

    def peek(self) -> str:
        """The next character after whitespace ('' at the end of the file)."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]  # [ \t\n\r]* always matches
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def error(self, msg: str, pos: int | None = None) -> json.JSONDecodeError:
        """``msg`` at ``pos`` of the buffer (default: the current one), as json.loads words it."""
        p = self.pos if pos is None else pos
        nl = self.buf.rfind("\n", 0, p)
        lineno = self.lines + self.buf.count("\n", 0, p) + 1
        colno = p - nl if nl >= 0 else self.base + p - self.last_nl
        err = json.JSONDecodeError(msg, "", 0)
        err.args = (f"{msg}: line {lineno} column {colno} (char {self.base + p})",)
        err.msg, err.pos, err.lineno, err.colno = msg, self.base + p, lineno, colno
        return err

    def value(self) -> Any:
        """Decode the value at the current position (after :meth:`peek`), reading on while it is cut off."""
        size = _BLOCK
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as e:
                if self.eof:
                    raise self.error(e.msg, e.pos) from None
                self.more(size)
                size *= 2  # a long value (or a real error far from the end) is read in fewer, larger steps
                continue
            if end >= len(self.buf) - 2 and not self.eof and not isinstance(obj, (dict, list, str)):
                self.more()  # a number at the end of the block may go on in the next one ("1." + "5", "1e" + "-3")
                continue
            self.pos = end
            return obj

    def expect(self, ch: str, msg: str) -> None:
        if self.peek() != ch:
            raise self.error(msg)
        self.pos += 1


def _read_items(t: _Text, n: int) -> tuple[list[Any], bool]:
    """Up to ``n`` items of the list being read (its '[' consumed, an item next); and whether its ']' was read.

    The loop is the hot path of an import (a million annotations): one C decode and one regex
    match per item; anything unusual (a cut-off item, a number at the block's end, an error) goes
    through :meth:`_Text.value` / :meth:`_Text.peek`, which read on or word the error.
    """
    out: list[Any] = []
    append = out.append
    scan, sep = _SCAN, _SEP.match
    while len(out) < n:
        buf, pos = t.buf, t.pos
        try:
            obj, end = scan(buf, pos)
            fast = end < len(buf) - 2 or isinstance(obj, (dict, list, str))
        except (StopIteration, json.JSONDecodeError):
            fast = False
        m = sep(buf, end) if fast else None
        if m is not None and m.end() < len(buf):
            t.pos = m.end()
            append(obj)
            if m.group(1) == "]":
                return out, True
            continue
        t.peek()
        append(t.value())
        c = t.peek()
        t.pos += 1
        if c == "]":
            return out, True
        if c != ",":
            t.pos -= 1
            raise t.error("Expecting ',' delimiter")
        t.peek()  # past the space after the ',': the next item starts at t.pos, so the fast scan takes it again
    return out, False


def _items(t: _Text) -> Iterator[Any]:
    """The items of the list whose '[' was just consumed, one by one (read a few hundred at a time)."""
    if t.peek() == "]":
        t.pos += 1
        return
    done = False
    while not done:
        items, done = _read_items(t, 256)
        yield from items


def _cut(t: _Text, window: int) -> tuple[int, int, bool] | None:
    """Where a stretch of whole items starting at ``t.pos`` may end, about ``window`` characters on:
    ``(end of its last item, where the next item starts, whether the list ends there)``, found by
    looking back for a '}' followed by ',' and '{' (or by ']'). A guess: a '}' inside a string or a
    nested object can look the same; the strict decode of the stretch refuses a wrong one."""
    while len(t.buf) - t.pos < window and t.more():
        pass
    buf, start = t.buf, t.pos
    k = min(len(buf), start + window)
    for _ in range(16):
        k = buf.rfind("}", start, k)
        if k < 0:
            return None
        m = _SEP.match(buf, k + 1)
        if m is not None and m.end() < len(buf) and (m.group(1) == "]" or buf[m.end()] == "{"):
            return k + 1, m.end(), m.group(1) == "]"
    return None


def _stage_list(t: _Text, staged: Any, chunk: int, window: int) -> set[Any]:
    """Stage the items of the ``annotations`` list whose '[' was just consumed; returns the category
    ids of annotations with keypoints.

    Stretches of about ``window`` characters go to ``staged.add_text`` (a C-level decode of clean
    stretches, :mod:`._coco_fast`); a stretch it refuses — and the next ``chunk`` items — are
    decoded here item by item and go to ``staged.add``, as every item did before (the same values,
    problems and error messages). After three refusals in a row the list is read item by item.
    """
    kps: set[Any] = set()
    if t.peek() == "]":
        t.pos += 1
        return kps
    refused = 0 if getattr(staged, "add_text", None) is not None else 3
    while True:
        cut = _cut(t, window) if refused < 3 else None
        if cut is not None:
            end, nxt, last = cut
            if staged.add_text("[" + t.buf[t.pos:end] + "]"):
                refused = 0
                t.pos = nxt
                if last:
                    return kps
                continue
        refused += 1
        items, done = _read_items(t, chunk)
        for a in items:
            if isinstance(a, dict) and a.get("keypoints"):
                kps.add(a.get("category_id"))
        staged.add(items)
        if done:
            return kps


def _members(t: _Text) -> Iterator[tuple[str, bool]]:
    """The keys of the top-level object in order; after each, the caller reads its value: when the
    flag is True it is a list whose '[' was consumed (read it with :func:`_items`), else call ``t.value()``."""
    t.expect("{", "Expecting value")
    first = True
    while True:
        c = t.peek()
        if first and c == "}":
            t.pos += 1
            break
        if c != '"':
            raise t.error("Expecting property name enclosed in double quotes")
        key = t.value()
        t.expect(":", "Expecting ':' delimiter")
        if t.peek() == "[":
            t.pos += 1
            yield key, True
        else:
            yield key, False
        first = False
        c = t.peek()
        t.pos += 1
        if c == "}":
            break
        if c != ",":
            t.pos -= 1
            raise t.error("Expecting ',' delimiter")
    if t.peek() != "":
        raise t.error("Extra data")


@dataclass
class CocoHead:
    """What the first pass keeps: the top level's shape, the images and categories, and which
    categories have annotations with keypoints."""

    top: dict[str, Any] = field(default_factory=dict)  # key -> its value, a list of annotations as []
    n_annotation_keys: int = 0
    keypoint_categories: set[Any] = field(default_factory=set)


def starts_with_object(path: Path) -> bool:
    """Whether the file's top-level JSON value is an object (a COCO file; else the caller reads it whole)."""
    with open(path, "rb") as f:
        try:
            return _Text(f).peek() == "{"
        except (UnicodeDecodeError, LookupError):
            return False


def read_head(path: Path, staged: Any = None, chunk: int = 10_000) -> CocoHead:
    """Walk the whole file (a malformed one raises :class:`json.JSONDecodeError`) keeping ``images``,
    ``categories`` and every other top-level value but the annotations. ``staged``: an object
    with ``reset()`` and ``add(items)`` (:class:`._coco_staged.Staged`) that gets the annotations of
    every ``annotations`` key, ``chunk`` at a time (reset at each key: the last one counts).

    Example:
        >>> import tempfile, os, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.json"
        >>> _ = p.write_text('{"images": [{"id": 1}], "annotations": [{"id": 5, "keypoints": [1, 2, 2], '
        ...                  '"category_id": 3}], "categories": []}')
        >>> h = read_head(p); h.top["images"], h.n_annotation_keys, h.keypoint_categories
        ([{'id': 1}], 1, {3})
    """
    head = CocoHead()
    with open(path, "rb") as f:
        t = _Text(f)
        for key, is_list in _members(t):
            if key == "annotations":
                head.n_annotation_keys += 1
            if not is_list:
                head.top[key] = t.value()
            elif key == "annotations":
                head.top[key] = []
                if staged is not None:
                    staged.reset()
                    kps = _stage_list(t, staged, chunk, _WINDOW)
                else:
                    kps = {a.get("category_id") for a in _items(t) if isinstance(a, dict) and a.get("keypoints")}
                head.keypoint_categories = kps  # the last 'annotations' key is the one json.loads keeps
            elif key in _KEPT:
                head.top[key] = list(_items(t))
            else:
                head.top[key] = []
                for _ in _items(t):
                    pass
    return head


def iter_annotations(path: Path, n_keys: int, chunk: int) -> Iterator[list[Any]]:
    """The items of the ``n_keys``-th (the last) top-level ``annotations`` list, ``chunk`` at a time.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.json"
        >>> _ = p.write_text('{"annotations": [1, 2, 3], "images": []}')
        >>> list(iter_annotations(p, 1, 2))
        [[1, 2], [3]]
    """
    seen = 0
    with open(path, "rb") as f:
        t = _Text(f)
        for key, is_list in _members(t):
            if key == "annotations":
                seen += 1
            if not is_list:
                t.value()
                continue
            if key != "annotations" or seen < n_keys:
                for _ in _items(t):
                    pass
                continue
            out: list[Any] = []
            for a in _items(t):
                out.append(a)
                if len(out) >= chunk:
                    yield out
                    out = []
            if out:
                yield out
            return  # the rest of the file was checked by read_head
