"""Validation of boxes and point sets against an image: finite, non-empty, and inside, clipped, or kept.

Geometry that crosses the image border is clipped (``clip=True``, the default: what a person draws
is clamped to the picture), kept as given (``clip=False``: what an imported file says, as
pycocotools evaluates it) or refused (``strict=True``). The functions never emit warnings themselves;
they return human-readable warning strings so the caller can ``warnings.warn(msg, stacklevel=...)``
pointing at the user's own line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nblabel.errors import GeometryError

from ._boxes import _as_boxes, _scale
from ._polygons import as_points, polygon_area

__all__ = ["TOLERANCE", "validate_boxes", "validate_points"]

#: Coordinates this far outside the image are clipped silently (float noise from conversions).
TOLERANCE = 1e-6

#: At most this many individual rows are described in one message or warning list.
_MAX_LISTED = 10


def _area(b: np.ndarray) -> np.ndarray:
    """Width × height of ``(N, 4)`` xyxy rows as computed in float64 (no clipping of inverted rows)."""
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def _fmt(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{float(v):g}" for v in values) + "]"


def _listing(idx: np.ndarray, rows: np.ndarray, label: str) -> str:
    """``"row 3 [..], row 7 [..] (and 12 more)"`` for the first few offending rows."""
    shown = ", ".join(f"{label} {int(i)} {_fmt(rows[i])}" for i in idx[:3])
    more = f" (and {len(idx) - 3} more)" if len(idx) > 3 else ""
    return shown + more


def _image_size(width: Any, height: Any, n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    w, h = _scale(width, height, n)
    bad = ~(np.isfinite(w) & np.isfinite(h) & (w > 0) & (h > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GeometryError(
            f"image size for {what} row {i} is width={w[i]:g}, height={h[i]:g}; the image size must be "
            "finite and positive: pass the real pixel size of the image"
        )
    return w, h


def validate_boxes(
    xyxy: Any,
    width: Any,
    height: Any,
    *,
    strict: bool = False,
    what: str = "box",
    clip: bool = True,
    keep_outside: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """Check ``(N, 4)`` ``xyxy`` boxes against an image of ``width`` × ``height`` pixels.

    Raises :class:`~nblabel.errors.GeometryError` when a coordinate is NaN/inf, a box has no area
    (``x1 <= x0`` or ``y1 <= y0``, or a width × height so small that it rounds to 0), a box lies entirely
    outside the image (or its part inside has an area that rounds to 0), or (with ``strict=True``) a box
    sticks out of ``[0, width] × [0, height]`` by more than :data:`TOLERANCE`. Otherwise boxes that stick
    out are clipped and one warning string per clipped row is returned (at most ten, then a summary);
    with ``clip=False`` they are returned as given, without warnings.

    Args:
        xyxy: ``(4,)`` or ``(N, 4)`` boxes as ``[x0, y0, x1, y1]``.
        width, height: image size, scalars or one value per box.
        strict: raise instead of clipping.
        what: the noun used in messages (``"box"``, ``"prediction"``...).
        clip: clip boxes that stick out (``False``: keep them as given).
        keep_outside: with ``clip=False``, keep boxes lying entirely outside the image too
            (pycocotools keeps such ground truth) instead of raising.

    Returns:
        ``(boxes, warnings)``: the (clipped) ``(N, 4)`` float64 boxes and the warning strings.

    Example:
        >>> boxes, warns = validate_boxes([[10, 10, 50, 50], [-5, 0, 20, 20]], 100, 100)
        >>> boxes.tolist()
        [[10.0, 10.0, 50.0, 50.0], [0.0, 0.0, 20.0, 20.0]]
        >>> warns
        ['box row 1 [-5, 0, 20, 20] extends outside the 100×100 image and was clipped to [0, 0, 20, 20]']
        >>> validate_boxes([[-5, 0, 20, 20]], 100, 100, clip=False)[0].tolist()
        [[-5.0, 0.0, 20.0, 20.0]]
        >>> validate_boxes([[10, 10, 5, 50]], 100, 100)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nblabel.errors.GeometryError: box row 0 [10, 10, 5, 50] has zero or negative size ...
        >>> validate_boxes([[0, 0, 5e-189, 5e-189]], 100, 100)  # area 0.0  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nblabel.errors.GeometryError: box row 0 [0, 0, 5e-189, 5e-189] has zero or negative size ...
    """
    b = _as_boxes(xyxy, what)
    n = len(b)
    w, h = _image_size(width, height, n, what)
    finite = np.isfinite(b).all(axis=1)
    if not finite.all():
        idx = np.flatnonzero(~finite)
        raise GeometryError(
            f"{_listing(idx, b, what + ' row')} has non-finite coordinates (NaN or inf); "
            f"drop or fix these rows before adding them (e.g. df.dropna())"
        )
    # the computed area must be > 0 too: widths like 5e-189 pass x1 > x0 but their product underflows to 0
    empty = (b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1]) | ~(_area(b) > 0)
    if empty.any():
        idx = np.flatnonzero(empty)
        raise GeometryError(
            f"{_listing(idx, b, what + ' row')} has zero or negative size (need x1 > x0 and y1 > y0); "
            "boxes here are [x0, y0, x1, y1] corners: if yours are [x, y, w, h] or [cx, cy, w, h] convert "
            "them with to_xyxy(boxes, 'xywh') / to_xyxy(boxes, 'cxcywh'), otherwise drop the empty boxes"
        )
    tol = TOLERANCE
    outside = (b[:, 0] < -tol) | (b[:, 1] < -tol) | (b[:, 2] > w + tol) | (b[:, 3] > h + tol)
    clipped = b.copy()
    clipped[:, 0::2] = np.clip(b[:, 0::2], 0, w[:, None])
    clipped[:, 1::2] = np.clip(b[:, 1::2], 0, h[:, None])
    gone = (clipped[:, 2] <= clipped[:, 0]) | (clipped[:, 3] <= clipped[:, 1]) | ~(_area(clipped) > 0)
    if gone.any() and not (keep_outside and not clip):
        idx = np.flatnonzero(gone)
        i = int(idx[0])
        raise GeometryError(
            f"{_listing(idx, b, what + ' row')} lies entirely outside the {w[i]:g}×{h[i]:g} image, so clipping "
            "would leave nothing; check the coordinate format (relative vs pixels, xywh vs xyxy) and the "
            "image size, or drop these rows"
        )
    if strict and outside.any():
        idx = np.flatnonzero(outside)
        i = int(idx[0])
        raise GeometryError(
            f"{_listing(idx, b, what + ' row')} extends outside the {w[i]:g}×{h[i]:g} image; "
            "fix the coordinates, clip them with clip_boxes(), or pass strict=False to clip with a warning"
        )
    if not clip:
        return b.astype(np.float64, copy=True), []
    warns: list[str] = []
    idx = np.flatnonzero(outside)
    for i in idx[:_MAX_LISTED]:
        warns.append(
            f"{what} row {int(i)} {_fmt(b[i])} extends outside the {w[i]:g}×{h[i]:g} image "
            f"and was clipped to {_fmt(clipped[i])}"
        )
    if len(idx) > _MAX_LISTED:
        warns.append(
            f"{len(idx) - _MAX_LISTED} more {what} rows extended outside their image and were clipped "
            "(pass strict=True to get an error instead)"
        )
    return clipped, warns


def validate_points(
    points: Any,
    width: float,
    height: float,
    *,
    strict: bool = False,
    what: str = "polygon",
    clip: bool = True,
    keep_outside: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """Check a ``(K, 2)`` point set or ``(K, 3)`` keypoints against a ``width`` × ``height`` image.

    With a third column (keypoint visibility 0/1/2), points with ``v == 0`` are not checked or clipped.
    Raises :class:`~nblabel.errors.GeometryError` for NaN/inf coordinates, a visibility outside
    {0, 1, 2}, a ``"polygon"`` with fewer than 3 points or zero area, a ``"line"`` with fewer than 2
    points or zero length, a polygon/line lying entirely outside the image, or (``strict=True``) any point
    outside ``[0, width] × [0, height]`` beyond :data:`TOLERANCE`. Otherwise outside points are clipped
    and a warning string is returned; with ``clip=False`` they are returned as given, without warnings.

    Args:
        points: ``[[x, y], ...]``, ``[[x, y, v], ...]`` or flat ``[x0, y0, x1, y1, ...]``.
        width, height: image size in pixels.
        strict: raise instead of clipping.
        what: ``"polygon"``, ``"line"``, ``"keypoints"`` or another noun (no count/area rule then).
        clip: clip points outside the image (``False``: keep them as given).
        keep_outside: with ``clip=False``, keep a polygon/line lying entirely outside the image too.

    Returns:
        ``(points, warnings)``: the (clipped) float64 array, same shape as the input, and warnings.

    Example:
        >>> pts, warns = validate_points([[0, 0], [120, 0], [50, 40]], 100, 50)
        >>> pts.tolist()
        [[0.0, 0.0], [100.0, 0.0], [50.0, 40.0]]
        >>> warns
        ['polygon point 1 [120, 0] lies outside the 100×50 image and was clipped to [100, 0]']
        >>> validate_points([[0, 0], [120, 0], [50, 40]], 100, 50, clip=False)[0].tolist()
        [[0.0, 0.0], [120.0, 0.0], [50.0, 40.0]]
        >>> validate_points([[0, 0], [10, 10]], 100, 50)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nblabel.errors.GeometryError: polygon has 2 points; a polygon needs at least 3 ...
    """
    p = as_points(points, what)
    w, h = _image_size(width, height, 1, what)
    w0, h0 = float(w[0]), float(h[0])
    if p.shape[1] == 3:
        v = p[:, 2]
        bad_v = ~np.isin(v, (0.0, 1.0, 2.0))
        if bad_v.any():
            idx = np.flatnonzero(bad_v)
            raise GeometryError(
                f"{_listing(idx, p, what + ' point')} has visibility {v[idx[0]]:g}; keypoint visibility must "
                "be 0 (not labeled), 1 (labeled, hidden) or 2 (labeled, visible)"
            )
        active = v > 0
    else:
        active = np.ones(len(p), dtype=bool)
    xy = p[:, :2]
    finite = np.isfinite(xy).all(axis=1) | ~active
    if not finite.all():
        idx = np.flatnonzero(~finite)
        raise GeometryError(
            f"{_listing(idx, p, what + ' point')} has non-finite coordinates (NaN or inf); fix or remove "
            "these points (for keypoints set visibility 0 to mark a point as not labeled)"
        )
    n_active = int(active.sum())
    minimum = {"polygon": 3, "line": 2}.get(what)
    if minimum is not None and n_active < minimum:
        raise GeometryError(
            f"{what} has {n_active} points; a {what} needs at least {minimum} [x, y] points "
            "(a flat list [x0, y0, x1, y1, ...] holds two numbers per point)"
        )
    if what == "polygon" and polygon_area(xy[active]) <= 0:
        raise GeometryError(
            f"polygon {_fmt(xy[active].ravel())} has zero area (all points repeated or on one line); "
            "draw at least three points that are not collinear, or use a line instead"
        )
    if what == "line" and np.ptp(xy[active], axis=0).max() <= 0:
        raise GeometryError(
            f"line {_fmt(xy[active].ravel())} has zero length (all points are the same); "
            "draw at least two distinct points"
        )
    tol = TOLERANCE
    outside = active & ((xy[:, 0] < -tol) | (xy[:, 1] < -tol) | (xy[:, 0] > w0 + tol) | (xy[:, 1] > h0 + tol))
    out = p.copy()
    out[active, 0] = np.clip(xy[active, 0], 0, w0)
    out[active, 1] = np.clip(xy[active, 1], 0, h0)
    cxy = out[active, :2]
    ax = xy[active]
    beyond_one_border = bool(
        (ax[:, 0] >= w0).all() or (ax[:, 0] <= 0).all() or (ax[:, 1] >= h0).all() or (ax[:, 1] <= 0).all()
    )
    gone = (what == "polygon" and polygon_area(cxy) <= 0) or (what == "line" and beyond_one_border)
    if gone and not (keep_outside and not clip):
        raise GeometryError(
            f"{what} {_fmt(xy[active].ravel())} lies entirely outside the {w0:g}×{h0:g} image, so clipping "
            "would leave nothing; check the coordinate format (relative vs pixels) and the image size"
        )
    if strict and outside.any():
        idx = np.flatnonzero(outside)
        raise GeometryError(
            f"{_listing(idx, p, what + ' point')} lies outside the {w0:g}×{h0:g} image; fix the "
            "coordinates or pass strict=False to clip them with a warning"
        )
    if not clip:
        return p.astype(np.float64, copy=True), []
    warns: list[str] = []
    idx = np.flatnonzero(outside)
    if len(idx):
        shown = ", ".join(f"{what} point {int(i)} {_fmt(xy[i])}" for i in idx[:_MAX_LISTED])
        more = f" (and {len(idx) - _MAX_LISTED} more)" if len(idx) > _MAX_LISTED else ""
        if len(idx) == 1:
            i = int(idx[0])
            warns.append(
                f"{shown} lies outside the {w0:g}×{h0:g} image and was clipped to {_fmt(out[i, :2])}"
            )
        else:
            warns.append(f"{shown}{more} lie outside the {w0:g}×{h0:g} image and were clipped to its border")
    return out, warns
