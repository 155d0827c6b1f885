"""COCO annotations to compact columns keyed by COCO ids, vectorised, before the write transaction.

A chunk of decoded annotations (dicts, as the stream reader hands them out) becomes columns with
one C-level pass per field (``map``, ``set``, ``itertools.chain``, numpy) instead of a Python loop
per annotation: COCO annotation/image/category ids, the xyxy box, polygon rings as one flat float
array with offsets, area, iscrowd, and ``extra`` as the JSON text the store keeps (None when it is
just the COCO id: the text is made per frame, not held for the whole file). These
are the rows that pass every check of the reference conversion which needs no project state:
the right id types, a bbox of 4 finite numbers with a non-negative size, polygon rings of at
least 3 points of plain numbers. Everything else (a missing key, a bad bbox, keypoints, RLE
masks, non-objects) is kept as it was decoded, with its place in the file, for the reference
conversion (``nblabel.io._coco._annotation_rows``), which words its problem. Which image and
category ids exist, and repeated annotation ids, are checked later on the columns
(:mod:`._coco_staged`), so this module changes the speed of an import, never its results.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

__all__ = ["StagedPart", "stage_chunk"]

_IDS = {int, str}
_NUMS = {int, float}


@dataclass
class StagedPart:
    """One chunk staged: the fast rows as columns (``pos``: place in the file) and the slow rows as decoded.

    ``ring_len``/``row_rings`` describe polygon rows only (in order): the coordinates of each ring
    in ``coords`` and the rings of each polygon row. ``typed_pos``/``typed_aid``: the slow rows
    whose ids have the right types (the reference remembers their annotation id).
    """

    pos: np.ndarray
    aid: np.ndarray
    iid: np.ndarray
    cid: np.ndarray
    box: np.ndarray
    poly: np.ndarray
    coords: np.ndarray
    ring_len: np.ndarray
    row_rings: np.ndarray
    area: np.ndarray
    iscrowd: np.ndarray
    extra: list[str] | None  # None: every row's is just its COCO id (made when the frame is)
    slow_pos: list[int]
    slow: list[Any]
    typed_pos: np.ndarray
    typed_aid: np.ndarray


def ids_array(vals: Sequence[Any]) -> np.ndarray:
    """Ids as int64 when they all are ints that fit, else as objects (str ids, mixed)."""
    if set(map(type, vals)) <= {int}:
        try:
            return np.array(vals, dtype=np.int64)
        except OverflowError:
            pass
    out = np.empty(len(vals), dtype=object)
    out[:] = list(vals)
    return out


def _typed(vals: Sequence[Any], types: set[type]) -> np.ndarray:
    """Which values have exactly one of ``types`` (``bool`` is not ``int`` here, as in the reference)."""
    if set(map(type, vals)) <= types:
        return np.ones(len(vals), dtype=bool)
    return np.fromiter((type(v) in types for v in vals), dtype=bool, count=len(vals))


def _numbers(flat: list[Any]) -> np.ndarray | None:
    """``flat`` as float64 when every value is a plain int or float (else None)."""
    if not set(map(type, flat)) <= _NUMS:
        return None
    try:
        return np.array(flat, dtype=float)
    except (OverflowError, ValueError):  # an int too large for a float: the reference words it
        return None


def _boxes(bbs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(ok, xyxy)`` for present bbox values: ok where the bbox is 4 finite numbers with a
    non-negative width and height."""
    n = len(bbs)
    ok = np.zeros(n, dtype=bool)
    xyxy = np.full((n, 4), np.nan)
    if set(map(type, bbs)) == {list} and set(map(len, bbs)) == {4}:
        idx = np.arange(n)
    else:
        idx = np.flatnonzero(np.fromiter((type(b) is list and len(b) == 4 for b in bbs), dtype=bool, count=n))
    vals = _numbers(list(chain.from_iterable(bbs[i] for i in idx)))
    if vals is None and len(idx):  # some non-number inside: find those rows one by one (rare)
        idx = idx[np.fromiter((set(map(type, bbs[i])) <= _NUMS for i in idx), dtype=bool, count=len(idx))]
        vals = _numbers(list(chain.from_iterable(bbs[i] for i in idx)))
    if vals is None or not len(idx):
        return ok, xyxy
    v = vals.reshape(-1, 4)
    x, y, w, h = v.T
    with np.errstate(invalid="ignore", over="ignore"):
        ok[idx] = np.isfinite(v).all(axis=1) & (w >= 0) & (h >= 0)
        xyxy[idx] = np.column_stack([x, y, x + w, y + h])
    return ok, xyxy


