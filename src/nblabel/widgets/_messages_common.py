"""Shared pieces of the annotator's request handlers: rows as protocol dicts, saves through the store.

Saves call the store's one write path (:mod:`nblabel.store._edits`); nothing here writes SQL for
instances.

Used by :mod:`nblabel.widgets._messages` (load / save / dispatch) and
:mod:`nblabel.widgets._messages_queue` (review, tags, status, navigation).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, ValidationError
from ..store import _edits
from ..store._caches import add_verdict

if TYPE_CHECKING:
    from ._annotator import Annotator

__all__ = ["INST_COLUMNS", "geometry_kwargs", "inst_from_row", "read_instances", "save_create", "save_update"]

Reply = tuple[dict[str, Any], list[bytes]]

INST_COLUMNS = "i.instance_id, i.version, i.label_id, i.kind, i.x0, i.y0, i.x1, i.y1, i.points, i.attributes, r.name AS run, i.score, i.author, i.media_id, i.run_id, i.extra"
# the three reads below compose a code-owned column list with fixed SQL; values are parameters
_BY_MEDIA = (
    "SELECT " + INST_COLUMNS + " FROM current_instances i LEFT JOIN runs r USING (run_id) WHERE i.media_id = ? ORDER BY i.instance_id")  # noqa: S608
_BY_ID = (
    "SELECT " + INST_COLUMNS + " FROM current_instances i LEFT JOIN runs r USING (run_id) WHERE i.instance_id = ?")  # noqa: S608
_TAGS = (
    "SELECT " + INST_COLUMNS + " FROM current_instances i LEFT JOIN runs r USING (run_id) WHERE i.media_id = ? AND i.run_id IS NULL AND i.kind = 'tag' ORDER BY i.instance_id")  # noqa: S608


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
        raise NotFoundError.from_key("instance", instance_id, hint="it may have been deleted; reload the item")
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
    return _edits.add_instance(w.session, media_id, name, attributes=inst["attributes"] or None, author=w.author,
                               extra=extra, quiet=True, **geom)


def _verdict_row(w: Annotator, con: Any, media_id: int, run_id: Any, gt_id: Any, pred_id: Any, verdict: str) -> None:
    add_verdict(con, media_id, run_id, gt_id, pred_id, verdict, w.author)


# -- saves from the browser: the store's one write path (its one-row branch) ---------------------
def save_create(w: Annotator, media_id: int, inst: dict[str, Any]) -> int:
    """Add one ground-truth instance from a browser ``Inst``; committed when this returns.

    Boxes reaching past the border are clipped without a warning (the browser clamps them already).
    """
    kind = inst.get("kind") or "box"
    name = _label_name(w, inst.get("label_id"))
    geom = geometry_kwargs({**inst, "kind": kind})
    return _edits.add_instance(w.session, int(media_id), name, attributes=inst.get("attributes") or None,
                               author=w.author, quiet=True, **geom)


def save_update(w: Annotator, inst: dict[str, Any]) -> int:
    """Apply a browser ``Inst`` update (label, geometry, attributes) as a new version; returns it.

    The browser edits a polygon's first ring: the instance's other rings are kept.
    """
    iid = int(inst["id"])
    changes: dict[str, Any] = {"author": w.author}
    if inst.get("label_id") is not None:
        changes["label"] = _label_name(w, inst["label_id"])
    if "attributes" in inst:
        changes["attributes"] = inst["attributes"]
    if inst.get("box") is not None or inst.get("points") is not None:
        with w.session.store.read() as con:
            old = con.execute("SELECT kind, points FROM current_instances WHERE instance_id = ?", [iid]).fetchall()
        kind = inst.get("kind") or (old[0][0] if old else "box")
        if kind != "tag":  # a tag covers the whole image: it has no geometry to change
            geom = geometry_kwargs({**inst, "kind": kind})
            old_pts = json.loads(old[0][1]) if old and isinstance(old[0][1], str) else None
            if kind == "polygon" and old and old[0][0] == "polygon" and old_pts and isinstance(old_pts[0], list) \
                    and old_pts[0] and isinstance(old_pts[0][0], list) and len(old_pts) > 1:
                geom = {"polygon": [geom["polygon"], *old_pts[1:]]}
            changes.update(geom)
    elif inst.get("kind") is not None:
        with w.session.store.read() as con:
            old = con.execute("SELECT kind FROM current_instances WHERE instance_id = ?", [iid]).fetchall()
        if old and old[0][0] != inst["kind"]:
            raise ValidationError(f"changing instance {iid} from {old[0][0]} to {inst['kind']} needs its new geometry")
    return _edits.update_instance(w.session, iid, expected_version=inst.get("version"), quiet=True, **changes)


def _accept(w: Annotator, con: Any, pred_id: Any) -> tuple[dict[str, Any], tuple]:
    row = _row(con, pred_id)
    if row[10] is None:
        raise ValidationError(f"instance {pred_id} is ground truth, not a prediction")
    gid = _copy(w, con, row, int(row[13]), {"accepted_from": int(pred_id), "run": row[10]})
    return inst_from_row(_row(con, gid)), row
