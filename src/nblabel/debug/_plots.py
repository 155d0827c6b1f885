"""Plots of an evaluation drawn with PIL (no matplotlib): PR curves, confusion matrix, IoU histogram.

Each returns a PIL image, or a :class:`Figure` holding the data (a DataFrame) and the image; a
Figure shows as its picture in a notebook.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from ..errors import ValidationError
from ._disagree import _group_argbest, _group_max, overlapping_pairs
from ._reads import load_boxes, load_media

if TYPE_CHECKING:
    from ._reads import Evaluation

__all__ = ["Figure", "confusion_matrix", "iou_histogram", "pr_curve", "pr_table"]

_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


@dataclass
class Figure:
    """The data of a plot and its picture; a notebook shows the picture.

    Example:
        >>> from PIL import Image
        >>> f = Figure(pd.DataFrame({"a": [1]}), Image.new("RGB", (4, 4), "white"))
        >>> f._repr_png_()[:4]
        b'\\x89PNG'
    """

    data: pd.DataFrame
    image: Image.Image

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.image.save(buf, format="PNG")
        return buf.getvalue()

    def save(self, path: str) -> None:
        """Save the picture (format from the file suffix).

        Example:
            >>> import tempfile, os
            >>> from PIL import Image
            >>> f = Figure(pd.DataFrame(), Image.new("RGB", (4, 4)))
            >>> f.save(os.path.join(tempfile.mkdtemp(), "x.png"))
        """
        self.image.save(path)


def _font(size: int = 12) -> Any:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: no sized default font
        return ImageFont.load_default()


class _Axes:
    """A plot area with data -> pixel mapping, ticks and labels."""

    def __init__(self, size: tuple[int, int], title: str, xlabel: str, ylabel: str,
                 xlim: tuple[float, float] = (0.0, 1.0), ylim: tuple[float, float] = (0.0, 1.0)) -> None:
        self.img = Image.new("RGB", size, "white")
        self.d = ImageDraw.Draw(self.img)
        self.f = _font(12)
        w, h = size
        self.l, self.t, self.r, self.b = 56, 30, w - 16, h - 44
        self.xlim, self.ylim = xlim, ylim
        self.d.text((w // 2, 8), title, fill="black", font=_font(14), anchor="mt")
        self.d.text(((self.l + self.r) // 2, h - 8), xlabel, fill="black", font=self.f, anchor="mb")
        self.d.text((6, (self.t + self.b) // 2), ylabel, fill="black", font=self.f, anchor="lm")
        self.d.rectangle([self.l, self.t, self.r, self.b], outline="black")
        for v in np.linspace(*xlim, 6):
            x = self.px(v, ylim[0])[0]
            self.d.line([x, self.b, x, self.b + 4], fill="black")
            self.d.line([x, self.t, x, self.b], fill="#e6e6e6")
            self.d.text((x, self.b + 6), _fmt(v), fill="black", font=self.f, anchor="mt")
        for v in np.linspace(*ylim, 6):
            y = self.px(xlim[0], v)[1]
            self.d.line([self.l - 4, y, self.l, y], fill="black")
            self.d.line([self.l + 1, y, self.r - 1, y], fill="#e6e6e6")
            self.d.text((self.l - 6, y), _fmt(v), fill="black", font=self.f, anchor="rm")
        self.d.rectangle([self.l, self.t, self.r, self.b], outline="black")

    def px(self, x: float, y: float) -> tuple[float, float]:
        fx = (x - self.xlim[0]) / max(self.xlim[1] - self.xlim[0], 1e-12)
        fy = (y - self.ylim[0]) / max(self.ylim[1] - self.ylim[0], 1e-12)
        return self.l + fx * (self.r - self.l), self.b - fy * (self.b - self.t)

    def line(self, xs: np.ndarray, ys: np.ndarray, color: str, width: int = 2) -> None:
        pts = [self.px(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
        if len(pts) > 1:
            self.d.line(pts, fill=color, width=width)

    def legend(self, entries: list[tuple[str, str]]) -> None:
        y = self.t + 8
        for text, color in entries:
            self.d.line([self.r - 150, y + 6, self.r - 130, y + 6], fill=color, width=3)
            self.d.text((self.r - 124, y), text[:22], fill="black", font=self.f)
            y += 16


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 10 else f"{v:.1f}"


def _thr_index(ev: Evaluation, iou: float) -> int:
    thr = ev.params.iou_thresholds
    hit = np.flatnonzero(np.isclose(thr, iou))
    if not len(hit):
        raise ValidationError(f"iou={iou} is not one of the evaluated thresholds {np.round(thr, 2).tolist()}")
    return int(hit[0])


def pr_table(ev: Evaluation, *, iou: float = 0.5) -> pd.DataFrame:
    """Precision at each recall point (area 'all', the largest max_dets) per label and the mean.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> len(pr_table(p.evaluate("m")))
        101
    """
    t = _thr_index(ev, iou)
    a = ev.params.area_labels.index("all") if "all" in ev.params.area_labels else 0
    pr = ev.precision[t, :, :, a, -1]  # (R, K)
    names = ev._names()
    cats = ev.params.categories
    out = pd.DataFrame({"recall": ev.params.rec_thresholds})
    valid = pr > -1
    with np.errstate(invalid="ignore"):
        mean = np.where(valid.any(axis=1), np.where(valid, pr, 0).sum(axis=1) / np.maximum(valid.sum(axis=1), 1),
                        np.nan)
    out["mean"] = mean
    for k, c in enumerate(cats):
        if valid[:, k].any():
            out[names.get(int(c), str(c)) if ev.params.use_cats else "all"] = pr[:, k]
    return out


def pr_curve(ev: Evaluation, *, iou: float = 0.5, labels: list[str] | None = None,
             size: tuple[int, int] = (640, 420)) -> Image.Image:
    """Precision-recall curves at ``iou``: the mean over labels (black) and the given labels.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> pr_curve(p.evaluate("m")).size
        (640, 420)
    """
    tab = pr_table(ev, iou=iou)
    ax = _Axes(size, f"Precision-recall at IoU {iou:.2f}", "recall", "prec.")
    entries = []
    for i, lab in enumerate(labels or []):
        if lab not in tab.columns:
            raise ValidationError(f"label {lab!r} has no ground truth in this evaluation; "
                                  f"choose from {[c for c in tab.columns if c not in ('recall', 'mean')][:20]}")
        color = _PALETTE[i % len(_PALETTE)]
        ax.line(tab["recall"].to_numpy(), tab[lab].to_numpy(), color)
        entries.append((lab, color))
    if tab["mean"].notna().any():
        ok = tab["mean"].notna().to_numpy()
        ax.line(tab["recall"].to_numpy()[ok], tab["mean"].to_numpy()[ok], "black", width=3)
        ap = float(np.nanmean(tab["mean"].to_numpy()))
        entries.insert(0, (f"mean (AP {ap:.3f})", "black"))
    ax.legend(entries)
    return ax.img


def _confusion_counts(ev: Evaluation, iou: float, min_score: float) -> pd.DataFrame:
    proj = ev.session
    cstage = ev.stage if ev.complete_only else None
    media = load_media(proj, ev.slice, complete_stage=cstage)
    gt = load_boxes(proj, slice=ev.slice, complete_stage=cstage)
    pr = load_boxes(proj, run=ev.run, slice=ev.slice, complete_stage=cstage, min_score=min_score)
    mids = media["media_id"].to_numpy(np.int64)
    pi, gi, sim = overlapping_pairs(gt, pr, mids)
    n_g, n_p = len(gt), len(pr)
    same = gt.label[gi] == pr.label[pi]
    crowd = gt.crowd[gi]
    p_score = np.nan_to_num(pr.score, nan=1.0)
    good = same & (sim >= iou)
    p_ok = _group_max(pi[good], np.ones(int(good.sum())), n_p) > 0
    g_ok = _group_max(gi[good & ~crowd], np.ones(int((good & ~crowd).sum())), n_g) > 0
    cand = ~crowd & ~same & (sim >= iou) & ~p_ok[pi]
    best = _group_argbest(gi[cand], p_score[pi[cand]] * 4 + sim[cand], n_g)
    conf = (best >= 0) & ~g_ok & ~gt.crowd
    partner = np.zeros(n_p, dtype=bool)
    partner[pi[cand][best[conf]]] = True
    in_crowd = _group_max(pi[crowd], sim[crowd], n_p) >= 0.5
    rows_t = np.concatenate([gt.label[~gt.crowd], np.full(int((~p_ok & ~partner & ~in_crowd).sum()), -1)])
    pred_of_g = np.full(n_g, -1, dtype=np.int64)
    pred_of_g[g_ok] = gt.label[g_ok]
    pred_of_g[conf] = pr.label[pi[cand][best[conf]]]
    rows_p = np.concatenate([pred_of_g[~gt.crowd], pr.label[~p_ok & ~partner & ~in_crowd]])
    return pd.DataFrame({"gt": rows_t, "pred": rows_p})


def confusion_matrix(ev: Evaluation, *, iou: float = 0.5, min_score: float = 0.25,
                     normalize: bool = False, max_labels: int = 30) -> Figure:
    """Confusion matrix (rows: ground truth, columns: prediction) with a ``background`` row and column.

    A ground truth counts under the prediction label that matches it (IoU >= ``iou``; its own label
    first), else under ``background`` (missed); a prediction of score >= ``min_score`` that no
    ground truth explains counts in the ``background`` row. ``normalize`` divides each row by its sum.
    The picture shows the ``max_labels`` most frequent labels (cells shaded by row fraction).

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> confusion_matrix(p.evaluate("m")).data.index.tolist()
        ['background']
    """
    pairs = _confusion_counts(ev, iou, min_score)
    names = ev._names()
    used = sorted(set(pairs["gt"]) | set(pairs["pred"]) - {-1})
    used = [u for u in used if u != -1]
    order = [names.get(int(u), str(u)) for u in used] + ["background"]
    lab = {**{u: names.get(int(u), str(u)) for u in used}, -1: "background"}
    tab = pd.crosstab(pairs["gt"].map(lab), pairs["pred"].map(lab))
    tab = tab.reindex(index=order, columns=order, fill_value=0).astype(np.int64)
    tab.loc["background", "background"] = 0
    tab.index.name, tab.columns.name = "ground truth", "prediction"
    data: pd.DataFrame = tab
    if normalize:
        data = tab.div(tab.sum(axis=1).replace(0, 1), axis=0)
    shown = data
    if len(tab) > max_labels + 1:  # draw the most frequent labels; the data keeps them all
        top = tab.drop(index="background", columns="background")
        freq = (top.sum(axis=0) + top.sum(axis=1)).sort_values(ascending=False, kind="stable")
        keep = [*[c for c in order if c in set(freq.index[:max_labels])], "background"]
        shown = data.loc[keep, keep]
    title = f"Confusion matrix (IoU {iou:.2f}, score >= {min_score:g})"
    if len(shown) < len(data):
        title += f", top {len(shown) - 1} labels"
    return Figure(data, _draw_matrix(shown, title))


def _draw_matrix(data: pd.DataFrame, title: str) -> Image.Image:
    n = len(data)
    cell = int(np.clip(560 // max(n, 1), 14, 48))
    margin = 110
    w = margin + cell * n + 20
    h = margin + cell * n + 20
    img = Image.new("RGB", (max(w, 260), h), "white")
    d = ImageDraw.Draw(img)
    f = _font(11 if cell >= 14 else 8)
    d.text((max(w, 260) // 2, 6), title, fill="black", font=_font(13), anchor="mt")
    v = data.to_numpy(dtype=float)
    frac = v / np.maximum(v.sum(axis=1, keepdims=True), 1e-12)
    for i in range(n):
        for j in range(n):
            x0, y0 = margin + j * cell, margin + i * cell
            a = frac[i, j]
            shade = (int(255 - 225 * a), int(255 - 160 * a), 255)
            d.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=shade, outline="#dddddd")
            if cell >= 22 and v[i, j]:
                txt = f"{v[i, j]:.2f}" if v[i, j] % 1 else f"{int(v[i, j])}"
                d.text((x0 + cell / 2, y0 + cell / 2), txt, fill="black" if a < 0.6 else "white", font=f,
                       anchor="mm")
    if cell >= 8:
        for k, name in enumerate(data.index):
            d.text((margin - 4, margin + k * cell + cell / 2), str(name)[:16], fill="black", font=f, anchor="rm")
        col = Image.new("RGB", (margin - 30, cell * n), "white")
        cd = ImageDraw.Draw(col)
        for k, name in enumerate(data.columns):
            cd.text((4, k * cell + cell / 2), str(name)[:16], fill="black", font=f, anchor="lm")
        img.paste(col.rotate(90, expand=True), (margin, 26))
    d.text((4, margin - 16), "rows: GT, cols: pred", fill="#555555", font=f)
    return img


def iou_histogram(ev: Evaluation, *, bins: int = 20, min_score: float = 0.0) -> Figure:
    """Histogram of each detection's IoU with its matched (else best same-label) ground truth at
    the lowest threshold; detections with no same-label ground truth around count at 0.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> iou_histogram(p.evaluate("m"), bins=10).data.columns.tolist()
        ['bin_lo', 'bin_hi', 'count', 'tp']
    """
    m = ev.matches
    if len(m):
        m = m[(m["iou_threshold"] == m["iou_threshold"].min()) & m["pred_id"].notna()]
        m = m[m["score"] >= min_score]
    iou = np.nan_to_num(m["iou"].to_numpy(dtype=float), nan=0.0) if len(m) else np.zeros(0)
    tp = (m["status"].astype(str) == "tp").to_numpy() if len(m) else np.zeros(0, dtype=bool)
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    count = np.histogram(iou, bins=edges)[0]
    count_tp = np.histogram(iou[tp], bins=edges)[0]
    data = pd.DataFrame({"bin_lo": edges[:-1], "bin_hi": edges[1:], "count": count, "tp": count_tp})
    ymax = float(max(count.max() if len(count) else 0, 1))
    ax = _Axes((640, 360), "IoU of detections with ground truth (blue: true positives)", "IoU", "count",
               ylim=(0.0, ymax))
    for lo, hi, c, ct in zip(edges[:-1], edges[1:], count, count_tp, strict=True):
        x0, y0 = ax.px(lo, c)
        x1, yb = ax.px(hi, 0)
        ax.d.rectangle([x0 + 1, y0, x1 - 1, yb], fill="#f4b183", outline="#c55a11")
        xt0, yt0 = ax.px(lo, ct)
        ax.d.rectangle([xt0 + 1, yt0, x1 - 1, yb], fill="#9dc3e6", outline="#2e75b6")
    return Figure(data, ax.img)
