"""Reading the bytes of a file a user handed to an importer, with an error that names it and the fix.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp(), "a.json")
    >>> _ = p.write_text("{}")
    >>> input_bytes(p, "COCO file")
    b'{}'
    >>> input_bytes(p.with_name("missing.json"), "COCO file")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nblabel.errors.FormatError: COCO file '...missing.json' does not exist; check the path
"""

from __future__ import annotations

from pathlib import Path

from ..errors import FormatError

__all__ = ["input_bytes"]


def input_bytes(p: Path, what: str) -> bytes:
    """The whole file; a :class:`~nblabel.errors.FormatError` naming ``what`` and the path if it is
    missing or cannot be read (a folder, no permission...)."""
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{what} {str(p)!r} does not exist; check the path") from None
    except OSError as e:
        raise FormatError(f"{what} {str(p)!r} cannot be read: {e}") from None
