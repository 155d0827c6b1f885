"""COCO run-length encoded (RLE) masks, compatible bit for bit with the COCO toolkit.

A mask of ``h × w`` pixels is flattened in column-major (Fortran) order and stored as alternating run
lengths of 0s and 1s, starting with 0s (a leading run of length 0 when the first pixel is set). The
compressed form writes each run, minus the run two places before it (from the fourth run on), as a
little-endian sequence of 5-bit groups, one printable character per group (``chr(48 + group)``, bit
``0x20`` meaning "more groups follow", the top bit of the last group being the sign).

Polygons are rasterised the way the COCO toolkit does it, so segmentation metrics computed from these
masks agree exactly with the reference evaluation: vertices are scaled by 5 and rounded, every edge is
walked one step at a time along its longer axis, and each crossing of a pixel column centre toggles
the mask at the first pixel centre at or below the edge.

Everything here is numpy only and vectorised over runs, edges and pixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nblabel.errors import ValidationError

from ._boxes import box_iou_coco

__all__ = [
    "polygons_to_rle",
    "rle_area",
    "rle_decode",
    "rle_encode",
    "rle_from_uncompressed",
    "rle_iou",
    "rle_merge",
    "rle_to_bbox",
]

RLE = dict  # {"size": [h, w], "counts": str}

_UINT = np.uint64(0xFFFFFFFF)
_POLY_SCALE = 5.0
_INT_MIN = -(2**31)  # what x86 produces when a NaN is truncated to a 32-bit int


# ---------------------------------------------------------------- string <-> counts


def _counts_to_string(counts: np.ndarray) -> str:
    """Compress run lengths into the COCO counts string (vectorised over all runs)."""
    c = np.asarray(counts, dtype=np.int64) & 0xFFFFFFFF
    if c.size == 0:
        return ""
    x = c.copy()
    x[3:] -= c[1:-2]  # from the fourth run on, store the difference to the run two places back
    groups = 8  # 8 × 5 bits cover any difference of two 32-bit counts
    k = np.arange(groups)
    chunk = (x[:, None] >> (5 * k)) & 0x1F
    rest = x[:, None] >> (5 * (k + 1))
    more = np.where((chunk & 0x10) != 0, rest != -1, rest != 0)
    # number of groups written = index of the first group after which nothing more follows, + 1
    n = np.argmin(more, axis=1) + 1
    used = k[None, :] < n[:, None]
    cont = k[None, :] < (n - 1)[:, None]
    chars = (chunk | np.where(cont, 0x20, 0)) + 48
    return chars[used].astype(np.uint8).tobytes().decode("ascii")


def _string_to_counts(s: str | bytes | bytearray) -> np.ndarray:
    """Decompress a COCO counts string into int64 run lengths (values wrap like 32-bit unsigned)."""
    raw = s.encode("ascii") if isinstance(s, str) else bytes(s)
    b = np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 48
    if b.size == 0:
        return np.zeros(0, dtype=np.int64)
    if (b < 0).any() or (b > 63).any():
        i = int(np.flatnonzero((b < 0) | (b > 63))[0])
        raise ValidationError(
            f"RLE counts string has an invalid character {chr(raw[i])!r} at position {i}; compressed counts "
            "use only the characters '0'..'o' (pass uncompressed counts as a list of ints instead)"
        )
    cont = (b & 0x20) != 0
    if cont[-1]:
        raise ValidationError(
            "RLE counts string is truncated (its last character says more follow); "
            "check that the string was not cut or re-encoded"
        )
    last = ~cont
    starts = np.concatenate([[0], np.flatnonzero(last)[:-1] + 1])
    gid = np.repeat(np.arange(len(starts)), np.diff(np.concatenate([starts, [len(b)]])))
    k = np.arange(len(b)) - starts[gid]
    x = np.add.reduceat((b & 0x1F) << (5 * k), starts)
    ngroups = np.diff(np.concatenate([starts, [len(b)]]))
    negative = (b[last] & 0x10) != 0
    x = np.where(negative, x - (np.int64(1) << (5 * ngroups)), x)
    out = x.copy()
    # undo the delta coding: counts[m] = x[m] + counts[m - 2] for m > 2
    out[2::2] = np.cumsum(x[2::2])
    out[1::2] = np.cumsum(x[1::2])
    return out & 0xFFFFFFFF


def _parse(rle: Any, name: str = "rle") -> tuple[int, int, np.ndarray]:
    """``(h, w, counts)`` of a compressed or uncompressed RLE dict."""
    if not isinstance(rle, Mapping) or "size" not in rle or "counts" not in rle:
        raise ValidationError(
            f"{name} must be a dict with 'size': [height, width] and 'counts', got {type(rle).__name__}"
        )
    try:
        h, w = (int(v) for v in rle["size"])
    except (TypeError, ValueError):
        raise ValidationError(f"{name}['size'] must be [height, width], got {rle['size']!r}") from None
    counts = rle["counts"]
    if isinstance(counts, (str, bytes, bytearray)):
        cnts = _string_to_counts(counts)
    else:
        cnts = np.asarray(counts, dtype=np.int64).reshape(-1)
        if (cnts < 0).any():
            raise ValidationError(
                f"{name}['counts'] has negative run lengths; run lengths are counts of pixels"
            )
    return h, w, cnts


def _pack(h: int, w: int, counts: np.ndarray) -> dict[str, Any]:
    return {"size": [int(h), int(w)], "counts": _counts_to_string(counts)}


def _many(rles: Any) -> bool:
    return isinstance(rles, Sequence) and not isinstance(rles, (str, bytes, Mapping))


# ---------------------------------------------------------------- encode / decode


def _encode_counts(mask2d: np.ndarray) -> np.ndarray:
    flat = np.asarray(mask2d, dtype=bool).ravel(order="F")
    n = flat.size
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], change, [n]])
    counts = np.diff(edges)
    if n and flat[0]:
        counts = np.concatenate([[0], counts])
    if n == 0:
        counts = np.zeros(1, dtype=np.int64)
    return counts.astype(np.int64)


def rle_encode(mask: np.ndarray) -> dict[str, Any] | list[dict[str, Any]]:
    """Encode a binary ``h × w`` mask as a compressed COCO RLE dict (``h × w × n`` gives a list).

    Any non-zero pixel counts as set. The result equals the COCO toolkit's ``mask.encode`` (with
    ``counts`` as ``str`` rather than ``bytes``).

    Example:
        >>> m = np.zeros((3, 4), dtype=bool); m[1:, 1:3] = True
        >>> rle_encode(m)
        {'size': [3, 4], 'counts': '42102'}
    """
    arr = np.asarray(mask)
    if arr.ndim == 3:
        return [_encode_2d(arr[:, :, i]) for i in range(arr.shape[2])]
    if arr.ndim != 2:
        raise ValidationError(f"mask must be a 2-D (height, width) array, got shape {arr.shape}")
    return _encode_2d(arr)


def _encode_2d(mask2d: np.ndarray) -> dict[str, Any]:
    return _pack(mask2d.shape[0], mask2d.shape[1], _encode_counts(mask2d))


def _decode_counts(h: int, w: int, cnts: np.ndarray, name: str = "rle") -> np.ndarray:
    total = int(cnts.sum())
    if total != h * w:
        raise ValidationError(
            f"{name} runs cover {total} pixels but its size {h}×{w} has {h * w}; the RLE is corrupt or its "
            "'size' is wrong (COCO sizes are [height, width])"
        )
    values = (np.arange(len(cnts)) % 2).astype(bool)
    return np.repeat(values, cnts).reshape((h, w), order="F")


def rle_decode(rle: Mapping[str, Any]) -> np.ndarray:
    """Decode a COCO RLE dict (compressed string or uncompressed list counts) to a bool ``h × w`` mask.

    Raises :class:`~nblabel.errors.ValidationError` when the runs do not cover exactly ``h × w`` pixels.

    Example:
        >>> rle_decode({"size": [3, 4], "counts": "42102"}).astype(int).tolist()
        [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0]]
    """
    h, w, cnts = _parse(rle)
    return _decode_counts(h, w, cnts)


def rle_from_uncompressed(rle: Mapping[str, Any]) -> dict[str, Any]:
    """Compress an RLE whose ``counts`` is a list of run lengths (as in COCO crowd annotations).

    The runs are kept as given, exactly like the COCO toolkit's ``frPyObjects`` for uncompressed RLE.

    Example:
        >>> rle_from_uncompressed({"size": [3, 4], "counts": [4, 2, 1, 2, 3]})
        {'size': [3, 4], 'counts': '42102'}
    """
    h, w, cnts = _parse(rle)
    return _pack(h, w, cnts)


def rle_area(rle: Any) -> Any:
    """Number of set pixels of an RLE (a list of RLEs gives an int64 array).

    Example:
        >>> rle_area({"size": [3, 4], "counts": "42102"})
        4
    """
    if _many(rle):
        return np.array([rle_area(r) for r in rle], dtype=np.int64)
    _, _, cnts = _parse(rle)
    return int(cnts[1::2].sum())


def _bbox_from_counts(h: int, w: int, cnts: np.ndarray) -> np.ndarray:
    """Box of the runs of 1s, with the toolkit's 32-bit unsigned arithmetic and its edge cases."""
    m = (len(cnts) // 2) * 2
    if m == 0:
        return np.zeros(4, dtype=np.float64)
    if h <= 0:
        raise ValidationError(f"RLE has height {h}; an RLE with runs needs a positive height")
    c = cnts[:m].astype(np.uint64)
    after = np.cumsum(c) & _UINT  # 32-bit unsigned position after each run
    before = (after - c) & _UINT
    fg = c[1::2] > 0  # runs of 1s; zero-length ones are skipped
    start, last = before[1::2][fg], (after[1::2][fg] - np.uint64(1)) & _UINT
    hh = np.uint64(h)
    ys0, ye0 = start % hh, last % hh
    xs0, xe0 = (start - ys0) // hh, (last - ye0) // hh
    xs = min(int(w), int(xs0.min())) if xs0.size else int(w)
    xe = max(0, int(xe0.max())) if xe0.size else 0
    if xs0.size and (xs0 < xe0).any():  # a run of 1s spans columns: full height
        ys, ye = 0, h - 1
    else:
        ys = min(int(h), int(ys0.min())) if ys0.size else int(h)
        ye = max(0, int(ye0.max())) if ye0.size else 0
    mask = 0xFFFFFFFF
    return np.array([xs, ys, (xe - xs + 1) & mask, (ye - ys + 1) & mask], dtype=np.float64)


def rle_to_bbox(rle: Any) -> np.ndarray:
    """``[x, y, w, h]`` box of an RLE's set pixels, as the COCO toolkit's ``toBbox`` computes it.

    A list of RLEs gives an ``(N, 4)`` array. An empty mask gives ``[0, 0, 0, 0]``.

    Example:
        >>> rle_to_bbox({"size": [3, 4], "counts": "42102"}).tolist()
        [1.0, 1.0, 2.0, 2.0]
    """
    if _many(rle):
        out = np.zeros((len(rle), 4), dtype=np.float64)
        for i, r in enumerate(rle):
            out[i] = rle_to_bbox(r)
        return out
    return _bbox_from_counts(*_parse(rle))


# ---------------------------------------------------------------- intervals


def _intervals(cnts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start/end (exclusive) flat positions of the runs of 1s, sorted and non-empty."""
    ends = np.cumsum(cnts)
    starts = ends - cnts
    s, e = starts[1::2], ends[1::2]
    keep = e > s
    return s[keep], e[keep]


def _counts_from_intervals(starts: np.ndarray, ends: np.ndarray, total: int) -> np.ndarray:
    """Canonical run lengths of a mask given possibly overlapping/adjacent 1-intervals."""
    if starts.size == 0:
        return np.array([total], dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)
    new = np.concatenate([[True], s[1:] > reach[:-1]])  # adjacent (s == previous end) merges
    ms = s[new]
    me = np.maximum.reduceat(e, np.flatnonzero(new))
    bounds = np.empty(2 * len(ms), dtype=np.int64)
    bounds[0::2] = ms
    bounds[1::2] = me
    edges = np.concatenate([[0], bounds])
    counts = np.diff(edges)
    if me[-1] < total:
        counts = np.concatenate([counts, [total - me[-1]]])
    return counts


def rle_merge(rles: Sequence[Mapping[str, Any]], intersect: bool = False) -> dict[str, Any]:
    """Union (or intersection) of RLEs of the same size, as the COCO toolkit's ``merge``.

    Example:
        >>> a = rle_encode(np.eye(3, dtype=bool)); b = rle_encode(np.eye(3, dtype=bool)[::-1])
        >>> int(rle_decode(rle_merge([a, b])).sum()), int(rle_decode(rle_merge([a, b], intersect=True)).sum())
        (5, 1)
    """
    parsed = [_parse(r, f"rles[{i}]") for i, r in enumerate(rles)]
    if not parsed:
        return {"size": [0, 0], "counts": ""}
    h, w, first = parsed[0]
    if len(parsed) == 1:
        return _pack(h, w, first)
    for i, (hi, wi, _) in enumerate(parsed):
        if (hi, wi) != (h, w):
            raise ValidationError(
                f"rles[{i}] has size {hi}×{wi} but rles[0] has {h}×{w}; only masks of the same image merge"
            )
    if intersect:
        mask = np.ones(h * w, dtype=bool)
        for _, _, c in parsed:
            mask &= _decode_counts(h, w, c).ravel(order="F")
        return _pack(h, w, _encode_counts(mask.reshape((h, w), order="F")))
    iv = [_intervals(c) for _, _, c in parsed]
    starts = np.concatenate([s for s, _ in iv])
    ends = np.concatenate([e for _, e in iv])
    return _pack(h, w, _counts_from_intervals(starts, ends, h * w))


# ---------------------------------------------------------------- polygons


def _poly_counts(xy: np.ndarray, h: int, w: int) -> np.ndarray:
    """Run lengths of one polygon rasterised like the COCO toolkit (see module docstring)."""
    k = len(xy)
    if k == 0:
        return np.array([h * w], dtype=np.int64)
    # 1. upsample by 5 and round half up (C truncation toward zero after +0.5)
    x = np.trunc(_POLY_SCALE * xy[:, 0] + 0.5).astype(np.int64)
    y = np.trunc(_POLY_SCALE * xy[:, 1] + 0.5).astype(np.int64)
    x0, y0 = x, y
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    dx, dy = np.abs(x1 - x0), np.abs(y1 - y0)
    along_x = dx >= dy
    flip = (along_x & (x0 > x1)) | (~along_x & (y0 > y1))
    xs, xe = np.where(flip, x1, x0), np.where(flip, x0, x1)
    ys, ye = np.where(flip, y1, y0), np.where(flip, y0, y1)
    steps = np.where(along_x, dx, dy)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(along_x, (ye - ys) / np.where(dx == 0, 1, dx), (xe - xs) / np.where(dy == 0, 1, dy))
    degenerate = steps == 0  # repeated vertex: the toolkit computes 0/0 here
    # 2. walk every edge one step at a time along its longer axis
    n = steps + 1
    edge = np.repeat(np.arange(k), n)
    d = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    t = np.where(flip[edge], steps[edge] - d, d)
    ax = along_x[edge]
    tf = t.astype(np.float64)
    u_minor = np.trunc(xs[edge] + slope[edge] * tf + 0.5)
    v_minor = np.trunc(ys[edge] + slope[edge] * tf + 0.5)
    u = np.where(ax, t + xs[edge], u_minor).astype(np.int64)
    v = np.where(ax, v_minor, t + ys[edge]).astype(np.int64)
    v = np.where(degenerate[edge], _INT_MIN, v)
    # 3. where the walk crosses a pixel column centre, record the first pixel row at or below it
    moved = np.flatnonzero(u[1:] != u[:-1]) + 1
    uj, up = u[moved], u[moved - 1]
    xd = np.where(uj < up, uj, uj - 1).astype(np.float64)
    xd = (xd + 0.5) / _POLY_SCALE - 0.5
    ok = (np.floor(xd) == xd) & (xd >= 0) & (xd <= w - 1)
    yd = np.minimum(v[moved], v[moved - 1]).astype(np.float64)
    yd = (yd + 0.5) / _POLY_SCALE - 0.5
    yd = np.ceil(np.clip(yd, 0, h))
    pos = xd[ok].astype(np.int64) * h + yd[ok].astype(np.int64)
    # 4. each recorded position toggles the mask; positions hit an even number of times cancel
    vals, mult = np.unique(pos, return_counts=True)
    toggles = vals[(mult % 2 == 1) & (vals < h * w)]
    return np.diff(np.concatenate([[0], toggles, [h * w]]))


def _as_flat_polygons(polygons: Any) -> list[np.ndarray]:
    if isinstance(polygons, np.ndarray) and polygons.ndim == 1:
        polygons = [polygons]
    elif isinstance(polygons, Sequence) and polygons and np.ndim(polygons[0]) == 0:
        polygons = [polygons]  # a single flat polygon
    out = []
    for i, p in enumerate(polygons):
        arr = np.asarray(p, dtype=np.float64).reshape(-1)
        if not np.isfinite(arr).all():
            raise ValidationError(
                f"polygon {i} has non-finite coordinates; fix or drop it before rasterising"
            )
        out.append(arr)
    return out


def polygons_to_rle(polygons: Any, h: int, w: int) -> dict[str, Any]:
    """Rasterise COCO polygons (flat ``[x0, y0, x1, y1, ...]`` lists) into one RLE of their union.

    Reproduces the COCO toolkit's ``merge(frPyObjects(polygons, h, w))`` exactly, including its quirk
    that a list whose first entry has exactly 4 numbers is read as ``[x, y, w, h]`` boxes. An empty list
    gives an empty mask.

    Example:
        >>> rle = polygons_to_rle([[1, 1, 3, 1, 3, 3, 1, 3]], 4, 4)
        >>> rle_decode(rle).astype(int).tolist()
        [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    """
    h, w = int(h), int(w)
    polys = _as_flat_polygons(polygons)
    if not polys:
        return _pack(h, w, np.array([h * w], dtype=np.int64))
    if polys[0].size == 4:  # the toolkit reads the whole list as [x, y, w, h] boxes
        boxes = []
        for i, p in enumerate(polys):
            if p.size != 4:
                raise ValidationError(
                    f"polygon 0 has 4 numbers, so the list is read as [x, y, w, h] boxes, but polygon {i} has "
                    f"{p.size}; give every polygon at least 3 points (6 numbers)"
                )
            xs, ys, xe, ye = p[0], p[1], p[0] + p[2], p[1] + p[3]
            boxes.append(np.array([xs, ys, xs, ye, xe, ye, xe, ys]))
        polys = boxes
    counts = [_poly_counts(p[: (p.size // 2) * 2].reshape(-1, 2), h, w) for p in polys]
    if len(counts) == 1:
        return _pack(h, w, counts[0])
    iv = [_intervals(c) for c in counts]
    starts = np.concatenate([s for s, _ in iv])
    ends = np.concatenate([e for _, e in iv])
    return _pack(h, w, _counts_from_intervals(starts, ends, h * w))


# ---------------------------------------------------------------- IoU


def rle_iou(dt_rles: Sequence[Any], gt_rles: Sequence[Any], iscrowd: Any = None) -> np.ndarray:
    """Mask IoU of detections against ground truth, shape ``(D, G)``, equal to the COCO toolkit's ``iou``.

    For a crowd ground truth the denominator is the detection's area. Pairs whose boxes do not overlap
    get 0; pairs of masks with different sizes whose boxes overlap get -1 (as in the toolkit).

    Example:
        >>> a = rle_encode(np.pad(np.ones((2, 2), bool), 1))
        >>> b = rle_encode(np.pad(np.ones((2, 1), bool), ((1, 1), (1, 2))))
        >>> rle_iou([a], [b, b], [0, 1]).tolist()
        [[0.5, 0.5]]
    """
    dts = [_parse(r, f"dt_rles[{i}]") for i, r in enumerate(dt_rles)]
    gts = [_parse(r, f"gt_rles[{i}]") for i, r in enumerate(gt_rles)]
    crowd = (
        np.zeros(len(gts), dtype=bool) if iscrowd is None else np.asarray(iscrowd).reshape(-1).astype(bool)
    )
    if crowd.size != len(gts):
        raise ValidationError(
            f"iscrowd has {crowd.size} values but there are {len(gts)} ground-truth masks; pass one flag per mask"
        )
    out = np.zeros((len(dts), len(gts)), dtype=np.float64)
    if not dts or not gts:
        return out
    db = np.stack([_bbox_from_counts(*p) for p in dts])
    gb = np.stack([_bbox_from_counts(*p) for p in gts])
    overlap = box_iou_coco(db, gb) > 0
    dsize = np.array([(p[0], p[1]) for p in dts])
    gsize = np.array([(p[0], p[1]) for p in gts])
    same = (dsize[:, None, :] == gsize[None, :, :]).all(axis=2)
    out[overlap & ~same] = -1.0
    g_iv = [_intervals(p[2]) for p in gts]
    g_area = np.array([int((e - s).sum()) for s, e in g_iv], dtype=np.int64)
    for di, (_, _, dc) in enumerate(dts):
        cols = np.flatnonzero(overlap[di] & same[di])
        if cols.size == 0:
            continue
        ds, de = _intervals(dc)
        d_area = int((de - ds).sum())
        before = np.concatenate([[0], np.cumsum(de - ds)])  # 1s of dt before each of its intervals

        def covered(
            pos: np.ndarray, ds: np.ndarray = ds, de: np.ndarray = de, before: np.ndarray = before
        ) -> np.ndarray:
            """Number of dt pixels set in [0, pos)."""
            j = np.searchsorted(ds, pos, side="right") - 1
            jc = np.clip(j, 0, None)
            inside = np.clip(pos - ds[jc], 0, (de - ds)[jc]) if ds.size else np.zeros_like(pos)
            return np.where(j >= 0, before[jc] + inside, 0)

        gs = [g_iv[g] for g in cols]
        lens = np.array([s.size for s, _ in gs])
        s_all = np.concatenate([s for s, _ in gs])
        e_all = np.concatenate([e for _, e in gs])
        per = covered(e_all) - covered(s_all)
        inter = np.bincount(np.repeat(np.arange(cols.size), lens), weights=per, minlength=cols.size)
        inter = np.rint(inter).astype(np.int64)
        union = np.where(crowd[cols], d_area, d_area + g_area[cols] - inter)
        iou = np.zeros(cols.size, dtype=np.float64)
        np.divide(inter.astype(np.float64), union.astype(np.float64), out=iou, where=inter > 0)
        out[di, cols] = iou
    return out
