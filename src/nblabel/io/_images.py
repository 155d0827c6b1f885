"""Bringing images into a project: sizes from headers, EXIF orientation, sha256, exact duplicates.

Sizes come from the image header (PIL opens lazily and does not decode pixels). EXIF orientations
5–8 swap width and height: every size and coordinate nblabel stores is in the displayed (upright)
orientation. Unreadable files are reported, never fatal to the batch.
"""

from __future__ import annotations

import contextlib
import glob as _glob
import hashlib
import io
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from ..errors import MediaError, ValidationError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
_EXIF_ORIENTATION = 0x0112


@dataclass
class ImageInfo:
    """What the store keeps about one image file."""

    uri: str
    file_name: str
    sha256: str
    width: int
    height: int
    format: str
    orientation: int
    nbytes: int


def probe(path: str | os.PathLike[str], file_name: str | None = None) -> ImageInfo:
    """Read size, format, orientation and sha256 of an image without decoding its pixels.

    Raises:
        MediaError: the file is missing, empty, truncated or not an image.

    Example:
        >>> import tempfile, os; from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "a.png"); Image.new("RGB", (4, 3)).save(p)
        >>> probe(p).width, probe(p).height
        (4, 3)
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise MediaError(f"{str(p)!r} does not exist; check the path or the image root") from None
    except OSError as e:
        raise MediaError(f"{str(p)!r} cannot be read: {e}") from None
    if not data:
        raise MediaError(f"{str(p)!r} is empty (0 bytes); re-copy the file")
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format or ""
            w, h = im.size
            orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
        if fmt != "JPEG":  # PIL's JPEG verify checks nothing more; the end-of-image check below does
            with Image.open(io.BytesIO(data)) as im:
                im.verify()  # must come straight after open; checks structure (PNG CRCs...) without decoding
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise MediaError(f"{str(p)!r} is not a readable image ({e}); remove or replace the file") from None
    if fmt == "JPEG" and b"\xff\xd9" not in data[-64:]:
        raise MediaError(f"{str(p)!r} is a truncated JPEG (no end-of-image marker); re-copy or re-encode it")
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    return ImageInfo(str(p.resolve()), file_name or p.name, hashlib.sha256(data).hexdigest(), int(w), int(h),
                     fmt, orientation, len(data))


def load_display_image(path: str | os.PathLike[str], orientation: int = 1) -> Image.Image:
    """Decode an image upright and as 8-bit RGB(A) for display (16-bit, CMYK, palette, grayscale...).

    Example:
        >>> import tempfile, os; from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "g.png"); Image.new("I;16", (4, 3)).save(p)
        >>> load_display_image(p).mode
        'RGB'
    """
    from PIL import ImageOps

    try:
        im: Image.Image = Image.open(path)
        im.load()
    except (FileNotFoundError, UnidentifiedImageError, OSError) as e:
        raise MediaError(f"cannot display {str(path)!r}: {e}; check the file still exists and is an image") from None
    if orientation != 1:
        im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        lo, hi = np.percentile(a, [0.5, 99.5]) if a.size else (0, 1)
        a = np.clip((a - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
        return Image.fromarray(a).convert("RGB")
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float64)
        a = np.nan_to_num(a)
        lo, hi = float(a.min()), float(a.max())
        return Image.fromarray(((a - lo) / max(hi - lo, 1e-9) * 255).astype(np.uint8)).convert("RGB")
    if im.mode == "P":
        return im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
    if im.mode in ("RGBA", "LA"):
        return im.convert("RGBA")
    return im.convert("RGB")


def expand_source(source: Any) -> tuple[list[tuple[str, str]], pd.DataFrame | None, list[Any]]:
    """Turn a source into (path, file_name) pairs, optional metadata rows, and in-memory images.

    Folders are searched recursively for image files (file_name relative to the folder); a string
    with ``*``/``?``/``[`` is a glob; a DataFrame needs a ``path`` (or ``file_name``/``uri``) column.
    """
    if isinstance(source, pd.DataFrame):
        col = next((c for c in ("path", "uri", "file_name", "filepath", "file") if c in source.columns), None)
        if col is None:
            raise ValidationError(
                f"the DataFrame needs a 'path' column with image paths; it has {list(source.columns)}")
        names = (source["file_name"].astype(str).tolist() if col != "file_name" and "file_name" in source.columns
                 else [Path(str(p)).name for p in source[col]])
        meta = source.drop(columns=[c for c in (col, "file_name") if c in source.columns]).reset_index(drop=True)
        return [(str(p), n) for p, n in zip(source[col], names, strict=True)], meta, []
    if isinstance(source, (Image.Image, np.ndarray)):
        return [], None, [source]
    if isinstance(source, (str, os.PathLike)):
        s = str(source)
        if any(ch in s for ch in "*?["):
            paths = sorted(_glob.glob(s, recursive=True))
            root = Path(s.split("*")[0].split("?")[0].split("[")[0])
            root = root if root.is_dir() else root.parent
            return [(p, _rel(p, root)) for p in paths if Path(p).is_file()], None, []
        p = Path(s)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            return [(str(f), f.relative_to(p).as_posix()) for f in files], None, []
        return [(s, p.name)], None, []
    if isinstance(source, Iterable):
        pairs: list[tuple[str, str]] = []
        arrays: list[Any] = []
        for item in source:
            if isinstance(item, (Image.Image, np.ndarray)):
                arrays.append(item)
            else:
                pairs.append((str(item), Path(str(item)).name))
        return pairs, None, arrays
    raise ValidationError(
        f"cannot read images from a {type(source).__name__}; pass a folder, a glob, a list of paths, "
        "a DataFrame with a 'path' column, or numpy arrays / PIL images")


def _rel(p: str, root: Path) -> str:
    try:
        return Path(p).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(p).name


def write_arrays(arrays: Sequence[Any], folder: Path) -> list[tuple[str, str]]:
    """Save in-memory images as PNG files (named by content hash) under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for a in arrays:
        im = a if isinstance(a, Image.Image) else Image.fromarray(np.asarray(a))
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        data = buf.getvalue()
        name = hashlib.sha256(data).hexdigest()[:16] + ".png"
        target = folder / name
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        out.append((str(target), name))
    return out


def probe_many(pairs: Sequence[tuple[str, str]], progress: bool | None = None) -> list[ImageInfo | MediaError]:
    """Probe many files on a few threads (hashing releases the GIL); errors are returned, not raised."""

    def one(pair: tuple[str, str]) -> ImageInfo | MediaError:
        try:
            return probe(pair[0], pair[1])
        except MediaError as e:
            return e

    show = progress if progress is not None else len(pairs) >= 500
    # Threads pay off when hashing/reading big files (both release the GIL); for small files the
    # header parsing is pure Python and threads only add contention (measured: 83 vs 173 us per
    # 5 KB JPEG), so small files are probed serially.
    sizes: list[int] = []
    for path, _ in pairs[:16]:
        with contextlib.suppress(OSError):
            sizes.append(os.stat(path).st_size)
    threaded = len(pairs) > 8 and bool(sizes) and sum(sizes) / len(sizes) >= 256 * 1024
    it: Iterable[ImageInfo | MediaError]
    if threaded:
        ex = ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2))
        it = ex.map(one, pairs, chunksize=16)
    else:
        ex = None
        it = map(one, pairs)
    try:
        if show:
            from tqdm.auto import tqdm

            it = tqdm(it, total=len(pairs), desc="images", unit="img")
        return list(it)
    finally:
        if ex is not None:
            ex.shutdown()
