"""Shared pieces of the annotator's request handlers: rows as protocol dicts, checked writes.

Used by :mod:`nblabel.widgets._messages` (load / save / dispatch) and
:mod:`nblabel.widgets._messages_queue` (review, tags, status, navigation).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from ..errors import NblabelError, ValidationError
from ..schema import SchemaState, check_attributes

if TYPE_CHECKING:
    from ._annotator import Annotator

__all__ = ["INST_COLUMNS", "fast_create", "fast_update", "geometry_kwargs", "inst_from_row", "read_instances"]

Reply = tuple[dict[str, Any], list[bytes]]

INST_COLUMNS = "i.instance_id, i.version, i.label_id, i.kind, i.x0, i.y0, i.x1, i.y1, i.points, i.attributes, r.name AS run, i.score, i.author, i.media_id, i.run_id, i.extra"
_BY_MEDIA = ("SELECT i.instance_id, i.version, i.label_id, i.kind, i.x0, i.y0, i.x1, i.y1, i.points, i.attributes, r.name AS run, i.score, i.author, i.media_id, i.run_id, i.extra"
             " FROM current_instances i LEFT JOIN runs r USING (run_id) WHERE i.media_id = ? ORDER BY i.instance_id")
_BY_ID = ("SELECT i.instance_id, i.version, i.label_id, i.kind, i.x0, i.y0, i.x1, i.y1, i.points, i.attributes, r.name AS run, i.score, i.author, i.media_id, i.run_id, i.extra"
          " FROM current_instances i LEFT JOIN runs r USING (run_id) WHERE i.instance_id = ?")
_TAGS = ("SELECT i.instance_id, i.version, i.label_id, i.kind, i.x0, i.y0, i.x1, i.y1, i.points, i.attributes, r.name AS run, i.score, i.author, i.media_id, i.run_id, i.extra"
         " FROM current_instances i LEFT JOIN runs r USING (run_id) WHERE i.media_id = ? AND i.run_id IS NULL AND i.kind = 'tag' ORDER BY i.instance_id")


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def inst_from_row(r: tuple) -> dict[str, Any]:
    """A current-instance row (columns :data:`INST_COLUMNS`) as a protocol ``Inst`` dict."""
    iid, version, label_id, kind, x0, y0, x1, y1, points, attributes, run, score, author = r[:13]
    pts = json.loads(points) if isinstance(points, str) else points
    inst: dict[str, Any] = {
        "id": int(iid), "version": int(version), "label_id": int(label_id), "kind": kind,
        "box": [float(x0), float(y0), float(x1), float(y1)], "points": None,
        "attributes": json.loads(attributes) if isinstance(attributes, str) else (attributes or {}),
        "run": run, "score": _num(score), "author": author,
    }
    if kind == "polygon" and pts:
        # the store keeps polygons as a list of rings; the protocol edits one ring (the first)
        rings = pts if pts and isinstance(pts[0], list) and pts[0] and isinstance(pts[0][0], list) else [pts]
        inst["points"] = rings[0]
        if len(rings) > 1:
            inst["extra_rings"] = len(rings) - 1
    elif kind in ("keypoints", "point", "line"):
        inst["points"] = pts
    return inst


def read_instances(con: Any, media_id: int, runs: list[str] | None) -> tuple[list[dict], list[dict]]:
    """Ground truth and (the given runs') predictions of one media item, as ``Inst`` dicts."""
    rows = con.execute(
        _BY_MEDIA, [int(media_id)]).fetchall()
    gt, preds = [], []
    for r in rows:
        if r[10] is None:
            gt.append(inst_from_row(r))
        elif runs is None or r[10] in runs:
            preds.append(inst_from_row(r))
    return gt, preds


# -- geometry of an incoming instance -----------------------------------------------------------
def _finite_list(v: Any, what: str) -> list:
    try:
        arr = [float(x) for x in v]
    except (TypeError, ValueError):
        raise ValidationError(f"{what} must be numbers, got {v!r}") from None
    if not all(math.isfinite(x) for x in arr):
        raise ValidationError(f"{what} has a NaN or infinite coordinate: {v!r}")
    return arr


def geometry_kwargs(inst: dict[str, Any]) -> dict[str, Any]:
    """``add_instance`` / ``update_instance`` geometry arguments of a protocol ``Inst``."""
    kind = inst.get("kind") or "box"
    pts = inst.get("points")
    if kind == "box":
        box = inst.get("box")
        if box is None or len(box) != 4:
            raise ValidationError(f"a box instance needs box=[x0, y0, x1, y1], got {box!r}")
        return {"box": _finite_list(box, "box")}
    if kind == "tag":
        return {"tag": True}
    if kind not in ("polygon", "keypoints", "point", "line"):
        raise ValidationError(f"instance kind {kind!r} is unknown; use box, polygon, keypoints, point, line or tag")
    if not isinstance(pts, list) or not pts:
        raise ValidationError(f"a {kind} instance needs points=[[x, y], ...], got {pts!r}")
    clean = [_finite_list(p, f"{kind} point") for p in pts]
    if kind == "point":
        return {"point": clean[0][:2]}
    return {kind: clean}


def _label_name(w: Annotator, label_id: Any) -> str:
    try:
        lid = int(label_id)
    except (TypeError, ValueError):
        raise ValidationError(f"label_id must be an integer, got {label_id!r}") from None
    state = w._schema_state(refresh_if_missing=lid)
    lab = state.labels.get(lid)
    if lab is None or lab.retired:
        raise ValidationError(f"label id {lid} is not in the schema; the labels are "
                              f"{sorted(k for k, v in state.labels.items() if not v.retired)}")
    return lab.name


def _media_of(w: Annotator, msg: dict[str, Any]) -> int:
    mid = msg.get("media_id")
    return int(mid) if mid is not None else int(w._queue[w.index]["media_id"])


def _row(con: Any, instance_id: Any) -> tuple:
    rows = con.execute(_BY_ID, [int(instance_id)]).fetchall()
    if not rows:
        raise NblabelError(f"instance {instance_id} does not exist (or was deleted); reload the item")
    return rows[0]


def _copy(w: Annotator, con: Any, row: tuple, media_id: int, extra: dict[str, Any] | None) -> int:
    """Add a ground-truth copy of an instance row to ``media_id`` (validated, clipped); returns its id."""
    inst = inst_from_row(row)
    if row[3] == "mask":
        raise ValidationError(f"instance {row[0]} is an RLE mask; masks cannot be copied in the annotator")
    geom = geometry_kwargs(inst)
    if row[3] == "polygon":  # keep every ring
        pts = json.loads(row[8]) if isinstance(row[8], str) else row[8]
        geom = {"polygon": pts}
    name = w._schema_state(refresh_if_missing=int(row[2])).labels[int(row[2])].name
    return w.project.add_instance(media_id, name, attributes=inst["attributes"] or None, author=w.author,
                                  extra=extra, **geom)


def _verdict_row(w: Annotator, con: Any, media_id: int, run_id: Any, gt_id: Any, pred_id: Any, verdict: str) -> None:
    con.execute("INSERT INTO verdicts VALUES (?, ?, ?, ?, ?, ?, now())",
                [int(media_id), None if run_id is None else int(run_id), None if gt_id is None else int(gt_id),
                 None if pred_id is None else int(pred_id), verdict, w.author])


# -- the hot path: one instance from the browser, written without the batch (pandas) pipeline -----
# Same checks and the same row as ``proj.add_instance`` / ``proj.update_instance`` (the tests compare
# both), but ~1 ms instead of tens: the point checks are the store's own (``_check_points_row``),
# boxes outside the image are clipped (the browser clamps them already), attributes are checked
# with ``check_attributes``.
_INSERT = ("INSERT INTO instances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::JSON, ?::JSON, ?, ?, ?, ?, ?::JSON, "
           "?, ?, now(), NULL, false)")


def _state(w: Annotator, con: Any) -> SchemaState:
    v = int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0])
    if w._state.version != v:
        w._state = SchemaState.load(con)
    return w._state


