"""Geometry helpers: box formats and IoU, polygons, validation against the image, COCO RLE masks,
and the greedy matcher of detections to ground truth (COCO rules).

Everything is vectorised with numpy and has no dependency beyond it.

Example:
    >>> from nblabel.geometry import to_xyxy, box_iou
    >>> a = to_xyxy([[0, 0, 10, 10]], "xywh")
    >>> box_iou(a, a).tolist()
    [[1.0]]
"""

from __future__ import annotations

from ._boxes import (
    BOX_FORMATS,
    box_area,
    box_iou,
    box_iou_coco,
    box_iou_coco_pairs,
    box_iou_pairs,
    clip_boxes,
    from_xyxy,
    to_xyxy,
)
from ._match import Pairs, build_pairs, greedy_match
from ._polygons import as_points, extent, polygon_area, polygon_areas, polygons_area
from ._rle import (
    polygons_to_rle,
    rle_area,
    rle_decode,
    rle_encode,
    rle_from_uncompressed,
    rle_iou,
    rle_merge,
    rle_to_bbox,
)
from ._validate import TOLERANCE, validate_boxes, validate_points

__all__ = [
    "BOX_FORMATS",
    "TOLERANCE",
    "Pairs",
    "as_points",
    "box_area",
    "box_iou",
    "box_iou_coco",
    "box_iou_coco_pairs",
    "box_iou_pairs",
    "build_pairs",
    "clip_boxes",
    "extent",
    "from_xyxy",
    "greedy_match",
    "polygon_area",
    "polygon_areas",
    "polygons_area",
    "polygons_to_rle",
    "rle_area",
    "rle_decode",
    "rle_encode",
    "rle_from_uncompressed",
    "rle_iou",
    "rle_merge",
    "rle_to_bbox",
    "to_xyxy",
    "validate_boxes",
    "validate_points",
]
