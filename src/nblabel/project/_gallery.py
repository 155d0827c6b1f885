"""Project methods for the gallery widget (thumbnail grid)."""

from __future__ import annotations


class GalleryMixin:
    """Project methods for the gallery widget (thumbnail grid)."""
