"""Thumbnails for the gallery: made once with PIL from the upright display image, cached in the store.

A thumbnail is a JPEG (quality ~80) whose longest side is ``size`` pixels, made from
:func:`nblabel.io._images.load_display_image` (so EXIF orientation, 16-bit and palette images look as
they do in the annotator). Thumbnails are cached in the ``thumbnails`` table, keyed by
``(media_id, size)``; a batch of new ones is written in one transaction, so opening the same gallery
again reads them back without decoding a single image.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from PIL import Image

from ..errors import MediaError, ValidationError
from ..io import _images
from ..store._caches import cached_thumbnails, put_thumbnails

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["make_thumbnail", "thumbnails"]

_QUALITY = 80


def make_thumbnail(path: str | os.PathLike[str], size: int, orientation: int = 1,
                   quality: int = _QUALITY) -> bytes:
    """JPEG bytes of an image shrunk so its longest side is at most ``size`` pixels (never enlarged).

    Example:
        >>> import tempfile, os; from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "a.png"); Image.new("RGB", (400, 200)).save(p)
        >>> Image.open(io.BytesIO(make_thumbnail(p, 100))).size
        (100, 50)
    """
    if size < 8:
        raise ValidationError(f"thumbnail size must be at least 8 pixels, got {size}")
    im = _images.load_display_image(path, orientation)
    im.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    if im.mode != "RGB":  # JPEG has no alpha: flatten onto white
        bg = Image.new("RGB", im.size, (255, 255, 255))
        bg.paste(im, mask=im.getchannel("A") if "A" in im.getbands() else None)
        im = bg
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def _make_or_empty(args: tuple[str, int, int]) -> bytes:
    path, size, orientation = args
    try:
        return make_thumbnail(path, size, orientation)
    except (MediaError, Image.DecompressionBombError, OSError, ValueError):
        # a missing, corrupt or absurdly large file shows as an empty cell (and is retried next time);
        # it must not fail the other thumbnails of the batch
        return b""


def thumbnails(store: Store, media_ids: Sequence[int], size: int, *, workers: int = 4) -> list[bytes]:
    """Thumbnails of ``media_ids`` (in that order), from the cache or made and cached in one transaction.

    An id that is not in the project, or whose file cannot be read, gives ``b""`` (not cached).

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> [len(b) > 0 for b in thumbnails(p.store, [1, 99], 32)]
        [True, False]
    """
    ids = [int(i) for i in media_ids]
    if not ids:
        return []
    size = int(size)
    with store.read() as con:
        cached = cached_thumbnails(con, size, ids)
        missing = [i for i in dict.fromkeys(ids) if i not in cached]
        rows = con.execute(
            "SELECT media_id, uri, coalesce(orientation, 1) FROM media WHERE media_id IN (SELECT unnest(?))",
            [missing]).fetchall() if missing else []
    if rows:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(rows)))) as ex:  # PIL decodes without the GIL
            made = list(ex.map(_make_or_empty, [(uri, size, int(o)) for _, uri, o in rows]))
        new = {int(r[0]): b for r, b in zip(rows, made, strict=True) if b}
        if new:
            with store.transaction() as con:
                # another gallery (or process) may have cached some meanwhile: replace, never duplicate
                put_thumbnails(con, size, new)
            cached.update(new)
    return [bytes(cached.get(i, b"")) for i in ids]
