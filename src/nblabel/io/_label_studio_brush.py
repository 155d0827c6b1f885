"""Label Studio brush masks: its ``rle`` byte lists to and from boolean masks.

Label Studio stores a ``brushlabels`` region as the RGBA pixels of the image (``height × width × 4``
values, row by row) packed with the run-length scheme of thi.ng's ``rle-pack``: a header of the
value count (32 bits), the word size minus one (5 bits) and four run-length field widths minus
one (4 bits each), then chunks of ``flag`` (1 bit: 1 = one value repeated, 0 = literal values),
the field index (2 bits) and the run length minus one (that field's width), followed by one value
(repeat) or that many values (literal), each of the word size; the bit string is padded with zeros
to whole bytes. A pixel belongs to the mask when its alpha value is 128 or more.

Writing uses repeat chunks only (word size 8, fields 3/4/8/16 bits: as Label Studio's own encoder),
built vectorised over the runs; reading accepts every chunk kind.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FormatError

__all__ = ["decode_brush", "encode_brush"]

_FIELDS = np.array([3, 4, 8, 16])


def encode_brush(mask: np.ndarray) -> list[int]:
    """The Label Studio ``rle`` of a ``height × width`` boolean mask (255 in all four channels inside).

    Example:
        >>> m = np.zeros((2, 3), bool); m[1, 1:] = True
        >>> rle = encode_brush(m)
        >>> bool((decode_brush(rle, 2, 3) == m).all()), len(rle)
        (True, 11)
    """
    flat = np.repeat(np.asarray(mask, bool).ravel(), 4)
    n = len(flat)
    if n == 0:
        raise FormatError("cannot write an empty mask as a Label Studio brush")
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
    lengths = np.diff(np.r_[starts, n])
    values = flat[starts].astype(np.int64) * 255
    pieces = -(-lengths // 65536)  # runs longer than the widest field are split
    values = np.repeat(values, pieces)
    last = lengths - (pieces - 1) * 65536
    lengths = np.full(int(pieces.sum()), 65536, dtype=np.int64)
    lengths[np.cumsum(pieces) - 1] = last
    field = np.searchsorted(1 << _FIELDS, lengths, side="left")  # smallest field that holds length - 1
    widths = _FIELDS[field]
    codes = (np.int64(1) << (2 + widths + 8)) | (field << (widths + 8)) | ((lengths - 1) << 8) | values
    bits_per = 11 + widths
    cols = np.unpackbits(codes.astype(">u4").view(np.uint8).reshape(-1, 4), axis=1)  # 32 bits each, MSB first
    body = cols[np.arange(32)[None, :] >= (32 - bits_per)[:, None]]
    header = np.unpackbits(np.array([n], dtype=">u4").view(np.uint8))
    params = [(7, 5), *((w - 1, 4) for w in _FIELDS)]
    head2 = np.array([(v >> (k - 1 - i)) & 1 for v, k in params for i in range(k)], dtype=np.uint8)
    bits = np.concatenate([header, head2, body])
    return np.packbits(bits).astype(int).tolist()


def _bits(rle: Any) -> np.ndarray:
    try:
        data = np.asarray(rle, dtype=np.int64)
    except (TypeError, ValueError):
        raise FormatError("a brush 'rle' must be a list of byte values (0-255)") from None
    if data.ndim != 1 or len(data) < 6 or ((data < 0) | (data > 255)).any():
        raise FormatError("a brush 'rle' must be a list of at least 6 byte values (0-255)")
    return np.unpackbits(data.astype(np.uint8))


def decode_brush(rle: Any, height: int, width: int) -> np.ndarray:
    """A Label Studio brush ``rle`` as a ``height × width`` boolean mask (alpha ≥ 128).

    Raises:
        FormatError: the bytes are not an ``rle-pack`` stream of ``height × width × 4`` values.

    Example:
        >>> decode_brush(encode_brush(np.eye(3, dtype=bool)), 3, 3).astype(int).tolist()
        [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    """
    bits = _bits(rle)
    weights = 1 << np.arange(31, -1, -1, dtype=np.int64)
    pos = 0

    def read(k: int) -> int:
        nonlocal pos
        if pos + k > len(bits):
            raise FormatError("a brush 'rle' ends in the middle of a run; it is truncated")
        v = int(bits[pos:pos + k] @ weights[32 - k:]) if k else 0
        pos += k
        return v

    n = read(32)
    if n != height * width * 4:
        raise FormatError(f"a brush 'rle' holds {n} values but a {width}x{height} image has {height * width * 4} "
                          "(RGBA); the region belongs to an image of another size")
    word = read(5) + 1
    fields = [read(4) + 1 for _ in range(4)]
    out = np.zeros(n, dtype=np.int64)
    i = 0
    while i < n:
        repeat = read(1)
        j = min(n, i + 1 + read(fields[read(2)]))
        if repeat:
            out[i:j] = read(word)
        else:
            out[i:j] = [read(word) for _ in range(j - i)]
        i = j
    return out.reshape(height, width, 4)[:, :, 3] >= 128