def _media_size(w: Annotator, con: Any, media_id: int) -> tuple[float, float]:
    for q in w._queue:
        if int(q["media_id"]) == media_id:
            return float(q["width"]), float(q["height"])
    r = con.execute("SELECT width, height FROM media WHERE media_id = ?", [media_id]).fetchall()
    if not r:
        raise NblabelError(f"media id {media_id} is not in the project")
    return float(r[0][0]), float(r[0][1])


def _checked(w: Annotator, con: Any, media_id: int, label_id: Any, kind: str, inst: dict[str, Any] | None,
             attributes: Any, more_rings: list | None = None) -> tuple[int, list[float], Any, Any]:
    """(label_id, [x0, y0, x1, y1], points, attributes) checked like the store's import pipeline
    (``inst=None``: the geometry is unchanged, check the label and attributes only)."""
    from ..project._prepare import _check_points_row

    st = _state(w, con)
    try:
        lid = int(label_id)
    except (TypeError, ValueError):
        raise ValidationError(f"label_id must be an integer, got {label_id!r}") from None
    lab = st.labels.get(lid)
    if lab is None or lab.retired:
        raise ValidationError(f"label id {lid} is not in the schema; the labels are "
                              f"{sorted(k for k, v in st.labels.items() if not v.retired)}")
    if {"mask": "polygon"}.get(kind, kind) not in lab.spatial:
        raise ValidationError(f"label {lab.name!r} does not allow {kind}s (it allows {list(lab.spatial)}); "
                              f"allow it with proj.schema.update_label({lab.name!r}, spatial=[...])")
    if inst is None:
        return lid, [], None, check_attributes(st, lid, attributes) or None
    width, height = _media_size(w, con, media_id)
    geom = geometry_kwargs({**inst, "kind": kind})
    points: Any = None
    if kind == "tag":
        box = [0.0, 0.0, width, height]
    elif kind == "box":
        x0, y0, x1, y1 = geom["box"]
        if not (x1 > x0 and y1 > y0):
            raise ValidationError(f"box {[x0, y0, x1, y1]} has no area (x1 <= x0 or y1 <= y0)")
        if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
            raise ValidationError(f"box {[x0, y0, x1, y1]} lies entirely outside the {int(width)}x{int(height)} image")
        box = [min(max(x0, 0.0), width), min(max(y0, 0.0), height), min(max(x1, 0.0), width), min(max(y1, 0.0), height)]
    else:
        raw = [geom["point"]] if kind == "point" else geom[kind]
        if kind == "polygon" and more_rings:
            raw = [raw, *more_rings]
        tpl = st.template_for(lid) if kind == "keypoints" else None
        try:
            points, box, _msgs = _check_points_row(kind, raw, width, height, False, len(tpl.points) if tpl else None)
        except (NblabelError, ValueError, TypeError) as e:
            raise ValidationError(f"{kind}: {e}") from None
        box = [float(v) for v in box]
    attrs = check_attributes(st, lid, attributes) or None
    return lid, box, points, attrs


