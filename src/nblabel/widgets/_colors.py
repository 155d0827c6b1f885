"""The colour of a model run, the same in every view (annotator layers, gallery, static picture).

One palette and one rule: a run's colour follows from its ``run_id`` alone, never from its
position among the runs a view happens to show, so hiding a run or opening another widget does
not repaint the others.
"""

from __future__ import annotations

from .._palette import PALETTE

__all__ = ["RUN_COLORS", "run_color"]

RUN_COLORS = PALETTE  # the one palette (nblabel/_palette.py), shared with the plots


def run_color(run_id: int) -> str:
    """The colour of run ``run_id`` (run ids start at 1; the palette repeats after 8 runs).

    Example:
        >>> run_color(1), run_color(2), run_color(9) == run_color(1)
        ('#ff9800', '#00bcd4', True)
    """
    return RUN_COLORS[(int(run_id) - 1) % len(RUN_COLORS)]
