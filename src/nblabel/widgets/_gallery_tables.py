"""The two Arrow tables the gallery sends to the browser, built without a Python loop over rows.

* ``items``: one row per media item of the slice, in order: ``media_id``, ``file_name``, ``width``,
  ``height``, ``n_gt``, the other shown/sortable columns (by name: integers as int32, other numbers
  as float64 with NaN for missing, dates as milliseconds, the rest as text) and, per run,
  ``tp:<run>``, ``fp:<run>``, ``fn:<run>`` counts;
* ``boxes``: the overlays, sorted by ``item`` (row of ``items``): ``x0, y0, x1, y1`` (original pixels),
  ``src`` (0 = ground truth, k = the k-th shown run), ``status``, ``label_id`` and ``score``.

``status`` is 0 for a ground-truth box (in the ground-truth layer) and, in a run's layer, 1 for a
true positive, 2 for a false positive, 3 for a ground-truth box the run missed (fn), and 0 again
for a prediction the evaluation neither credits nor penalises (``ignored``: it matched a crowd
region, or it is past the 100 best of its image and label, or of a kind box evaluation leaves out).

The tp / fp / fn come from the evaluation engine itself (:func:`nblabel.debug._cocoeval.evaluate_frames`,
the one greedy matcher of :mod:`nblabel.geometry._match`), with the parameters of
``proj.evaluate(run)``'s matches at IoU 0.5: per (media, label), predictions by descending score,
crowd regions absorbing any number of predictions and never missed, at most 100 predictions per
media and label, area range "all". So an instance has the status here that ``evaluate`` gives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..debug._cocoeval import evaluate_frames
from ..errors import ValidationError, did_you_mean

if TYPE_CHECKING:
    import pyarrow as pa

    from ..query import MediaSlice
    from ..store import Store

__all__ = ["DEFAULT_COLUMNS", "STATUS_FN", "STATUS_FP", "STATUS_GT", "STATUS_IGNORED", "STATUS_TP",
           "arrow_column", "check_columns", "gallery_tables", "match_run"]

DEFAULT_COLUMNS = ("file_name", "width", "height", "n_instances")
STATUS_GT, STATUS_TP, STATUS_FP, STATUS_FN = 0, 1, 2, 3
STATUS_IGNORED = STATUS_GT  # drawn in the neutral colour: neither right nor wrong for the evaluation
MATCH_IOU = 0.5
MATCH_MAX_DETS = 100  # evaluate()'s max_dets[-1]: the matches table holds the 100 best per media and label
BOX_EVAL_KINDS = ("box", "polygon", "mask", "keypoints")  # the kinds evaluate(iou_type="bbox") reads
_ALL_AREAS = {"all": (0.0, 1e10)}  # COCO's "all" range, the one evaluate's matches table reports


def _frame(inst: pd.DataFrame, id_col: str) -> pd.DataFrame:
    x0, y0 = inst["x0"].to_numpy(np.float64), inst["y0"].to_numpy(np.float64)
    w, h = inst["x1"].to_numpy(np.float64) - x0, inst["y1"].to_numpy(np.float64) - y0
    return pd.DataFrame({id_col: inst["instance_id"].to_numpy(np.int64),
                         "image_id": inst["media_id"].to_numpy(np.int64),
                         "category_id": inst["label_id"].to_numpy(np.int64), "x": x0, "y": y0, "w": w, "h": h})


def match_run(gt: pd.DataFrame, pred: pd.DataFrame, media_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Match one run's predictions to the ground truth as ``evaluate`` does at IoU 0.5.

    ``gt`` / ``pred`` are current instances (``instance_id, media_id, label_id, x0..y1``, gt with
    ``area`` and ``iscrowd``, predictions with ``score``; optional ``scored``: false for a kind box
    evaluation leaves out) sorted by (media, instance) id, as the evaluation reads them. Returns each prediction's status (``STATUS_TP``, ``STATUS_FP`` or
    ``STATUS_IGNORED``) and, per ground truth, whether the run missed it (never for a crowd region).

    Example:
        >>> gt = pd.DataFrame({"instance_id": [1, 2], "media_id": 1, "label_id": 1, "x0": [0., 50],
        ...                    "y0": 0., "x1": [10., 90], "y1": [10., 90], "area": np.nan, "iscrowd": [False, True]})
        >>> pred = pd.DataFrame({"instance_id": [3, 4, 5], "media_id": 1, "label_id": 1, "x0": [0., 60, 20],
        ...                      "y0": [0., 60, 20], "x1": [10., 70, 30], "y1": [10., 70, 30], "score": .9})
        >>> status, missed = match_run(gt, pred, np.array([1]))
        >>> status.tolist(), missed.tolist()  # tp; inside the crowd region: ignored; on nothing: fp
        ([1, 0, 2], [False, False])
    """
    status = np.full(len(pred), STATUS_IGNORED, dtype=np.int8)
    missed = np.zeros(len(gt), dtype=bool)
    g_ok = gt["scored"].to_numpy(bool) if "scored" in gt else np.ones(len(gt), bool)
    p_ok = pred["scored"].to_numpy(bool) if "scored" in pred else np.ones(len(pred), bool)
    g, p = gt[g_ok], pred[p_ok]
    if not len(g) and not len(p):
        return status, missed
    gf = _frame(g, "gt_id")
    area = g["area"].to_numpy(np.float64, na_value=np.nan)
    gf["area"] = np.where(np.isnan(area), gf["w"].to_numpy() * gf["h"].to_numpy(), area)
    gf["iscrowd"] = g["iscrowd"].fillna(False).astype(bool).to_numpy().astype(np.int64)
    pf = _frame(p, "dt_id")
    pf["score"] = p["score"].to_numpy(np.float64, na_value=np.nan)
    labels = np.union1d(gf["category_id"].to_numpy(), pf["category_id"].to_numpy())
    m = evaluate_frames(gf, pf, images=media_ids.tolist(), categories=labels.tolist(),
                        iou_thresholds=[MATCH_IOU], max_dets=(MATCH_MAX_DETS,), area_ranges=_ALL_AREAS).matches
    st = m["status"]
    code = np.full(len(st.cat.categories), STATUS_IGNORED, dtype=np.int8)  # by the category's position
    code[list(st.cat.categories).index("tp")] = STATUS_TP
    code[list(st.cat.categories).index("fp")] = STATUS_FP
    is_fn = (st == "fn").to_numpy()
    det = m.loc[~is_fn]
    at = pd.Index(pf["dt_id"].to_numpy()).get_indexer(det["dt_id"].to_numpy(np.int64))
    status[np.flatnonzero(p_ok)[at]] = code[det["status"].cat.codes.to_numpy()]
    at = pd.Index(gf["gt_id"].to_numpy()).get_indexer(m.loc[is_fn, "gt_id"].to_numpy(np.int64))
    missed[np.flatnonzero(g_ok)[at]] = True
    return status, missed