def fast_create(w: Annotator, media_id: int, inst: dict[str, Any]) -> int:
    """Add one ground-truth instance from a browser ``Inst``; committed when this returns."""
    kind = inst.get("kind") or "box"
    with w.project.store.transaction() as con:
        lid, box, points, attrs = _checked(w, con, media_id, inst.get("label_id"), kind, inst, inst.get("attributes"))
        iid = int(con.execute("SELECT coalesce(max(instance_id), 0) + 1 FROM instances").fetchall()[0][0])
        con.execute(_INSERT, [iid, 1, media_id, None, lid, kind, *box,
                              None if points is None else json.dumps(points),
                              None if attrs is None else json.dumps(attrs),
                              None, None, None, False, None, w.author, w._state.version])
    return iid


def fast_update(w: Annotator, inst: dict[str, Any]) -> int:
    """Apply a browser ``Inst`` update (label, geometry, attributes) as a new version; returns it."""
    iid = int(inst["id"])
    with w.project.store.transaction() as con:
        old = con.execute("SELECT version, media_id, run_id, label_id, kind, x0, y0, x1, y1, points, attributes, "
                          "score, track_id, area, iscrowd, extra, deleted FROM instances "
                          "WHERE instance_id = ? AND superseded_at IS NULL", [iid]).fetchall()
        if not old:
            raise NblabelError(f"instance {iid} does not exist; reload the item")
        (version, media_id, run_id, label_id, kind, x0, y0, x1, y1, points, attributes, score, track_id, area,
         iscrowd, extra, deleted) = old[0]
        if deleted:
            raise NblabelError(f"instance {iid} is deleted; restore it first with proj.restore()")
        expected = inst.get("version")
        if expected is not None and int(version) != int(expected):
            raise NblabelError(f"instance {iid} is at version {version}, not {expected}: "
                               "someone else changed it; reload and retry")
        new_kind = inst.get("kind") or kind
        geometry_given = inst.get("box") is not None or inst.get("points") is not None
        if new_kind != kind and not geometry_given:
            raise ValidationError(f"changing instance {iid} from {kind} to {new_kind} needs its new geometry")
        old_pts = json.loads(points) if isinstance(points, str) else None
        more_rings = None  # the browser edits a polygon's first ring: keep the others
        if kind == "polygon" == new_kind and old_pts and isinstance(old_pts[0], list) and old_pts[0] \
                and isinstance(old_pts[0][0], list) and len(old_pts) > 1:
            more_rings = old_pts[1:]
        attrs_in = inst["attributes"] if "attributes" in inst else (json.loads(attributes) if attributes else None)
        lid_in = inst.get("label_id") if inst.get("label_id") is not None else label_id
        if geometry_given:
            lid, box, pts, attrs = _checked(w, con, int(media_id), lid_in, new_kind, inst, attrs_in, more_rings)
            area = None
        else:  # geometry unchanged: check the label and the attributes only
            lid, _, _, attrs = _checked(w, con, int(media_id), lid_in, kind, None, attrs_in)
            box, pts = [x0, y0, x1, y1], old_pts
        new_version = int(version) + 1
        con.execute("UPDATE instances SET superseded_at = now() WHERE instance_id = ? AND superseded_at IS NULL", [iid])
        con.execute(_INSERT, [iid, new_version, int(media_id), run_id, lid, new_kind, *box,
                              None if pts is None else json.dumps(pts),
                              None if attrs is None else json.dumps(attrs),
                              score, track_id, area, bool(iscrowd), extra, w.author, w._state.version])
    return new_version


def _accept(w: Annotator, con: Any, pred_id: Any) -> tuple[dict[str, Any], tuple]:
    row = _row(con, pred_id)
    if row[10] is None:
        raise ValidationError(f"instance {pred_id} is ground truth, not a prediction")
    gid = _copy(w, con, row, int(row[13]), {"accepted_from": int(pred_id), "run": row[10]})
    return inst_from_row(_row(con, gid)), row
