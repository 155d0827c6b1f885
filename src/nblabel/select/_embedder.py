"""The default embedder: hand-made, flip-invariant global image features, offline, no weights.

:func:`default_embedder` maps a batch of PIL images to L2-normalised float32 vectors (``DIM``
values each). It is a plain module-level function (picklable), so it runs unchanged in worker
processes (multiprocessing, Ray Data ``map_batches``, Spark).

What a vector holds, computed on a 64 × 64 thumbnail (the image squashed to a square) blurred by a
7 × 7 box (so small shifts, crops and rotations move the features little):

- **layout of colour**: mean luma (brightness- and contrast-normalised) and chroma on a 4 × 4 grid;
- **low-frequency structure**: the 8 × 8 lowest 2-D DCT coefficients of the normalised luma at
  32 × 32 (a real-valued pHash), without the DC term;
- **edges**: gradient-orientation histograms (8 unsigned orientations, magnitude-weighted) on a
  4 × 4 grid, square-rooted (Hellinger) and centred.

Each part ``F`` is made **flip-invariant** by computing it on the image and on its mirror image and
keeping ``F(x) + F(mirror x)`` and ``|F(x) − F(mirror x)|``: the same vector for an image and its
horizontal flip, while the asymmetric part is kept in magnitude. Parts are L2-normalised, weighted
and the whole vector normalised again, so cosine distance compares images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

__all__ = ["DEFAULT_MODEL", "DEFAULT_THRESHOLD", "DIM", "THUMB", "default_embedder", "thumbnail_array"]

DEFAULT_MODEL = "nblabel-hand-v1"  # stored with every vector the default embedder makes
DEFAULT_THRESHOLD = 0.115          # cosine distance: the smallest threshold with the best pairwise F1 on the
                                    # tuning half of benchmarks/near_duplicates.py (reported on the other half)
THUMB = 64                          # thumbnail side the features are computed on
_GRID = 4
_DCT = 8
_WEIGHTS = (1.0, 1.0, 1.0)          # colour layout, DCT, edges
_BLUR = 7                           # box blur of the thumbnail (odd: the blur commutes with mirroring)


def thumbnail_array(image: Image.Image, size: int = THUMB) -> np.ndarray:
    """The image as a float32 ``[size, size, 3]`` RGB array in 0–1 (squashed to a square, box-filtered).

    Example:
        >>> thumbnail_array(Image.new("RGB", (100, 50), (255, 0, 0))).shape
        (64, 64, 3)
    """
    im = image
    if im.mode not in ("RGB",):
        im = im.convert("RGBA").convert("RGB") if im.mode in ("P", "LA") else im.convert("RGB")
    im = im.resize((size, size), Image.Resampling.BOX if min(im.size) >= size else Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.float32) / 255.0


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float32)


_D32 = _dct_matrix(32)[:_DCT]


def _cells(a: np.ndarray, g: int) -> np.ndarray:
    """Per-cell means of ``a`` [b, h, w, c] on a g × g grid → [b, g, g, c]."""
    b, h, w, c = a.shape
    return a.reshape(b, g, h // g, g, w // g, c).mean(axis=(2, 4))


def _parts(rgb: np.ndarray) -> list[np.ndarray]:
    """The feature parts of a batch of thumbnails [b, 64, 64, 3] (not yet flip-symmetrised)."""
    b = rgb.shape[0]
    r, g, bl = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * bl
    cb = (bl - y) * 0.564
    cr = (r - y) * 0.713
    mu = y.mean(axis=(1, 2), keepdims=True)
    sd = y.std(axis=(1, 2), keepdims=True) + 1e-3
    yn = (y - mu) / sd
    colour = _cells(np.stack([yn * 0.5, cb * 4, cr * 4], axis=-1), _GRID).reshape(b, -1)
    small = yn.reshape(b, 32, 2, 32, 2).mean(axis=(2, 4))
    dct = np.einsum("ui,bij,vj->buv", _D32, small, _D32).reshape(b, -1)[:, 1:]
    gy, gx = np.gradient(yn, axis=(1, 2))
    mag = np.hypot(gx, gy)
    ang = np.mod(np.arctan2(gy, gx), np.pi)
    bins = np.minimum((ang / np.pi * 8).astype(np.int64), 7)
    onehot = np.zeros((*bins.shape, 8), np.float32)
    np.put_along_axis(onehot, bins[..., None], mag[..., None], axis=-1)
    hog = np.sqrt(_cells(onehot, _GRID) + 1e-6).reshape(b, -1)
    hog = hog - hog.mean(axis=1, keepdims=True)
    return [colour, dct, hog]


def _unit(a: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.where(n > 0, n, 1)


DIM = 2 * (_GRID * _GRID * 3 + _DCT * _DCT - 1 + _GRID * _GRID * 8)


def default_embedder(images: Sequence[Image.Image]) -> np.ndarray:
    """Embed a batch of PIL images: ``[len(images), DIM]`` float32, unit length, the same for a mirror image.

    Example:
        >>> from PIL import ImageOps
        >>> im = Image.radial_gradient("L").convert("RGB").crop((0, 0, 192, 128))
        >>> v = default_embedder([im, ImageOps.mirror(im)])
        >>> v.shape == (2, DIM), v.dtype.name, bool(np.allclose(v[0], v[1], atol=1e-5))
        (True, 'float32', True)
    """
    if not len(images):
        return np.zeros((0, DIM), np.float32)
    from scipy.ndimage import uniform_filter

    rgb = uniform_filter(np.stack([thumbnail_array(im) for im in images]), size=(1, _BLUR, _BLUR, 1))
    parts = _parts(rgb)
    mirrored = _parts(rgb[:, :, ::-1].copy())
    out = []
    for w, f, fm in zip(_WEIGHTS, parts, mirrored, strict=True):
        out.append(_unit(np.concatenate([f + fm, np.abs(f - fm)], axis=1)) * w)
    return _unit(np.concatenate(out, axis=1)).astype(np.float32)
