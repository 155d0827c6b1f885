"""Project methods for evaluation, disagreement ranking and run comparison."""

from __future__ import annotations


class DebugMixin:
    """Project methods for evaluation, disagreement ranking and run comparison."""
