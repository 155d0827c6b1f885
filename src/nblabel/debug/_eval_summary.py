"""pycocotools' ``summarize()`` for :mod:`nblabel.debug._cocoeval`: same slicing, same ``np.mean``."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["summarize"]


def _one(
    s: np.ndarray, ap: int, iou_thr: float | None, area: str, max_det: int, p: Any, lines: list[str]
) -> float:
    """pycocotools' ``_summarize`` for one line, same array slicing and same ``np.mean``."""
    i_str = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}"
    title = "Average Precision" if ap == 1 else "Average Recall"
    typ = "(AP)" if ap == 1 else "(AR)"
    thrs = p.iou_thresholds
    iou_str = f"{thrs[0]:0.2f}:{thrs[-1]:0.2f}" if iou_thr is None else f"{iou_thr:0.2f}"
    aind = [i for i, lbl in enumerate(p.area_labels) if lbl == area]
    mind = [i for i, md in enumerate(p.max_dets) if md == max_det]
    if iou_thr is not None:
        t = np.where(iou_thr == thrs)[0]
        s = s[t]
    s = s[:, :, :, aind, mind] if ap == 1 else s[:, :, aind, mind]
    mean_s = -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))
    lines.append(i_str.format(title, typ, iou_str, area, max_det, mean_s))
    return mean_s


def summarize(precision: np.ndarray, recall: np.ndarray, p: Any) -> tuple[np.ndarray, list[str]]:
    """The 12 (keypoints: 10) stats and printed lines of pycocotools' ``summarize()``.

    ``p`` is an :class:`~nblabel.debug._cocoeval.EvalParams`. The first line uses ``maxDets=100``
    whatever ``max_dets`` is, as pycocotools hard-wires it; keypoints use ``maxDets=20``.

    Example:
        >>> from types import SimpleNamespace
        >>> p = SimpleNamespace(iou_type="keypoints", iou_thresholds=np.array([.5, .75]),
        ...                     area_labels=["all", "medium", "large"], max_dets=(20,))
        >>> stats, lines = summarize(np.ones((2, 3, 1, 3, 1)), np.ones((2, 1, 3, 1)), p)
        >>> stats.tolist() == [1.0] * 10, lines[1]
        (True, ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets= 20 ] = 1.000')
    """
    lines: list[str] = []
    md = list(p.max_dets)
    if p.iou_type == "keypoints":
        spec = [
            (1, None, "all", 20),
            (1, 0.5, "all", 20),
            (1, 0.75, "all", 20),
            (1, None, "medium", 20),
            (1, None, "large", 20),
            (0, None, "all", 20),
            (0, 0.5, "all", 20),
            (0, 0.75, "all", 20),
            (0, None, "medium", 20),
            (0, None, "large", 20),
        ]
    else:

        def m_at(i: int) -> int:
            return md[i] if i < len(md) else -1  # pycocotools would raise; report -1

        m2 = m_at(2)  # the first line is hard-wired to maxDets=100 in pycocotools
        spec = [
            (1, None, "all", 100),
            (1, 0.5, "all", m2),
            (1, 0.75, "all", m2),
            (1, None, "small", m2),
            (1, None, "medium", m2),
            (1, None, "large", m2),
            (0, None, "all", m_at(0)),
            (0, None, "all", m_at(1)),
            (0, None, "all", m2),
            (0, None, "small", m2),
            (0, None, "medium", m2),
            (0, None, "large", m2),
        ]
    stats = np.zeros((len(spec),))
    for i, (ap, thr, area, mdet) in enumerate(spec):
        stats[i] = _one(precision if ap == 1 else recall, ap, thr, area, mdet, p, lines)
    return stats, lines
