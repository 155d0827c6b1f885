"""Image bytes for the browser: upright (EXIF applied), 8-bit, longest side capped, JPEG or PNG.

A JPEG or PNG that is already upright and small enough is sent as its own file bytes (no decode,
no re-encode: the fastest path to the screen). Everything else is decoded upright with the same
rules as the store (:func:`nblabel.io._images.load_display_image`), downscaled so its longest side
is at most ``max_side`` and re-encoded: JPEG for opaque images, PNG when there is transparency or
the source was lossless. A JPEG whose image data ends early (cut short, an end marker appended:
libjpeg shows the rest as flat grey without an error) is refused with a :class:`MediaError`; the
check costs one 1/8-size decode (~2 ms at 640×480). ``display_scale`` is display pixels per original
pixel (≤ 1); every coordinate exchanged with the browser stays in original pixels.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import MediaError, ValidationError
from ..io._imagefile import jpeg_ends_early
from ..io._images import load_display_image

__all__ = ["PREVIEW_SIDE", "DisplayCache", "DisplayImage", "display_mime", "display_size", "encode_display", "encode_preview"]

_PASS_THROUGH = {"JPEG": "image/jpeg", "PNG": "image/png"}
PREVIEW_SIDE = 1024  # longest side of the quick first picture of a large image


@dataclass(frozen=True)
class DisplayImage:
    """Encoded image bytes plus the sizes the browser needs to map pointer positions back."""

    data: bytes
    mime: str
    width: int  # original (upright) size
    height: int
    display_width: int
    display_height: int
    display_scale: float  # display px per original px


def display_size(width: int, height: int, max_side: int = 4096) -> tuple[int, int, float]:
    """The display size of an upright ``width × height`` image with its longest side ≤ ``max_side``.

    Example:
        >>> display_size(8000, 6000, 4096)
        (4096, 3072, 0.512)
        >>> display_size(640, 480)
        (640, 480, 1.0)
    """
    if max_side < 16:
        raise ValidationError(f"max_display must be at least 16 pixels, got {max_side}")
    longest = max(int(width), int(height), 1)
    if longest <= max_side:
        return int(width), int(height), 1.0
    s = max_side / longest
    dw, dh = max(1, round(width * s)), max(1, round(height * s))
    return dw, dh, dw / width if width >= height else dh / height


def _decode(path: str, orientation: int, target: tuple[int, int] | None) -> Image.Image:
    """Decode upright 8-bit RGB(A); an image that will be shrunk to ``target`` is decoded reduced
    (JPEG: DCT scaling; other formats: a whole-factor box reduction straight after decoding)."""
    return load_display_image(path, orientation, fit=target)


def encode_display(path: str | Path, *, width: int, height: int, orientation: int = 1, fmt: str | None = None,
                   max_side: int = 4096, quality: int = 90) -> DisplayImage:
    """Bytes of an image as the annotator shows it, with its display size and scale.

    Args:
        path: the image file.
        width, height: the original upright size (as the store has it).
        orientation: the EXIF orientation stored for the file (1 = upright).
        fmt: the file's format as the store has it (``"JPEG"``, ``"PNG"``...).
        max_side: the longest displayed side, in pixels.
        quality: JPEG quality of re-encoded images.

    Example:
        >>> import tempfile, os; from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "a.png"); Image.new("RGB", (50, 20)).save(p)
        >>> d = encode_display(p, width=50, height=20, fmt="PNG", max_side=25)
        >>> d.mime, d.display_width, d.display_height, d.display_scale
        ('image/jpeg', 25, 10, 0.5)
    """
    path = str(path)
    dw, dh, scale = display_size(width, height, max_side)
    passes = scale == 1.0 and orientation in (0, 1) and fmt in _PASS_THROUGH
    if passes or fmt == "JPEG":
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise MediaError(f"cannot display {path!r}: {e}; check the file still exists") from None
        if fmt == "JPEG" and jpeg_ends_early(data):
            raise MediaError(f"cannot display {path!r}: it is a truncated JPEG (its image data ends early, the "
                             "bottom would show flat grey); re-copy or re-encode the file")
    if passes:
        return DisplayImage(data, _PASS_THROUGH[str(fmt)], int(width), int(height), int(width), int(height), 1.0)
    im = _decode(path, orientation, (dw, dh) if scale < 1.0 else None)
    if im.size != (dw, dh):
        im = im.resize((dw, dh), Image.Resampling.LANCZOS if scale >= 0.25 else Image.Resampling.BILINEAR,
                       reducing_gap=2.0)
    buf = io.BytesIO()
    lossless = fmt not in ("JPEG", None) and scale == 1.0
    if im.mode == "RGBA" or lossless:
        im.save(buf, format="PNG", compress_level=1)
        mime = "image/png"
    else:
        im.convert("RGB").save(buf, format="JPEG", quality=quality)
        mime = "image/jpeg"
    return DisplayImage(buf.getvalue(), mime, int(width), int(height), dw, dh,
                        scale if scale < 1.0 else 1.0)



def display_mime(width: int, height: int, orientation: int = 1, fmt: str | None = None, max_side: int = 4096) -> str:
    """The MIME type :func:`encode_display` most likely produces (exact unless the image has transparency).

    Example:
        >>> display_mime(640, 480, fmt="JPEG"), display_mime(8000, 6000, fmt="PNG")
        ('image/jpeg', 'image/jpeg')
    """
    _dw, _dh, scale = display_size(width, height, max_side)
    if scale == 1.0 and orientation in (0, 1) and fmt in _PASS_THROUGH:
        return _PASS_THROUGH[fmt]
    return "image/png" if fmt not in ("JPEG", None) and scale == 1.0 else "image/jpeg"


def encode_preview(path: str | Path, *, width: int, height: int, orientation: int = 1,
                   max_side: int = PREVIEW_SIDE, quality: int = 80) -> DisplayImage | None:
    """A small JPEG of a large image (longest side ``max_side``), or None when the image is small already.

    The browser draws it at once, scaled to the original size, while the full display image travels.
    JPEG sources are decoded at reduced size (DCT scaling), so this costs a few tens of milliseconds.

    Example:
        >>> import tempfile, os; from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "a.jpg"); Image.new("RGB", (4000, 3000)).save(p)
        >>> d = encode_preview(p, width=4000, height=3000)
        >>> d.mime, d.display_width, d.display_height, d.display_scale
        ('image/jpeg', 1024, 768, 0.256)
        >>> encode_preview(p, width=4000, height=3000, max_side=4096) is None
        True
    """
    path = str(path)
    if max(int(width), int(height)) <= max_side * 1.25:  # not worth a second request
        return None
    dw, dh, scale = display_size(width, height, max_side)
    im = _decode(path, orientation, (dw, dh))
    if im.size != (dw, dh):
        im = im.resize((dw, dh), Image.Resampling.BILINEAR, reducing_gap=2.0)
    if im.mode == "RGBA":  # a preview has no transparency: composite on grey
        bg = Image.new("RGB", im.size, (128, 128, 128))
        bg.paste(im, mask=im.getchannel("A"))
        im = bg
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=quality)
    return DisplayImage(buf.getvalue(), "image/jpeg", int(width), int(height), dw, dh, scale)


class DisplayCache:
    """Display images and previews of queue items, encoded once, a few kept, the next ones in the background.

    ``q`` is a queue entry: a dict with ``media_id, uri, width, height, format, orientation``.

    Example:
        >>> import tempfile, os; from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "a.jpg"); Image.new("RGB", (3000, 2000)).save(p)
        >>> q = {"media_id": 1, "uri": p, "width": 3000, "height": 2000, "format": "JPEG", "orientation": 1}
        >>> c = DisplayCache(4096)
        >>> c.preview(q).display_width, c.image(q).display_width, c.fields(q)["mime"]
        (1024, 3000, 'image/jpeg')
        >>> c.close()
    """

    def __init__(self, max_display: int = 4096, keep: int = 3, keep_previews: int = 8) -> None:
        self.max_display = int(max_display)
        self.keep, self.keep_previews = keep, keep_previews
        self.images: OrderedDict[int, Future[DisplayImage]] = OrderedDict()
        self.previews: OrderedDict[int, Future[DisplayImage | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="nblabel-prefetch")
        return self._pool

    def _encode(self, q: dict[str, Any]) -> DisplayImage:
        return encode_display(q["uri"], width=int(q["width"]), height=int(q["height"]),
                              orientation=int(q["orientation"] or 1), fmt=q["format"], max_side=self.max_display)

    def _encode_preview(self, q: dict[str, Any]) -> DisplayImage | None:
        if self.max_display <= PREVIEW_SIDE * 1.25:  # the display image is small itself
            return None
        return encode_preview(q["uri"], width=int(q["width"]), height=int(q["height"]),
                              orientation=int(q["orientation"] or 1), max_side=PREVIEW_SIDE)

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

    def prefetch(self, q: dict[str, Any]) -> None:
        """Encode the display image in a background thread unless it is cached."""
        mid = int(q["media_id"])
        with self._lock:
            if mid in self.images:
                return
        self._remember(mid, self._executor().submit(self._encode, q))

    def prefetch_preview(self, q: dict[str, Any]) -> Future[DisplayImage | None]:
        """The preview's future (made in a background thread the first time)."""
        mid = int(q["media_id"])
        with self._lock:
            fut = self.previews.get(mid)
            if fut is not None:
                self.previews.move_to_end(mid)
                return fut
            fut = self._executor().submit(self._encode_preview, q)
            self.previews[mid] = fut
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
        """Stop the background threads (pending encodes are cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
