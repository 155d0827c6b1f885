"""COCO detection evaluation (bbox, segm, keypoints) on pandas DataFrames, identical to pycocotools.

:func:`evaluate_frames` reproduces ``pycocotools.cocoeval.COCOeval`` (``evaluate()``,
``accumulate()``, ``summarize()``) number for number, including its quirks:

* detections are sorted by score descending with a stable sort per (image, category), ties keeping
  the frame's row order (pycocotools: the results file order), and cut to ``max_dets[-1]`` before
  matching; ground truths keep their row order, ignored ones moved last;
* a crowd ground truth can absorb several detections; crowd IoU is intersection / detection area;
* the match threshold test is ``iou >= min(t, 1 - 1e-10)``, a later candidate with an equal IoU wins;
* area ranges (inclusive at both ends) use the ground truth's ``area`` column (COCO's stored area,
  not the box area) and the detection's ``area`` (box ``w*h`` for bbox when the column is absent);
* precision is made monotone from the right and read with ``searchsorted(rc, recThrs, 'left')``;
  categories without a (non-ignored) ground truth get ``-1``;
* pycocotools stores ids as match flags, so a ground truth with id ``0`` never counts as a match
  and a detection with an id ``<= 0`` never "uses up" its ground truth; this is reproduced.

One deliberate difference: pycocotools overwrites a ground truth's ``ignore`` field with its
``iscrowd`` flag. Here an optional boolean ``ignore`` column *adds* ignored ground truths (leave it
out, as :func:`gt_from_coco` does, to match pycocotools).

Detections should be normalised the way ``COCO.loadRes`` does it (``area = w*h`` for boxes, ids
``1..N`` in file order, ...): :func:`dt_from_coco_results` does exactly that for a COCO results list.

Speed: everything is vectorised over all (image, category) groups -- one pass for the similarities,
a greedy matching loop over the detection rank (at most ``max_dets[-1]`` iterations, each matching
every group, every IoU threshold and every area range at once) and a loop-free accumulation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from nblabel.debug._eval_accumulate import accumulate
from nblabel.debug._eval_coco_io import dt_from_coco_results, gt_from_coco
from nblabel.debug._eval_match import oks_pairs
from nblabel.debug._eval_prepare import COCO_KEYPOINT_SIGMAS, Flat, area_ranges_of, flatten, keypoint_array
from nblabel.debug._eval_segm import mask_area, segm_iou_pairs, segm_rles
from nblabel.debug._eval_summary import summarize
from nblabel.errors import ValidationError
from nblabel.geometry import box_iou_coco_pairs, build_pairs, greedy_match

__all__ = [
    "COCO_KEYPOINT_SIGMAS",
    "CocoEvalResult",
    "EvalParams",
    "dt_from_coco_results",
    "evaluate_frames",
    "gt_from_coco",
]

_IOU_TYPES = ("bbox", "segm", "keypoints")
_STATUS = ["tp", "fp", "ignored", "fn"]


@dataclass(frozen=True)
class EvalParams:
    """The parameters an evaluation ran with (pycocotools' ``Params``).

    Example:
        >>> p = EvalParams("bbox", np.array([.5]), np.linspace(0, 1, 101), (100,), ["all"],
        ...                np.array([[0, 1e10]]), np.array([1]), np.array([1]), True)
        >>> p.iou_type
        'bbox'
    """

    iou_type: str
    iou_thresholds: np.ndarray
    rec_thresholds: np.ndarray
    max_dets: tuple[int, ...]
    area_labels: list[str]
    area_ranges: np.ndarray
    images: np.ndarray
    categories: np.ndarray
    use_cats: bool


@dataclass
class CocoEvalResult:
    """Result of :func:`evaluate_frames`, laid out like pycocotools' ``COCOeval.eval`` / ``stats``.

    ``precision`` and ``scores`` are ``[T, R, K, A, M]``, ``recall`` is ``[T, K, A, M]`` (``-1`` where
    a category has no non-ignored ground truth), ``stats`` the 12 (keypoints: 10) numbers of
    ``summarize()``. ``matches`` and ``per_class`` are built on first access.

    Example:
        >>> gt = pd.DataFrame(dict(gt_id=[1], image_id=[1], category_id=[1], x=[0.], y=[0.], w=[10.],
        ...                        h=[10.], area=[100.], iscrowd=[0]))
        >>> dt = pd.DataFrame(dict(dt_id=[1], image_id=[1], category_id=[1], x=[0.], y=[0.], w=[10.],
        ...                        h=[10.], score=[.9]))
        >>> r = evaluate_frames(gt, dt)
        >>> round(float(r.stats[0]), 6), r.matches.status.tolist()[:2]
        (1.0, ['tp', 'tp'])
    """

    stats: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    params: EvalParams
    _flat: Flat = field(repr=False)
    _match: np.ndarray = field(repr=False)  # (A, T, n_dt) matched gt index
    _gt_ignore: np.ndarray = field(repr=False)  # (A, n_gt)
    _dt_area_out: np.ndarray = field(repr=False)  # (A, n_dt)
    _match_iou: np.ndarray = field(repr=False)  # (T, n_dt) IoU of the match at area 'all' (or best)
    _gt_frame: pd.DataFrame = field(repr=False)
    _dt_frame: pd.DataFrame = field(repr=False)

    def _a_all(self) -> int:
        labels = self.params.area_labels
        return labels.index("all") if "all" in labels else 0

    @cached_property
    def matches(self) -> pd.DataFrame:
        """Per-detection outcome at every IoU threshold (area 'all', ``max_dets[-1]``), plus misses.

        One row per (detection, IoU threshold) with ``status`` ``'tp'``, ``'fp'`` or ``'ignored'``
        (matched a crowd/ignored ground truth, or unmatched and outside the area range), then one
        ``'fn'`` row per (non-ignored ground truth left unmatched, threshold) with ``dt_id`` NA.
        ``iou`` is the IoU with the matched ground truth, else the best IoU with any ground truth of
        the same image and class (NaN when there is none).

        Example:
            >>> gt = pd.DataFrame(dict(gt_id=[1], image_id=[1], category_id=[1], x=[0.], y=[0.],
            ...                        w=[10.], h=[10.], area=[100.], iscrowd=[0]))
            >>> dt = pd.DataFrame(dict(dt_id=[7], image_id=[1], category_id=[1], x=[5.], y=[0.],
            ...                        w=[10.], h=[10.], score=[.9]))
            >>> m = evaluate_frames(gt, dt).matches
            >>> m.groupby("status").size().to_dict()
            {'fp': 10, 'fn': 10}
        """
        f = self._flat
        a = self._a_all()
        thr = self.params.iou_thresholds
        n_t = len(thr)
        n_dt = len(f.d_id)
        m = self._match[a]  # (T, n_dt)
        matched = m >= 0
        g_safe = np.maximum(m, 0)
        dtm = matched & (f.g_id[g_safe] != 0) if len(f.g_id) else np.zeros_like(matched)
        gig = self._gt_ignore[a][g_safe] if len(f.g_id) else np.zeros_like(matched)
        dt_ig = (matched & gig) | (~dtm & self._dt_area_out[a][None, :])
        status = np.where(dt_ig, 2, np.where(dtm, 0, 1)).astype(np.int8)  # codes of _STATUS
        gt_raw = np.where(matched, f.g_id[g_safe], 0).ravel() if len(f.g_id) else np.zeros(matched.size)
        gt_ids = pd.array(gt_raw.astype(np.int64), dtype="Int64")
        gt_ids[~matched.ravel()] = pd.NA
        img_vals = f.images[f.d_img]
        cat_vals = self._dt_frame["category_id"].to_numpy()[f.d_row]
        dt_part = pd.DataFrame(
            {
                "dt_id": pd.array(np.tile(f.d_id, n_t), dtype="Int64"),
                "image_id": np.tile(img_vals, n_t),
                "category_id": np.tile(cat_vals, n_t),
                "iou_threshold": np.repeat(thr, n_dt),
                "gt_id": gt_ids,
                "iou": self._match_iou.ravel(),
                "status": pd.Categorical.from_codes(status.ravel(), categories=_STATUS),
                "score": np.tile(f.d_score, n_t),
            }
        )
        # ground truths left unmatched (non-ignored only)
        gt_hit = np.zeros((n_t, len(f.g_id)), dtype=bool)
        t_i, d_i = np.nonzero(matched)
        gt_hit[t_i, m[t_i, d_i]] = True
        miss_t, miss_g = np.nonzero(~gt_hit & ~self._gt_ignore[a][None, :])
        g_cat_vals = self._gt_frame["category_id"].to_numpy()[f.g_row]
        fn_part = pd.DataFrame(
            {
                "dt_id": pd.array([pd.NA] * len(miss_g), dtype="Int64"),
                "image_id": f.images[f.g_img[miss_g]],
                "category_id": g_cat_vals[miss_g],
                "iou_threshold": thr[miss_t],
                "gt_id": pd.array(f.g_id[miss_g], dtype="Int64"),
                "iou": np.full(len(miss_g), np.nan),
                "status": pd.Categorical.from_codes(np.full(len(miss_g), 3, np.int8), categories=_STATUS),
                "score": np.full(len(miss_g), np.nan),
            }
        )
        return pd.concat([dt_part, fn_part], ignore_index=True) if len(fn_part) else dt_part

    @cached_property
    def per_class(self) -> pd.DataFrame:
        """Per category: AP, AP50, AP75, AR at ``max_dets[-1]`` (area 'all'), ground truths, detections.

        ``n_gt`` counts non-ignored ground truths (the recall denominator), ``n_dt`` the detections
        evaluated (after the ``max_dets[-1]`` cut). AP is -1 for a category without ground truth.

        Example:
            >>> gt = pd.DataFrame(dict(gt_id=[1], image_id=[1], category_id=[3], x=[0.], y=[0.],
            ...                        w=[10.], h=[10.], area=[100.], iscrowd=[0]))
            >>> evaluate_frames(gt, gt.rename(columns={"gt_id": "dt_id"}).assign(score=1.)).per_class.AP.round(6).tolist()
            [1.0]
        """
        p = self.params
        a = self._a_all()
        m = len(p.max_dets) - 1
        f = self._flat
        rows = []
        n_k = self.precision.shape[2]
        cats = p.categories if p.use_cats else np.array(["all"], dtype=object)
        n_gt = np.bincount(f.g_k[~self._gt_ignore[a]], minlength=n_k)
        n_dt = np.bincount(f.d_k, minlength=n_k)
        for k in range(n_k):

            def mean_valid(s: np.ndarray) -> float:
                v = s[s > -1]
                return float(np.mean(v)) if len(v) else -1.0

            pr = self.precision[:, :, k, a, m]
            row = {
                "category_id": cats[k],
                "AP": mean_valid(pr),
                "AP50": mean_valid(pr[np.where(p.iou_thresholds == 0.5)[0]]),
                "AP75": mean_valid(pr[np.where(p.iou_thresholds == 0.75)[0]]),
                f"AR{p.max_dets[-1]}": mean_valid(self.recall[:, k, a, m]),
                "n_gt": int(n_gt[k]),
                "n_dt": int(n_dt[k]),
            }
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """The lines pycocotools' ``summarize()`` prints, joined by newlines.

        Example:
            >>> gt = pd.DataFrame(dict(gt_id=[1], image_id=[1], category_id=[1], x=[0.], y=[0.],
            ...                        w=[10.], h=[10.], area=[100.], iscrowd=[0]))
            >>> print(evaluate_frames(gt, gt.rename(columns={"gt_id": "dt_id"}).assign(score=1.))
            ...       .summary().splitlines()[0])
             Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000
        """
        return "\n".join(summarize(self.precision, self.recall, self.params)[1])


def _as_thresholds(values: Iterable[float] | None, default: np.ndarray, name: str) -> np.ndarray:
    if values is None:
        return default
    arr = np.asarray(list(values), dtype=np.float64)
    if arr.ndim != 1 or len(arr) == 0 or not np.all(np.isfinite(arr)):
        raise ValidationError(f"{name} must be a non-empty list of finite numbers, got {values!r}")
    return arr


def evaluate_frames(
    gt: pd.DataFrame,
    dt: pd.DataFrame,
    *,
    iou_type: str = "bbox",
    images: Iterable[Any] | None = None,
    categories: Iterable[Any] | None = None,
    iou_thresholds: Iterable[float] | None = None,
    rec_thresholds: Iterable[float] | None = None,
    max_dets: Sequence[int] | None = (1, 10, 100),
    area_ranges: Mapping[str, Sequence[float]] | Sequence[Sequence[float]] | None = None,
    sigmas: Sequence[float] | np.ndarray | None = None,
    use_cats: bool = True,
    image_sizes: Mapping[Any, tuple[int, int]] | pd.DataFrame | None = None,
) -> CocoEvalResult:
    """Evaluate detections against ground truth exactly like pycocotools' ``COCOeval``.

    Args:
        gt: one row per ground truth: ``gt_id, image_id, category_id, x, y, w, h`` (COCO xywh),
            ``area`` (COCO's stored area), ``iscrowd``; optional ``ignore``; ``segmentation``
            (polygons or RLE) for ``segm``; ``keypoints`` (flat ``[x, y, v]*K``) and
            ``num_keypoints`` for ``keypoints``. Row order breaks ties like the json file order.
        dt: one row per detection: ``dt_id, image_id, category_id, x, y, w, h, score``; optional
            ``area`` (default: ``w*h`` for bbox, mask area for segm, keypoint extent for
            keypoints); ``segmentation`` / ``keypoints`` as for ``gt``.
        iou_type: ``"bbox"``, ``"segm"`` or ``"keypoints"``.
        images: image ids to evaluate (default: every id in ``gt`` or ``dt``); sorted like pycocotools.
        categories: category ids (default: the sorted ids in ``gt``).
        iou_thresholds, rec_thresholds: default COCO's ``.50:.05:.95`` and 101 recall points.
        max_dets: detections per image and category; default ``(1, 10, 100)`` (keypoints: ``(20,)``).
        area_ranges: ``{label: (lo, hi)}``; default all/small/medium/large (keypoints: all/medium/large).
        sigmas: per-keypoint OKS sigmas (default COCO's 17 person sigmas).
        use_cats: ``False`` ignores categories (proposal recall), as pycocotools' ``useCats=0``.
        image_sizes: ``{image_id: (height, width)}`` or a frame with ``image_id, height, width``;
            needed for ``segm`` when segmentations are polygons (unless ``gt``/``dt`` have
            ``height`` and ``width`` columns).

    Returns:
        A :class:`CocoEvalResult`.

    Example:
        >>> gt = pd.DataFrame(dict(gt_id=[1, 2], image_id=[1, 1], category_id=[1, 1], x=[0., 50.],
        ...                        y=[0., 50.], w=[10., 20.], h=[10., 20.], area=[100., 400.],
        ...                        iscrowd=[0, 0]))
        >>> dt = pd.DataFrame(dict(dt_id=[1], image_id=[1], category_id=[1], x=[1.], y=[0.],
        ...                        w=[10.], h=[10.], score=[.8]))
        >>> r = evaluate_frames(gt, dt)
        >>> round(float(r.stats[1]), 3), round(float(r.stats[8]), 3)
        (0.505, 0.35)
    """
    if iou_type not in _IOU_TYPES:
        raise ValidationError(f"iou_type must be one of {_IOU_TYPES}, got {iou_type!r}")
    if iou_type == "keypoints" and max_dets == (1, 10, 100):
        max_dets = (20,)
    md = sorted(int(m) for m in (max_dets if max_dets is not None else (1, 10, 100)))
    if not md or md[0] < 1:
        raise ValidationError(f"max_dets must be positive integers, got {max_dets!r}")
    iou_thrs = _as_thresholds(
        iou_thresholds,
        np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True),
        "iou_thresholds",
    )
    rec_thrs = _as_thresholds(
        rec_thresholds,
        np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True),
        "rec_thresholds",
    )
    labels, ranges = area_ranges_of(area_ranges, iou_type)
    f = flatten(gt, dt, iou_type, images, categories, use_cats, md[-1])
    pairs = build_pairs(f.g_group, f.d_group)

    if iou_type == "bbox":
        sim = box_iou_coco_pairs(f.d_box[pairs.dt], f.g_box[pairs.gt], f.g_crowd[pairs.gt])
    elif iou_type == "keypoints":
        sig = COCO_KEYPOINT_SIGMAS if sigmas is None else np.asarray(sigmas, dtype=np.float64)
        gkp = keypoint_array(gt["keypoints"].to_numpy(dtype=object)[f.g_row], "gt", len(sig))
        dkp = keypoint_array(dt["keypoints"].to_numpy(dtype=object)[f.d_row], "dt", len(sig))
        for name, arr in (("gt", gkp), ("dt", dkp)):
            if len(arr) and arr.shape[1] != len(sig):
                raise ValidationError(
                    f"{name}['keypoints'] has {arr.shape[1]} keypoints but sigmas has {len(sig)}; "
                    f"pass the sigmas of your keypoint template"
                )
        missing = np.isnan(f.d_area)
        if missing.any():
            ext = (dkp[:, :, 0].max(1) - dkp[:, :, 0].min(1)) * (dkp[:, :, 1].max(1) - dkp[:, :, 1].min(1))
            f.d_area = np.where(missing, ext, f.d_area)
        sim = oks_pairs(dkp, gkp, f.g_box, f.g_area, sig, pairs)
    else:
        sizes = image_sizes
        if sizes is None and "height" in gt.columns and "width" in gt.columns:
            # detections rasterise at the size of their image, known from the ground truth rows
            first = gt.drop_duplicates("image_id")
            sizes = dict(
                zip(first["image_id"], zip(first["height"], first["width"], strict=False), strict=False)
            )
        g_rle = segm_rles(gt, f.g_row, f.images[f.g_img], sizes, "gt")
        d_rle = segm_rles(dt, f.d_row, f.images[f.d_img], sizes, "dt")
        missing = np.isnan(f.d_area)
        if missing.any():
            f.d_area = np.where(missing, mask_area(d_rle), f.d_area)
        sim = segm_iou_pairs(d_rle, g_rle, f.g_crowd, pairs)

    lo, hi = ranges[:, 0][:, None], ranges[:, 1][:, None]
    gt_ignore = f.g_ignore[None, :] | (f.g_area[None, :] < lo) | (f.g_area[None, :] > hi)
    dt_area_out = (f.d_area[None, :] < lo) | (f.d_area[None, :] > hi)
    match = greedy_match(sim, pairs, f.d_rank, f.d_id, f.g_crowd, gt_ignore, iou_thrs)
    n_cat = len(f.categories) if use_cats else 1
    precision, recall, scores = accumulate(
        match,
        gt_ignore,
        f.g_id,
        f.g_k,
        dt_area_out,
        f.d_k,
        f.d_img,
        f.d_rank,
        f.d_score,
        n_cat,
        md,
        rec_thrs,
    )
    params = EvalParams(
        iou_type=iou_type,
        iou_thresholds=iou_thrs,
        rec_thresholds=rec_thrs,
        max_dets=tuple(md),
        area_labels=labels,
        area_ranges=ranges,
        images=f.images,
        categories=f.categories,
        use_cats=use_cats,
    )
    stats, _ = summarize(precision, recall, params)
    a_all = labels.index("all") if "all" in labels else 0
    match_iou = _match_ious(sim, pairs, match[a_all], len(f.d_id))
    return CocoEvalResult(
        stats=stats,
        precision=precision,
        recall=recall,
        scores=scores,
        params=params,
        _flat=f,
        _match=match,
        _gt_ignore=gt_ignore,
        _dt_area_out=dt_area_out,
        _match_iou=match_iou,
        _gt_frame=gt,
        _dt_frame=dt,
    )


def _match_ious(sim: np.ndarray, pairs: Any, match: np.ndarray, n_dt: int) -> np.ndarray:
    """IoU of each (threshold, detection) match; the best IoU when unmatched (NaN: no candidate)."""
    best = np.full(n_dt, np.nan)
    has = pairs.dt_count > 0
    if has.any():
        best[has] = np.maximum.reduceat(sim, pairs.dt_start[has])
    out = np.broadcast_to(best, match.shape).copy()
    t_i, d_i = np.nonzero(match >= 0)
    if len(t_i):
        first_gt = pairs.gt[pairs.dt_start[d_i]]
        out[t_i, d_i] = sim[pairs.dt_start[d_i] + match[t_i, d_i] - first_gt]
    return out
