"""A C-level decode of a clean stretch of COCO annotations straight into staged columns (msgspec).

The stream reader (:mod:`._coco_stream`) cuts the text of the ``annotations`` list into stretches
of about a megabyte at item borders; :func:`stage_text` decodes one with ``msgspec`` into typed,
untracked structs (no dict, no key string per annotation, nothing for the garbage collector to
walk) and turns them into the columns :mod:`._coco_columns` makes, in one pass per field.

Only a stretch in which every annotation is a plain box or polygon row is taken: integer ids,
a ``bbox`` of 4 finite numbers with a non-negative size (or none, with a polygon), polygon rings
of at least 3 points, a number (or nothing) as ``area``, and no key but ``id``, ``image_id``,
``category_id``, ``bbox``, ``segmentation``, ``area``, ``iscrowd``. Anything else in it (malformed
JSON included) gives None and the reader decodes that stretch with the standard library as
before, where :mod:`._coco_columns` and the reference conversion word every problem — so this
module changes the speed of an import, never its result (``tests/test_import_large.py`` checks
both paths row for row). Without ``msgspec`` installed every stretch takes the standard path.
"""

from __future__ import annotations

from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np

from ._coco_columns import StagedPart

try:  # an optional speed-up: the standard path gives the same rows
    import msgspec
except ImportError:  # pragma: no cover - the main environment has it
    AVAILABLE = False
else:
    AVAILABLE = True

__all__ = ["AVAILABLE", "stage_text"]

if AVAILABLE:
    class _Ann(msgspec.Struct, forbid_unknown_fields=True, gc=False):
        """One plain COCO annotation as msgspec checks it (any other key refuses the stretch)."""

        id: int
        image_id: int
        category_id: int
        bbox: tuple[float, float, float, float] | None = None
        segmentation: list[list[float]] | None = None
        area: float | None = None
        iscrowd: int | bool | None = 0

    _DECODE = msgspec.json.Decoder(list[_Ann]).decode

_ID, _IID, _CID = attrgetter("id"), attrgetter("image_id"), attrgetter("category_id")
_BBOX, _SEG, _AREA, _CROWD = attrgetter("bbox"), attrgetter("segmentation"), attrgetter("area"), attrgetter("iscrowd")
_EMPTY_I = np.zeros(0, dtype=np.int64)


def _ids(anns: list[Any], get: Any) -> np.ndarray:
    return np.fromiter(map(get, anns), dtype=np.int64, count=len(anns))  # OverflowError past int64


def stage_text(text: str, offset: int) -> StagedPart | None:
    """The staged columns of ``text`` (a JSON array of annotations, the first at ``offset`` in the
    file) when every annotation in it is a plain box or polygon row; else None (see the module docstring).

    Example:
        >>> s = stage_text('[{"id": 7, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]}]', 100)
        >>> s.pos.tolist(), s.box.tolist(), s.extra, s.slow
        ([100], [[1.0, 2.0, 4.0, 6.0]], None, [])
        >>> stage_text('[{"id": 7, "image_id": 1, "category_id": 3, "bbox": [1, 2, -3, 4]}]', 0) is None
        True
    """
    if not AVAILABLE:
        return None
    try:
        anns = _DECODE(text)
        aid, iid, cid = _ids(anns, _ID), _ids(anns, _IID), _ids(anns, _CID)
    except (msgspec.DecodeError, OverflowError):  # malformed, another shape, an id past int64
        return None
    n = len(anns)
    bbs = list(map(_BBOX, anns))
    segs = list(map(_SEG, anns))
    xyxy = np.full((n, 4), np.nan)
    if any(segs):  # some polygons
        poly = np.fromiter(map(bool, segs), dtype=bool, count=n)
        has_bb = np.fromiter((b is not None for b in bbs), dtype=bool, count=n)
        if not (poly | has_bb).all():
            return None  # neither a bbox nor a segmentation: the reference words it
        at = np.flatnonzero(poly)
        row_rings = np.fromiter((len(segs[i]) for i in at), dtype=np.int64, count=len(at))
        rings = list(chain.from_iterable(segs[i] for i in at))
        ring_len = np.fromiter(map(len, rings), dtype=np.int64, count=len(rings))
        if not ((ring_len >= 6) & (ring_len % 2 == 0)).all():
            return None
        coords = np.fromiter(chain.from_iterable(rings), dtype=float, count=int(ring_len.sum()))
        boxed = np.flatnonzero(has_bb)
        given = [bbs[i] for i in boxed]
    else:
        if None in bbs:
            return None
        poly, row_rings, ring_len, coords = np.zeros(n, dtype=bool), _EMPTY_I, _EMPTY_I, np.zeros(0)
        boxed, given = np.arange(n), bbs
    v = np.fromiter(chain.from_iterable(given), dtype=float, count=4 * len(given)).reshape(-1, 4)
    x, y, w, h = v.T
    with np.errstate(invalid="ignore", over="ignore"):
        if not (np.isfinite(v).all() and (w >= 0).all() and (h >= 0).all()):
            return None
        xyxy[boxed] = np.column_stack([x, y, x + w, y + h])
    areas = list(map(_AREA, anns))
    area = (np.array([np.nan if a is None else a for a in areas], dtype=float) if None in areas
            else np.fromiter(areas, dtype=float, count=n))
    return StagedPart(
        pos=np.arange(offset, offset + n, dtype=np.int64), aid=aid, iid=iid, cid=cid, box=xyxy, poly=poly,
        coords=coords, ring_len=ring_len, row_rings=row_rings, area=area,
        iscrowd=np.fromiter(map(bool, map(_CROWD, anns)), dtype=bool, count=n), extra=None, slow_pos=[], slow=[],
        typed_pos=_EMPTY_I, typed_aid=_EMPTY_I)