def arrow_column(s: pd.Series) -> Any:
    """A column the browser can sort and show: numbers stay numbers, everything else becomes text.

    Example:
        >>> arrow_column(pd.Series([1, 2])).type, arrow_column(pd.Series(["a", None])).to_pylist()
        (DataType(int32), ['a', ''])
    """
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
            "SELECT instance_id, media_id, run_id, label_id, x0, y0, x1, y1, score, area, iscrowd, "  # noqa: S608
            "kind IN (SELECT unnest(?)) AS scored FROM current_instances WHERE kind <> 'tag' AND (run_id IS NULL OR run_id IN (SELECT unnest(?))) "
            f"AND media_id IN (SELECT media_id FROM ({sql}) AS s) ORDER BY media_id, instance_id",
            [list(BOX_EVAL_KINDS), run_ids, *params]).df()
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
    gt_rows = inst[is_gt]
    g_item, g_box, g_label = item[is_gt], xyxy[is_gt], label[is_gt]
    for k, (_, name) in enumerate(runs, start=1):
        m = run_idx == k
        p_item = item[m]
        status, missed = match_run(gt_rows, inst[m], mids)
        counts[f"tp:{name}"] = np.bincount(p_item[status == STATUS_TP], minlength=n)
        counts[f"fp:{name}"] = np.bincount(p_item[status == STATUS_FP], minlength=n)
        counts[f"fn:{name}"] = np.bincount(g_item[missed], minlength=n)
        parts.append({"item": p_item, "box": xyxy[m], "src": np.full(len(p_item), k),
                      "status": status, "label": label[m], "score": score[m]})
        parts.append({"item": g_item[missed], "box": g_box[missed], "src": np.full(int(missed.sum()), k),
                      "status": np.full(int(missed.sum()), STATUS_FN), "label": g_label[missed],
                      "score": np.full(int(missed.sum()), np.nan)})
    for c in columns:
        if c not in cols:
            cols[c] = arrow_column(df[c])
    cols["n_gt"] = pa.array(n_gt, pa.int32())
    for key, v in counts.items():
        cols[key] = pa.array(v.astype(np.int32), pa.int32())
    items = pa.table(cols)
    # column order: fixed first, then shown columns, then counts
    fixed = ["media_id", "file_name", "width", "height", "n_gt"]
    items = items.select(fixed + [c for c in items.column_names if c not in fixed])
    cat = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
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


def check_columns(media_slice: MediaSlice, columns: Sequence[str] | None, sort: str | None) -> list[str]:
    """Validate the shown columns and the sort column against the slice's columns.

    Example:
        >>> import nblabel as nl
        >>> check_columns(nl.open(":memory:").media(), ["width"], "-height")
        ['width', 'height']
    """
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
