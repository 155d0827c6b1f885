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
from ..store import _edits, run_name_of
from ..store._caches import add_verdict
from ..store._instances import current_row

if TYPE_CHECKING:
    from ._annotator import Annotator

__all__ = ["INST_COLUMNS", "check_deletable", "geometry_kwargs", "ground_truth_row", "in_queue", "inst_from_row", "queued_row",
           "read_instances", "save_create", "save_update"]

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


# -- what a request may change: items of the widget's queue, their ground truth -----------------
def _queue_ids(w: Annotator) -> frozenset[int]:
    """The media ids of the widget's queue (computed once per queue list)."""
    cached = getattr(w, "_nblabel_queue_ids", None)
    if cached is None or cached[0] is not w._queue:
        cached = (w._queue, frozenset(int(q["media_id"]) for q in w._queue))
        w._nblabel_queue_ids = cached
    return cached[1]


def in_queue(w: Annotator, media_id: Any) -> int:
    """``media_id`` as an int if it is an item of the widget's queue; a :class:`ValidationError` if not.

    A request changes only the items the annotator was opened on: a message naming another image
    (a stale page, a crafted message) is refused and changes nothing.
    """
    try:
        mid = int(media_id)
    except (TypeError, ValueError):
        raise ValidationError(f"media_id must be an integer, got {media_id!r}") from None
    if mid not in _queue_ids(w):
        raise ValidationError(f"media {mid} is not in this annotator's queue ({w.total} items), so this "
                              "annotator cannot change it; open an annotator on it with proj.annotate(...)")
    return mid


def _media_of(w: Annotator, msg: dict[str, Any]) -> int:
    mid = msg.get("media_id")
    return in_queue(w, mid) if mid is not None else int(w._queue[w.index]["media_id"])


def _row(con: Any, instance_id: Any) -> tuple:
    try:
        iid = int(instance_id)
    except (TypeError, ValueError):
        raise ValidationError(f"an instance id must be an integer, got {instance_id!r}") from None
    rows = con.execute(_BY_ID, [iid]).fetchall()
    if not rows:
        raise NotFoundError.from_key("instance", instance_id, hint="it may have been deleted; reload the item")
    return rows[0]


def _check_queued(w: Annotator, instance_id: Any, media_id: Any) -> None:
    if int(media_id) not in _queue_ids(w):
        raise ValidationError(f"instance {instance_id} is on media {media_id}, which is not in this annotator's "
                              "queue, so this annotator cannot change it; open an annotator on that image")


def _check_ground_truth(instance_id: Any, run: Any, action: str) -> None:
    if run is not None:
        raise ValidationError(f"instance {instance_id} is a prediction of run {run!r}, and predictions are "
                              f"not {action} in the annotator; accept it to copy it into ground truth, "
                              "or reject it")


def queued_row(w: Annotator, con: Any, instance_id: Any) -> tuple:
    """The current row of an instance on an item of the widget's queue (ground truth or prediction)."""
    row = _row(con, instance_id)
    _check_queued(w, row[0], row[13])
    return row


def ground_truth_row(w: Annotator, con: Any, instance_id: Any, action: str) -> tuple:
    """The current row of a ground-truth instance of the queue: the only instances a user edits or deletes.

    A prediction belongs to its run (what the model said); ``action`` names the refused change.
    """
    row = queued_row(w, con, instance_id)
    _check_ground_truth(row[0], row[10], action)
    return row


def check_deletable(w: Annotator, con: Any, instance_id: Any) -> int:
    """The id of a ground-truth instance of the queue, deleted already or not (a retried delete is answered)."""
    try:
        iid = int(instance_id)
    except (TypeError, ValueError):
        raise ValidationError(f"an instance id must be an integer, got {instance_id!r}") from None
    row = current_row(con, iid)
    _check_queued(w, iid, row["media_id"])
    _check_ground_truth(iid, None if row["run_id"] is None else run_name_of(con, int(row["run_id"])), "deleted")
    return iid


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
    try:
        with w.session.store.read() as con:  # an instance's media and run never change: checked once
            row = ground_truth_row(w, con, inst["id"], "edited")
    except NotFoundError:  # deleted or unknown: the store's own refusal names which
        return _edits.update_instance(w.session, int(inst["id"]), expected_version=inst.get("version"), quiet=True)
    iid, old_kind = int(row[0]), str(row[3])
    changes: dict[str, Any] = {"author": w.author}
    if inst.get("label_id") is not None:
        changes["label"] = _label_name(w, inst["label_id"])
    if "attributes" in inst:
        changes["attributes"] = inst["attributes"]
    if inst.get("box") is not None or inst.get("points") is not None:
        kind = inst.get("kind") or old_kind
        if kind != "tag":  # a tag covers the whole image: it has no geometry to change
            geom = geometry_kwargs({**inst, "kind": kind})
            old_pts = json.loads(row[8]) if isinstance(row[8], str) else None
            if kind == "polygon" and old_kind == "polygon" and old_pts and isinstance(old_pts[0], list) \
                    and old_pts[0] and isinstance(old_pts[0][0], list) and len(old_pts) > 1:
                geom = {"polygon": [geom["polygon"], *old_pts[1:]]}
            changes.update(geom)
    elif inst.get("kind") is not None and old_kind != inst["kind"]:
        raise ValidationError(f"changing instance {iid} from {old_kind} to {inst['kind']} needs its new geometry")
    return _edits.update_instance(w.session, iid, expected_version=inst.get("version"), quiet=True, **changes)


def _accept(w: Annotator, con: Any, pred_id: Any) -> tuple[dict[str, Any], tuple]:
    row = queued_row(w, con, pred_id)
    if row[10] is None:
        raise ValidationError(f"instance {pred_id} is ground truth, not a prediction")
    gid = _copy(w, con, row, int(row[13]), {"accepted_from": int(pred_id), "run": row[10]})
    return inst_from_row(_row(con, gid)), row
