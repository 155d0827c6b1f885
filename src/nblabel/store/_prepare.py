"""Turn instance input (one instance, a DataFrame, an import) into checked rows for the store.

The first half of the one write path every writer uses (``add_instance``, ``add_instances``,
predictions, the COCO/YOLO/VOC imports, the annotator): resolve media and labels, check the
spatial type against the schema, validate geometry (the border rule of :mod:`._border`: batches
keep what the source gave, one drawn instance is clipped), check attribute values and scores. Boxes
and point geometry are checked vectorised (:mod:`._check_points`); attribute values row by row.
:mod:`._instances` writes what comes out.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from .._report import ImportReport
from ..errors import SchemaError, ValidationError, did_you_mean
from ..schema import SchemaState, check_attributes
from ._border import BoxCheck, border_notes, check_box_array, crossing, empty_notes, warn_if_relative
from ._check_points import POINT_KINDS, check_points
from ._points_json import points_json

__all__ = ["COLUMNS", "KINDS", "check_box_array", "check_boxes", "kind_problem", "prepare_instances", "prepare_one",
           "resolve_labels", "resolve_media"]

KINDS = ("box", "polygon", "keypoints", "point", "line", "tag", "mask")
_NEED_POINTS = (f"rows of kind {'/'.join(POINT_KINDS)} need a 'points' column: [[x, y], ...] for a polygon ring, "
                "keypoints, a point or a line; a mask's COCO RLE {'size': [h, w], 'counts': ...}")
# kind -> the spatial type a label must allow for it (an imported RLE mask counts as a polygon)
KIND_NEEDS = {"mask": "polygon"}

COLUMNS = ["media_id", "run_id", "label_id", "kind", "x0", "y0", "x1", "y1", "points", "attributes",
           "score", "track_id", "area", "iscrowd", "extra"]


def resolve_media(con: Any, df: pd.DataFrame, report: ImportReport, rows: pd.Index) -> pd.DataFrame:
    """Add ``media_id``, ``width``, ``height`` to ``df`` from ``media_id`` or ``file_name`` columns."""
    if "media_id" in df.columns and df["media_id"].notna().all():
        media = con.execute("SELECT media_id, file_name, width, height FROM media WHERE media_id IN "
                            "(SELECT unnest(?))", [df["media_id"].astype("int64").unique().tolist()]).df()
    elif "file_name" in df.columns:
        media = con.execute("SELECT media_id, file_name, width, height FROM media WHERE file_name IN "
                            "(SELECT unnest(?))", [df["file_name"].astype(str).unique().tolist()]).df()
    if "media_id" in df.columns and df["media_id"].notna().all():
        m = df[["media_id"]].astype({"media_id": "int64"}).merge(
            media[["media_id", "width", "height"]], on="media_id", how="left")
        key = df["media_id"]
    elif "file_name" in df.columns:
        counts = media["file_name"].value_counts()
        ambiguous = set(counts[counts > 1].index)
        m = df[["file_name"]].merge(media.drop_duplicates("file_name"), on="file_name", how="left")
        if ambiguous:
            amb = df["file_name"].isin(ambiguous).to_numpy()
            for i in np.flatnonzero(amb)[:1000]:
                report.add_problem(f"row {rows[i]}", f"file_name {df['file_name'].iloc[i]!r} matches several "
                                   "media items; pass media_id instead")
            m.loc[amb, "media_id"] = np.nan
        key = df["file_name"]
    else:
        raise ValidationError("instances need a 'media_id' or 'file_name' column (or the media argument)")
    m.index = df.index
    # no media row (the left join keeps the media_id it was given, so look at a media column), or ambiguous
    missing = (m["width"].isna() | m["media_id"].isna()).to_numpy()
    what = "media id" if key.name == "media_id" else "file_name"
    for i in np.flatnonzero(missing)[:1000]:
        v = key.iloc[i]
        v = int(v) if what == "media id" and float(v).is_integer() else v
        report.add_problem(f"row {rows[i]}", f"unknown media {v!r} (no media item has this {what}); add the image "
                           f"first with proj.add_images(...), or check the {what} (proj.media().df() lists them)")
    if missing.sum() > 1000:
        report.add_problem("...", f"{int(missing.sum()) - 1000} more rows name unknown media")
    out = df.copy()
    out["media_id"] = m["media_id"]
    out["width"] = m["width"]
    out["height"] = m["height"]
    return out[~missing]


def _refuse_unknown_media(problems: list[Any]) -> None:
    """strict=True: rows naming media that is not in the project refuse the whole batch."""
    shown = "; ".join(str(p) for p in problems[:5])
    more = f"; ... and {len(problems) - 5} more" if len(problems) > 5 else ""
    raise ValidationError(f"{len(problems)} row(s) do not name one media item of the project (strict=True refuses "
                          f"the whole batch, nothing was stored): {shown}{more}")


def resolve_labels(state: SchemaState, df: pd.DataFrame, report: ImportReport, rows: pd.Index) -> pd.DataFrame:
    """Add ``label_id`` from a ``label`` (name) or ``label_id`` column; unknown labels are problems."""
    if "label_id" in df.columns and df["label_id"].notna().all():
        ok = df["label_id"].isin(list(state.labels)).to_numpy()
        bad_key = df["label_id"]
    elif "label" in df.columns:
        ids = state.label_ids_by_name()
        lid = df["label"].map(ids)
        ok = lid.notna().to_numpy()
        df = df.assign(label_id=lid)
        bad_key = df["label"]
    else:
        raise ValidationError("instances need a 'label' column (label names) or 'label_id'")
    names = list(state.label_ids_by_name())
    for i in np.flatnonzero(~ok)[:1000]:
        v = bad_key.iloc[i]
        report.add_problem(f"row {rows[df.index.get_loc(df.index[i])]}",
                           f"label {v!r} is not in the schema{did_you_mean(str(v), names)}")
    return df[ok].astype({"label_id": "int64"})


def kind_problem(state: SchemaState, label_id: int, kind: Any) -> str | None:
    """Why ``kind`` is refused for the label (unknown kind, or a spatial type the label does not allow)."""
    if kind not in KINDS:
        return f"kind {kind!r} is unknown{did_you_mean(str(kind), KINDS)}"
    lab = state.labels[int(label_id)]
    if KIND_NEEDS.get(kind, kind) in lab.spatial:
        return None
    return (f"label {lab.name!r} does not allow {kind}s (it allows {list(lab.spatial)}); "
            f"allow it with proj.schema.update_label({lab.name!r}, spatial=[...])")


def _check_kinds(state: SchemaState, df: pd.DataFrame, report: ImportReport) -> np.ndarray:
    ok = np.ones(len(df), dtype=bool)
    kinds = df["kind"].to_numpy()
    lids = df["label_id"].to_numpy()
    for (lid, kind), idx in pd.DataFrame({"l": lids, "k": kinds}).groupby(["l", "k"]).indices.items():
        reason = kind_problem(state, int(lid), kind)
        if reason is None:
            continue
        ok[idx] = False
        for i in idx[:100]:
            report.add_problem(f"row {df.index[i]}", reason)
    return ok


def check_boxes(df: pd.DataFrame, report: ImportReport, strict: bool, *, clip: bool = False,
                keep_outside: bool = False, keep_empty: bool = False) -> BoxCheck:
    """Vectorised box checks on x0..y1 against width/height (see :func:`._border.check_box_array`);
    refused rows become problems in ``report``."""
    r = check_box_array(
        df[["x0", "y0", "x1", "y1"]].to_numpy(dtype=float), df["width"].to_numpy(dtype=float),
        df["height"].to_numpy(dtype=float), (df["kind"] == "tag").to_numpy(), strict, df.index, clip=clip,
        keep_outside=keep_outside, keep_empty=keep_empty)
    for item, reason in r.problems:
        report.add_problem(item, reason)
    return r


def _score_problems(df: pd.DataFrame, ok: np.ndarray, prediction: bool) -> list[tuple[int, str]]:
    """Rows whose score is not a finite number in [0, 1] (predictions: also a missing one)."""
    if "score" not in df.columns:
        return []
    s = pd.to_numeric(df["score"], errors="coerce").to_numpy(float)
    given = df["score"].notna().to_numpy()
    with np.errstate(invalid="ignore"):
        good = np.isfinite(s) & (s >= 0) & (s <= 1)
    bad = ok & ((given & ~good) | (~given & prediction))
    return [(int(i), f"{_score_text(df['score'].iloc[i])} is not a finite number in [0, 1]; scores must be finite "
             "in [0, 1] (a model's confidence): rescale them (e.g. a sigmoid of logits) or drop the row")
            for i in np.flatnonzero(bad)]


def _score_text(v: Any) -> str:
    """A score as the user wrote it (``score nan``, ``score 1.7``, ``score 'high'``): a numpy scalar's
    repr (``np.float64(nan)``) would name the library, not the value."""
    return f"score {(v.item() if isinstance(v, np.generic) else v)!r}"


def prepare_instances(
    con: Any,
    state: SchemaState,
    df: pd.DataFrame,
    *,
    report: ImportReport,
    strict: bool = False,
    run_id: int | None = None,
    clip: bool = False,
    keep_outside: bool = False,
    noun: str = "instances",
    check_relative: bool = False,
    keep_empty: bool = False,
) -> pd.DataFrame:
    """Check and normalise an instance frame; returns rows ready for :func:`write_instances`.

    ``df`` has ``media_id`` or ``file_name``; ``label`` or ``label_id``; ``kind`` (default box);
    ``x0, y0, x1, y1`` absolute xyxy (may be NaN for kinds with points); optional ``points``,
    ``attributes``, ``score``, ``track_id``, ``area``, ``iscrowd``, ``extra``. Bad rows become
    problems in ``report``; the caller decides whether problems abort the write. The checked
    ``points`` of point geometry come out as the JSON text the store keeps (:mod:`._points_json`).

    The border rule (:mod:`._border`): geometry crossing the image border is kept as given
    (``clip=True``: clipped; ``strict=True``: refused) and counted in ``report.notes`` as ``noun``;
    ``keep_outside`` also keeps boxes entirely outside their image (COCO ground truth);
    ``keep_empty`` keeps boxes of zero width or height (importers: pycocotools evaluates them), counted
    in the notes and refused with ``strict=True``.
    ``check_relative``: warn once when every box coordinate is ≤ 1 (absolute boxes that look relative).
    Scores must be finite in [0, 1]; a prediction (``run_id`` given) with a score column needs one.
    """
    rows = df.index
    df = df.reset_index(drop=True) if not df.index.is_unique else df
    if "kind" not in df.columns:
        df = df.assign(kind="box")
    n_problems = len(report.problems)
    df = resolve_media(con, df, report, df.index)
    if strict and len(report.problems) > n_problems:
        _refuse_unknown_media(report.problems[n_problems:])
    df = resolve_labels(state, df, report, df.index)
    df = df[_check_kinds(state, df, report)].copy()
    for c in ("x0", "y0", "x1", "y1"):
        if c not in df.columns:
            df[c] = np.nan
    has_pts = df["kind"].isin(list(POINT_KINDS)).to_numpy()
    tag = (df["kind"] == "tag").to_numpy()
    if tag.any():
        df.loc[tag, ["x0", "y0"]] = 0.0
        df.loc[tag, "x1"] = df.loc[tag, "width"].astype(float)
        df.loc[tag, "y1"] = df.loc[tag, "height"].astype(float)
    w_all, h_all = df["width"].to_numpy(float), df["height"].to_numpy(float)
    if check_relative:
        is_box = (df["kind"] == "box").to_numpy()
        warn_if_relative(df[["x0", "y0", "x1", "y1"]].to_numpy(float)[is_box], w_all[is_box], h_all[is_box], noun)
    ok = np.ones(len(df), dtype=bool)
    pts_clipped = np.zeros(len(df), dtype=bool)
    if has_pts.any():
        if "points" not in df.columns:
            raise ValidationError(_NEED_POINTS)
        idx = np.flatnonzero(has_pts)
        pts_in = df["points"].to_list()
        kinds, lids = df["kind"].to_numpy(), df["label_id"].to_numpy()
        n_kp = np.full(len(idx), -1, dtype=np.int64)
        for lid in np.unique(lids[idx][kinds[idx] == "keypoints"]):
            tpl = state.template_for(int(lid))
            if tpl is not None:
                n_kp[(lids[idx] == lid) & (kinds[idx] == "keypoints")] = len(tpl.points)
        checked, ext, problems, m = check_points(
            kinds[idx].astype(str), [pts_in[i] for i in idx], w_all[idx], h_all[idx], n_kp, strict, clip=clip,
            keep_outside=keep_outside)
        for j, reason in problems:
            report.add_problem(f"row {df.index[idx[j]]}", reason)
            ok[idx[j]] = False
        pts_clipped[idx[[j for j, _ in m]]] = True
        pts_out = list(pts_in)  # rows without point geometry keep what they had
        for i, text in zip(idx.tolist(), points_json(con, checked), strict=True):
            pts_out[i] = text
        given = df[["x0", "y0", "x1", "y1"]].to_numpy(float, copy=True)
        # the extent of the points becomes the box, unless a full box was given (or there is no extent: masks)
        take = ~np.isnan(ext).any(axis=1) & ~np.isfinite(given[idx]).all(axis=1)
        given[idx[take]] = ext[take]
        df["points"] = pd.Series(pts_out, index=df.index, dtype=object)
        df[["x0", "y0", "x1", "y1"]] = given
    # rows with points were checked point by point (a point or line may have a zero-size extent)
    box = check_boxes(df.assign(kind=np.where(has_pts, "tag", df["kind"])), report, strict, clip=clip,
                      keep_outside=keep_outside, keep_empty=keep_empty)
    b = box.boxes
    # point rows: their box (the extent, or the box a COCO file gave) crosses the border as their points do
    pts_cross = has_pts & ok & box.ok & (pts_clipped | crossing(b, w_all, h_all))
    if clip and pts_cross.any():
        b[pts_cross, 0::2] = np.clip(b[pts_cross, 0::2], 0, w_all[pts_cross, None])
        b[pts_cross, 1::2] = np.clip(b[pts_cross, 1::2], 0, h_all[pts_cross, None])
    df[["x0", "y0", "x1", "y1"]] = b
    ok &= box.ok
    if "attributes" in df.columns:
        attrs = df["attributes"].to_list()
        lids = df["label_id"].to_numpy()
        for i in np.flatnonzero(ok & df["attributes"].notna().to_numpy()):
            v = attrs[i]
            if isinstance(v, str):
                v = json.loads(v)
            try:
                attrs[i] = check_attributes(state, int(lids[i]), v) or None
            except (ValidationError, SchemaError) as e:
                report.add_problem(f"row {df.index[int(i)]}", str(e))
                ok[i] = False
        df["attributes"] = pd.Series(attrs, index=df.index, dtype=object)
    bad_scores = _score_problems(df, ok, run_id is not None)
    for i, reason in bad_scores[:1000]:
        report.add_problem(f"row {df.index[i]}", reason)
    if len(bad_scores) > 1000:
        report.add_problem("...", f"{len(bad_scores) - 1000} more rows have scores outside [0, 1]")
    ok[[i for i, _ in bad_scores]] = False
    cross = ok & (box.crossing | pts_cross)
    report.notes.extend(border_notes(int(cross.sum()), int((ok & box.outside).sum()), noun, clip=clip))
    report.notes.extend(empty_notes(int((ok & box.empty).sum()), noun))
    out = df[ok].copy()
    out["run_id"] = run_id
    for c, default in (("points", None), ("attributes", None), ("score", np.nan), ("track_id", pd.NA),
                       ("area", np.nan), ("iscrowd", False), ("extra", None)):
        if c not in out.columns:
            out[c] = default
    del rows
    return out[COLUMNS]


def prepare_one(state: SchemaState, row: dict[str, Any], width: float, height: float, *,
                strict: bool = False, clip: bool = True,
                keep_outside: bool = False) -> tuple[dict[str, Any], list[str]]:
    """The one-row branch of :func:`prepare_instances` (the annotator's save, ``add_instance``,
    ``update_instance``): the same rules and messages without a DataFrame.

    A person draws here, so geometry crossing the border is clipped (with a warning string) unless
    ``clip=False`` (an edit that leaves stored geometry as it is; ``keep_outside`` keeps an imported
    box entirely outside its image too).

    ``row`` has ``label_id`` (a label of ``state``), ``kind``, ``x0..y1`` (NaN for point kinds),
    ``points``, ``attributes`` and optionally ``score``; the media item is ``width`` × ``height``.
    Returns the checked row and the clipping warnings; a refused row raises
    :class:`~nblabel.errors.ValidationError` with the reason :func:`prepare_instances` would report.

    Example:
        >>> from nblabel.schema import Label, SchemaState
        >>> st = SchemaState(1, {1: Label(1, "car", "#fff", None, ("box",), None, None, {}, False)})
        >>> r, warns = prepare_one(st, {"label_id": 1, "kind": "box", "x0": 5, "y0": 5, "x1": 90, "y1": 9},
        ...                        60, 40)
        >>> [r[k] for k in ("x0", "y0", "x1", "y1")], len(warns)
        ([5.0, 5.0, 60.0, 9.0], 1)
    """
    lid, kind = int(row["label_id"]), row.get("kind") or "box"
    if lid not in state.labels:
        raise ValidationError(f"label {lid!r} is not in the schema{did_you_mean(str(lid), state.label_ids_by_name())}")
    reason = kind_problem(state, lid, kind)
    if reason is not None:
        raise ValidationError(reason)
    out = {**row, "kind": kind}
    box = np.array([[float(row.get(c, np.nan)) if row.get(c) is not None else np.nan
                     for c in ("x0", "y0", "x1", "y1")]])
    msgs: list[str] = []
    if kind == "tag":
        box[0] = (0.0, 0.0, float(width), float(height))
    elif kind in POINT_KINDS:
        if row.get("points") is None:
            raise ValidationError(_NEED_POINTS)
        tpl = state.template_for(lid) if kind == "keypoints" else None
        checked, ext, problems, pmsgs = check_points(
            np.array([kind]), [row["points"]], np.array([float(width)]), np.array([float(height)]),
            np.array([len(tpl.points) if tpl else -1]), strict, clip=clip, keep_outside=keep_outside)
        msgs = [m for _, m in pmsgs]
        if problems:
            raise ValidationError(problems[0][1])
        out["points"] = checked.to_lists()[0]
        if not np.isnan(ext[0]).any() and not np.isfinite(box[0]).all():
            box[0] = ext[0]
    tag = np.array([kind in POINT_KINDS or kind == "tag"])
    r = check_box_array(box, np.array([float(width)]), np.array([float(height)]), tag, strict, [0], clip=clip,
                        keep_outside=keep_outside)
    if not r.ok[0]:
        raise ValidationError(r.problems[0][1])
    msgs += r.warnings
    out.update(zip(("x0", "y0", "x1", "y1"), r.boxes[0].tolist(), strict=True))
    attrs = row.get("attributes")
    if isinstance(attrs, str):
        attrs = json.loads(attrs)
    if attrs is not None:
        try:
            attrs = check_attributes(state, lid, attrs) or None
        except (ValidationError, SchemaError) as e:
            raise ValidationError(str(e)) from None
    out["attributes"] = attrs
    score = row.get("score")
    if score is not None and not (isinstance(score, float) and np.isnan(score)):
        try:
            ok_score = bool(np.isfinite(float(score)) and 0 <= float(score) <= 1)
        except (TypeError, ValueError):
            ok_score = False
        if not ok_score:
            raise ValidationError(f"score {score!r} is not a finite number in [0, 1]; scores must be finite "
                                  "in [0, 1] (a model's confidence)")
    return out, msgs
