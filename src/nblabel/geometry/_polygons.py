"""Polygons, lines and point sets: shoelace area and xyxy extent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nblabel.errors import GeometryError, ValidationError

__all__ = ["as_points", "extent", "polygon_area", "polygon_areas", "polygons_area"]


def as_points(points: Any, name: str = "points") -> np.ndarray:
    """Return ``points`` as a float64 ``(K, 2)`` or ``(K, 3)`` array.

    A 1-D input is read as flat COCO coordinates ``[x0, y0, x1, y1, ...]``.

    Example:
        >>> as_points([0, 0, 4, 0, 4, 3]).tolist()
        [[0.0, 0.0], [4.0, 0.0], [4.0, 3.0]]
    """
    if hasattr(points, "to_numpy"):
        points = points.to_numpy()
    try:
        arr = np.array(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{name} could not be read as numbers ({exc}); pass [[x, y], ...] or a flat [x0, y0, x1, y1, ...] list"
        ) from None
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.float64)
    if arr.ndim == 1:
        if arr.size % 2:
            raise ValidationError(
                f"{name} is a flat list of {arr.size} numbers; flat coordinates come in x, y pairs, "
                "so the length must be even"
            )
        arr = arr.reshape(-1, 2)
    if arr.ndim != 2 or arr.shape[1] not in (2, 3):
        raise ValidationError(
            f"{name} must have shape (K, 2) or (K, 3) (x, y[, visibility]), got {arr.shape}"
        )
    return arr


def polygon_area(points: Any) -> float:
    """Area of a simple polygon by the shoelace formula (orientation does not matter).

    Args:
        points: ``[[x, y], ...]`` or flat ``[x0, y0, x1, y1, ...]``; the ring is closed implicitly.

    Example:
        >>> polygon_area([[0, 0], [4, 0], [4, 3]])
        6.0
        >>> polygon_area([0, 0, 2, 0, 2, 2, 0, 2])
        4.0
    """
    p = as_points(points)[:, :2]
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    # centre on the first vertex to reduce cancellation for large coordinates
    x = x - x[0]
    y = y - y[0]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def polygon_areas(rings: Sequence[Any]) -> np.ndarray:
    """Shoelace area of each ring, vectorised over all rings at once, shape ``(len(rings),)``.

    Example:
        >>> polygon_areas([[0, 0, 2, 0, 2, 2], [0, 0, 1, 0, 1, 1, 0, 1]]).tolist()
        [2.0, 1.0]
    """
    parts = [as_points(r, f"rings[{i}]")[:, :2] for i, r in enumerate(rings)]
    if not parts:
        return np.zeros(0, dtype=np.float64)
    lengths = np.array([len(p) for p in parts], dtype=np.int64)
    pts = np.concatenate(parts) if lengths.sum() else np.zeros((0, 2))
    ring_id = np.repeat(np.arange(len(parts)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    # index of the next vertex within the same ring (wrapping to the ring's first vertex)
    nxt = np.arange(len(pts)) + 1
    ends = starts + lengths - 1
    nonempty = lengths > 0
    nxt[ends[nonempty]] = starts[nonempty]
    q = pts - pts[starts[ring_id]]  # centre each ring on its first vertex
    cross = q[:, 0] * q[nxt, 1] - q[:, 1] * q[nxt, 0]
    areas = np.abs(np.bincount(ring_id, weights=cross, minlength=len(parts))) / 2.0
    areas[lengths < 3] = 0.0
    return areas


def polygons_area(rings: Sequence[Any]) -> float:
    """Total area of a multi-part polygon (a list of rings, as in a COCO segmentation).

    Rings are summed; holes are not subtracted and overlaps are counted twice.

    Example:
        >>> polygons_area([[0, 0, 2, 0, 2, 2], [10, 10, 11, 10, 11, 11, 10, 11]])
        3.0
    """
    return float(polygon_areas(rings).sum())


def extent(points: Any) -> np.ndarray:
    """``[x0, y0, x1, y1]`` extent of a polygon, line or point set.

    For ``(K, 3)`` keypoints only points with visibility ``v > 0`` count.

    Example:
        >>> extent([[1, 5], [3, 2], [2, 4]]).tolist()
        [1.0, 2.0, 3.0, 5.0]
        >>> extent([[1, 1, 2], [50, 50, 0], [3, 4, 1]]).tolist()
        [1.0, 1.0, 3.0, 4.0]
    """
    p = as_points(points)
    if p.shape[1] == 3:
        p = p[p[:, 2] > 0]
    if len(p) == 0:
        raise GeometryError(
            "extent() got no points (or no keypoints with visibility > 0); an extent needs at least one point"
        )
    xy = p[:, :2]
    lo = xy.min(axis=0)
    hi = xy.max(axis=0)
    return np.array([lo[0], lo[1], hi[0], hi[1]], dtype=np.float64)