def _polygons(segs: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Which segmentation lists (non-empty) are rings of at least 3 points of plain numbers each,
    and the rings of every row."""
    n = len(segs)
    counts = np.fromiter(map(len, segs), dtype=np.int64, count=n)
    rings = list(chain.from_iterable(segs))
    if set(map(type, rings)) == {list}:
        ring_ok = np.ones(len(rings), dtype=bool)
        lens = np.fromiter(map(len, rings), dtype=np.int64, count=len(rings))
    else:
        ring_ok = np.fromiter((type(r) is list for r in rings), dtype=bool, count=len(rings))
        lens = np.fromiter((len(r) if type(r) is list else 0 for r in rings), dtype=np.int64, count=len(rings))
    ring_ok &= (lens >= 6) & (lens % 2 == 0)
    good = np.flatnonzero(ring_ok)
    if len(good) and not set(map(type, chain.from_iterable(rings[i] for i in good))) <= _NUMS:
        ring_ok[good] = np.fromiter((set(map(type, rings[i])) <= _NUMS for i in good), dtype=bool, count=len(good))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.logical_and.reduceat(ring_ok, starts), rings


def stage_chunk(anns: list[Any], offset: int, standard: set[str]) -> StagedPart:
    """Stage one chunk of annotations, the first at ``offset`` in the file (see the module docstring).

    ``standard``: the COCO keys that are not copied into ``extra``.

    Example:
        >>> anns = [{"id": 7, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]}, {"id": 8}]
        >>> s = stage_chunk(anns, 100, {"id", "image_id", "category_id", "bbox"})
        >>> s.pos.tolist(), s.box.tolist(), s.slow_pos, s.extra
        ([100], [[1.0, 2.0, 4.0, 6.0]], [101], None)
    """
    n = len(anns)
    is_dict = _typed(anns, {dict})
    dicts = anns if is_dict.all() else [a if type(a) is dict else {} for a in anns]
    aid = [a.get("id") for a in dicts]
    iid = [a.get("image_id") for a in dicts]
    cid = [a.get("category_id") for a in dicts]
    typed = is_dict & _typed(aid, _IDS) & _typed(iid, _IDS) & _typed(cid, _IDS)
    ok = typed.copy()
    kps = [a.get("keypoints") for a in dicts]
    segs: list[Any] = [a.get("segmentation") for a in dicts]
    no_kps = np.fromiter((not k for k in kps), dtype=bool, count=n)
    seg_list = np.fromiter((type(s) is list and len(s) > 0 for s in segs), dtype=bool, count=n)
    seg_dict = np.fromiter((isinstance(s, dict) for s in segs), dtype=bool, count=n)
    bbs = [a.get("bbox") for a in dicts]
    has_bb = np.fromiter((b is not None for b in bbs), dtype=bool, count=n)
    is_poly = no_kps & seg_list
    ok &= is_poly | (no_kps & ~seg_list & ~seg_dict & has_bb)  # keypoints and masks: the reference
    xyxy = np.full((n, 4), np.nan)
    at = np.flatnonzero(ok & has_bb)
    if len(at):
        b_ok, xyxy[at] = _boxes([bbs[i] for i in at])
        ok[at[~b_ok]] = False
    at = np.flatnonzero(ok & is_poly)
    rings: list[Any] = []
    ring_rows = np.zeros(0, dtype=np.int64)
    if len(at):
        p_ok, rings_all = _polygons([segs[i] for i in at])
        ok[at[~p_ok]] = False
        counts = np.fromiter(map(len, [segs[i] for i in at]), dtype=np.int64, count=len(at))
        keep_ring = np.repeat(p_ok, counts)
        rings = [r for r, k in zip(rings_all, keep_ring.tolist(), strict=True) if k]
        ring_rows = counts[p_ok]
    keep = np.flatnonzero(ok)
    coords = np.array(list(chain.from_iterable(rings)), dtype=float) if rings else np.zeros(0)
    areas = [dicts[i].get("area") for i in keep]
    if set(map(type, areas)) <= _NUMS:
        area = np.array(areas, dtype=float) if areas else np.zeros(0)
    else:
        area = np.array([v if type(v) in _NUMS else np.nan for v in areas], dtype=float)
    keep_aid = [aid[i] for i in keep]
    if not set(chain.from_iterable(dicts[i] for i in keep)) <= standard - {"num_keypoints"}:
        texts: list[str] = []
        for i in keep:
            a = dicts[i]
            e = {"coco_id": aid[i]}
            e.update({k: v for k, v in a.items() if k not in standard})
            if "num_keypoints" in a:
                e["num_keypoints"] = a["num_keypoints"]
            texts.append(json.dumps(e))
        extra: list[str] | None = texts
    elif set(map(type, keep_aid)) <= {int}:
        extra = None  # {"coco_id": id}, written when the frame is made (no string per row held meanwhile)
    else:
        extra = [json.dumps({"coco_id": v}) for v in keep_aid]
    slow_at = np.flatnonzero(~ok)
    slow_typed = slow_at[typed[slow_at]]
    return StagedPart(
        pos=keep + offset, aid=ids_array(keep_aid), iid=ids_array([iid[i] for i in keep]),
        cid=ids_array([cid[i] for i in keep]), box=xyxy[keep], poly=is_poly[keep],
        coords=coords, ring_len=np.fromiter(map(len, rings), dtype=np.int64, count=len(rings)), row_rings=ring_rows,
        area=area, iscrowd=np.fromiter((bool(dicts[i].get("iscrowd", 0)) for i in keep), dtype=bool,
                                       count=len(keep)),
        extra=extra, slow_pos=(slow_at + offset).tolist(), slow=[anns[i] for i in slow_at],
        typed_pos=slow_typed + offset, typed_aid=ids_array([aid[i] for i in slow_typed]))
