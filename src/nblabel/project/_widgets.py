"""Project methods for the annotator, review queue and gallery widgets."""

from __future__ import annotations


class WidgetsMixin:
    """Project methods for the annotator, review queue and gallery widgets."""
