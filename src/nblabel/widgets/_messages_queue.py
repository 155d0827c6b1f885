"""Annotator request handlers for review, tags, item status, navigation and copies (``js/PROTOCOL.md``).

Each handler commits its change in ONE store transaction before it returns (see
:mod:`nblabel.widgets._messages`, which dispatches to them).
"""

from __future__ import annotations

import json
import math
import sys
import traceback
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..schema import missing_required
from ..store import _edits, load_state
from ..store._media import set_status
from ._messages_common import (
    _TAGS,
    Reply,
    _accept,
    _copy,
    _label_name,
    _media_of,
    _verdict_row,
    ground_truth_row,
    inst_from_row,
    queued_row,
)

if TYPE_CHECKING:
    from ._annotator import Annotator

__all__ = ["on_accept", "on_copy_to_next", "on_nav", "on_reject", "on_status", "on_tags", "on_verdict"]


def on_accept(w: Annotator, msg: dict[str, Any]) -> Reply:
    with w.session.store.transaction() as con:
        inst, row = _accept(w, con, msg.get("pred_id"))
        _verdict_row(w, con, int(row[13]), row[14], inst["id"], row[0], "accept")
    return {"instance": inst}, []


def on_reject(w: Annotator, msg: dict[str, Any]) -> Reply:
    with w.session.store.transaction() as con:
        row = queued_row(w, con, msg.get("pred_id"))
        if row[10] is None:
            raise ValidationError(f"instance {row[0]} is ground truth, not a prediction")
        _verdict_row(w, con, int(row[13]), row[14], None, row[0], "reject")
    return {}, []


def on_verdict(w: Annotator, msg: dict[str, Any]) -> Reply:
    verdict = msg.get("verdict")
    gt_id, pred_id = msg.get("gt_id"), msg.get("pred_id")
    out: dict[str, Any] = {}
    with w.session.store.transaction() as con:
        pred = queued_row(w, con, pred_id) if pred_id is not None and verdict == "accept_pred" else None
        run_id = pred[14] if pred is not None else w._run_id_of(con, pred_id)
        media_id = _media_of(w, msg)
        if verdict == "confirm_gt":
            if gt_id is None:
                raise ValidationError("confirm_gt needs gt_id")
            media_id = int(ground_truth_row(w, con, gt_id, "confirmed as ground truth")[13])
        elif verdict == "delete_gt":
            if gt_id is None:
                raise ValidationError("delete_gt needs gt_id")
            media_id = int(ground_truth_row(w, con, gt_id, "deleted")[13])
            _edits.delete_instance(w.session, int(gt_id), author=w.author)
        elif verdict == "accept_pred":
            if pred_id is None:
                raise ValidationError("accept_pred needs pred_id")
            out["instance"], row = _accept(w, con, pred_id)
            media_id = int(row[13])
        else:
            raise ValidationError(f"verdict {verdict!r} is unknown; use confirm_gt, delete_gt or accept_pred")
        _verdict_row(w, con, media_id, run_id, gt_id, pred_id, verdict)
    return out, []


def on_tags(w: Annotator, msg: dict[str, Any]) -> Reply:
    tags = msg.get("tags") or []
    names = {int(t): _label_name(w, t) for t in tags}
    media_id = _media_of(w, msg)
    with w.session.store.transaction() as con:
        have = con.execute("SELECT instance_id, label_id FROM current_instances WHERE media_id = ? "
                           "AND run_id IS NULL AND kind = 'tag'", [media_id]).fetchall()
        kept = set()
        for iid, lid in have:
            if int(lid) in names and int(lid) not in kept:
                kept.add(int(lid))
            else:
                _edits.delete_instance(w.session, int(iid), author=w.author)
        for lid, name in names.items():
            if lid not in kept:
                _edits.add_instance(w.session, media_id, name, tag=True, author=w.author, quiet=True)
        rows = con.execute(_TAGS, [media_id]).fetchall()
    return {"instances": [inst_from_row(r) for r in rows]}, []


def on_status(w: Annotator, msg: dict[str, Any]) -> Reply:
    state = msg.get("state")
    if state not in ("complete", "skipped", "in_progress"):
        raise ValidationError(f"status state {state!r} is unknown; use complete, skipped or in_progress")
    media_id = _media_of(w, msg)
    seconds = float(msg.get("seconds_active") or 0.0)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValidationError(f"seconds_active must be a non-negative number, got {msg.get('seconds_active')!r}")
    with w.session.store.transaction() as con:
        if state == "complete":
            st = load_state(con)
            problems = []
            for iid, lid, attrs in con.execute(
                    "SELECT instance_id, label_id, attributes FROM current_instances WHERE media_id = ? "
                    "AND run_id IS NULL ORDER BY instance_id", [media_id]).fetchall():
                if int(lid) not in st.labels:
                    continue
                miss = missing_required(st, int(lid), json.loads(attrs) if isinstance(attrs, str) else {})
                if miss:
                    problems.append(f"instance {iid} ({st.labels[int(lid)].name}) needs {', '.join(map(repr, miss))}")
            if problems:
                raise ValidationError("cannot complete: required attributes are missing: " + "; ".join(problems[:5])
                                      + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
        set_status(con, media_id, state, stage=w.stage, reason=msg.get("reason") or None,
                   seconds_active=seconds, author=w.author)
        completed = w._count_completed(con)
    w.completed = completed
    out: dict[str, Any] = {"completed": completed}
    warnings_: list[str] = []
    if state == "complete":
        for fn in list(w._on_complete):
            try:
                fn(media_id)
            except Exception as e:  # a failing callback must not undo or hide the committed change
                traceback.print_exc(file=sys.stderr)
                warnings_.append(f"on_complete callback {getattr(fn, '__name__', fn)!s} failed: {e}")
    current = int(w._queue[w.index]["media_id"]) == media_id
    if state in ("complete", "skipped") and current and w.index + 1 < w.total:
        w._set_index(w.index + 1)
    out["index"] = w.index
    if warnings_:
        out["warning"] = "; ".join(warnings_)
    return out, []


def on_nav(w: Annotator, msg: dict[str, Any]) -> Reply:
    action = msg.get("action")
    if action == "next":
        target = min(w.index + 1, w.total - 1)
    elif action == "prev":
        target = max(w.index - 1, 0)
    elif action == "goto":
        target = int(msg.get("index", -1))
        if not 0 <= target < w.total:
            raise ValidationError(f"index {msg.get('index')!r} is outside the queue (0..{w.total - 1})")
    else:
        raise ValidationError(f"nav action {action!r} is unknown; use next, prev or goto")
    w._set_index(target)
    return {"index": w.index}, []


def on_copy_to_next(w: Annotator, msg: dict[str, Any]) -> Reply:
    media_id = _media_of(w, msg)
    pos = next((i for i in range(w.index, w.total) if int(w._queue[i]["media_id"]) == media_id),
               next((i for i in range(w.total) if int(w._queue[i]["media_id"]) == media_id), None))
    if pos is None or pos + 1 >= w.total:
        raise ValidationError("there is no next item in the queue to copy to")
    target = int(w._queue[pos + 1]["media_id"])
    ids = [int(i) for i in (msg.get("instance_ids") or [])]
    with w.session.store.transaction() as con:
        for iid in ids:
            _copy(w, con, queued_row(w, con, iid), target, {"copied_from": iid})
    return {"count": len(ids)}, []
