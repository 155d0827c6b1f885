"""Project methods for the gallery widget (thumbnail grid), and the tables it shows.

The gallery's browser side receives two Arrow tables, built here without a Python loop over rows:

* ``items``: one row per media item of the slice, in order: ``media_id``, ``file_name``, ``width``,
  ``height``, ``n_gt``, the other shown/sortable columns (by name: integers as int32, other numbers
  as float64 with NaN for missing, dates as milliseconds, the rest as text) and, per run,
  ``tp:<run>``, ``fp:<run>``, ``fn:<run>`` counts;
* ``boxes``: the overlays, sorted by ``item`` (row of ``items``): ``x0, y0, x1, y1`` (original pixels),
  ``src`` (0 = ground truth, k = the k-th run), ``status`` (0 gt, 1 tp, 2 fp, 3 fn: a ground-truth
  box the run missed, drawn in the run's layer), ``label_id`` and ``score``.

Predictions are matched to ground truth per (media, label), greedily by descending score at
IoU ≥ 0.5 (the COCO rule without crowd/area handling): the loop runs over the rank of a prediction
inside its group, and every group's rank-``r`` prediction is matched at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ValidationError, did_you_mean

if TYPE_CHECKING:
    import pyarrow as pa

    from ..query import MediaSlice
    from ..store import Store
    from ..widgets._gallery import Gallery

__all__ = ["GalleryMixin", "gallery_tables", "match_greedy"]

DEFAULT_COLUMNS = ("file_name", "width", "height", "n_instances")
STATUS_GT, STATUS_TP, STATUS_FP, STATUS_FN = 0, 1, 2, 3


def match_greedy(gt_group: np.ndarray, gt_box: np.ndarray, pr_group: np.ndarray, pr_box: np.ndarray,
                 pr_score: np.ndarray, iou_threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one matching of predictions to ground truth inside groups (e.g. media × label).

    Returns ``(pred_matched, gt_matched)`` boolean arrays. Higher scores pick first; each picks the
    unmatched ground-truth box of its group with the highest IoU ≥ ``iou_threshold``.

    Example:
        >>> g = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
        >>> p = np.array([[0, 0, 10, 9], [1, 0, 10, 10], [50, 50, 60, 60]], float)
        >>> tp, hit = match_greedy(np.array([0, 0]), g, np.array([0, 0, 0]), p, np.array([.9, .8, .7]))
        >>> tp.tolist(), hit.tolist()
        ([True, False, False], [True, False])
    """
    n_gt, n_pr = len(gt_group), len(pr_group)
    pr_hit = np.zeros(n_pr, dtype=bool)
    gt_hit = np.zeros(n_gt, dtype=bool)
    if not n_gt or not n_pr:
        return pr_hit, gt_hit
    g_order = np.argsort(gt_group, kind="stable")
    gg = gt_group[g_order]
    lo = np.searchsorted(gg, pr_group, side="left")
    cnt = np.searchsorted(gg, pr_group, side="right") - lo
    pi = np.repeat(np.arange(n_pr), cnt)  # all (prediction, gt) pairs of the same group
    gi = g_order[np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))]
    a, b = pr_box[pi], gt_box[gi]
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter)
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    keep = iou >= iou_threshold
    pi, gi, iou = pi[keep], gi[keep], iou[keep]
    if not len(pi):
        return pr_hit, gt_hit
    # rank of each prediction inside its group, by descending score (ties: lower index first)
    p_order = np.lexsort((np.arange(n_pr), -pr_score, pr_group))
    rank = np.empty(n_pr, dtype=np.int64)
    grp_sorted = pr_group[p_order]
    starts = np.r_[0, np.flatnonzero(grp_sorted[1:] != grp_sorted[:-1]) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, n_pr]))
    rank[p_order] = np.arange(n_pr) - first
    pr_rank = rank[pi]
    o = np.lexsort((-iou, pi, pr_rank))  # by rank, then prediction, then best IoU first
    pi, gi, pr_rank = pi[o], gi[o], pr_rank[o]
    bounds = np.searchsorted(pr_rank, np.arange(int(pr_rank.max()) + 2))
    for r in range(len(bounds) - 1):
        s = slice(bounds[r], bounds[r + 1])
        p, g = pi[s], gi[s]
        free = ~gt_hit[g]
        p, g = p[free], g[free]
        if not len(p):
            continue
        _, firsts = np.unique(p, return_index=True)  # the best free gt of each rank-r prediction
        pr_hit[p[firsts]] = True
        gt_hit[g[firsts]] = True
    return pr_hit, gt_hit


