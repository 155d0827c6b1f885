"""The matplotlib figure every nblabel plot returns, or the user's own axes when ``ax=`` is given.

Plots are built on :class:`matplotlib.figure.Figure` directly, never through ``pyplot``: no global
figure registry, no GUI backend, nothing shown twice by the notebook's inline backend. Each new
figure gets an Agg canvas, so ``savefig`` works anywhere, and it shows in Jupyter as a PNG through
its ``_repr_png_`` (a plain Figure outside pyplot has no picture until pyplot is imported).

Any room may import this module; from nblabel it imports only :mod:`nblabel.errors`.

Example:
    >>> fig, ax = figure_axes()
    >>> _ = ax.plot([0, 1], [0, 1])
    >>> fig._repr_png_()[:4]
    b'\\x89PNG'
    >>> mine = Figure().add_subplot()
    >>> figure_axes(mine)[1] is mine
    True
"""

from __future__ import annotations

import io

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure

from .errors import ValidationError

__all__ = ["PlotFigure", "figure_axes"]


class PlotFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` that a notebook shows as its PNG picture."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def figure_axes(ax: Axes | None = None, *, figsize: tuple[float, float] = (6.4, 4.2)) -> tuple[Figure, Axes]:
    """The figure and axes to draw a plot on: ``ax`` and its (top-level) figure, else a new
    :class:`PlotFigure` of ``figsize`` inches with an Agg canvas and one axes.

    A new figure uses the constrained layout, so ``savefig`` does not cut off long tick labels. A
    plot function takes ``ax: Axes | None = None``, draws on ``figure_axes(ax)[1]`` and returns the
    figure, so a caller can put the plot on their own axes (a subplot grid, a subfigure).

    Example:
        >>> fig, ax = figure_axes(figsize=(3, 2))
        >>> type(fig).__name__, fig.get_size_inches().tolist(), fig.axes == [ax]
        ('PlotFigure', [3.0, 2.0], True)
        >>> import os, tempfile
        >>> fig.savefig(os.path.join(tempfile.mkdtemp(), "plot.png"))
    """
    if ax is not None:
        if not isinstance(ax, Axes):
            raise ValidationError(f"ax must be a matplotlib Axes (e.g. fig.add_subplot()), got {type(ax).__name__}")
        return _root(ax.figure), ax
    fig = PlotFigure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _root(fig: Figure | SubFigure) -> Figure:
    """The top-level figure of a figure or (nested) subfigure: the one that ``savefig`` writes."""
    while isinstance(fig, SubFigure):
        fig = fig.figure
    return fig
