"""Bounding boxes: format conversion, area, IoU (plain and COCO flavour), clipping.

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


def box_iou(a_xyxy: Any, b_xyxy: Any) -> np.ndarray:
    """Pairwise intersection over union of two sets of ``xyxy`` boxes, shape ``(N, M)``.

    Pairs whose union is empty (zero-area boxes) get 0, never NaN.

    Example:
        >>> box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 5, 5]]).round(4).tolist()
        [[0.1429, 1.0, 0.0]]
    """
    a = _as_boxes(a_xyxy, "a_xyxy")
    b = _as_boxes(b_xyxy, "b_xyxy")
    area_a = box_area(a)
    area_b = box_area(b)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=(inter > 0) & (union > 0))
    return out


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
    if iscrowd is None:
        crowd = np.zeros(len(gt), dtype=bool)
    else:
        crowd = np.asarray(iscrowd).reshape(-1).astype(bool)
        if crowd.size != len(gt):
            raise ValidationError(
                f"iscrowd has {crowd.size} values but there are {len(gt)} ground-truth boxes; "
                "pass one flag per ground-truth box"
            )
    da = dt[:, 2] * dt[:, 3]
    ga = gt[:, 2] * gt[:, 3]
    iw = np.minimum(dt[:, None, 2] + dt[:, None, 0], gt[None, :, 2] + gt[None, :, 0]) - np.maximum(
        dt[:, None, 0], gt[None, :, 0]
    )
    ih = np.minimum(dt[:, None, 3] + dt[:, None, 1], gt[None, :, 3] + gt[None, :, 1]) - np.maximum(
        dt[:, None, 1], gt[None, :, 1]
    )
    ok = (iw > 0) & (ih > 0)
    inter = iw * ih
    union = np.where(crowd[None, :], da[:, None], da[:, None] + ga[None, :] - inter)
    out = np.zeros(inter.shape, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(inter, union, out=out, where=ok)
    return out


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
