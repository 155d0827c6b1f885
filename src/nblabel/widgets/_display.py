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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..errors import MediaError, ValidationError
from ..io._imagefile import jpeg_ends_early
from ..io._images import REDUCIBLE_MODES, draft_request, load_display_image, reduced_size, whole_factor

__all__ = ["PREVIEW_SIDE", "WHOLE_FACTOR_KEEP", "DisplayImage", "display_mime", "display_size", "encode_display", "encode_preview",
           "preview_from_display", "preview_from_image"]

_PASS_THROUGH = {"JPEG": "image/jpeg", "PNG": "image/png"}
PREVIEW_SIDE = 1024  # longest side of the quick first picture of a large image
WHOLE_FACTOR_KEEP = 0.9  # a whole-factor reduction is the display size when it keeps this much of max_side


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

    When dividing by a whole factor keeps the longest side within 90 % of ``max_side`` the display
    image is exactly that (each side rounded up, as ``Image.reduce`` and JPEG DCT scaling round), so
    it is made by the decoder's reduction alone with no resampling pass after it: a 12000² PNG is
    shown at 4000² (reduce by 3: 0.2 s) instead of 4096² (reduce by 2 then resample: 1.0 s), an
    8000×6000 JPEG at 4000×3000 (a half-size DCT decode and nothing else). Otherwise the longest
    side is ``max_side``. The scale is one number for both axes: display px per original px.

    Example:
        >>> display_size(8000, 6000, 4096)
        (4000, 3000, 0.5)
        >>> display_size(6000, 4000, 4096)
        (4096, 2731, 0.6826666666666666)
        >>> display_size(640, 480)
        (640, 480, 1.0)
    """
    if max_side < 16:
        raise ValidationError(f"max_display must be at least 16 pixels, got {max_side}")
    longest = max(int(width), int(height), 1)
    if longest <= max_side:
        return int(width), int(height), 1.0
    f = -(-longest // max_side)  # the smallest whole factor that fits
    dw, dh = reduced_size((width, height), f)
    if max(dw, dh) >= WHOLE_FACTOR_KEEP * max_side:
        return dw, dh, 1.0 / f
    s = max_side / longest
    dw, dh = max(1, round(width * s)), max(1, round(height * s))
    return dw, dh, dw / width if width >= height else dh / height


def _decode(path: str, orientation: int, target: tuple[int, int] | None) -> Image.Image:
    """Decode upright 8-bit RGB(A); an image that will be shrunk to ``target`` is decoded reduced
    (JPEG: DCT scaling; other formats: a whole-factor box reduction straight after decoding)."""
    return load_display_image(path, orientation, fit=target)


_LANCZOS_MAX_PIXELS = 8_000_000  # above this, the last (< 2×) downscale step is an area average


def _shrink(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Downscale a decoded image to ``size`` with the cheapest filter that keeps it sharp.

    A size that is the image divided by a whole factor (rounded up) is a box reduction
    (``Image.reduce``: one pass, the fastest there is). Otherwise, after the decoder's whole-factor
    reduction the remaining step is under 2×; for a big image an area average (``BOX``) does it in
    half the time of ``LANCZOS`` (measured on 6000² → 4096²: 2.0 s vs 4.4 s with the reduction) and
    looks the same at display size. Small images keep ``LANCZOS``; an image the decoder could not
    reduce (palette modes) goes through ``BILINEAR`` with a reducing gap.
    """
    if im.size == size:
        return im
    f = whole_factor(im.size, size)
    if f >= 2 and im.mode in REDUCIBLE_MODES and reduced_size(im.size, f) == tuple(size):
        return im.reduce(f)
    ratio = max(im.size[0] / max(size[0], 1), im.size[1] / max(size[1], 1))
    if ratio > 4:
        return im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    if ratio <= 2 and im.size[0] * im.size[1] > _LANCZOS_MAX_PIXELS:
        return im.resize(size, Image.Resampling.BOX)
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def encode_display(path: str | Path, *, width: int, height: int, orientation: int = 1, fmt: str | None = None,
                   max_side: int = 4096, quality: int = 90,
                   on_decoded: Callable[[Image.Image], None] | None = None) -> DisplayImage:
    """Bytes of an image as the annotator shows it, with its display size and scale.

    Args:
        path: the image file.
        width, height: the original upright size (as the store has it).
        orientation: the EXIF orientation stored for the file (1 = upright).
        fmt: the file's format as the store has it (``"JPEG"``, ``"PNG"``...).
        max_side: the longest displayed side, in pixels.
        quality: JPEG quality of re-encoded images.
        on_decoded: called with the decoded image (upright, whole-factor reduced, not yet resized)
            before it is resized and encoded: a preview can be cut from it without a second decode.

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
    if on_decoded is not None:
        on_decoded(im)
    im = _shrink(im, (dw, dh))
    buf = io.BytesIO()
    lossless = fmt not in ("JPEG", None) and scale == 1.0
    if im.mode == "RGBA" or lossless:
        im.save(buf, format="PNG", compress_level=1)
        mime = "image/png"
    else:
        (im if im.mode == "RGB" else im.convert("RGB")).save(buf, format="JPEG", quality=quality)
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
        ('image/jpeg', 1000, 750, 0.25)
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
    (im if im.mode == "RGB" else im.convert("RGB")).save(buf, format="JPEG", quality=quality)
    return DisplayImage(buf.getvalue(), "image/jpeg", int(width), int(height), dw, dh, scale)


def preview_from_display(img: DisplayImage, max_side: int = PREVIEW_SIDE, quality: int = 80) -> DisplayImage | None:
    """The preview of an image made from its display image (for sources with no reduced decode).

    A PNG or TIFF has no cheaper decode than the full one, so its preview is cut from the display
    image (a 4096² JPEG decodes at 1/4 size by DCT scaling: tens of milliseconds) instead of being
    decoded a second time. None when the image is small already.

    Example:
        >>> import tempfile, os; from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "a.png"); Image.new("RGB", (4000, 3000)).save(p)
        >>> d = preview_from_display(encode_display(p, width=4000, height=3000, fmt="PNG", max_side=2000))
        >>> d.mime, d.display_width, d.display_height, d.display_scale
        ('image/jpeg', 1000, 750, 0.25)
    """
    if max(img.width, img.height) <= max_side * 1.25:
        return None
    dw, dh, _scale = display_size(img.width, img.height, max_side)
    try:
        with Image.open(io.BytesIO(img.data)) as src:
            if src.format == "JPEG":
                src.draft("RGB", draft_request(src.size, (dw, dh)))
            src.load()
            return preview_from_image(src, img.width, img.height, max_side, quality)
    except (OSError, ValueError) as e:
        raise MediaError(f"cannot make a preview from a display image: {e}") from None


def preview_from_image(im: Image.Image, width: int, height: int, max_side: int = PREVIEW_SIDE,
                       quality: int = 80) -> DisplayImage | None:
    """The preview of a ``width × height`` image from a decoded copy of it at any size (upright).

    Example:
        >>> from PIL import Image
        >>> d = preview_from_image(Image.new("RGB", (3000, 2000)), 6000, 4000)
        >>> d.display_width, d.display_height, d.display_scale
        (1000, 667, 0.16666666666666666)
    """
    if max(int(width), int(height)) <= max_side * 1.25:
        return None
    dw, dh, scale = display_size(width, height, max_side)
    im = _shrink(im, (dw, dh))
    if im.mode == "RGBA":  # a preview has no transparency: composite on grey
        bg = Image.new("RGB", im.size, (128, 128, 128))
        bg.paste(im, mask=im.getchannel("A"))
        im = bg
    buf = io.BytesIO()
    (im if im.mode == "RGB" else im.convert("RGB")).save(buf, format="JPEG", quality=quality)
    return DisplayImage(buf.getvalue(), "image/jpeg", int(width), int(height), dw, dh, scale)
