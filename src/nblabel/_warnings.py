"""Warnings nblabel gives, attributed to the user's own line (not to a frame inside nblabel).

A fixed ``stacklevel`` is right for one call chain only: the same check runs under
``proj.add_instance``, ``proj.add_instances``, ``run.add_predictions`` and every importer, each at
a different depth. :func:`warn` walks out of nblabel's frames instead.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

__all__ = ["warn"]

_PACKAGE = str(Path(__file__).resolve().parent)


def _outside_level() -> int:
    """``stacklevel`` (for a ``warnings.warn`` in our caller) of the first frame outside nblabel."""
    frame = sys._getframe(2)  # our caller's caller: the function that wants to warn is level 1
    level = 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn with the user's line as the location.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as w:
        ...     warnings.simplefilter("always")
        ...     warn("clipped")
        >>> w[0].message.args[0], w[0].filename.endswith("nblabel/_warnings.py")
        ('clipped', False)
    """
    warnings.warn(message, category, stacklevel=_outside_level() + 1)
