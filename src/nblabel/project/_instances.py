"""Instances: add (one or a batch), update, delete, history and restore — all append-only."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import NblabelError, ValidationError
from ..geometry import to_xyxy
from ..io._report import ImportReport
from ..schema import SchemaState
from ._prepare import prepare_instances, write_instances

if TYPE_CHECKING:
    from ..store import Store

_GEOMS = ("box", "polygon", "keypoints", "point", "line")
_CHANGEABLE = {"label", "box", "polygon", "keypoints", "point", "line", "attributes", "score", "track_id",
               "box_format", "strict", "author", "extra"}


def _schema_version(con: Any) -> int:
    return int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0])


def geometry_row(*, box: Any = None, polygon: Any = None, keypoints: Any = None, point: Any = None,
                 line: Any = None, tag: bool = False, box_format: str = "xyxy") -> dict[str, Any]:
    """One instance's geometry arguments as a row: kind, x0..y1 and points."""
    given = [k for k, v in (("polygon", polygon), ("keypoints", keypoints), ("point", point), ("line", line))
             if v is not None]
    if tag:
        given.insert(0, "tag")
    if len(given) > 1:
        raise ValidationError(f"give one spatial type per instance, got {given}")
    row: dict[str, Any] = {"x0": np.nan, "y0": np.nan, "x1": np.nan, "y1": np.nan, "points": None}
    if box is not None:
        b = to_xyxy(np.asarray(box, dtype=float).reshape(1, 4), box_format)[0]
        row.update(x0=b[0], y0=b[1], x1=b[2], y1=b[3])
    if not given:
        if box is None:
            raise ValidationError("an instance needs a geometry: box=, polygon=, keypoints=, point=, line= or tag=True")
        row["kind"] = "box"
        return row
    kind = given[0]
    row["kind"] = kind
    if kind == "point":
        row["points"] = [list(np.asarray(point, dtype=float).reshape(2))]
    elif kind != "tag":
        row["points"] = {"polygon": polygon, "keypoints": keypoints, "line": line}[kind]
        if isinstance(row["points"], np.ndarray):
            row["points"] = row["points"].tolist()
    return row


