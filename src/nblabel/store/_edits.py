"""The instance operations users and widgets call: add one or many, update, delete, restore, history.

Each is one store transaction: resolve, check (:mod:`._prepare`, one-row branch for a single
instance), write (:mod:`._instances`). ``Project`` and the annotator's handlers both call these,
so an instance saved in the browser is checked and stored exactly as one added from Python.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._report import ImportReport
from .._warnings import warn
from ..errors import ConflictError, MediaError, NotFoundError, ValidationError, did_you_mean
from ._instance_input import check_media_arg, geometry_row, normalise_boxes, relative_to_absolute
from ._instances import append_version, copy_version, current_row, insert_new, version_row
from ._lookup import media_ids, run_id
from ._prepare import prepare_instances, prepare_one
from ._repeats import DEFAULT_MODE, check_mode, write_with_mode
from ._schema_load import load_state
from ._write_context import Meta, facts, media_size, remember

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["CHANGEABLE", "add_instance", "add_instances", "delete_instance", "history", "restore", "update_instance"]

_GEOMS = ("box", "polygon", "keypoints", "point", "line")
CHANGEABLE = {"label", "box", "polygon", "keypoints", "point", "line", "attributes", "score", "track_id",
              "box_format", "strict", "author", "extra"}


def _warn_all(msgs: list[str]) -> None:
    for m in msgs[:5]:
        warn(m)
    if len(msgs) > 5:
        warn(f"... and {len(msgs) - 5} more geometry warnings")


def _size(con: Any, meta: Meta, media_id: int) -> tuple[float, float]:
    size = media_size(con, meta, media_id)
    if size is None:
        raise MediaError(f"media id {media_id} is not in the project; list them with proj.media().df()")
    return size


def _is_id(media: Any) -> bool:
    """``media`` is one media id (not a name, a list or a slice)."""
    return isinstance(media, (int, np.integer)) and not isinstance(media, bool)


def _loads(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def add_instance(session: Session, media: Any, label: str, *, box: Any = None, polygon: Any = None,
                 keypoints: Any = None, point: Any = None, line: Any = None, tag: bool = False,
                 attributes: dict[str, Any] | None = None, run: Any = None, score: float | None = None,
                 track_id: int | None = None, box_format: str = "xyxy", strict: bool = False,
                 author: str | None = None, extra: dict[str, Any] | None = None, quiet: bool = False) -> int:
    """Add one instance (see ``Project.add_instance``); ``quiet``: clip without warning (the annotator)."""
    check_media_arg(media)
    row = geometry_row(box=box, polygon=polygon, keypoints=keypoints, point=point, line=line, tag=tag,
                       box_format=box_format)
    store = session.store
    began_at = store.write_number
    with store.one_write() as w:  # reads, then one INSERT: no BEGIN/COMMIT (see store/_one_write)
        con = w.con
        # no query besides the insert when the facts of the turn's last write hold (see _write_context)
        meta, next_iid = facts(store, con, began_at)
        size = media_size(con, meta, media) if _is_id(media) else None  # the annotator's case: a media id
        (mid,) = [int(media)] if size is not None else media_ids(con, media)
        state = meta.state(con)
        rid = run_id(con, run)
        lid = state.label_ids_by_name().get(label) if isinstance(label, str) else None
        if lid is None:
            raise ValidationError(f"label {label!r} is not in the schema{did_you_mean(str(label), state.label_ids_by_name())}")
        checked, msgs = prepare_one(state, {**row, "label_id": lid, "attributes": attributes or None, "score": score},
                                    *(size or _size(con, meta, mid)), strict=strict)
        if not quiet:
            _warn_all(msgs)
        iid = insert_new(w.write, {**checked, "media_id": mid, "run_id": rid, "track_id": track_id, "area": None,
                               "iscrowd": False, "extra": extra}, author=author or session.author,
                         schema_version=state.version, instance_id=next_iid)
        remember(store, began_at, meta, next_instance_id=iid + 1)
        return iid


def add_instances(session: Session, df: pd.DataFrame, *, run: Any = None, box_format: str = "xyxy",
                  coords: str = "absolute", strict: bool = False, errors: str = "raise",
                  author: str | None = None, clip: bool = False, mode: str = DEFAULT_MODE) -> ImportReport:
    """Add many instances in one transaction (see ``Project.add_instances``)."""
    if errors not in ("raise", "report"):
        raise ValidationError(f"errors must be 'raise' or 'report', got {errors!r}")
    mode = check_mode(mode)
    frame = normalise_boxes(df, box_format=box_format)
    report = ImportReport("instances")
    with session.store.transaction() as con:
        state = load_state(con)
        if coords == "relative":
            frame = relative_to_absolute(con, frame)
        elif coords != "absolute":
            raise ValidationError(f"coords must be 'absolute' or 'relative', got {coords!r}")
        rid = run_id(con, run)
        clean = prepare_instances(con, state, frame, report=report, strict=strict, run_id=rid, clip=clip,
                                  noun="predictions" if rid is not None else "instances",
                                  check_relative=coords == "absolute")
        if report.problems and errors == "raise":
            report.skipped = len(df)
            report.raise_if_problems()
        ids = write_with_mode(con, clean, mode=mode, run_id=rid, media=None, report=report,
                              author=author or session.author, schema_version=state.version)
    report.added = len(ids)
    report.skipped = len(df) - len(ids)
    report.ids = ids.tolist()
    return report


def update_instance(session: Session, instance_id: int, *, expected_version: int | None = None,
                    quiet: bool = False, **changes: Any) -> int:
    """Append a changed version of an instance (see ``Project.update_instance``); returns its number."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValidationError(f"update_instance got unknown change(s) {sorted(unknown)}; "
                              f"it takes {sorted(CHANGEABLE - {'box_format', 'strict', 'author', 'extra'})}")
    store = session.store
    began_at = store.write_number
    with store.transaction() as con:
        old = current_row(con, instance_id)
        if old["deleted"]:
            raise ConflictError.from_deleted(instance_id)
        if expected_version is not None and int(old["version"]) != int(expected_version):
            raise ConflictError.from_versions(instance_id, current=old["version"], expected=expected_version)
        meta, next_iid = facts(store, con, began_at)
        state = meta.state(con)
        geom_keys = [k for k in _GEOMS if changes.get(k) is not None]
        if geom_keys:
            row = geometry_row(**{k: changes[k] for k in geom_keys}, box_format=changes.get("box_format", "xyxy"))
        else:
            row = {"kind": old["kind"], "x0": old["x0"], "y0": old["y0"], "x1": old["x1"], "y1": old["y1"],
                   "points": _loads(old["points"])}
        row["label_id"] = state.label(changes["label"]).id if "label" in changes else int(old["label_id"])
        attrs = changes["attributes"] if "attributes" in changes else _loads(old["attributes"])
        if "label" in changes and "attributes" not in changes and attrs:
            # a label change drops values of attributes the new label does not have (history keeps them)
            keep = {a.name for a in state.attributes_for(row["label_id"])}
            attrs = {k: v for k, v in attrs.items() if k in keep}
        row["attributes"] = attrs or None
        row["score"] = changes.get("score", old["score"])
        try:
            # a new geometry is drawn (clipped); an edit of the label or attributes keeps the stored one
            checked, msgs = prepare_one(state, row, *_size(con, meta, old["media_id"]),
                                        strict=changes.get("strict", False), clip=bool(geom_keys),
                                        keep_outside=not geom_keys)
        except ValidationError as e:
            raise ValidationError(f"instance {instance_id}: {e}") from None
        if not quiet:
            _warn_all(msgs)
        checked.update(media_id=int(old["media_id"]), track_id=changes.get("track_id", old["track_id"]),
                       area=None if geom_keys else old["area"], iscrowd=old["iscrowd"],
                       extra=changes.get("extra", old["extra"]))
        version = append_version(con, old, checked, author=changes.get("author") or session.author,
                                 schema_version=state.version)
        remember(store, began_at, meta, next_instance_id=next_iid)
        return version