def _arrow_column(s: pd.Series) -> Any:
    """A column the browser can sort and show: numbers stay numbers, everything else becomes text."""
    import pyarrow as pa

    if pd.api.types.is_bool_dtype(s):
        return pa.array(s.astype("float64"), type=pa.float64())
    if pd.api.types.is_integer_dtype(s) and (not len(s) or (s.min() >= -(2**31) and s.max() < 2**31)):
        return pa.array(s.to_numpy(np.int32), type=pa.int32())
    if pd.api.types.is_integer_dtype(s) or pd.api.types.is_float_dtype(s):  # NaN stays NaN (no null bitmap)
        return pa.array(s.to_numpy(np.float64, na_value=np.nan), type=pa.float64())
    if pd.api.types.is_datetime64_any_dtype(s):  # sortable: milliseconds since the epoch
        ms = (s.dt.tz_localize(None) if s.dt.tz is not None else s) - pd.Timestamp(0)
        return pa.array(ms.dt.total_seconds().to_numpy(np.float64) * 1000.0, type=pa.float64())
    return pa.array(s.astype(object).where(s.notna(), "").astype(str).tolist(), type=pa.string())


def gallery_tables(store: Store, media_slice: MediaSlice, runs: Sequence[tuple[int, str]],
                   columns: Sequence[str], sort: str | None = None) -> tuple[pa.Table, pa.Table]:
    """The ``items`` and ``boxes`` tables of a gallery (see the module docstring).

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> items, boxes = gallery_tables(p.store, p.media(), [], ["width"])
        >>> items.column_names, boxes.num_rows
        (['media_id', 'file_name', 'width', 'height', 'n_gt'], 0)
    """
    import pyarrow as pa

    sl = media_slice
    if sort:
        desc = sort.startswith("-")
        sl = sl.sort_by(sort.lstrip("-"), descending=desc)
    sql, params = sl.sql()
    run_ids = [rid for rid, _ in runs]
    with store.read() as con:
        df = con.execute(sql, params).df()
        inst = con.execute(
            # the slice SQL is composed by MediaSlice from code-owned fragments; values are parameters
            "SELECT media_id, run_id, label_id, x0, y0, x1, y1, score FROM current_instances "  # noqa: S608
            "WHERE kind <> 'tag' AND (run_id IS NULL OR run_id IN (SELECT unnest(?))) "
            f"AND media_id IN (SELECT media_id FROM ({sql}) AS s)", [run_ids, *params]).df()
    n = len(df)
    mids = df["media_id"].to_numpy(np.int64)
    cols: dict[str, Any] = {
        "media_id": pa.array(mids, pa.int64()),
        "file_name": pa.array(df["file_name"].astype(str).tolist(), pa.string()),
        "width": pa.array(df["width"].to_numpy(np.int32), pa.int32()),
        "height": pa.array(df["height"].to_numpy(np.int32), pa.int32()),
    }
    order = np.argsort(mids, kind="stable")
    item = order[np.clip(np.searchsorted(mids[order], inst["media_id"].to_numpy(np.int64)), 0, max(n - 1, 0))]
    run_idx = inst["run_id"].map({rid: k + 1 for k, rid in enumerate(run_ids)}).fillna(0).to_numpy(np.int64)
    xyxy = inst[["x0", "y0", "x1", "y1"]].to_numpy(np.float64)
    label = inst["label_id"].to_numpy(np.int64)
    score = inst["score"].to_numpy(np.float64, na_value=np.nan)
    is_gt = run_idx == 0
    n_gt = np.bincount(item[is_gt], minlength=n).astype(np.int32)
    parts: list[dict[str, np.ndarray]] = [{"item": item[is_gt], "box": xyxy[is_gt], "src": run_idx[is_gt],
                                           "status": np.full(int(is_gt.sum()), STATUS_GT), "label": label[is_gt],
                                           "score": score[is_gt]}]
    counts: dict[str, np.ndarray] = {}
    g_item, g_box, g_label = item[is_gt], xyxy[is_gt], label[is_gt]
    n_labels = int(label.max()) + 1 if len(label) else 1
    for k, (_, name) in enumerate(runs, start=1):
        m = run_idx == k
        p_item, p_box, p_label, p_score = item[m], xyxy[m], label[m], np.nan_to_num(score[m], nan=0.0)
        tp, hit = match_greedy(g_item * n_labels + g_label, g_box, p_item * n_labels + p_label, p_box, p_score)
        counts[f"tp:{name}"] = np.bincount(p_item[tp], minlength=n)
        counts[f"fp:{name}"] = np.bincount(p_item[~tp], minlength=n)
        counts[f"fn:{name}"] = np.bincount(g_item[~hit], minlength=n)
        parts.append({"item": p_item, "box": p_box, "src": np.full(len(p_item), k),
                      "status": np.where(tp, STATUS_TP, STATUS_FP), "label": p_label, "score": score[m]})
        parts.append({"item": g_item[~hit], "box": g_box[~hit], "src": np.full(int((~hit).sum()), k),
                      "status": np.full(int((~hit).sum()), STATUS_FN), "label": g_label[~hit],
                      "score": np.full(int((~hit).sum()), np.nan)})
    for c in columns:
        if c not in cols:
            cols[c] = _arrow_column(df[c])
    cols["n_gt"] = pa.array(n_gt, pa.int32())
    for k, v in counts.items():
        cols[k] = pa.array(v.astype(np.int32), pa.int32())
    items = pa.table(cols)
    # column order: fixed first, then shown columns, then counts
    fixed = ["media_id", "file_name", "width", "height", "n_gt"]
    items = items.select(fixed + [c for c in items.column_names if c not in fixed])
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    o = np.argsort(cat["item"], kind="stable")
    box = cat["box"][o].astype(np.float32).reshape(-1, 4)
    boxes = pa.table({
        "item": pa.array(cat["item"][o].astype(np.int32)),
        "x0": pa.array(box[:, 0]), "y0": pa.array(box[:, 1]), "x1": pa.array(box[:, 2]), "y1": pa.array(box[:, 3]),
        "src": pa.array(cat["src"][o].astype(np.int8)),
        "status": pa.array(cat["status"][o].astype(np.int8)),
        "label_id": pa.array(cat["label"][o].astype(np.int32)),
        "score": pa.array(cat["score"][o].astype(np.float32)),
    })
    return items, boxes


