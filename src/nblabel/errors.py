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
    "ConflictError",
    "DiskFullError",
    "FormatError",
    "GeometryError",
    "MediaError",
    "MissingDependencyError",
    "NblabelError",
    "NotFoundError",
    "ProjectFileError",
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


class ProjectFileError(StoreError):
    """The file is not an nblabel project: damaged (e.g. truncated), not DuckDB, another program's
    database, or edited outside nblabel in a way nblabel refuses to run (see docs/project-file.md)."""


class DiskFullError(StoreError):
    """A change could not be written because the disk (or a file size limit) is full.

    The change was rolled back as a whole; everything saved before it is intact.
    """


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


class MissingDependencyError(NblabelError, ImportError):
    """An optional package a feature needs (polars for ``slice.pl()``, ...) is not installed; the
    message names the ``pip install`` that fixes it. Also an :class:`ImportError`."""


class NotFoundError(NblabelError, KeyError):
    """A thing asked for by id or name (an instance, a version, a dataset) is not in the project.

    Also a :class:`KeyError`, so ``except KeyError`` catches it; it prints its message unquoted.

    Example:
        >>> e = NotFoundError.from_key("instance", 7, hint="list instances with proj.instances().df()")
        >>> print(e)
        instance 7 does not exist; list instances with proj.instances().df()
        >>> isinstance(e, KeyError)
        True
    """

    def __str__(self) -> str:  # KeyError's own str() would quote the message
        return str(self.args[0]) if self.args else ""

    @classmethod
    def from_key(cls, what: str, key: object, *, hint: str, choices: Iterable[str] | None = None) -> NotFoundError:
        """``<what> <key> does not exist[; did you mean ...]; <hint>`` (``choices``: the names there are)."""
        close = did_you_mean(str(key), choices) if choices is not None else ""
        shown = repr(key) if isinstance(key, str) else str(key)
        return cls(f"{what} {shown} does not exist{close}; {hint}")


class ConflictError(NblabelError, ValueError):
    """A change does not fit the current state: someone else changed the thing meanwhile, or it is deleted.

    Example:
        >>> print(ConflictError.from_versions(3, current=2, expected=1))
        instance 3 is at version 2, not 1: someone else changed it; reload and retry
    """

    @classmethod
    def from_versions(cls, instance_id: object, *, current: object, expected: object) -> ConflictError:
        """An edit based on version ``expected`` of an instance that is now at ``current``."""
        return cls(f"instance {instance_id} is at version {current}, not {expected}: "
                   "someone else changed it; reload and retry")

    @classmethod
    def from_deleted(cls, instance_id: object) -> ConflictError:
        """An edit of an instance whose current version is a deletion."""
        return cls(f"instance {instance_id} is deleted; restore it first with proj.restore()")


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