def delete_instance(session: Session, instance_id: int, *, author: str | None = None) -> int:
    """Append a tombstone (see ``Project.delete_instance``); a deleted instance stays as it is."""
    with session.store.transaction() as con:
        old = current_row(con, instance_id)
        if old["deleted"]:
            return int(old["version"])
        return copy_version(con, old, int(old["version"]), deleted=True, author=author or session.author,
                            schema_version=load_state(con).version)


def restore(session: Session, instance_id: int, version: int, *, author: str | None = None) -> int:
    """Make an old version current again, as a new version (see ``Project.restore``)."""
    with session.store.transaction() as con:
        cur = current_row(con, instance_id)
        old = version_row(con, instance_id, version)
        if bool(old["deleted"]):
            raise ValidationError(f"version {version} of instance {instance_id} is a deletion; restore an earlier one")
        return copy_version(con, cur, int(version), deleted=False, author=author or session.author,
                            schema_version=load_state(con).version)


def history(session: Session, instance_id: int) -> pd.DataFrame:
    """Every version of an instance, oldest first (see ``Project.history``)."""
    with session.store.read() as con:
        df = con.execute(
            "SELECT i.instance_id, i.version, l.name AS label, i.kind, i.x0, i.y0, i.x1, i.y1, i.points, "
            "i.attributes, i.score, i.author, i.created_at, i.superseded_at, i.deleted, i.schema_version "
            "FROM instances i JOIN labels l USING (label_id) WHERE i.instance_id = ? ORDER BY i.version",
            [int(instance_id)]).df()
    if df.empty:
        raise NotFoundError.from_key("instance", instance_id, hint="list instances with proj.instances().df()")
    return df


