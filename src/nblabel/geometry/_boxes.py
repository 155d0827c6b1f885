"""Bounding boxes: format conversion, area, IoU (plain and COCO flavour; all pairs or aligned pairs), clipping.

Each IoU flavour has ONE kernel (:func:`_iou_xyxy`, :func:`_iou_coco`) that the all-pairs and the
aligned-pairs functions broadcast over; nothing else in nblabel computes a box IoU.

Every function is vectorised over rows with numpy; boxes are ``(N, 4)`` float64 arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nblabel.errors import ValidationError

__all__ = [
    "BOX_FORMATS",
    "box_area",
    "box_iou",
    "box_iou_coco",
    "box_iou_coco_pairs",
    "box_iou_pairs",
    "clip_boxes",
    "from_xyxy",
    "to_xyxy",
]

BOX_FORMATS: tuple[str, ...] = ("xyxy", "xywh", "cxcywh")


def _as_boxes(boxes: Any, name: str = "boxes") -> np.ndarray:
    """Return ``boxes`` as a fresh ``(N, 4)`` float64 array (a single ``(4,)`` box becomes one row)."""
    if hasattr(boxes, "to_numpy"):  # pandas DataFrame / Series
        boxes = boxes.to_numpy()
    try:
        arr = np.array(boxes, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{name} could not be read as numbers ({exc}); pass an (N, 4) array or a list of [a, b, c, d] rows"
        ) from None
    if arr.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValidationError(
            f"{name} must have shape (4,) or (N, 4), got {arr.shape}; pass one [a, b, c, d] row per box"
        )
    return arr


def _check_fmt(fmt: str) -> None:
    if fmt not in BOX_FORMATS:
        raise ValidationError(
            f"unknown box format {fmt!r}; use one of {', '.join(repr(f) for f in BOX_FORMATS)}"
        )


def _scale(width: Any, height: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Broadcast ``width``/``height`` (scalars or per-row arrays) to ``(N,)`` float arrays."""
    if width is None or height is None:
        raise ValidationError(
            "the image size is needed here; pass width= and height= (scalars or one value per box)"
        )
    out = []
    for name, value in (("width", width), ("height", height)):
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
        if arr.size == 1:
            arr = np.full(n, arr[0])
        elif arr.size != n:
            raise ValidationError(
                f"{name} has {arr.size} values but there are {n} boxes; pass a scalar or one value per box"
            )
        out.append(arr)
    return out[0], out[1]


def to_xyxy(
    boxes: Any,
    fmt: str = "xyxy",
    *,
    relative: bool = False,
    width: Any = None,
    height: Any = None,
) -> np.ndarray:
    """Convert boxes from ``fmt`` to absolute ``[x0, y0, x1, y1]`` pixel corners.

    Args:
        boxes: ``(4,)`` or ``(N, 4)`` array, list of rows or DataFrame.
        fmt: one of :data:`BOX_FORMATS` (``"xywh"`` is COCO, ``"cxcywh"`` is YOLO).
        relative: coordinates are fractions of the image size (YOLO); multiply by ``width``/``height``.
        width, height: image size, scalars or one value per box; required with ``relative=True``.

    Returns:
        ``(N, 4)`` float64 array.

    Example:
        >>> to_xyxy([10, 20, 30, 40], "xywh").tolist()
        [[10.0, 20.0, 40.0, 60.0]]
        >>> to_xyxy([[0.5, 0.5, 0.2, 0.4]], "cxcywh", relative=True, width=100, height=50).tolist()
        [[40.0, 15.0, 60.0, 35.0]]
    """
    _check_fmt(fmt)
    b = _as_boxes(boxes)
    if fmt == "xywh":
        b[:, 2] += b[:, 0]
        b[:, 3] += b[:, 1]
    elif fmt == "cxcywh":
        cx, cy, w, h = b.T.copy()
        b = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    if relative:
        w_, h_ = _scale(width, height, len(b))
        b[:, 0::2] *= w_[:, None]
        b[:, 1::2] *= h_[:, None]
    return b


