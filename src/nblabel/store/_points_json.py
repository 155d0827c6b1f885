"""The ``points`` column's JSON text for many checked rows, built from flat arrays in DuckDB.

``instances.points`` holds JSON text exactly as ``json.dumps`` writes the nested lists
(``[[x, y], ...]``, rings for polygons, ``", "`` between items, Python's shortest float repr), and
readers such as ``proj.instances().df()`` hand that text out as it is. One ``json.dumps`` per row
(after turning each row back into lists) was most of a batch write of point geometry; instead
the flat coordinates go to DuckDB as one Arrow list array and come back as text. DuckDB's JSON
writer (``to_json``, fast) prints numbers as Python does wherever Python uses plain notation
(0 and 1e-4 ≤ |x| < 1e16: every pixel coordinate); a row with any other number goes through the
VARCHAR cast instead, which prints doubles exactly as ``repr`` does (``1e-05``, ``1e+16``), and
only NaN/inf (invisible keypoints may carry them: JSON's ``NaN``/``Infinity``) are fixed up in
the rows that have them. The tests check both against ``json.dumps``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from ._arrow_scan import NAME, run_over
from ._points_flat import CheckedPoints, FlatPoints

__all__ = ["dumps", "points_json"]


def dumps(v: Any) -> str | None:
    """One value of a JSON column as text: ``None`` (or NaN) stays NULL, text is taken as JSON already.

    Example:
        >>> dumps([[1, 2.5]]), dumps('{"a": 1}'), dumps(float("nan"))
        ('[[1, 2.5]]', '{"a": 1}', None)
    """
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return v if isinstance(v, str) else json.dumps(v)


def _offsets(counts: np.ndarray) -> pa.Int64Array:
    return pa.array(np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]), type=pa.int64())


def _list_array(flat: FlatPoints) -> pa.Array:
    """Rows → (rings →) points → coordinates as nested Arrow large lists (points are lists too, as in JSON)."""
    n_pts, dim = flat.coords.shape
    values = pa.array(np.ascontiguousarray(flat.coords, dtype=float).ravel(), type=pa.float64())
    points = pa.LargeListArray.from_arrays(_offsets(np.full(n_pts, dim)), values)
    rings = pa.LargeListArray.from_arrays(_offsets(flat.ring_points), points)
    return pa.LargeListArray.from_arrays(_offsets(flat.row_rings), rings) if flat.nested else rings


def _texts(con: Any, flat: FlatPoints) -> list[str]:
    c = flat.coords
    a = np.abs(c)
    # DuckDB's JSON writer prints these numbers as Python does (shortest round trip, same notation);
    # outside this range (and for NaN, inf) Python switches to 1e-05 / 1e+16 and only the VARCHAR cast agrees
    plain_value = ((a >= 1e-4) & (a < 1e16)) | (c == 0)
    plain = np.ones(len(flat.row_rings), dtype=bool)
    if not plain_value.all():
        plain[_rows_of_points(flat, ~plain_value.all(axis=1))] = False
    table = pa.table({"i": pa.array(np.arange(len(plain), dtype=np.int64)), "plain": pa.array(plain),
                      "p": _list_array(flat)})
    texts = run_over(con, "SELECT CASE WHEN plain THEN replace(to_json(p)::VARCHAR, ',', ', ') ELSE p::VARCHAR END "  # noqa: S608
                     f"AS t FROM {NAME} ORDER BY i", table).fetchnumpy()["t"].tolist()
    if not plain.all():
        for r in _rows_of_points(flat, ~np.isfinite(c).all(axis=1)).tolist():
            texts[r] = texts[r].replace("nan", "NaN").replace("inf", "Infinity")
    return texts


def _rows_of_points(flat: FlatPoints, pts: np.ndarray) -> np.ndarray:
    """The rows (positions in ``flat``) that hold any of the points where ``pts`` is True."""
    ring_of_pt = np.repeat(np.arange(len(flat.ring_points)), flat.ring_points)
    row_of_ring = np.repeat(np.arange(len(flat.row_rings)), flat.row_rings)
    return np.unique(row_of_ring[ring_of_pt[pts]])


def points_json(con: Any, points: CheckedPoints) -> list[str | None]:
    """Per row, its checked points as the JSON text the ``points`` column stores (``None``: refused).

    ``con`` is any DuckDB connection (the write's transaction): only a cast runs on it, over an Arrow table.

    Example:
        >>> import duckdb
        >>> flat = FlatPoints(np.array([[1.0, 2.5], [3.0, 4.0], [5.0, 1.0]]), np.array([3]), np.array([1]), nested=True)
        >>> points_json(duckdb.connect(), CheckedPoints(2, flat=[(np.array([1]), flat)], values={0: [[0.5, 1e-07]]}))
        ['[[0.5, 1e-07]]', '[[[1.0, 2.5], [3.0, 4.0], [5.0, 1.0]]]']
    """
    out: list[str | None] = [None] * points.n
    for rows, flat in points.flat:
        for i, t in zip(rows.tolist(), _texts(con, flat), strict=True):
            out[i] = t
    for i, v in points.values.items():
        out[i] = dumps(v)
    return out
