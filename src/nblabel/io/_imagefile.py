"""What an image file's bytes say without a full decode: a JPEG's size, PNG orientation, a bomb's size, a JPEG's end.

Four checks the probe and the display need and PIL does not give cheaply:

- :func:`jpeg_header` reads a JPEG's size and EXIF orientation by walking its markers up to the
  image data (PIL's open + ``getexif()`` cost ~90 µs of a ~120 µs probe of a small JPEG; this
  ~5 µs); anything it does not know for sure is left to PIL.

- :func:`png_orientation` finds the EXIF orientation of a PNG by walking its chunks (PIL's
  ``getexif()`` on a PNG decodes every pixel to find an ``eXIf`` chunk written after the image data).
- :func:`declared_size` reads the width and height a file declares when PIL refused to open it as a
  decompression bomb, so the report can name the size.
- :func:`jpeg_ends_early` finds a truncated JPEG that has an end marker appended: libjpeg decodes the
  missing part as flat grey (all DCT coefficients zero = 128) without an error. It decodes (at 1/8
  size), so the display runs it, not the probe (see :mod:`nblabel.io._images`).
"""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
from PIL import Image

_EXIF_ORIENTATION = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# start-of-frame markers (not DHT C4, JPG C8, DAC CC), as PIL's JpegImagePlugin reads them
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_header(data: bytes) -> tuple[int, int, int] | None:
    """Width, height (as stored) and EXIF orientation of a baseline/progressive JPEG, from its markers.

    None when the file is not one PIL would read plainly as format "JPEG" (no SOI, an unknown
    or cut-off segment, no frame header, a multi-picture MPO, a zero size, a size over
    ``PIL.Image.MAX_IMAGE_PIXELS``): the caller then asks PIL, which words the problem.

    Example:
        >>> import io; from PIL import Image
        >>> e = Image.Exif(); e[0x0112] = 6; b = io.BytesIO()
        >>> Image.new("RGB", (4, 3)).save(b, format="JPEG", exif=e.tobytes())
        >>> jpeg_header(b.getvalue()), jpeg_header(b"GIF89a")
        ((4, 3, 6), None)
    """
    if data[:2] != b"\xff\xd8":
        return None
    n, pos = len(data), 2
    size: tuple[int, int] | None = None
    exif: bytes | None = None
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the header is over
            break
        if marker < 0xC0:
            return None
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:  # standalone markers carry no length
            return None
        length = (data[pos + 2] << 8) | data[pos + 3]
        end = pos + 2 + length
        if length < 2 or end > n:
            return None
        seg = data[pos + 4:end]
        if marker in _SOF:
            if size is not None or len(seg) < 6:
                return None
            size = ((seg[3] << 8) | seg[4], (seg[1] << 8) | seg[2])
        elif marker == 0xE1 and exif is None and seg[:6] == b"Exif\x00\x00":
            exif = seg
        elif marker == 0xE2 and seg[:4] == b"MPF\x00":
            return None  # PIL opens it as "MPO"
        pos = end
    else:
        return None  # no start of scan: a cut-off header
    if size is None or not size[0] or not size[1] or size[0] * size[1] > (Image.MAX_IMAGE_PIXELS or 0) > 0:
        return None
    orientation = 1
    if exif is not None:
        e = Image.Exif()
        try:
            e.load(exif)
            orientation = int(e.get(_EXIF_ORIENTATION, 1) or 1)
        except (OSError, SyntaxError, ValueError, struct.error, TypeError):
            return None  # let PIL decide what an unreadable EXIF block means
    return size[0], size[1], orientation


def png_orientation(data: bytes) -> int:
    """The EXIF orientation of a PNG from its ``eXIf`` chunk (1 when there is none), reading no pixels.

    Example:
        >>> import io; from PIL import Image
        >>> e = Image.Exif(); e[0x0112] = 6; b = io.BytesIO()
        >>> Image.new("RGB", (4, 3)).save(b, format="PNG", exif=e.tobytes())
        >>> png_orientation(b.getvalue()), png_orientation(b"\\x89PNG\\r\\n\\x1a\\n")
        (6, 1)
    """
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"eXIf":
            exif = Image.Exif()
            try:
                exif.load(data[pos + 8:pos + 8 + length])
                return int(exif.get(_EXIF_ORIENTATION, 1) or 1)
            except (OSError, SyntaxError, ValueError, struct.error):
                return 1  # unreadable EXIF: show the image as stored
        if kind == b"IEND":
            break
        pos += 12 + length  # length, type, data, crc
    return 1


def declared_size(data: bytes) -> tuple[int, int] | None:
    """Width and height a file declares in its header, without PIL's decompression-bomb check.

    Only for reporting a file :func:`PIL.Image.open` refused; None when no format reads the header.

    Example:
        >>> import io; from PIL import Image
        >>> b = io.BytesIO(); Image.new("L", (7, 5)).save(b, format="PNG"); declared_size(b.getvalue())
        (7, 5)
    """
    Image.init()
    for fid in Image.ID:
        factory, accept = Image.OPEN[fid]
        try:
            if accept is not None and not accept(data[:16]):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                im = factory(io.BytesIO(data), "")
            return int(im.size[0]), int(im.size[1])
        except Exception:  # any plugin failing to read the header just means "not this one"
            continue
    return None


def jpeg_ends_early(data: bytes, im: Image.Image | None = None) -> bool:
    """Whether a JPEG's image data stops before its last block (libjpeg then decodes the rest as flat grey).

    A reduced decode (1/8 size, luma only: one pixel per 8×8 block, a few ms even for large files)
    shows a missing tail as exactly 128. Only when the last two blocks of the bottom row are 128, a
    second reduced decode with random bytes put before the final end marker tells the cases apart: a
    complete file ignores bytes after its image data and decodes the same, while a file that ends
    early decodes them as its missing blocks and changes. Not found: a file missing only its very
    last block, a progressive JPEG (a cut one shows a blurred, not a grey, part), and one whose last
    block before the cut is itself mid-grey (it shows grey where grey was). ``im`` is ``data`` opened
    and not yet loaded (saves opening it again); it is loaded at reduced size.

    Example:
        >>> import io, numpy as np; from PIL import Image
        >>> a = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
        >>> b = io.BytesIO(); Image.fromarray(a).save(b, format="JPEG"); d = b.getvalue()
        >>> jpeg_ends_early(d), jpeg_ends_early(d[: len(d) // 2] + b"\\xff\\xd9")
        (False, True)
    """
    try:
        small = _luma_blocks(data, im)
        if small.size == 0 or not np.all(small[-1, -2:] == 128):
            return False
        end = data.rindex(b"\xff\xd9")
        padded = _luma_blocks(data[:end] + _PAD + data[end:])
    except (OSError, ValueError, SyntaxError):
        return False  # a decode error is the caller's to report with its own message
    return padded.shape != small.shape or not np.array_equal(padded, small)


# Random bytes (never 0xFF, which starts a marker): Huffman data for a few hundred blocks whose DC
# values come out random, so blocks that were missing decode differently (zeros would not: with the
# standard tables they mean "DC unchanged").
_PAD = np.random.default_rng(8).integers(0, 255, 4096, dtype=np.uint8).tobytes()


def _luma_blocks(data: bytes, im: Image.Image | None = None) -> np.ndarray:
    if im is None:
        with Image.open(io.BytesIO(data)) as opened:
            return _luma_blocks(data, opened)
    im.draft("L", (max(1, im.size[0] // 8), max(1, im.size[1] // 8)))
    im.load()
    return np.asarray(im if im.mode == "L" else im.convert("L"))
