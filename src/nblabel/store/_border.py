"""The border rule: what happens to geometry that crosses the image border, for every writer.

One rule for every importer (COCO ground truth and results, DataFrame predictions, YOLO, VOC,
Parquet, ``add_instances``): geometry is stored **as the source gave it** and the rows that cross
the border are counted in the import report's notes, so evaluation sees what the files say (as
pycocotools does). Geometry is clipped only where a person draws (``add_instance``, the annotator's
save) or when the caller asks (``clip=True``); ``strict=True`` refuses crossing rows, naming them.

A box lying entirely outside its image is refused, except where the source is COCO ground truth
(``keep_outside``): pycocotools keeps such annotations (they can only be missed), so must we.
A box of zero width or height (area 0) is refused where a person draws, and kept by the importers
(``keep_empty``; counted in the notes, refused with ``strict=True``): pycocotools evaluates them.
This module holds the vectorised box check and the report notes; :mod:`._prepare` applies them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._warnings import warn

__all__ = ["BoxCheck", "border_notes", "check_box_array", "crossing", "empty_notes", "warn_if_relative"]

#: Coordinates this far outside the image do not count as crossing (float noise from conversions).
EPS = 1e-6


class BoxCheck(NamedTuple):
    """What :func:`check_box_array` found: rows kept, refusals, clipping warnings, boxes, crossings."""

    ok: np.ndarray  #: rows that pass
    problems: list[tuple[str, str]]  #: ``("row <name>", reason)`` of refused rows
    warnings: list[str]  #: clipping warnings (``clip=True``)
    boxes: np.ndarray  #: the boxes, clipped where asked
    crossing: np.ndarray  #: kept rows that cross the border (before any clipping)
    outside: np.ndarray  #: kept rows lying entirely outside their image (``keep_outside``)
    empty: np.ndarray  #: kept rows of zero width or height (``keep_empty``)


def crossing(b: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Rows of ``(n, 4)`` xyxy ``b`` that reach past ``[0, w] × [0, h]`` by more than :data:`EPS`.

    Example:
        >>> crossing(np.array([[1., 1, 5, 5], [-3, 1, 5, 5]]), np.array([10., 10]), np.array([10., 10])).tolist()
        [False, True]
    """
    with np.errstate(invalid="ignore"):
        return (b[:, 0] < -EPS) | (b[:, 1] < -EPS) | (b[:, 2] > w + EPS) | (b[:, 3] > h + EPS)


def check_box_array(b: Any, w: np.ndarray, h: np.ndarray, tag: np.ndarray, strict: bool, names: Any, *,
                    clip: bool = True, keep_outside: bool = False, keep_empty: bool = False) -> BoxCheck:
    """Vectorised box checks of ``b`` (n × 4 xyxy) against the image sizes; ``tag`` rows are not checked.

    Refused: NaN/inf coordinates, no area, a box entirely outside its image (kept with
    ``keep_outside`` unless clipping), and with ``strict`` any box crossing the border. The others
    are clipped (``clip=True``, with one warning) or kept as given. ``keep_empty`` keeps boxes of zero
    width or height (``x1 == x0`` or ``y1 == y0``) as importers do, unless ``strict``; a negative size
    is always refused.

    Example:
        >>> one = np.array([10.0])
        >>> r = check_box_array([[-2, 1, 5, 5]], one, one, np.array([False]), False, [0], clip=False)
        >>> r.boxes.tolist(), r.crossing.tolist(), r.warnings
        ([[-2.0, 1.0, 5.0, 5.0]], [True], [])
        >>> check_box_array([[-2, 1, 5, 5]], one, one, np.array([False]), False, [0]).boxes.tolist()
        [[0.0, 1.0, 5.0, 5.0]]
        >>> r = check_box_array([[2, 1, 2, 5]], one, one, np.array([False]), False, [0], keep_empty=True)
        >>> r.ok.tolist(), r.empty.tolist()
        ([True], [True])
    """
    b = np.array(b, dtype=float).reshape(-1, 4)
    ok = np.ones(len(b), dtype=bool)
    finite = np.isfinite(b).all(axis=1)
    size = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1]) & ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) > 0)
    empty = ~size & (b[:, 2] >= b[:, 0]) & (b[:, 3] >= b[:, 1])  # zero width or height, not negative
    outside = crossing(b, w, h)
    no_overlap = (b[:, 2] <= 0) | (b[:, 3] <= 0) | (b[:, 0] >= w) | (b[:, 1] >= h)
    problems: list[tuple[str, str]] = []
    msgs: list[str] = []

    def fail(mask: np.ndarray, reason: str) -> None:
        for i in np.flatnonzero(mask & ok)[:1000]:
            problems.append((f"row {names[i]}", reason.format(box=np.round(b[i], 3).tolist(), w=int(w[i]),
                                                              h=int(h[i]))))
        ok[mask] = False

    fail(~tag & ~finite, "box {box} has NaN or infinite coordinates; drop the row or fix its coordinates")
    if keep_empty and strict:
        fail(~tag & finite & empty, "box {box} has zero width or height (strict=True); fix it, drop the row, "
             "or pass strict=False to store it as given (pycocotools evaluates such boxes)")
    fail(~tag & finite & ~size & ~(empty & keep_empty), "box {box} has no area (x1 <= x0 or y1 <= y0); "
         "check the box format (xyxy / xywh / cxcywh) and coordinate units")
    size = size | (empty & keep_empty)
    if not (keep_outside and not clip):
        fail(~tag & finite & size & no_overlap, "box {box} lies entirely outside the {w}x{h} image; "
             "check coords='absolute' vs 'relative' and the box format")
    if strict:
        fix = "pass strict=False to clip it" if clip else "pass clip=True to clip it (strict=False stores it as given)"
        fail(~tag & outside, "box {box} extends outside the {w}x{h} image (strict=True); fix it or " + fix)
    cross = ~tag & ok & outside
    if clip and cross.any():
        n = int(cross.sum())
        msgs.append(f"{n} box(es) extended outside their image and were clipped to it "
                    f"(first: row {names[np.flatnonzero(cross)[0]]}); pass strict=True to refuse them")
        b[cross, 0::2] = np.clip(b[cross, 0::2], 0, w[cross, None])
        b[cross, 1::2] = np.clip(b[cross, 1::2], 0, h[cross, None])
    return BoxCheck(ok, problems, msgs, b, cross, cross & no_overlap, ~tag & ok & empty)


