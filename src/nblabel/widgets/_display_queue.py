"""The annotator's display images: encoded once, the next ones in the background, huge ones kept on disk.

A queue item's display image is encoded on a worker thread as soon as it is likely to be wanted
(the annotator prefetches the next item while the current one is shown), so stepping on does not
wait for a decode. The last few are kept in memory; an image big enough that its decode is slow
(:data:`CACHE_MIN_PIXELS`, 16 MP: a PNG that size takes ~0.3 s, a 12000² one seconds) is also kept
in the project's display store (:mod:`nblabel.io._display_cache`) under its sha256, so it pays its
decode once, not once per session.

Previews (the small first picture of a large image) come from a 1/8-size DCT decode for JPEGs; a
format with no reduced decode (PNG, TIFF...) gets its preview cut from the pixels its display
encode decodes (ready before the display image's resize and encode), or from the display image
itself when that comes from the store: the file is decoded once, not twice.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from typing import Any

from ..io._display_cache import CachedDisplay, DisplayStore
from ._display import (
    _PASS_THROUGH,
    PREVIEW_SIDE,
    DisplayImage,
    display_mime,
    display_size,
    encode_display,
    encode_preview,
    preview_from_display,
    preview_from_image,
)

__all__ = ["CACHE_MIN_PIXELS", "DisplayCache"]

CACHE_MIN_PIXELS = 16_000_000  # images at least this big are kept in the display store
_VARIANT = "v2"  # bump when the display encoding changes: old entries are then never read (v2: whole-factor sizes)


class DisplayCache:
    """Display images and previews of queue items, encoded once, a few kept, the next ones in the background.

    ``q`` is a queue entry: a dict with ``media_id, uri, width, height, format, orientation`` (and
    ``sha256``, which makes big images go to ``store``).

    Example:
        >>> import tempfile, os; from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "a.jpg"); Image.new("RGB", (3000, 2000)).save(p)
        >>> q = {"media_id": 1, "uri": p, "width": 3000, "height": 2000, "format": "JPEG", "orientation": 1}
        >>> c = DisplayCache(4096)
        >>> c.preview(q).display_width, c.image(q).display_width, c.fields(q)["mime"]
        (1000, 3000, 'image/jpeg')
        >>> c.close()
    """

    def __init__(self, max_display: int = 4096, keep: int = 3, keep_previews: int = 8, *,
                 store: DisplayStore | None = None, min_pixels: int = CACHE_MIN_PIXELS) -> None:
        self.max_display = int(max_display)
        self.keep, self.keep_previews = keep, keep_previews
        self.store, self.min_pixels = store, int(min_pixels)
        self.images: OrderedDict[int, Future[DisplayImage]] = OrderedDict()
        self.previews: OrderedDict[int, Future[DisplayImage | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="nblabel-prefetch")
        return self._pool

    # -- encoding ------------------------------------------------------------------------------
    def _store_key(self, q: dict[str, Any]) -> tuple[str, str] | None:
        """(sha256, variant) when the image goes to the store: big, re-encoded, its sha256 known."""
        sha = q.get("sha256")
        w, h, o = int(q["width"]), int(q["height"]), int(q["orientation"] or 1)
        if self.store is None or not sha or w * h < self.min_pixels:
            return None
        _dw, _dh, scale = display_size(w, h, self.max_display)
        if scale == 1.0 and o in (0, 1) and q["format"] in _PASS_THROUGH:  # sent as the file's own bytes
            return None
        return str(sha), f"{_VARIANT}-{self.max_display}-o{o}"

    def _encode(self, q: dict[str, Any]) -> DisplayImage:
        """The display image: from the store, else decoded (cutting the preview of a format with no
        reduced decode from the decoded pixels on the way, so it is ready before the encode)."""
        w, h, o = int(q["width"]), int(q["height"]), int(q["orientation"] or 1)
        key = self._store_key(q)
        if key is not None and self.store is not None:
            hit = self.store.get(key[0], key[1], q["uri"])
            if hit is not None:
                dw, dh, scale = display_size(w, h, self.max_display)
                return DisplayImage(hit.data, hit.mime, w, h, dw, dh, scale)
        cut = self._wants_preview(q) and q["format"] != "JPEG"
        img = encode_display(q["uri"], width=w, height=h, orientation=o, fmt=q["format"], max_side=self.max_display,
                             on_decoded=(lambda im: self._preview_decoded(q, im)) if cut else None)
        if key is not None and self.store is not None:
            self.store.put(key[0], key[1], q["uri"], CachedDisplay(img.data, img.mime))
        return img

    def _wants_preview(self, q: dict[str, Any]) -> bool:
        return (self.max_display > PREVIEW_SIDE * 1.25  # else the display image is small itself
                and max(int(q["width"]), int(q["height"])) > PREVIEW_SIDE * 1.25)

    def _encode_preview(self, q: dict[str, Any]) -> DisplayImage | None:
        return encode_preview(q["uri"], width=int(q["width"]), height=int(q["height"]),
                              orientation=int(q["orientation"] or 1), max_side=PREVIEW_SIDE)

    def _preview_decoded(self, q: dict[str, Any], im: Any) -> None:
        """Publish the preview cut from the pixels the display encode just decoded."""
        mid = int(q["media_id"])
        try:
            prev = preview_from_image(im, int(q["width"]), int(q["height"]), PREVIEW_SIDE)
        except Exception:  # a preview is a courtesy: the derived one (or the full image) follows
            return
        with self._lock:
            fut = self.previews.get(mid)
            if fut is None or fut.done():
                fut = Future()
                self.previews[mid] = fut
                while len(self.previews) > self.keep_previews:
                    self.previews.popitem(last=False)
        _complete(fut, prev)

    # -- full display images -------------------------------------------------------------------
    def _remember(self, mid: int, fut: Future[DisplayImage]) -> None:
        with self._lock:
            self.images[mid] = fut
            self.images.move_to_end(mid)
            while len(self.images) > self.keep:  # current, next, and the one before
                self.images.popitem(last=False)

    def image(self, q: dict[str, Any]) -> DisplayImage:
        """The display image (from the cache, else encoded now)."""
        mid = int(q["media_id"])
        with self._lock:
            fut = self.images.get(mid)
            if fut is not None:
                self.images.move_to_end(mid)
        if fut is not None:
            try:
                return fut.result()
            except Exception:
                with self._lock:
                    self.images.pop(mid, None)
        img = self._encode(q)
        done: Future[DisplayImage] = Future()
        done.set_result(img)
        self._remember(mid, done)
        return img

    def prefetch(self, q: dict[str, Any]) -> Future[DisplayImage]:
        """Encode the display image in a background thread unless it is cached; its future."""
        mid = int(q["media_id"])
        with self._lock:
            fut = self.images.get(mid)
            if fut is not None:
                return fut
        fut = self._executor().submit(self._encode, q)
        self._remember(mid, fut)
        return fut

    def prefetch_after(self, shown: dict[str, Any], q: dict[str, Any]) -> None:
        """Prefetch ``q`` once the display image of ``shown`` is done, so the next item's decode does
        not share the two cores with the one being waited for (a 12000² PNG's tail, measured: +0.1–0.3 s)."""
        with self._lock:
            fut = self.images.get(int(shown["media_id"]))
        if fut is None or fut.done():
            self.prefetch(q)
            return

        def go(_f: Future[DisplayImage]) -> None:
            if not self._closed:  # closed meanwhile: nobody wants it (and no pool is made again)
                with contextlib.suppress(RuntimeError):  # shutting down at this moment
                    self.prefetch(q)

        fut.add_done_callback(go)

    # -- previews ------------------------------------------------------------------------------
    def prefetch_preview(self, q: dict[str, Any]) -> Future[DisplayImage | None]:
        """The preview's future, started the first time: cut from the display image when that is
        ready or when the format has no reduced decode, else decoded reduced in a background thread."""
        mid = int(q["media_id"])
        with self._lock:
            fut = self.previews.get(mid)
            if fut is not None:
                self.previews.move_to_end(mid)
                return fut
            shown = self.images.get(mid)
        if not self._wants_preview(q):
            fut = Future()
            fut.set_result(None)
        elif q["format"] == "JPEG" and not (shown is not None and shown.done() and shown.exception() is None):
            fut = self._executor().submit(self._encode_preview, q)
        else:  # one decode for both: the preview waits for the display image
            fut = Future()
            placeholder = fut
            self.prefetch(q).add_done_callback(lambda f: _derive_preview(f, placeholder))
        with self._lock:
            fut = self.previews.setdefault(mid, fut)
            while len(self.previews) > self.keep_previews:  # small (~100 KB each)
                self.previews.popitem(last=False)
        return fut

    def preview(self, q: dict[str, Any]) -> DisplayImage | None:
        """The preview, or None when the image is small (send it whole) or the preview failed."""
        try:
            return self.prefetch_preview(q).result()
        except Exception:  # a preview is a courtesy: the full image reports the real error
            with self._lock:
                self.previews.pop(int(q["media_id"]), None)
            return None

    def fields(self, q: dict[str, Any]) -> dict[str, Any]:
        """``display_width, display_height, display_scale, mime`` of the display image, without encoding it."""
        w, h, o = int(q["width"]), int(q["height"]), int(q["orientation"] or 1)
        dw, dh, scale = display_size(w, h, self.max_display)
        return {"display_width": dw, "display_height": dh, "display_scale": scale,
                "mime": display_mime(w, h, o, q["format"], self.max_display)}

    def close(self) -> None:
        """Stop the background threads (pending encodes are cancelled; a pending prefetch_after is dropped)."""
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _derive_preview(shown: Future[DisplayImage], out: Future[DisplayImage | None]) -> None:
    """Complete ``out``, unless the decode did already, with the preview cut from the finished
    display image (a store hit decodes nothing), or with its error."""
    if out.done():
        return
    try:
        _complete(out, preview_from_display(shown.result()))
    except BaseException as e:  # handed to whoever waits on the preview
        with contextlib.suppress(InvalidStateError):
            out.set_exception(e)


def _complete(fut: Future[DisplayImage | None], value: DisplayImage | None) -> None:
    with contextlib.suppress(InvalidStateError):  # completed by the other path meanwhile
        fut.set_result(value)
