"""Turn user input (one instance, a DataFrame, an import) into checked rows for the store.

The one pipeline every writer uses (add_instance, add_instances, predictions, COCO/YOLO/VOC
imports): resolve media and labels, check the spatial type against the schema, validate and clip
geometry, check attribute values. Boxes are checked vectorised; rows with points or attributes
are checked one by one (they are few on the hot paths).
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GeometryError, NblabelError, SchemaError, ValidationError, did_you_mean
from ..geometry import extent, validate_points
from ..io._report import ImportReport
from ..schema import SchemaState, check_attributes

KINDS = ("box", "polygon", "keypoints", "point", "line", "tag", "mask")
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
    missing = m["media_id"].isna().to_numpy()
    for i in np.flatnonzero(missing)[:1000]:
        report.add_problem(f"row {rows[i]}", f"unknown media {key.iloc[i]!r}; add it first with proj.add_images(...)")
    if missing.sum() > 1000:
        report.add_problem("...", f"{int(missing.sum()) - 1000} more rows name unknown media")
    out = df.copy()
    out["media_id"] = m["media_id"]
    out["width"] = m["width"]
    out["height"] = m["height"]
    return out[~missing]


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


def _check_kinds(state: SchemaState, df: pd.DataFrame, report: ImportReport) -> np.ndarray:
    ok = np.ones(len(df), dtype=bool)
    kinds = df["kind"].to_numpy()
    lids = df["label_id"].to_numpy()
    for (lid, kind), idx in pd.DataFrame({"l": lids, "k": kinds}).groupby(["l", "k"]).indices.items():
        if kind not in KINDS:
            reason = f"kind {kind!r} is unknown{did_you_mean(str(kind), KINDS)}"
        else:
            lab = state.labels[int(lid)]
            need = KIND_NEEDS.get(kind, kind)
            if need in lab.spatial:
                continue
            reason = (f"label {lab.name!r} does not allow {kind}s (it allows {list(lab.spatial)}); "
                      f"allow it with proj.schema.update_label({lab.name!r}, spatial=[...])")
        ok[idx] = False
        for i in idx[:100]:
            report.add_problem(f"row {df.index[i]}", reason)
    return ok


def check_boxes(df: pd.DataFrame, report: ImportReport, strict: bool) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Vectorised box checks on x0..y1 against width/height; returns (ok, warnings, clipped boxes)."""
    b = df[["x0", "y0", "x1", "y1"]].to_numpy(dtype=float, copy=True)
    w = df["width"].to_numpy(dtype=float)
    h = df["height"].to_numpy(dtype=float)
    ok = np.ones(len(df), dtype=bool)
    tag = (df["kind"] == "tag").to_numpy()
    finite = np.isfinite(b).all(axis=1)
    size = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    eps = 1e-6
    outside = (b[:, 0] < -eps) | (b[:, 1] < -eps) | (b[:, 2] > w + eps) | (b[:, 3] > h + eps)
    no_overlap = (b[:, 2] <= 0) | (b[:, 3] <= 0) | (b[:, 0] >= w) | (b[:, 1] >= h)
    msgs: list[str] = []

    def fail(mask: np.ndarray, reason: str) -> None:
        for i in np.flatnonzero(mask & ok)[:1000]:
            report.add_problem(f"row {df.index[i]}", reason.format(box=np.round(b[i], 3).tolist(),
                                                                  w=int(w[i]), h=int(h[i])))
        ok[mask] = False

    fail(~tag & ~finite, "box {box} has NaN or infinite coordinates; drop the row or fix its coordinates")
    fail(~tag & finite & ~size, "box {box} has no area (x1 <= x0 or y1 <= y0); check the box format "
         "(xyxy / xywh / cxcywh) and coordinate units")
    fail(~tag & finite & size & no_overlap, "box {box} lies entirely outside the {w}x{h} image; "
         "check coords='absolute' vs 'relative' and the box format")
    if strict:
        fail(~tag & outside, "box {box} extends outside the {w}x{h} image (strict=True); clip it or pass strict=False")
    else:
        clip = ~tag & ok & outside
        if clip.any():
            n = int(clip.sum())
            msgs.append(f"{n} box(es) extended outside their image and were clipped to it "
                        f"(first: row {df.index[np.flatnonzero(clip)[0]]}); pass strict=True to refuse them")
            b[clip, 0::2] = np.clip(b[clip, 0::2], 0, w[clip, None])
            b[clip, 1::2] = np.clip(b[clip, 1::2], 0, h[clip, None])
    return ok, msgs, b


def _as_rings(pts: Any) -> list:
    """Polygon input as a list of rings: flat [x0, y0, ...], [[x, y], ...] or a list of either."""
    if not isinstance(pts, (list, tuple, np.ndarray)) or len(pts) == 0:
        raise GeometryError(f"polygon needs a list of points, got {pts!r}")
    first = pts[0]
    if np.isscalar(first):
        return [pts]  # one flat ring
    if len(first) and np.isscalar(first[0]) and len(first) == 2:
        return [pts]  # one ring of [x, y] pairs
    return list(pts)  # several rings


