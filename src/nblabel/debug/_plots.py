"""An evaluation's plots as matplotlib figures: precision-recall curves, the confusion matrix, the
IoU histogram.

Each draws one table of :mod:`._plot_tables` (``pr_table``, ``confusion_table``, ``iou_table``)
and returns a :class:`matplotlib.figure.Figure`: a new one (shown as a PNG in a notebook, see
:mod:`nblabel._figure`) or, with ``ax=``, the figure of the user's axes after drawing on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._figure import figure_axes
from .._palette import series_color
from ..errors import ValidationError
from ._plot_tables import confusion_table, iou_table, normalize_rows, pr_table, top_labels

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ._evaluation import Evaluation

__all__ = ["confusion_matrix", "iou_histogram", "pr_curve"]


def pr_curve(ev: Evaluation, *, iou: float = 0.5, labels: list[str] | str | None = None,
             ax: Axes | None = None) -> Figure:
    """Precision-recall curves at ``iou``: the mean over labels (black) and each of ``labels``, with
    their AP in the legend. The curves are the columns of :func:`pr_table`.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> pr_curve(p.evaluate("m")).axes[0].get_xlabel()
        'recall'
    """
    tab = pr_table(ev, iou=iou)
    labels = [labels] if isinstance(labels, str) else list(labels or [])
    have = [c for c in tab.columns if c not in ("recall", "mean")]
    for lab in labels:
        if lab not in have:
            raise ValidationError(f"label {lab!r} has no ground truth in this evaluation; choose from {have[:20]}")
    fig, ax = figure_axes(ax)
    recall = tab["recall"].to_numpy()
    ok = tab["mean"].notna().to_numpy()
    if ok.any():
        ap = float(tab["mean"].to_numpy()[ok].mean())
        ax.plot(recall[ok], tab["mean"].to_numpy()[ok], color="black", lw=2.5, zorder=3, label=f"mean (AP {ap:.3f})")
    for i, lab in enumerate(labels):
        ax.plot(recall, tab[lab].to_numpy(), color=series_color(i), lw=1.5, label=f"{lab} (AP {tab[lab].mean():.3f})")
    if not ok.any():
        ax.text(0.5, 0.5, "no ground truth in this evaluation", ha="center", va="center", color="0.4")
    else:
        ax.legend(loc="lower left")
    ax.set(xlim=(0.0, 1.0), ylim=(0.0, 1.02), xlabel="recall", ylabel="precision",
           title=f"Precision-recall (IoU {iou:.2f})")
    ax.grid(alpha=0.3)
    return fig


def confusion_matrix(ev: Evaluation, *, iou: float = 0.5, min_score: float = 0.25, normalize: bool = False,
                     max_labels: int = 30, ax: Axes | None = None) -> Figure:
    """The confusion matrix of :func:`confusion_table` as a heat map with the value in each non-zero
    cell and a colour bar; the ``max_labels`` most frequent labels are drawn (the table keeps all).

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> [t.get_text() for t in confusion_matrix(p.evaluate("m")).axes[0].get_yticklabels()]
        ['background']
    """
    if int(max_labels) < 1:
        raise ValidationError(f"max_labels={max_labels} must be at least 1, e.g. max_labels=30")
    counts = confusion_table(ev, iou=iou, min_score=min_score)
    keep = top_labels(counts, int(max_labels))  # the most frequent by count, also when normalized
    shown = (normalize_rows(counts) if normalize else counts).loc[keep, keep]
    n = len(shown)
    side = float(np.clip(0.32 * n + 3.0, 5.0, 16.0))
    fig, ax = figure_axes(ax, figsize=(side + 1.2, side))
    _draw_matrix(ax, shown, normalize)
    title = f"Confusion matrix (IoU {iou:.2f}, score >= {min_score:g})"
    if n < len(counts):
        title += f"\ntop {n - 1} of {len(counts) - 1} labels"
    ax.set_title(title)
    return fig


def _draw_matrix(ax: Axes, data: pd.DataFrame, normalize: bool) -> None:
    v = data.to_numpy(dtype=float)
    n = len(data)
    vmax = 1.0 if normalize else max(float(v.max()) if v.size else 0.0, 1.0)  # fractions: always 0..1
    im = ax.imshow(v, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest", aspect="equal")
    font = float(np.clip(220.0 / max(n, 1), 5.0, 10.0))
    for i, j in zip(*np.nonzero(v), strict=True):
        text = f"{v[i, j]:.2f}" if normalize else f"{int(v[i, j])}"
        ax.text(j, i, text, ha="center", va="center", fontsize=font,
                color="white" if v[i, j] > 0.55 * vmax else "black")
    ax.set_xticks(range(n), [str(c) for c in data.columns], rotation=90, fontsize=font + 1)
    ax.set_yticks(range(n), [str(r) for r in data.index], fontsize=font + 1)
    ax.set(xlabel="prediction", ylabel="ground truth")
    bar = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("fraction of the ground-truth row" if normalize else "count")


def iou_histogram(ev: Evaluation, *, bins: int = 20, min_score: float = 0.0, ax: Axes | None = None) -> Figure:
    """Histogram of each detection's IoU with its ground truth (:func:`iou_table`): true positives
    stacked under the other detections, the matching threshold dashed.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> len(iou_histogram(p.evaluate("m"), bins=10).axes[0].patches)
        20
    """
    tab = iou_table(ev, bins=bins, min_score=min_score)
    fig, ax = figure_axes(ax)
    lo, width = tab["bin_lo"].to_numpy(), (tab["bin_hi"] - tab["bin_lo"]).to_numpy()
    tp = tab["tp"].to_numpy()
    ax.bar(lo, tp, width=width, align="edge", color=series_color(1), edgecolor="white", lw=0.5,
           label="true positive")
    ax.bar(lo, tab["count"].to_numpy() - tp, width=width, bottom=tp, align="edge", color=series_color(0),
           edgecolor="white", lw=0.5, label="false positive or ignored")
    thr = float(np.min(ev.params.iou_thresholds))
    ax.axvline(thr, color="black", ls="--", lw=1, label=f"match threshold {thr:.2f}")
    title = "Detections by IoU with the ground truth" + (f" (score >= {min_score:g})" if min_score > 0 else "")
    top = float(max(int(tab["count"].max()), 1))
    ax.set(xlim=(0.0, 1.0), ylim=(0.0, top * 1.3), xlabel="IoU with the ground truth", ylabel="detections",
           title=title)  # headroom: the legend above the bars
    ax.legend(loc="best")
    return fig
