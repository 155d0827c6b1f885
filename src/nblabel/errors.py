"""Errors raised by nblabel.

Every error derives from :class:`NblabelError`; each message names the offending input and says how
to fix it.

Example:
    >>> import nblabel as nl
    >>> try:
    ...     raise nl.SchemaError("label 'cra' is not in the schema; did you mean 'car'?")
    ... except nl.NblabelError as e:
    ...     print(e)
    label 'cra' is not in the schema; did you mean 'car'?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConcurrencyError",
    "FormatError",
    "GeometryError",
    "MediaError",
    "NblabelError",
    "SchemaError",
    "StoreError",
    "ValidationError",
    "did_you_mean",
]


class NblabelError(Exception):
    """Base class of every error nblabel raises on purpose."""


class StoreError(NblabelError):
    """The project file cannot be opened, migrated or written."""


class ConcurrencyError(StoreError):
    """Another process held the project file for longer than the timeout."""


class SchemaError(NblabelError):
    """A label, attribute, option or keypoint template is unknown or inconsistent."""


class ValidationError(NblabelError, ValueError):
    """A value does not fit its attribute (kind, range, options) or an argument is wrong."""


class GeometryError(ValidationError):
    """Coordinates are not finite, have no area, or lie outside the image (with ``strict=True``)."""


class MediaError(NblabelError):
    """An image is missing, corrupt, unsupported, or not in the project."""


class FormatError(NblabelError):
    """An import file (COCO, YOLO, VOC, predictions) is malformed."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or a list of the choices.

    Example:
        >>> did_you_mean("cra", ["car", "person"])
        "; did you mean 'car'?"
    """
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.5)
    if close:
        return f"; did you mean {close[0]!r}?"
    if not choices:
        return "; none are defined yet"
    shown = ", ".join(repr(c) for c in sorted(choices)[:10])
    more = "" if len(choices) <= 10 else f" (and {len(choices) - 10} more)"
    return f"; choose one of {shown}{more}"