def border_notes(n_crossing: int, n_outside: int, noun: str, *, clip: bool) -> list[str]:
    """The report notes of the border rule: how many rows crossed the border and what was done.

    Example:
        >>> border_notes(78, 0, "predictions", clip=False)
        ['78 predictions extend past the image border; stored as given (pass clip=True to clip)']
        >>> border_notes(1, 0, "lines", clip=True)
        ['1 line extended past the image border and was clipped to it (clip=True)']
    """
    if not n_crossing:
        return []
    one = n_crossing == 1
    what = noun[:-1] if one and noun.endswith("s") else noun
    if clip:
        return [f"{n_crossing} {what} extended past the image border and {'was' if one else 'were'} clipped to it "
                "(clip=True)"]
    notes = [f"{n_crossing} {what} {'extends' if one else 'extend'} past the image border; stored as given "
             "(pass clip=True to clip)"]
    if n_outside:
        notes.append(f"{n_outside} of them {'lies' if n_outside == 1 else 'lie'} entirely outside the image; "
                     "kept, as COCO evaluation (pycocotools) keeps them")
    return notes


def empty_notes(n_empty: int, noun: str) -> list[str]:
    """The report note for boxes of zero width or height kept by an importer.

    Example:
        >>> empty_notes(2, "annotations")
        ['2 annotations have a box of zero width or height (area 0); stored as given, as pycocotools evaluates them (strict=True refuses them)']
    """
    if not n_empty:
        return []
    one = n_empty == 1
    what = noun[:-1] if one and noun.endswith("s") else noun
    return [f"{n_empty} {what} {'has' if one else 'have'} a box of zero width or height (area 0); stored as "
            "given, as pycocotools evaluates them (strict=True refuses them)"]


def warn_if_relative(b: np.ndarray, w: np.ndarray, h: np.ndarray, noun: str) -> None:
    """One warning when every coordinate of a batch of absolute boxes is ≤ 1 on images larger than
    2 px: they look relative (0–1 of the image size).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as got:
        ...     warnings.simplefilter("always")
        ...     warn_if_relative(np.array([[0.1, 0.2, 0.5, 0.6]]), np.array([640.]), np.array([480.]), "rows")
        >>> "coords='relative'" in str(got[0].message)
        True
    """
    keep = np.isfinite(b).all(axis=1)
    if not keep.any():
        return
    b, w, h = b[keep], w[keep], h[keep]
    if (np.abs(b) <= 1).all() and (w > 2).all() and (h > 2).all():
        warn(f"every coordinate of these {len(b)} {noun} is at most 1 on images of {int(w.min())}x{int(h.min())} "
             "pixels or more: they look relative (0-1 of the image size), not absolute pixels; if they are, "
             "pass coords='relative'")