class GalleryMixin:
    """Project methods for the gallery widget (thumbnail grid)."""

    def gallery(self, media_slice: MediaSlice | None = None, *, runs: Sequence[Any] | str | None = None,
                size: int = 160, sort: str | None = None, columns: Sequence[str] | None = None,
                stage: str = "label") -> Gallery:
        """A scrolling thumbnail grid over a slice of media, with GT / prediction overlays.

        Args:
            media_slice: the media to show (default: every item), in the slice's order.
            runs: model run(s) whose predictions are drawn, matched to GT at IoU 0.5
                (tp green, fp red, missed GT orange); ``"*"`` for every run.
            size: longest side of a thumbnail in pixels (thumbnails are cached per size).
            sort: a column to sort by first (``"-width"`` for descending); the grid can re-sort.
            columns: slice columns shown under each thumbnail and offered for sorting.
            stage: the stage that "mark for review" writes to.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> g = p.gallery(size=96)
            >>> g.count, g.size
            (1, 96)
        """
        from ..widgets._gallery import Gallery

        return Gallery(self, media_slice, runs=runs, size=size, sort=sort, columns=columns, stage=stage)


def check_columns(media_slice: MediaSlice, columns: Sequence[str] | None, sort: str | None) -> list[str]:
    """Validate the shown columns and the sort column against the slice's columns."""
    allowed = list(media_slice._all_columns())
    cols = list(DEFAULT_COLUMNS if columns is None else columns)
    for c in cols:
        if c not in allowed:
            raise ValidationError(f"column {c!r} is not a media column{did_you_mean(c, allowed)}")
    if sort:
        name = sort.lstrip("-")
        if name not in allowed:
            raise ValidationError(f"cannot sort by {name!r}{did_you_mean(name, allowed)}; "
                                  "prefix '-' to sort descending")
        if name not in cols:
            cols.append(name)
    return cols
