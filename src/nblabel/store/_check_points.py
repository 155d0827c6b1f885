"""Checking the point geometry of instances (polygons, keypoints, points, lines, RLE masks), vectorised.

The rows of one kind are flattened into one coordinate array plus offsets (rings of a row, points
of a ring), as :func:`nblabel.geometry.polygon_areas` does, and checked together: finite, enough
points, non-zero area or length, visibility, template size, inside the image. A row that passes
every check is the common case and never goes through Python per point. A row that fails any of
them, or that needs clipping, or whose shape the flattener does not know, is checked on its own by
:func:`check_points_row` (the reference rule, with the exact messages and clipping warnings), so
the vectorised branch changes speed, never results. ``clip=False`` keeps points outside the image as
given (imports); ``clip=True`` clips them (what a person draws).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import GeometryError, NblabelError
from ..geometry import TOLERANCE, extent, validate_points
from ._points_flat import SEQ, CheckedPoints, FlatPoints, flatten

__all__ = ["POINT_KINDS", "check_points", "check_points_row"]

POINT_KINDS = ("polygon", "keypoints", "point", "line", "mask")
# a clean polygon's area (px²) must clear this before the vectorised branch accepts it; smaller ones
# get the reference check, so float rounding between the two can never change a decision
_MIN_FAST_AREA = 1e-3


def _as_rings(pts: Any) -> list:
    """Polygon input as a list of rings: flat [x0, y0, ...], [[x, y], ...] or a list of either."""
    if not isinstance(pts, SEQ) or len(pts) == 0:
        raise GeometryError(f"polygon needs a list of points, got {pts!r}")
    first = pts[0]
    if np.isscalar(first):
        return [pts]  # one flat ring
    if len(first) and np.isscalar(first[0]) and len(first) == 2:
        return [pts]  # one ring of [x, y] pairs
    return list(pts)  # several rings


def check_points_row(kind: str, pts: Any, w: float, h: float, strict: bool,
                     n_kp: int | None, *, clip: bool = True,
                     keep_outside: bool = False) -> tuple[Any, list[float] | None, list[str]]:
    """One row's points checked and clipped (or, ``clip=False``, kept as given):
    ``(points, extent or None, warnings)``; raises on bad input.

    Example:
        >>> check_points_row("line", [[1, 1], [5, 3]], 10, 10, False, None)
        ([[1.0, 1.0], [5.0, 3.0]], [1.0, 1.0, 5.0, 3.0], [])
    """
    if kind == "mask":
        if not isinstance(pts, dict) or "counts" not in pts or "size" not in pts:
            raise GeometryError("a mask needs a COCO RLE dict with 'size' and 'counts'")
        return pts, None, []
    if kind == "polygon":
        out, msgs = [], []
        for ring in _as_rings(pts):
            a = np.asarray(ring, dtype=float)
            if a.ndim == 1:
                if a.size % 2:
                    raise GeometryError(f"polygon ring has an odd number of coordinates ({a.size})")
                a = a.reshape(-1, 2)
            a, m = validate_points(a, w, h, strict=strict, what="polygon", clip=clip, keep_outside=keep_outside)
            msgs += m
            out.append(a.tolist())
        allpts = np.concatenate([np.asarray(r) for r in out])
        return out, extent(allpts).tolist(), msgs
    a = np.asarray(pts, dtype=float)
    if kind == "keypoints":
        if a.ndim == 1:
            a = a.reshape(-1, 3)
        if a.ndim == 2 and a.shape[1] == 2:
            a = np.column_stack([a, np.full(len(a), 2.0)])
        if n_kp is not None and len(a) != n_kp:
            raise GeometryError(f"keypoints have {len(a)} points but the label's template has {n_kp}; "
                                "give every template point (v=0 for unlabeled)")
    elif a.ndim == 1:
        a = a.reshape(-1, 2)
    a, msgs = validate_points(a, w, h, strict=strict, what=kind, clip=clip, keep_outside=keep_outside)
    vis = a if kind != "keypoints" else a[a[:, 2] > 0]
    ext = extent(vis[:, :2]).tolist() if len(vis) else [0.0, 0.0, 0.0, 0.0]
    return a.tolist(), ext, msgs


def _row_extents(pt_row: np.ndarray, x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """``(4, n)``: per row the min x, min y, max x, max y of its points (``pt_row`` sorted); ±inf for a row
    without points."""
    out = np.empty((4, n))
    out[:2], out[2:] = np.inf, -np.inf
    if len(pt_row):
        starts = np.flatnonzero(np.concatenate([[True], pt_row[1:] != pt_row[:-1]]))
        rows = pt_row[starts]
        out[0, rows] = np.minimum.reduceat(x, starts)
        out[1, rows] = np.minimum.reduceat(y, starts)
        out[2, rows] = np.maximum.reduceat(x, starts)
        out[3, rows] = np.maximum.reduceat(y, starts)
    return out


def _fast_rows(kind: str, rows: list[Any], w: np.ndarray, h: np.ndarray, n_kp: np.ndarray,
               clip: bool) -> tuple[np.ndarray, FlatPoints | None, np.ndarray]:
    """The vectorised branch for one kind: ``(clean, points of the clean rows, extents)``; rows not
    ``clean`` need the reference."""
    n = len(rows)
    dim = 3 if kind == "keypoints" else 2
    try:
        coords, counts, ring_row, shaped = flatten(rows, dim, several=kind == "polygon")
    except (TypeError, ValueError):  # a value that is not a number somewhere: every row on its own
        return np.zeros(n, dtype=bool), None, np.zeros((n, 4))
    clean = shaped.copy()
    if kind == "keypoints":  # a flat row or [[x, y], ...] pairs: the reference adds v = 2, so it decides
        flat_pairs = counts % 3 != 0
        clean[ring_row[flat_pairs]] = False
        stride = 3
    else:
        odd = counts % 2 != 0
        clean[ring_row[odd]] = False
        stride = 2
    if not clean.any() or len(coords) == 0:
        return clean, None, np.zeros((n, 4))
    # drop rings of rows already sent to the reference, then view as (points, stride)
    keep_ring = clean[ring_row]
    if not keep_ring.all():
        keep_coord = np.repeat(keep_ring, counts)
        coords, counts, ring_row = coords[keep_coord], counts[keep_ring], ring_row[keep_ring]
    pts = coords.reshape(-1, stride)
    npts = counts // stride
    pt_ring = np.repeat(np.arange(len(npts)), npts)
    pt_row = ring_row[pt_ring]
    ring_first = np.concatenate([[0], np.cumsum(npts)[:-1]])
    x, y = pts[:, 0], pts[:, 1]
    pw, ph = w[pt_row], h[pt_row]
    if kind == "keypoints":
        v = pts[:, 2]
        active = v > 0
        good_pt = ((v == 0) | (v == 1) | (v == 2)) & (~active | (np.isfinite(x) & np.isfinite(y)))
        per_row_n = np.bincount(pt_row, minlength=n)
        has_tpl = n_kp >= 0
        clean &= ~has_tpl | (per_row_n == n_kp)
    else:
        active = np.ones(len(pts), dtype=bool)
        good_pt = np.isfinite(x) & np.isfinite(y)
    tol = TOLERANCE
    inside = ~active | ((x >= -tol) & (y >= -tol) & (x <= pw + tol) & (y <= ph + tol))
    good_pt &= inside  # a point to clip (or refuse with strict) goes to the reference, which warns
    bad_rows = np.unique(pt_row[~good_pt])
    clean[bad_rows] = False
    if kind == "polygon":
        nxt = np.arange(len(pts)) + 1
        last = ring_first + npts - 1
        nxt[last] = ring_first
        cross = x * y[nxt] - x[nxt] * y
        area = 0.5 * np.abs(np.add.reduceat(cross, ring_first)) if len(npts) else np.zeros(0)
        bad_ring = (npts < 3) | ~(area > _MIN_FAST_AREA)
        clean[np.unique(ring_row[bad_ring])] = False
    elif kind == "line":
        npr = np.bincount(pt_row, minlength=n)
        clean &= npr >= 2
        # zero length, or every point on one border: the reference decides (it may refuse)
        with np.errstate(invalid="ignore"):
            xmin, ymin, xmax, ymax = _row_extents(pt_row, x, y, n)
        on_border = (xmin >= w) | (xmax <= 0) | (ymin >= h) | (ymax <= 0)
        clean &= ((xmax - xmin) > 0) | ((ymax - ymin) > 0)
        clean &= ~on_border
    # clean rows: clip within the tolerance (as the reference does), extent over active points
    out = pts.copy()
    for c, (v_, lim) in enumerate(((x, pw), (y, ph)) if clip else ()):
        edge = active & ((v_ <= 0) | (v_ >= lim))  # np.clip changes only these (-0.0 becomes 0.0 too)
        if edge.any():
            out[edge, c] = np.clip(v_[edge], 0, lim[edge])
    row_clean = clean[pt_row]
    ext_pt = active & row_clean
    if ext_pt.all():
        ext = _row_extents(pt_row, out[:, 0], out[:, 1], n).T
    else:
        ext = _row_extents(pt_row[ext_pt], out[ext_pt, 0], out[ext_pt, 1], n).T
    ext[~np.isfinite(ext).all(axis=1)] = 0.0  # keypoints with no visible point: the reference's [0, 0, 0, 0]
    keep_ring = clean[ring_row]
    if row_clean.all():
        flat = FlatPoints(out, npts, np.bincount(ring_row, minlength=n), nested=kind == "polygon")
    else:
        flat = FlatPoints(out[row_clean], npts[keep_ring], np.bincount(ring_row[keep_ring], minlength=n)[clean],
                          nested=kind == "polygon")
    return clean, flat, ext


def check_points(kinds: np.ndarray, rows: list[Any], widths: np.ndarray, heights: np.ndarray, n_kp: np.ndarray,
                 strict: bool, *, clip: bool = True,
                 keep_outside: bool = False) -> tuple[CheckedPoints, np.ndarray, list[tuple[int, str]],
                                                     list[tuple[int, str]]]:
    """Check the point geometry of many rows at once.

    Args:
        kinds: per row, one of :data:`POINT_KINDS`.
        rows: per row, its points as given (rings, point lists, flat lists, an RLE dict).
        widths, heights: per row, its image size.
        n_kp: per row, the number of points of its label's keypoint template (-1: none).
        strict: refuse points outside the image instead of clipping them.
        clip: clip points outside the image (``False``: keep them as given, without warnings).
        keep_outside: with ``clip=False``, keep polygons/lines lying entirely outside the image.

    Returns:
        ``(points, extents, problems, warnings)``: the checked points of the rows (most of them
        still as flat arrays; :meth:`CheckedPoints.to_lists` or :func:`._points_json.points_json`
        give them per row, ``None`` where refused), ``[x0, y0, x1, y1]`` per row (NaN: keep the given box, as for masks), the refused
        rows as ``(position, reason)``, and the clipping warnings as ``(position, warning)``.

    Example:
        >>> pts, ext, problems, warns = check_points(
        ...     np.array(["polygon", "line"]), [[[1, 1], [8, 1], [8, 6]], [[0, 0], [0, 0]]],
        ...     np.array([10.0, 10.0]), np.array([10.0, 10.0]), np.array([-1, -1]), False)
        >>> pts.to_lists()[0], ext[0].tolist()
        ([[[1.0, 1.0], [8.0, 1.0], [8.0, 6.0]]], [1.0, 1.0, 8.0, 6.0])
        >>> problems  # doctest: +ELLIPSIS
        [(1, 'line: line [0, 0, 0, 0] has zero length ...')]
    """
    n = len(rows)
    points = CheckedPoints(n)
    ext = np.full((n, 4), np.nan)
    problems: list[tuple[int, str]] = []
    msgs: list[tuple[int, str]] = []
    for kind in np.unique(kinds):
        idx = np.flatnonzero(kinds == kind)
        if kind == "mask":
            clean = np.zeros(len(idx), dtype=bool)
        else:
            clean, fast_pts, fast_ext = _fast_rows(str(kind), [rows[i] for i in idx], widths[idx], heights[idx],
                                                   n_kp[idx], clip)
            if fast_pts is not None and clean.any():
                points.flat.append((idx[clean], fast_pts))
            ext[idx[clean]] = fast_ext[clean]
        for j in np.flatnonzero(~clean):  # the reference rule: exact messages, clipping and warnings
            i = int(idx[j])
            try:
                p, e, m = check_points_row(str(kind), rows[i], float(widths[i]), float(heights[i]), strict,
                                           int(n_kp[i]) if n_kp[i] >= 0 else None, clip=clip,
                                           keep_outside=keep_outside)
            except (NblabelError, ValueError, TypeError) as err:
                problems.append((i, f"{kind}: {err}"))
                continue
            msgs += [(i, w) for w in m]
            points.values[i] = p
            if e is not None:
                ext[i] = e
    problems.sort()
    msgs.sort(key=lambda t: t[0])  # warnings in row order, whatever the kinds
    return points, ext, problems, msgs
