"""Point input of many rows as one flat coordinate array, and checked points held that way.

Instances with point geometry (polygons, keypoints, points, lines) arrive as nested Python lists or
arrays, one per row, in several shapes: flat ``[x0, y0, ...]``, points ``[[x, y], ...]``, or a list
of rings of either (polygons). :func:`flatten` turns the rows of one kind into one coordinate array
plus offsets (rings of a row, coordinates of a ring), as :func:`nblabel.geometry.polygon_areas` does;
rows of one shape holding only numbers (the common case: every row an equal-length list) are
flattened level by level in C (``chain`` / ``map``, no Python per row), other inputs go through a
walk that tells the shapes apart row by row. :class:`CheckedPoints` holds the
result of the checks: most rows still as flat arrays (:class:`FlatPoints`), the rest as the Python
values the reference check returned; it turns into lists (one row) or JSON text (a batch write,
:mod:`._points_json`) without a per-point Python step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np

__all__ = ["SEQ", "CheckedPoints", "FlatPoints", "flatten"]

SEQ = (list, tuple, np.ndarray)


def _ring_parts(pts: Any, dim: int, several: bool) -> tuple[list, list[int]] | None:
    """The rings of one row (each a flat or a point list) and their coordinate counts; ``None``: a shape
    the reference should judge. Rings are told apart from points as ``_check_points._as_rings`` does."""
    if not isinstance(pts, SEQ) or len(pts) == 0:
        return None
    first = pts[0]
    if np.isscalar(first) or (isinstance(first, SEQ) and len(first) and np.isscalar(first[0])
                              and (len(first) == 2 or not several)):
        rings = [pts]
    elif several:
        rings = list(pts)
    else:
        return None
    counts = []
    for ring in rings:
        if not isinstance(ring, SEQ) or len(ring) == 0:
            return None
        if np.isscalar(ring[0]):
            counts.append(len(ring))
        elif all(isinstance(p, SEQ) and len(p) == dim for p in ring):
            counts.append(dim * len(ring))
        else:
            return None
    return rings, counts


def _walk(rows: list[Any], dim: int, several: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ok = np.ones(len(rows), dtype=bool)
    parts: list[Any] = []
    counts: list[int] = []
    ring_row: list[int] = []
    for i, pts in enumerate(rows):
        got = _ring_parts(pts, dim, several)
        if got is None:
            ok[i] = False
            continue
        rings, cs = got
        parts.extend(rings)
        counts.extend(cs)
        ring_row.extend([i] * len(cs))
    flat = chain.from_iterable(r if np.isscalar(r[0]) else chain.from_iterable(r) for r in parts)
    coords = np.fromiter(flat, dtype=float, count=int(sum(counts)))
    return coords, np.asarray(counts, dtype=np.int64), np.asarray(ring_row, dtype=np.int64), ok


def _uniform_shape(shape: tuple[int, ...], dim: int, several: bool) -> tuple[int, int] | None:
    """``(rings per row, coordinates per ring)`` of rows that all have ``shape`` (the array's shape
    without its first axis), read as :func:`_ring_parts` reads one row; ``None``: let the walk judge."""
    if 0 in shape:
        return None
    if len(shape) == 1:  # flat [x0, y0, x1, y1, ...]: one ring
        return 1, shape[0]
    if len(shape) == 2:
        k, m = shape
        if m == dim and (m == 2 or not several):  # one ring of points [[x, y], ...]
            return 1, k * m
        if several:  # a list of flat rings
            return k, m
        return None
    if len(shape) == 3 and several and shape[2] == dim:  # rings of points
        return shape[0], shape[1] * shape[2]
    return None


_LISTS = {list, tuple}


def _first_shape(row: Any) -> tuple[int, ...] | None:
    """The nesting of ``row`` read along its first items (``[[x, y], ...]`` → ``(k, 2)``); None if it
    has an empty level, more than three, or no number at the bottom."""
    shape: list[int] = []
    x = row
    while isinstance(x, SEQ):
        if len(x) == 0 or len(shape) == 3:
            return None
        shape.append(len(x))
        x = x[0]
    return tuple(shape) if np.isscalar(x) and not isinstance(x, (str, bytes)) else None


def _uniform(rows: list[Any], shape: tuple[int, ...]) -> np.ndarray | None:
    """All coordinates of ``rows`` in order if every row is nested lists/tuples of ``shape`` (or every row
    an array of that shape); else None. One pass per level in C, no Python per row. The numbers are
    read as the walk reads them (``np.fromiter``), so a value that is no number raises the same way."""
    if all(isinstance(r, np.ndarray) for r in rows):
        try:
            a = np.asarray(rows)
        except ValueError:  # arrays of different shapes
            return None
        return a.astype(float).ravel() if a.shape[1:] == shape and a.dtype.kind in "fiub" else None
    level: list[Any] = rows
    for depth, size in enumerate(shape):
        if not set(map(type, level)) <= _LISTS or set(map(len, level)) != {size}:
            return None
        if depth < len(shape) - 1:
            level = list(chain.from_iterable(level))
    return np.fromiter(chain.from_iterable(level), dtype=float, count=len(level) * shape[-1])


def flatten(rows: list[Any], dim: int, *, several: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flatten rows into ``(coords, ring_counts, ring_row, ok)``; ``ok[i]`` False: row i has an unknown shape.

    ``dim``: coordinates per point (3 for keypoints' x, y, v); ``several=False``: a row is one
    point set (``[[x, y], ...]`` or flat), not a list of rings. Raises ``ValueError`` or
    ``TypeError`` when some coordinate is not a number.

    Example:
        >>> c, counts, ring_row, ok = flatten([[[0, 0], [4, 0], [4, 3]], [1, 1, 5, 1, 5, 4]], 2, several=True)
        >>> c.tolist(), counts.tolist(), ring_row.tolist(), ok.tolist()
        ([0.0, 0.0, 4.0, 0.0, 4.0, 3.0, 1.0, 1.0, 5.0, 1.0, 5.0, 4.0], [6, 6], [0, 1], [True, True])
    """
    n = len(rows)
    shape = _first_shape(rows[0]) if n else None
    got = _uniform_shape(shape, dim, several) if shape is not None else None
    if got is not None and shape is not None:
        coords = _uniform(rows, shape)
        if coords is not None:
            rings, per_ring = got
            return (coords, np.full(n * rings, per_ring, dtype=np.int64),
                    np.repeat(np.arange(n, dtype=np.int64), rings), np.ones(n, dtype=bool))
    return _walk(rows, dim, several)


