"""Bringing images into a project: sizes from headers, EXIF orientation, sha256.

The sha256 identifies the bytes, not the media item: the store keeps one media item per file name
(:func:`nblabel.store._media.insert_media`), so two names with identical bytes are two items.

Sizes come from the image header (PIL opens lazily and does not decode pixels). EXIF orientations
5–8 swap width and height: every size and coordinate nblabel stores is in the displayed (upright)
orientation. Unreadable files are reported, never fatal to the batch.

Probing never decodes pixels. A JPEG cut short with an end marker appended passes the probe and
is refused when displayed (:func:`nblabel.widgets._display.encode_display`): finding it needs a
decode, 0.2 ms for a 64×48 JPEG (2.5× its whole probe) and ~2 ms at 640×480, too much for ingesting
100k images. An image declaring more than twice ``PIL.Image.MAX_IMAGE_PIXELS``
(Pillow's decompression-bomb limit, 178,956,970 pixels by default) is reported with its size; set
``PIL.Image.MAX_IMAGE_PIXELS = None`` (or a larger number) before adding it to allow it.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob as _glob
import hashlib
import io
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from ..errors import MediaError, ValidationError
from ._imagefile import declared_size, jpeg_header, png_orientation
from ._paths import resolved

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
_EXIF_ORIENTATION = 0x0112
REDUCIBLE_MODES = frozenset({"L", "LA", "RGB", "RGBA", "CMYK", "I", "F", "I;16"})  # box reduction is right for these (not "P", "1")


@dataclass(slots=True)  # 100k of them are held through an import: no __dict__ each
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
        MediaError: the file is missing, empty, truncated, not an image, or over Pillow's
            decompression-bomb limit (allow it with ``PIL.Image.MAX_IMAGE_PIXELS = None``).

    Example:
        >>> import tempfile, os; from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "a.png"); Image.new("RGB", (4, 3)).save(p)
        >>> probe(p).width, probe(p).height
        (4, 3)
    """
    return _probe(Path(path), file_name, None)