def _check_points_row(kind: str, pts: Any, w: float, h: float, strict: bool, n_kp: int | None) -> tuple[list, list[float], list[str]]:
    if kind == "mask":
        if not isinstance(pts, dict) or "counts" not in pts or "size" not in pts:
            raise GeometryError("a mask needs a COCO RLE dict with 'size' and 'counts'")
        return pts, None, []  # type: ignore[return-value]
    if kind == "polygon":
        rings = _as_rings(pts)
        out, msgs = [], []
        for ring in rings:
            a = np.asarray(ring, dtype=float)
            if a.ndim == 1:
                if a.size % 2:
                    raise GeometryError(f"polygon ring has an odd number of coordinates ({a.size})")
                a = a.reshape(-1, 2)
            a, m = validate_points(a, w, h, strict=strict, what="polygon")
            msgs += m
            out.append(a.tolist())
        allpts = np.concatenate([np.asarray(r) for r in out])
        return out, extent(allpts).tolist(), msgs
    a = np.asarray(pts, dtype=float)
    if kind == "keypoints":
        if a.ndim == 1:
            a = a.reshape(-1, 3)
        if a.ndim == 2 and a.shape[1] == 2:
            a = np.column_stack([a, np.full(len(a), 2.0)])
        if n_kp is not None and len(a) != n_kp:
            raise GeometryError(f"keypoints have {len(a)} points but the label's template has {n_kp}; "
                                "give every template point (v=0 for unlabeled)")
    elif a.ndim == 1:
        a = a.reshape(-1, 2)
    a, msgs = validate_points(a, w, h, strict=strict, what=kind)
    vis = a if kind != "keypoints" else a[a[:, 2] > 0]
    ext = extent(vis[:, :2]).tolist() if len(vis) else [0.0, 0.0, 0.0, 0.0]
    return a.tolist(), ext, msgs


def prepare_instances(
    con: Any,
    state: SchemaState,
    df: pd.DataFrame,
    *,
    report: ImportReport,
    strict: bool = False,
    run_id: int | None = None,
) -> pd.DataFrame:
    """Check and normalise an instance frame; returns rows ready for :func:`write_instances`.

    ``df`` has ``media_id`` or ``file_name``; ``label`` or ``label_id``; ``kind`` (default box);
    ``x0, y0, x1, y1`` absolute xyxy (may be NaN for kinds with points); optional ``points``,
    ``attributes``, ``score``, ``track_id``, ``area``, ``iscrowd``, ``extra``. Bad rows become
    problems in ``report``; the caller decides whether problems abort the write.
    """
    rows = df.index
    df = df.reset_index(drop=True) if not df.index.is_unique else df
    if "kind" not in df.columns:
        df = df.assign(kind="box")
    df = resolve_media(con, df, report, df.index)
    df = resolve_labels(state, df, report, df.index)
    df = df[_check_kinds(state, df, report)].copy()
    for c in ("x0", "y0", "x1", "y1"):
        if c not in df.columns:
            df[c] = np.nan
    has_pts = df["kind"].isin(["polygon", "keypoints", "point", "line", "mask"]).to_numpy()
    tag = (df["kind"] == "tag").to_numpy()
    if tag.any():
        df.loc[tag, ["x0", "y0"]] = 0.0
        df.loc[tag, "x1"] = df.loc[tag, "width"].astype(float)
        df.loc[tag, "y1"] = df.loc[tag, "height"].astype(float)
    msgs: list[str] = []
    ok = np.ones(len(df), dtype=bool)
    if has_pts.any():
        if "points" not in df.columns:
            raise ValidationError("rows of kind polygon/keypoints/point/line need a 'points' column")
        pts_out = df["points"].to_list()
        pts_in = df["points"].to_list()
        idx = np.flatnonzero(has_pts)
        kinds, lids = df["kind"].to_numpy(), df["label_id"].to_numpy()
        widths, heights = df["width"].to_numpy(float), df["height"].to_numpy(float)
        given = df[["x0", "y0", "x1", "y1"]].to_numpy(float)
        new_box = given.copy()
        for i in idx:
            tpl = state.template_for(int(lids[i])) if kinds[i] == "keypoints" else None
            try:
                p, ext, m = _check_points_row(kinds[i], pts_in[i], widths[i], heights[i], strict,
                                              len(tpl.points) if tpl else None)
            except (NblabelError, ValueError, TypeError) as e:
                report.add_problem(f"row {df.index[i]}", f"{kinds[i]}: {e}")
                ok[i] = False
                continue
            msgs += m
            pts_out[i] = p
            if ext is not None and not np.isfinite(given[i]).all():
                new_box[i] = ext
        df["points"] = pd.Series(pts_out, index=df.index, dtype=object)
        df[["x0", "y0", "x1", "y1"]] = new_box
    # rows with points were checked point by point (a point or line may have a zero-size extent)
    box_ok, m, clipped = check_boxes(df.assign(kind=np.where(has_pts, "tag", df["kind"])), report, strict)
    df[["x0", "y0", "x1", "y1"]] = clipped
    msgs += m
    ok &= box_ok
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
                report.add_problem(f"row {df.index[i]}", str(e))
                ok[i] = False
        df["attributes"] = pd.Series(attrs, index=df.index, dtype=object)
    if "score" in df.columns:
        s = pd.to_numeric(df["score"], errors="coerce").to_numpy(float)
        bad = ok & df["score"].notna().to_numpy() & ~np.isfinite(s)
        for i in np.flatnonzero(bad)[:1000]:
            report.add_problem(f"row {df.index[i]}", f"score {df['score'].iloc[i]!r} is not a finite number")
        ok &= ~bad
    for m in msgs[:5]:
        warnings.warn(m, UserWarning, stacklevel=4)
    if len(msgs) > 5:
        warnings.warn(f"... and {len(msgs) - 5} more geometry warnings", UserWarning, stacklevel=4)
    out = df[ok].copy()
    out["run_id"] = run_id
    for c, default in (("points", None), ("attributes", None), ("score", np.nan), ("track_id", pd.NA),
                       ("area", np.nan), ("iscrowd", False), ("extra", None)):
        if c not in out.columns:
            out[c] = default
    del rows
    return out[COLUMNS]