class InstancesMixin:
    """Project methods that write and read instances."""

    store: Store
    author: str

    def _run_id(self, con: Any, run: Any) -> int | None:
        if run is None:
            return None
        from ._runs import Run

        if isinstance(run, Run):
            return run.run_id
        rows = con.execute("SELECT run_id FROM runs WHERE name = ?", [str(run)]).fetchall()
        row = rows[0] if rows else None
        if row is None:
            names = [r[0] for r in con.execute("SELECT name FROM runs").fetchall()]
            from ..errors import did_you_mean

            raise ValidationError(f"run {run!r} does not exist{did_you_mean(str(run), names)}; "
                                  "create it with proj.add_run(name)")
        return int(row[0])

    def add_instance(
        self,
        media: int | str,
        label: str,
        *,
        box: Any = None,
        polygon: Any = None,
        keypoints: Any = None,
        point: Any = None,
        line: Any = None,
        tag: bool = False,
        attributes: dict[str, Any] | None = None,
        run: Any = None,
        score: float | None = None,
        track_id: int | None = None,
        box_format: str = "xyxy",
        strict: bool = False,
        author: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> int:
        """Add one instance (ground truth, or a prediction of ``run``); returns its stable id.

        Coordinates are absolute pixels of the upright image. A box outside the image is clipped
        with a warning (``strict=True`` refuses it); NaN/inf or zero-size geometry is refused.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car", spatial=["box", "polygon"])
            >>> p.add_instance(1, "car", box=[5, 5, 20, 30])
            1
            >>> p.add_instance(1, "car", polygon=[[1, 1], [10, 1], [10, 8]])
            2
        """
        row = geometry_row(box=box, polygon=polygon, keypoints=keypoints, point=point, line=line, tag=tag,
                           box_format=box_format)
        row.update(label=label, attributes=attributes or None, score=score, track_id=track_id, extra=extra)
        with self.store.transaction() as con:
            (mid,) = self._media_ids(con, media)  # type: ignore[attr-defined]
            row["media_id"] = mid
            report = ImportReport("instance")
            state = SchemaState.load(con)
            frame = prepare_instances(con, state, pd.DataFrame([row]), report=report, strict=strict,
                                      run_id=self._run_id(con, run))
            if report.problems:
                raise ValidationError(report.problems[0].reason)
            (iid,) = write_instances(con, frame, author=author or self.author, schema_version=state.version)
        return int(iid)

    def add_instances(self, df: pd.DataFrame, *, run: Any = None, box_format: str = "xyxy",
                      coords: str = "absolute", strict: bool = False, errors: str = "raise",
                      author: str | None = None) -> ImportReport:
        """Add many instances in one transaction.

        ``df`` columns: ``media_id`` or ``file_name``; ``label``; ``kind`` (default box); box
        columns named after ``box_format`` (``x0,y0,x1,y1`` / ``x,y,w,h`` / ``cx,cy,w,h``);
        optional ``points``, ``attributes`` (dicts), ``score``, ``track_id``.

        Args:
            errors: ``"raise"`` (default) refuses the whole batch if any row is bad, naming the rows;
                ``"report"`` stores the good rows and lists the bad ones in the report.

        Example:
            >>> import nblabel as nl, numpy as np, pandas as pd
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car")
            >>> df = pd.DataFrame({"media_id": [1, 1], "label": ["car", "car"],
            ...                    "x0": [1, 5], "y0": [1, 5], "x1": [9, 20], "y1": [9, 30]})
            >>> p.add_instances(df).added
            2
        """
        if errors not in ("raise", "report"):
            raise ValidationError(f"errors must be 'raise' or 'report', got {errors!r}")
        frame = normalise_boxes(df, box_format=box_format)
        report = ImportReport("instances")
        with self.store.transaction() as con:
            state = SchemaState.load(con)
            if coords == "relative":
                frame = _relative_to_absolute(con, frame)
            elif coords != "absolute":
                raise ValidationError(f"coords must be 'absolute' or 'relative', got {coords!r}")
            run_id = self._run_id(con, run)
            clean = prepare_instances(con, state, frame, report=report, strict=strict, run_id=run_id)
            if report.problems and errors == "raise":
                report.skipped = len(df)
                report.raise_if_problems()
            ids = write_instances(con, clean, author=author or self.author, schema_version=state.version)
        report.added = len(ids)
        report.skipped = len(df) - len(ids)
        report.ids = ids.tolist()
        return report

    # -- edits -------------------------------------------------------------------------------
    def _current_row(self, con: Any, instance_id: int) -> pd.Series:
        df = con.execute("SELECT * FROM instances WHERE instance_id = ? AND superseded_at IS NULL",
                         [int(instance_id)]).df()
        if df.empty:
            raise NblabelError(f"instance {instance_id} does not exist; list instances with proj.instances().df()")
        return df.iloc[0]

    def _append_version(self, con: Any, old: pd.Series, frame: pd.DataFrame | None, *, deleted: bool,
                        author: str | None, extra: Any = None) -> int:
        version = int(old["version"]) + 1
        con.execute("UPDATE instances SET superseded_at = now() WHERE instance_id = ? AND superseded_at IS NULL",
                    [int(old["instance_id"])])
        if frame is None:  # tombstone or restore: copy the given row
            con.execute(
                "INSERT INTO instances SELECT instance_id, ?, media_id, run_id, label_id, kind, x0, y0, x1, y1, "
                "points, attributes, score, track_id, area, iscrowd, extra, ?, ?, now(), NULL, ? FROM instances "
                "WHERE instance_id = ? AND version = ?",
                [version, author or self.author, _schema_version(con), deleted, int(old["instance_id"]),
                 int(old["version"])])
            return version
        r = frame.iloc[0]
        con.execute(
            "INSERT INTO instances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::JSON, ?::JSON, ?, ?, ?, ?, ?::JSON, ?, ?, "
            "now(), NULL, false)",
            [int(old["instance_id"]), version, int(r["media_id"]), None if pd.isna(old["run_id"]) else int(old["run_id"]),
             int(r["label_id"]), r["kind"], float(r["x0"]), float(r["y0"]), float(r["x1"]), float(r["y1"]),
             None if r["points"] is None else json.dumps(r["points"]),
             None if r["attributes"] is None else json.dumps(r["attributes"]),
             None if pd.isna(r["score"]) else float(r["score"]),
             None if pd.isna(r["track_id"]) else int(r["track_id"]),
             None if pd.isna(r["area"]) else float(r["area"]), bool(r["iscrowd"]),
             extra if isinstance(extra, str) or extra is None else json.dumps(extra),
             author or self.author, _schema_version(con)])
        return version

    def update_instance(self, instance_id: int, *, expected_version: int | None = None, **changes: Any) -> int:
        """Change an instance; appends a new version and returns its number.

        Changes: ``label``, one geometry (``box``/``polygon``/``keypoints``/``point``/``line``),
        ``attributes`` (replaces the dict), ``score``, ``track_id``. ``expected_version`` refuses
        the edit if someone else changed the instance meanwhile.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); i = p.add_instance(1, "car", box=[5, 5, 20, 30])
            >>> p.update_instance(i, box=[6, 6, 21, 31])
            2
        """
        unknown = set(changes) - _CHANGEABLE
        if unknown:
            raise ValidationError(f"update_instance got unknown change(s) {sorted(unknown)}; "
                                  f"it takes {sorted(_CHANGEABLE - {'box_format', 'strict', 'author', 'extra'})}")
        with self.store.transaction() as con:
            old = self._current_row(con, instance_id)
            if old["deleted"]:
                raise NblabelError(f"instance {instance_id} is deleted; restore it first with proj.restore()")
            if expected_version is not None and int(old["version"]) != int(expected_version):
                raise NblabelError(f"instance {instance_id} is at version {old['version']}, not {expected_version}: "
                                   "someone else changed it; reload and retry")
            state = SchemaState.load(con)
            geom_keys = [k for k in _GEOMS if changes.get(k) is not None]
            if geom_keys:
                row = geometry_row(**{k: changes[k] for k in geom_keys}, box_format=changes.get("box_format", "xyxy"))
            else:
                pts = json.loads(old["points"]) if isinstance(old["points"], str) else None
                row = {"kind": old["kind"], "x0": old["x0"], "y0": old["y0"], "x1": old["x1"], "y1": old["y1"],
                       "points": pts}
                if old["kind"] == "point" and pts:
                    row["points"] = pts
            row["media_id"] = int(old["media_id"])
            row["label_id"] = state.label(changes["label"]).id if "label" in changes else int(old["label_id"])
            attrs = changes["attributes"] if "attributes" in changes else (
                json.loads(old["attributes"]) if isinstance(old["attributes"], str) else None)
            if "label" in changes and "attributes" not in changes and attrs:
                # a label change drops values of attributes the new label does not have (history keeps them)
                keep = {a.name for a in state.attributes_for(row["label_id"])}
                attrs = {k: v for k, v in attrs.items() if k in keep}
            row["attributes"] = attrs or None
            row["score"] = changes.get("score", old["score"])
            row["track_id"] = changes.get("track_id", old["track_id"])
            row["area"] = np.nan if geom_keys else old["area"]
            row["iscrowd"] = old["iscrowd"]
            report = ImportReport("update")
            frame = prepare_instances(con, state, pd.DataFrame([row]), report=report,
                                      strict=changes.get("strict", False))
            if report.problems:
                raise ValidationError(f"instance {instance_id}: {report.problems[0].reason}")
            return self._append_version(con, old, frame, deleted=False, author=changes.get("author"),
                                        extra=changes.get("extra", old["extra"]))

    def delete_instance(self, instance_id: int, *, author: str | None = None) -> int:
        """Delete an instance: appends a tombstone version (nothing is erased); returns its version.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); i = p.add_instance(1, "car", box=[5, 5, 20, 30])
            >>> p.delete_instance(i)
            2
        """
        with self.store.transaction() as con:
            old = self._current_row(con, instance_id)
            if old["deleted"]:
                return int(old["version"])
            return self._append_version(con, old, None, deleted=True, author=author)

    def history(self, instance_id: int) -> pd.DataFrame:
        """Every version of an instance, oldest first, with author, time and whether it is a deletion.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); i = p.add_instance(1, "car", box=[5, 5, 20, 30])
            >>> _ = p.update_instance(i, box=[6, 6, 20, 30]); len(p.history(i))
            2
        """
        with self.store.read() as con:
            df = con.execute(
                "SELECT i.instance_id, i.version, l.name AS label, i.kind, i.x0, i.y0, i.x1, i.y1, i.points, "
                "i.attributes, i.score, i.author, i.created_at, i.superseded_at, i.deleted, i.schema_version "
                "FROM instances i JOIN labels l USING (label_id) WHERE i.instance_id = ? ORDER BY i.version",
                [int(instance_id)]).df()
        if df.empty:
            raise NblabelError(f"instance {instance_id} does not exist")
        return df

    def restore(self, instance_id: int, version: int, *, author: str | None = None) -> int:
        """Make an old version current again (as a new version); returns the new version number.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); i = p.add_instance(1, "car", box=[5, 5, 20, 30])
            >>> _ = p.delete_instance(i); p.restore(i, 1)
            3
        """
        with self.store.transaction() as con:
            cur = self._current_row(con, instance_id)
            old = con.execute("SELECT * FROM instances WHERE instance_id = ? AND version = ?",
                              [int(instance_id), int(version)]).df()
            if old.empty:
                raise NblabelError(f"instance {instance_id} has no version {version}; see proj.history({instance_id})")
            if bool(old.iloc[0]["deleted"]):
                raise NblabelError(f"version {version} of instance {instance_id} is a deletion; restore an earlier one")
            new_version = int(cur["version"]) + 1
            con.execute("UPDATE instances SET superseded_at = now() WHERE instance_id = ? AND superseded_at IS NULL",
                        [int(instance_id)])
            con.execute(
                "INSERT INTO instances SELECT instance_id, ?, media_id, run_id, label_id, kind, x0, y0, x1, y1, "
                "points, attributes, score, track_id, area, iscrowd, extra, ?, ?, now(), NULL, false FROM instances "
                "WHERE instance_id = ? AND version = ?",
                [new_version, author or self.author, _schema_version(con), int(instance_id), int(version)])
            return new_version


_BOX_COLUMNS = {"xyxy": ("x0", "y0", "x1", "y1"), "xywh": ("x", "y", "w", "h"), "cxcywh": ("cx", "cy", "w", "h")}


def normalise_boxes(df: pd.DataFrame, *, box_format: str = "xyxy") -> pd.DataFrame:
    """Rename box columns of ``box_format`` to absolute-or-relative xyxy ``x0..y1`` (vectorised)."""
    if box_format not in _BOX_COLUMNS:
        raise ValidationError(f"box_format {box_format!r} is unknown; use one of {sorted(_BOX_COLUMNS)}")
    cols = _BOX_COLUMNS[box_format]
    out = df.copy()
    if all(c in df.columns for c in cols):
        xyxy = to_xyxy(df[list(cols)].to_numpy(dtype=float), box_format)
        out = out.drop(columns=[c for c in cols if c not in ("x0", "y0", "x1", "y1")])
        out[["x0", "y0", "x1", "y1"]] = xyxy
    elif "box" in df.columns:
        arr = np.array([np.asarray(b, dtype=float) if b is not None else np.full(4, np.nan) for b in df["box"]])
        out[["x0", "y0", "x1", "y1"]] = to_xyxy(arr.reshape(-1, 4), box_format)
        out = out.drop(columns=["box"])
    elif not ("points" in df.columns or ("kind" in df.columns and (df["kind"] == "tag").all())):
        raise ValidationError(f"box_format={box_format!r} needs columns {list(cols)} (or a 'box' column); "
                              f"the data has {list(df.columns)}")
    return out


def _relative_to_absolute(con: Any, frame: pd.DataFrame) -> pd.DataFrame:
    if "points" in frame.columns and frame["points"].notna().any():
        # scaling nested point lists (rings, keypoint triples) silently wrong would store a tiny
        # polygon in the corner of the image: refuse instead
        raise ValidationError("coords='relative' converts box columns only; give polygons, keypoints, points "
                              "and lines in absolute pixels (multiply x by the width and y by the height)")
    sizes = con.execute("SELECT media_id, file_name, width, height FROM media").df()
    key = "media_id" if "media_id" in frame.columns else "file_name"
    s = frame[[key]].merge(sizes.drop_duplicates(key), on=key, how="left")
    w, h = s["width"].to_numpy(float), s["height"].to_numpy(float)
    out = frame.copy()
    for c in ("x0", "x1"):
        out[c] = out[c].to_numpy(float) * w
    for c in ("y0", "y1"):
        out[c] = out[c].to_numpy(float) * h
    return out
