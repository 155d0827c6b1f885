"""nblabel's one palette of series colours: model runs in every view, and the labels of a plot.

The widgets colour a run by its id (:func:`nblabel.widgets._colors.run_color`); the plots in
:mod:`nblabel.debug` colour their series in order. Both take the colours from here, so a plot looks
like the annotator it sits next to. Any room may import this module; it imports nothing.

Example:
    >>> len(PALETTE), series_color(0) == series_color(len(PALETTE))
    (8, True)
"""

from __future__ import annotations

__all__ = ["PALETTE", "series_color"]

PALETTE = ("#ff9800", "#00bcd4", "#e91e63", "#8bc34a", "#9c27b0", "#ffc107", "#03a9f4", "#795548")


def series_color(i: int) -> str:
    """The colour of the ``i``-th series of a plot (from 0; the palette repeats after 8).

    Example:
        >>> series_color(0), series_color(1)
        ('#ff9800', '#00bcd4')
    """
    return PALETTE[int(i) % len(PALETTE)]