def _dumps(col: pd.Series) -> list[str | None]:
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else json.dumps(v)
            for v in col.to_list()]


def write_instances(con: Any, frame: pd.DataFrame, *, author: str | None, schema_version: int) -> np.ndarray:
    """Append checked rows as version 1 of new instances; returns their new ids (in row order)."""
    n = len(frame)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    start = int(con.execute("SELECT coalesce(max(instance_id), 0) + 1 FROM instances").fetchall()[0][0])
    ids = np.arange(start, start + n, dtype=np.int64)
    out = pd.DataFrame({
        "instance_id": ids,
        "version": np.ones(n, dtype=np.int32),
        "media_id": frame["media_id"].to_numpy(np.int64),
        "run_id": pd.array(frame["run_id"], dtype="Int32"),
        "label_id": frame["label_id"].to_numpy(np.int32),
        "kind": frame["kind"].astype(str).to_numpy(),
        "x0": frame["x0"].to_numpy(float), "y0": frame["y0"].to_numpy(float),
        "x1": frame["x1"].to_numpy(float), "y1": frame["y1"].to_numpy(float),
        "points": _dumps(frame["points"]) if frame["points"].notna().any() else [None] * n,
        "attributes": _dumps(frame["attributes"]) if frame["attributes"].notna().any() else [None] * n,
        "score": pd.to_numeric(frame["score"], errors="coerce").to_numpy(float),
        "track_id": pd.array(frame["track_id"], dtype="Int64"),
        "area": pd.to_numeric(frame["area"], errors="coerce").to_numpy(float),
        "iscrowd": frame["iscrowd"].fillna(False).astype(bool).to_numpy(),
        "extra": _dumps(frame["extra"]) if frame["extra"].notna().any() else [None] * n,
    })
    if n == 1:  # the annotator's path: one parameterised INSERT, no DataFrame registration
        r = out.iloc[0]
        con.execute(
            "INSERT INTO instances VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?::JSON, ?::JSON, ?, ?, ?, ?, ?::JSON, ?, ?, "
            "now(), NULL, false)",
            [int(r["instance_id"]), int(r["media_id"]), None if pd.isna(r["run_id"]) else int(r["run_id"]),
             int(r["label_id"]), r["kind"], float(r["x0"]), float(r["y0"]), float(r["x1"]), float(r["y1"]),
             r["points"], r["attributes"], None if np.isnan(r["score"]) else float(r["score"]),
             None if pd.isna(r["track_id"]) else int(r["track_id"]), None if np.isnan(r["area"]) else float(r["area"]),
             bool(r["iscrowd"]), r["extra"], author, schema_version])
        return ids
    con.register("_nbl_new_instances", out)
    try:
        con.execute(
            "INSERT INTO instances SELECT instance_id, version, media_id, run_id, label_id, kind, "
            "x0, y0, x1, y1, points::JSON, attributes::JSON, CASE WHEN isnan(score) THEN NULL ELSE score END, "
            "track_id, CASE WHEN isnan(area) THEN NULL ELSE area END, iscrowd, extra::JSON, ?, ?, now(), NULL, "
            "false FROM _nbl_new_instances",
            [author, schema_version],
        )
    finally:
        con.unregister("_nbl_new_instances")
    return ids