@dataclass
class FlatPoints:
    """Checked points of some rows as one array: rows → rings (``nested``: polygons) → points → coordinates.

    ``coords`` is (points × dim); ``ring_points`` the points of each ring, rings in row order;
    ``row_rings`` the rings of each row (always 1 when not ``nested``).

    Example:
        >>> f = FlatPoints(np.array([[0., 0.], [4., 0.], [4., 3.], [1., 1.], [2., 2.]]), np.array([3, 2]),
        ...                np.array([1, 1]), nested=False)
        >>> f.to_lists()
        [[[0.0, 0.0], [4.0, 0.0], [4.0, 3.0]], [[1.0, 1.0], [2.0, 2.0]]]
    """

    coords: np.ndarray
    ring_points: np.ndarray
    row_rings: np.ndarray
    nested: bool

    def to_lists(self) -> list[Any]:
        """Each row's points as nested Python lists (what the reference check returns)."""
        rings = np.split(self.coords, np.cumsum(self.ring_points)[:-1]) if len(self.ring_points) else []
        as_lists = [r.tolist() for r in rings]
        if not self.nested:
            return as_lists
        ends = np.cumsum(self.row_rings).tolist()
        return [as_lists[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


@dataclass
class CheckedPoints:
    """The checked points of ``n`` rows: ``flat`` groups (row positions, their points), ``values`` the
    rows checked one by one; a row in neither was refused.

    Example:
        >>> c = CheckedPoints(2, values={1: [[1.0, 2.0]]})
        >>> c.to_lists()
        [None, [[1.0, 2.0]]]
    """

    n: int
    flat: list[tuple[np.ndarray, FlatPoints]] = field(default_factory=list)
    values: dict[int, Any] = field(default_factory=dict)

    def to_lists(self) -> list[Any]:
        """Per row, its points as Python lists (``None``: refused)."""
        out: list[Any] = [None] * self.n
        for rows, pts in self.flat:
            for i, p in zip(rows.tolist(), pts.to_lists(), strict=True):
                out[i] = p
        for i, p in self.values.items():
            out[i] = p
        return out