def _probe(p: str | Path, file_name: str | None, uri: str | None) -> ImageInfo:
    """:func:`probe` with the file's resolved path when the caller has it (``uri``); ``p`` as a
    string saves a ``Path`` per file of a batch."""
    try:
        with open(p, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise MediaError(f"{str(p)!r} does not exist; check the path or the image root") from None
    except OSError as e:
        raise MediaError(f"{str(p)!r} cannot be read: {e}") from None
    if not data:
        raise MediaError(f"{str(p)!r} is empty (0 bytes); re-copy the file")
    head = jpeg_header(data)  # most images: size and orientation from the markers, no PIL
    try:
        if head is not None:
            fmt, (w, h, orientation) = "JPEG", head
        else:
            fmt, w, h, orientation = _pil_header(data)
    except Image.DecompressionBombError:
        raise MediaError(_too_large(p, data)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise MediaError(f"{str(p)!r} is not a readable image ({e}); remove or replace the file") from None
    if fmt == "JPEG" and b"\xff\xd9" not in data[-64:]:
        raise MediaError(f"{str(p)!r} is a truncated JPEG (no end-of-image marker); re-copy or re-encode it")
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    return ImageInfo(uri or str(Path(p).resolve()), file_name or Path(p).name, hashlib.sha256(data).hexdigest(),
                     int(w), int(h), fmt, orientation, len(data))


def _pil_header(data: bytes) -> tuple[str, int, int, int]:
    """Format, stored size and orientation as PIL reads them (every format; structure verified but JPEG's)."""
    with Image.open(io.BytesIO(data)) as im:
        fmt = im.format or ""
        w, h = im.size
        # header only: PIL's getexif() on a PNG decodes every pixel looking for a late eXIf chunk
        orientation = png_orientation(data) if fmt == "PNG" else int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    if fmt != "JPEG":  # PIL's JPEG verify checks nothing more; the end-of-image check in _probe does
        with Image.open(io.BytesIO(data)) as im:
            im.verify()  # must come straight after open; checks structure (PNG CRCs...) without decoding
    return fmt, int(w), int(h), orientation


def _too_large(p: str | Path, data: bytes) -> str:
    size = declared_size(data)
    what = f"declares {size[0]}×{size[1]} = {size[0] * size[1]:,} pixels" if size else "declares too many pixels"
    limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
    return (f"{str(p)!r} {what}, over Pillow's decompression-bomb limit of {limit:,} "
            f"(2 × PIL.Image.MAX_IMAGE_PIXELS); if you trust the file, raise the limit before adding it: "
            "`PIL.Image.MAX_IMAGE_PIXELS = None` (no limit) or a larger number")


def reduced_size(size: tuple[int, int], factor: int) -> tuple[int, int]:
    """``size`` divided by a whole ``factor``, each side rounded up: what ``Image.reduce(factor)`` and a
    JPEG decoded at 1/``factor`` (DCT scaling) give.

    Example:
        >>> reduced_size((12001, 9000), 3)
        (4001, 3000)
    """
    return max(1, -(-int(size[0]) // factor)), max(1, -(-int(size[1]) // factor))


def whole_factor(size: tuple[int, int], fit: tuple[int, int]) -> int:
    """The largest whole factor ``f`` for which ``size`` divided by ``f`` (rounded up, as
    ``Image.reduce`` and JPEG DCT scaling round) is still at least ``fit`` on both sides; 1 if none.

    Example:
        >>> whole_factor((12000, 9000), (4000, 3000)), whole_factor((12001, 9001), (4001, 3001))
        (3, 3)
        >>> whole_factor((6000, 4000), (4096, 2731)), whole_factor((100, 100), (200, 200))
        (1, 1)
    """
    def most(n: int, t: int) -> int:  # ceil(n / f) >= t  <=>  (t - 1) * f < n
        return max(int(n), 1) if t <= 1 else max(1, (int(n) - 1) // (int(t) - 1))

    return max(1, min(most(size[0], fit[0]), most(size[1], fit[1])))


def draft_request(size: tuple[int, int], fit: tuple[int, int]) -> tuple[int, int]:
    """The size to ask ``JpegImageFile.draft`` for so it decodes at the largest DCT scale (1/2, 1/4,
    1/8) whose result is still at least ``fit``: Pillow picks its scale by floor division, so asking
    for ``fit`` itself decodes an odd-sized image at twice the size needed (8001 px for 4001).

    Example:
        >>> draft_request((8001, 6001), (4001, 3001)), draft_request((800, 600), (700, 500))
        ((4000, 3000), (700, 500))
    """
    f = whole_factor(size, fit)
    s = 8 if f >= 8 else 4 if f >= 4 else 2 if f >= 2 else 1
    if s == 1:
        return max(int(fit[0]), 1), max(int(fit[1]), 1)
    return max(1, size[0] // s), max(1, size[1] // s)  # floor(n / floor(n / s)) >= s, and < 2s here


def load_display_image(path: str | os.PathLike[str], orientation: int = 1,
                       fit: tuple[int, int] | None = None) -> Image.Image:
    """Decode an image upright and as 8-bit RGB(A) for display (16-bit, CMYK, palette, grayscale...).

    ``fit`` is the upright size the caller will shrink the result to: a JPEG is then decoded at
    1/2, 1/4 or 1/8 size (DCT scaling) and other formats are box-reduced by a whole factor right
    after decoding, so a huge image never goes through mode conversion, rotation and resampling at
    full size. The result is never smaller than ``fit``.

    Example:
        >>> import tempfile, os; from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "g.png"); Image.new("I;16", (4, 3)).save(p)
        >>> load_display_image(p).mode
        'RGB'
        >>> p = os.path.join(tempfile.mkdtemp(), "big.png"); Image.new("RGB", (1000, 600)).save(p)
        >>> load_display_image(p, fit=(250, 150)).size
        (250, 150)
    """
    from PIL import ImageOps

    try:
        im: Image.Image = Image.open(path)
        if fit is not None:
            tw, th = (fit[1], fit[0]) if orientation in (5, 6, 7, 8) else fit  # the file is stored sideways
            if im.format == "JPEG":
                im.draft(im.mode if im.mode in ("L", "RGB", "CMYK") else "RGB", draft_request(im.size, (tw, th)))
            im.load()
            factor = whole_factor(im.size, (tw, th))
            if factor >= 2 and im.mode in REDUCIBLE_MODES:
                im = im.reduce(factor)
        else:
            im.load()
    except (FileNotFoundError, UnidentifiedImageError, OSError) as e:
        raise MediaError(f"cannot display {str(path)!r}: {e}; check the file still exists and is an image") from None
    except Image.DecompressionBombError as e:
        raise MediaError(f"cannot display {str(path)!r}: {e}; if you trust the file, set "
                         "`PIL.Image.MAX_IMAGE_PIXELS = None` (or a larger number)") from None
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
    if im.mode in ("RGB", "RGBA"):  # already displayable: no copy (a full copy is 0.35 s at 4096²)
        return im
    if im.mode == "LA":
        return im.convert("RGBA")
    return im.convert("RGB")


def expand_source(source: Any) -> tuple[list[tuple[str, str]], pd.DataFrame | None, list[Any], list[str]]:
    """Turn a source into (path, file_name) pairs, optional metadata rows, in-memory images, and notes.

    Folders are searched recursively for image files (file_name relative to the folder; directory
    links are not followed); a string with ``*``/``?``/``[`` is a glob (``**`` spans folders; directory
    links are followed, each directory once, so a link loop ends); a DataFrame needs a ``path`` (or
    ``file_name``/``uri``) column. The notes say what was seen when a folder holds files of other
    formats or a source gives no image at all.
    """
    if isinstance(source, pd.DataFrame):
        col = next((c for c in ("path", "uri", "file_name", "filepath", "file") if c in source.columns), None)
        if col is None:
            raise ValidationError(
                f"the DataFrame needs a 'path' column with image paths; it has {list(source.columns)}")
        names = (source["file_name"].astype(str).tolist() if col != "file_name" and "file_name" in source.columns
                 else [Path(str(p)).name for p in source[col]])
        meta = source.drop(columns=[c for c in (col, "file_name") if c in source.columns]).reset_index(drop=True)
        pairs = [(str(p), n) for p, n in zip(source[col], names, strict=True)]
        return pairs, meta, [], [] if pairs else ["the DataFrame has no rows: no images to add"]
    if isinstance(source, (Image.Image, np.ndarray)):
        return [], None, [source], []
    if isinstance(source, (str, os.PathLike)):
        s = str(source)
        if any(ch in s for ch in "*?["):
            paths = glob_files(s)
            root = Path(s.split("*")[0].split("?")[0].split("[")[0])
            root = root if root.is_dir() else root.parent
            note = [] if paths else [f"the pattern {s!r} matched no files; {_SUPPORTED}"]
            return [(p, _rel(p, root)) for p in paths], None, [], note
        p = Path(s)
        if p.is_dir():
            every = sorted(f for f in p.rglob("*") if f.is_file())
            files = [f for f in every if f.suffix.lower() in IMAGE_SUFFIXES]
            return ([(str(f), f.relative_to(p).as_posix()) for f in files], None, [],
                    _folder_notes(s, len(every), [f for f in every if f.suffix.lower() not in IMAGE_SUFFIXES]))
        return [(s, p.name)], None, [], []
    if isinstance(source, Iterable):
        pairs = []
        arrays: list[Any] = []
        for item in source:
            if isinstance(item, (Image.Image, np.ndarray)):
                arrays.append(item)
            else:
                pairs.append((str(item), Path(str(item)).name))
        return pairs, None, arrays, [] if pairs or arrays else ["the list is empty: no images to add"]
    raise ValidationError(
        f"cannot read images from a {type(source).__name__}; pass a folder, a glob, a list of paths, "
        "a DataFrame with a 'path' column, or numpy arrays / PIL images")


_SUPPORTED = "supported image files end in " + ", ".join(sorted(IMAGE_SUFFIXES))


def _folder_notes(folder: str, n_files: int, others: list[Path]) -> list[str]:
    if n_files == 0:
        return [f"the folder {folder!r} has no files; {_SUPPORTED}"]
    if not others:
        return []
    kinds = Counter(f.suffix.lower() or "(no suffix)" for f in others)
    seen = ", ".join(f"{k} ×{n}" for k, n in kinds.most_common(6))
    if len(others) == n_files:
        return [f"the folder {folder!r} has {n_files} file(s) but no image nblabel reads (seen: {seen}); "
                f"{_SUPPORTED}; convert the files (e.g. to PNG) first"]
    return [f"{len(others)} file(s) in {folder!r} are not images nblabel reads and were not looked at "
            f"(seen: {seen}); {_SUPPORTED}"]


def glob_files(pattern: str) -> list[str]:
    """Files matching a glob (``**`` = any number of folders), sorted, like ``glob.glob(recursive=True)``.

    Unlike :func:`glob.glob`, a directory reached twice (a link loop, or a link to a folder already
    walked) is walked once, so a tree with ``a/up -> ..`` ends. Hidden names match only a pattern part
    starting with ``.``, as in :mod:`glob`.

    Example:
        >>> import tempfile, os; d = tempfile.mkdtemp(); os.makedirs(f"{d}/a"); open(f"{d}/a/x.jpg", "w").close()
        >>> os.symlink("..", f"{d}/a/up"); [os.path.relpath(p, d) for p in glob_files(f"{d}/**/*.jpg")]
        ['a/x.jpg']
    """
    parts = Path(pattern).parts
    i = next((k for k, part in enumerate(parts) if _glob.has_magic(part)), len(parts))
    if i == len(parts):
        return [pattern] if os.path.isfile(pattern) else []
    top = str(Path(*parts[:i])) if i else os.curdir
    rest = parts[i:]
    max_depth = None if "**" in rest else len(rest) - 1
    seen: set[tuple[int, int]] = set()
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:  # reached again through a link: walked already
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        rel = Path(os.path.relpath(dirpath, top)).parts if dirpath != top else ()
        if max_depth is not None and len(rel) >= max_depth:
            dirnames[:] = []
        dirnames.sort()
        for name in filenames:
            if _match(rest, (*rel, name)):
                out.append(os.path.join(dirpath, name) if i else os.path.join(*rel, name))
    return sorted(p for p in out if os.path.isfile(p))


def _match(pat: tuple[str, ...], names: tuple[str, ...]) -> bool:
    if not pat:
        return not names
    if pat[0] == "**":
        return _match(pat[1:], names) or (bool(names) and not names[0].startswith(".") and _match(pat, names[1:]))
    return (bool(names) and not (names[0].startswith(".") and not pat[0].startswith("."))
            and fnmatch.fnmatch(names[0], pat[0]) and _match(pat[1:], names[1:]))


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


def probe_many(pairs: Sequence[tuple[str, str]], progress: bool | None = None, *,
               resolved_paths: bool = False) -> list[ImageInfo | MediaError]:
    """Probe many files on a few threads (hashing releases the GIL); errors are returned, not raised.

    ``resolved_paths``: the paths are already resolved (no link, absolute), as an importer that
    checked them against its image root has them: they are stored as given.
    """

    real_dirs: dict[str, str] = {}

    def one(pair: tuple[str, str]) -> ImageInfo | MediaError:
        try:
            return _probe(pair[0], pair[1], pair[0] if resolved_paths else resolved(pair[0], real_dirs))
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
