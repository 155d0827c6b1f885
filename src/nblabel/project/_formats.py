"""Project methods for import/export (COCO, YOLO, VOC, Parquet) and snapshots."""

from __future__ import annotations


class FormatsMixin:
    """Project methods for import/export (COCO, YOLO, VOC, Parquet) and snapshots."""