def from_xyxy(
    boxes: Any,
    fmt: str = "xyxy",
    *,
    relative: bool = False,
    width: Any = None,
    height: Any = None,
) -> np.ndarray:
    """Convert absolute ``[x0, y0, x1, y1]`` boxes to ``fmt`` (the inverse of :func:`to_xyxy`).

    Example:
        >>> from_xyxy([10, 20, 40, 60], "xywh").tolist()
        [[10.0, 20.0, 30.0, 40.0]]
        >>> from_xyxy([[40, 15, 60, 35]], "cxcywh", relative=True, width=100, height=50).tolist()
        [[0.5, 0.5, 0.2, 0.4]]
    """
    _check_fmt(fmt)
    b = _as_boxes(boxes)
    if fmt == "xywh":
        b[:, 2] -= b[:, 0]
        b[:, 3] -= b[:, 1]
    elif fmt == "cxcywh":
        x0, y0, x1, y1 = b.T.copy()
        b = np.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], axis=1)
    if relative:
        w_, h_ = _scale(width, height, len(b))
        b[:, 0::2] /= w_[:, None]
        b[:, 1::2] /= h_[:, None]
    return b


def box_area(xyxy: Any) -> np.ndarray:
    """Area of each ``xyxy`` box; inverted boxes count as 0.

    Example:
        >>> box_area([[0, 0, 2, 3], [5, 5, 4, 4]]).tolist()
        [6.0, 0.0]
    """
    b = _as_boxes(xyxy)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def _rows(boxes: Any, name: str) -> np.ndarray:
    """``boxes`` as an ``(N, 4)`` float64 array without a copy when it already is one (hot paths)."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 4:
        return arr
    return _as_boxes(arr, name)


def _crowd_flags(iscrowd: Any, n: int, one: str, many: str) -> np.ndarray:
    if iscrowd is None:
        return np.zeros(n, dtype=bool)
    crowd = np.asarray(iscrowd).reshape(-1).astype(bool)
    if crowd.size != n:
        raise ValidationError(f"iscrowd has {crowd.size} values but there are {n} {many}; pass one flag per {one}")
    return crowd


def _iou_xyxy(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...], crowd: np.ndarray | None) -> np.ndarray:
    """The one plain IoU kernel: ``a``/``b`` are ``(x0, y0, x1, y1, area)`` arrays that broadcast.

    With ``crowd`` (broadcasting like ``b``) a crowd pair's denominator is the area of ``a``.
    """
    iw = np.minimum(a[2], b[2]) - np.maximum(a[0], b[0])
    ih = np.minimum(a[3], b[3]) - np.maximum(a[1], b[1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = a[4] + b[4] - inter
    if crowd is not None:
        union = np.where(crowd, np.broadcast_to(a[4], union.shape), union)
    out = np.zeros(inter.shape, dtype=np.float64)
    np.divide(inter, union, out=out, where=(inter > 0) & (union > 0))
    return out


def _iou_coco(d: tuple[np.ndarray, ...], g: tuple[np.ndarray, ...], crowd: np.ndarray) -> np.ndarray:
    """The one COCO IoU kernel, pycocotools' ``bbIou`` operation for operation (bit-identical).

    ``d``/``g`` are ``(x, y, w, h, area)`` arrays that broadcast; ``crowd`` broadcasts like ``g``.
    """
    iw = np.minimum(d[2] + d[0], g[2] + g[0]) - np.maximum(d[0], g[0])
    ih = np.minimum(d[3] + d[1], g[3] + g[1]) - np.maximum(d[1], g[1])
    ok = (iw > 0) & (ih > 0)
    inter = iw * ih
    union = np.where(crowd, d[4], (d[4] + g[4]) - inter)
    out = np.zeros(inter.shape, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(inter, union, out=out, where=ok)
    return out


def _xyxy_cols(b: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    cols = (b[:, 0], b[:, 1], b[:, 2], b[:, 3], area)
    return tuple(np.expand_dims(c, axis) for c in cols) if axis >= 0 else cols


def _xywh_cols(b: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    cols = (b[:, 0], b[:, 1], b[:, 2], b[:, 3], b[:, 2] * b[:, 3])
    return tuple(np.expand_dims(c, axis) for c in cols) if axis >= 0 else cols


def box_iou(a_xyxy: Any, b_xyxy: Any) -> np.ndarray:
    """Pairwise intersection over union of two sets of ``xyxy`` boxes, shape ``(N, M)``.

    Pairs whose union is empty (zero-area boxes) get 0, never NaN.

    Example:
        >>> box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 5, 5]]).round(4).tolist()
        [[0.1429, 1.0, 0.0]]
    """
    a = _as_boxes(a_xyxy, "a_xyxy")
    b = _as_boxes(b_xyxy, "b_xyxy")
    return _iou_xyxy(_xyxy_cols(a, 1), _xyxy_cols(b, 0), None)


def box_iou_pairs(a_xyxy: Any, b_xyxy: Any, crowd: Any = None) -> np.ndarray:
    """IoU of aligned rows (``a[i]`` with ``b[i]``) of ``xyxy`` boxes, shape ``(N,)``.

    The same arithmetic as :func:`box_iou`, for candidate pairs built elsewhere (e.g. all the boxes
    of one image against each other). With ``crowd`` (one flag per row), a crowd row's value is the
    intersection over the area of ``a`` -- the share of the detection ``a`` inside the crowd
    region ``b``, as COCO scores crowd regions.

    Example:
        >>> box_iou_pairs([[0, 0, 2, 2], [0, 0, 1, 1]], [[1, 0, 3, 2], [0, 0, 2, 2]], [False, True]).tolist()
        [0.3333333333333333, 1.0]
    """
    a = _rows(a_xyxy, "a_xyxy")
    b = _rows(b_xyxy, "b_xyxy")
    if len(a) != len(b):
        raise ValidationError(f"box_iou_pairs needs as many rows in a ({len(a)}) as in b ({len(b)}); "
                              "use box_iou for every pair of two sets")
    flags = None if crowd is None else _crowd_flags(crowd, len(b), "pair", "pairs")
    return _iou_xyxy(_xyxy_cols(a, -1), _xyxy_cols(b, -1), flags)


def box_iou_coco(dt_xywh: Any, gt_xywh: Any, iscrowd: Any = None) -> np.ndarray:
    """IoU of detections against ground truth exactly as COCO evaluation computes it, shape ``(D, G)``.

    Boxes are ``[x, y, w, h]``. For a crowd ground truth (``iscrowd[g]`` true) the denominator is the
    detection's area, so the value is the fraction of the detection covered by the crowd region.
    Non-overlapping pairs give 0.

    Example:
        >>> box_iou_coco([[0, 0, 2, 2]], [[1, 1, 2, 2], [0, 0, 4, 4]], [0, 1]).tolist()
        [[0.14285714285714285, 1.0]]
    """
    dt = _as_boxes(dt_xywh, "dt_xywh")
    gt = _as_boxes(gt_xywh, "gt_xywh")
    crowd = _crowd_flags(iscrowd, len(gt), "ground-truth box", "ground-truth boxes")
    return _iou_coco(_xywh_cols(dt, 1), _xywh_cols(gt, 0), crowd[None, :])


def box_iou_coco_pairs(dt_xywh: Any, gt_xywh: Any, iscrowd: Any = None) -> np.ndarray:
    """COCO IoU of aligned rows (``dt[i]`` with ``gt[i]``), shape ``(N,)``: :func:`box_iou_coco` per pair.

    Bit-identical to pycocotools' ``bbIou`` (the evaluation engine computes every candidate pair
    with it). ``iscrowd`` has one flag per row (the ground truth's).

    Example:
        >>> box_iou_coco_pairs([[0, 0, 2, 2], [0, 0, 2, 2]], [[1, 0, 2, 2], [0, 0, 4, 4]], [0, 1]).tolist()
        [0.3333333333333333, 1.0]
    """
    dt = _rows(dt_xywh, "dt_xywh")
    gt = _rows(gt_xywh, "gt_xywh")
    if len(dt) != len(gt):
        raise ValidationError(f"box_iou_coco_pairs needs as many detections ({len(dt)}) as ground truths "
                              f"({len(gt)}); use box_iou_coco for every pair of two sets")
    crowd = _crowd_flags(iscrowd, len(gt), "ground-truth box", "ground-truth boxes")
    return _iou_coco(_xywh_cols(dt, -1), _xywh_cols(gt, -1), crowd)


def clip_boxes(xyxy: Any, width: Any, height: Any) -> np.ndarray:
    """Clip ``xyxy`` boxes to ``[0, width] × [0, height]`` (scalars or one size per box).

    Example:
        >>> clip_boxes([[-5, 10, 120, 40]], 100, 50).tolist()
        [[0.0, 10.0, 100.0, 40.0]]
    """
    b = _as_boxes(xyxy)
    w_, h_ = _scale(width, height, len(b))
    b[:, 0::2] = np.clip(b[:, 0::2], 0, w_[:, None])
    b[:, 1::2] = np.clip(b[:, 1::2], 0, h_[:, None])
    return b
