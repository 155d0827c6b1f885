"""Repeated imports: what an import does with instances the project already holds (``mode=``).

Importing the same COCO file twice, or re-importing a YOLO/VOC export of the project, would
otherwise double the ground truth silently. Every batch writer (``add_instances``,
``run.add_predictions``, ``import_coco``/``import_yolo``/``import_voc``) takes ``mode``:

- ``"skip-existing"`` (the default): a checked row that repeats an instance of the same source
  (ground truth, or the same run) is not written, and the report says how many were skipped. A
  repeat is the same media item and label with every coordinate of the box (for polygons and
  keypoints: the box stored with them, their extent or the COCO bbox) within ``tolerance`` pixels
  (1e-6; an importer passes the precision its format writes). The kind is not compared: a YOLO
  or VOC export writes a polygon as its box, and re-importing it must not add the box. Or — for rows
  carrying a COCO annotation id in ``extra`` — the same media item and COCO annotation id (so a
  box fixed after the first import is not brought back by the second). The latest version of
  every instance counts, a deleted one included: what a person deleted stays deleted.
- ``"replace"``: the instances of that source on every media item the import touches are deleted
  first (tombstones, so ``proj.history`` keeps them), then every row is written.
- ``"append"``: every row is written (rows repeating stored ones become second copies).

The repeat check is one DuckDB equality join on (media, label, rounded x0) over the touched
media, then a filter on all four coordinates — not a Python loop per row; an import onto media
without stored instances of its source skips it after one quick query.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._report import ImportReport
from ..errors import ValidationError, did_you_mean
from ._arrow_scan import NAME, run_over
from ._instances import insert_rows, insert_table, instance_table, tombstone_many
from ._lookup import next_id

__all__ = ["DEFAULT_MODE", "MODES", "ModeWriter", "check_mode", "find_repeats", "write_with_mode"]

MODES = ("skip-existing", "replace", "append")
DEFAULT_MODE = "skip-existing"
TOLERANCE = 1e-6


def check_mode(mode: Any) -> str:
    """``mode`` if it is one of :data:`MODES`, else a ValidationError listing them.

    Example:
        >>> check_mode("append")
        'append'
        >>> check_mode("skip_existing")
        Traceback (most recent call last):
        ...
        nblabel.errors.ValidationError: mode='skip_existing' is unknown; use one of 'skip-existing' (default: leave out rows already in the project), 'replace' (delete the source's instances on the media the import touches, then add), 'append' (add every row); did you mean 'skip-existing'?
    """
    if isinstance(mode, str) and mode in MODES:
        return mode
    hint = did_you_mean(str(mode), MODES)
    raise ValidationError(f"mode={mode!r} is unknown; use one of 'skip-existing' (default: leave out rows already "
                          "in the project), 'replace' (delete the source's instances on the media the import "
                          "touches, then add), 'append' (add every row)"
                          + (hint if hint.startswith("; did you mean") else ""))


def _coco_ids(frame: pd.DataFrame) -> np.ndarray:
    """The COCO annotation id each row carries in ``extra`` (a dict, or its JSON text as a bulk
    import stages it), as text, or None."""
    out = np.full(len(frame), None, dtype=object)
    if "extra" not in frame.columns or not frame["extra"].notna().any():
        return out
    for i, e in enumerate(frame["extra"].to_list()):  # only imports that carry extras (COCO) get here
        if isinstance(e, str) and e.startswith("{"):
            e = json.loads(e)
        if isinstance(e, dict) and e.get("coco_id") is not None:
            out[i] = str(e["coco_id"])
    return out


# Candidate pairs come from an equality join on (media, label, x0 cell): cells are 4 tolerances
# wide, so a row's x0 +- tolerance spans at most two of them and every stored x0 within tolerance
# shares one (a row near a cell border is sent once per cell); the filter then checks all four
# coordinates. Joining on media and label alone would pair every new box of an image with every
# stored one (10M pairs for 100k boxes on 1,000 images). The stored rows are narrowed to the
# media id range first (a zone-map scan), the join keeps only the media actually given.
_OLD = """old AS (SELECT instance_id, media_id, label_id, x0, y0, x1, y1, deleted{coco} FROM instances
                 WHERE superseded_at IS NULL AND run_id IS NOT DISTINCT FROM $run
                   AND media_id BETWEEN $lo AND $hi AND instance_id < $below)"""
_GEOM = f"""SELECT n.pos, o.instance_id, o.deleted FROM {NAME} n JOIN old o
           ON n.media_id = o.media_id AND n.label_id = o.label_id AND n.cell = floor(o.x0 / $cell)
           WHERE abs(n.x0 - o.x0) <= $tol AND abs(n.y0 - o.y0) <= $tol
             AND abs(n.x1 - o.x1) <= $tol AND abs(n.y1 - o.y1) <= $tol"""  # noqa: S608
_COCO = f"""SELECT n.pos, o.instance_id, o.deleted FROM {NAME} n JOIN old o
           ON n.media_id = o.media_id AND n.coco_id = o.coco_id"""  # noqa: S608
_ANY = ("SELECT count(*) FROM (SELECT 1 FROM instances WHERE superseded_at IS NULL AND run_id IS NOT DISTINCT FROM ? "
        "AND media_id BETWEEN ? AND ? AND instance_id < ? LIMIT 1)")
_NO_LIMIT = 2**63 - 1


def find_repeats(con: Any, frame: pd.DataFrame, run_id: int | None,
                 tolerance: float = TOLERANCE, below: int | None = None) -> pd.DataFrame:
    """Rows of ``frame`` (checked rows, as :func:`~nblabel.store._prepare.prepare_instances` gives
    them) that repeat a stored instance of the same source: ``pos`` (row position), the stored
    ``instance_id`` and whether it is ``deleted``. ``below``: only instances with smaller ids count
    (those stored before an import that writes in chunks began).

    Example:
        >>> import nblabel as nl, numpy as np, pandas as pd
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[5, 5, 20, 30])
        >>> rows = pd.DataFrame({"media_id": [1, 1], "label_id": [1, 1], "kind": "box", "x0": [5.0, 1.0],
        ...                      "y0": [5.0, 1.0], "x1": [20.0, 9.0], "y1": [30.0, 9.0]})
        >>> with p._session.store.read() as con:
        ...     find_repeats(con, rows, None)[["pos", "instance_id"]].values.tolist()
        [[0, 1]]
    """
    if frame.empty:
        return pd.DataFrame({"pos": np.zeros(0, np.int64), "instance_id": np.zeros(0, np.int64),
                             "deleted": np.zeros(0, bool)})
    media = frame["media_id"].to_numpy(np.int64)
    lo_id, hi_id = int(media.min()), int(media.max())
    below = _NO_LIMIT if below is None else int(below)
    if not con.execute(_ANY, [run_id, lo_id, hi_id, below]).fetchall()[0][0]:
        return find_repeats(con, frame.iloc[:0], run_id)  # nothing stored there: no repeat (the usual import)
    x0 = frame["x0"].to_numpy(float)
    tol = float(tolerance)
    cell = 4 * tol if tol > 0 else 1.0
    lo, hi = np.floor((x0 - tol) / cell), np.floor((x0 + tol) / cell)
    both = np.flatnonzero(lo != hi)  # rows near a cell border: sent once per cell
    at = np.concatenate([np.arange(len(frame)), both])
    coco = _coco_ids(frame)
    has_coco = any(c is not None for c in coco)
    rows = pd.DataFrame({
        "pos": at, "cell": np.concatenate([lo, hi[both]]), "media_id": media[at],
        "label_id": frame["label_id"].to_numpy(np.int64)[at],
        **{c: frame[c].to_numpy(float)[at] for c in ("x0", "y0", "x1", "y1")},
        **({"coco_id": coco[at]} if has_coco else {}),
    })
    sql = ("WITH " + _OLD.format(coco=", json_extract_string(extra, '$.coco_id') AS coco_id" if has_coco else "")
           + " " + _GEOM + (" UNION ALL " + _COCO if has_coco else ""))
    pairs = run_over(con, sql, rows, {"run": run_id, "tol": tol, "cell": cell, "lo": lo_id, "hi": hi_id,
                                      "below": below}).fetchnumpy()
    pos, iid, deleted = (np.asarray(pairs[c]) for c in ("pos", "instance_id", "deleted"))
    deleted = deleted.astype(bool)
    order = np.lexsort((iid, deleted, pos))  # per row, a live match before a tombstone, then the smallest id
    first = order[np.unique(pos[order], return_index=True)[1]]
    return pd.DataFrame({"pos": pos[first].astype(np.int64), "instance_id": iid[first].astype(np.int64),
                         "deleted": deleted[first].astype(bool)})


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n != 1 or not noun.endswith("s") else f"1 {noun[:-1]}"


def _any_coco(frame: pd.DataFrame) -> bool:
    """Whether some row carries a COCO annotation id (stops at the first: a COCO import's first row)."""
    if "extra" not in frame.columns or not frame["extra"].notna().any():
        return False
    for e in frame["extra"].to_list():
        if isinstance(e, str) and e.startswith("{"):
            e = json.loads(e)
        if isinstance(e, dict) and e.get("coco_id") is not None:
            return True
    return False


# DuckDB's row group: an insert of a whole one inside a transaction goes to the file at once, smaller
# ones stay in memory until the commit (measured, 1M rows in 15k chunks: +64 MB held, 1.7x the time)
WRITE_ROWS = 122_880
WRITE_TEXT = 4 << 20  # ...or once the held rows' points JSON has this many characters (polygons are big rows)


class ModeWriter:
    """:func:`write_with_mode` for rows handed over in chunks inside one transaction.

    Rows are checked for repeats against what was stored before the first chunk (two rows of one
    import that look alike are both written, as one write of all rows does) and inserted a row
    group (:data:`WRITE_ROWS`) at a time, so no more than that is held; the ids run on, and
    :meth:`finish` writes the rest and gives the notes of one write of every row. ``media``: the media items the write touches
    (``"replace"`` clears the source's instances on them when the writer is made).

    Example:
        >>> import nblabel as nl, numpy as np, pandas as pd
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> lid = p.schema.add_label("car"); rep = nl.ImportReport("x")
        >>> rows = pd.DataFrame({"media_id": [1], "run_id": [None], "label_id": [lid], "kind": ["box"], "x0": [1.0],
        ...                      "y0": [1.0], "x1": [5.0], "y1": [5.0], "points": [None], "attributes": [None],
        ...                      "score": [np.nan], "track_id": [pd.NA], "area": [np.nan], "iscrowd": [False],
        ...                      "extra": [None]})
        >>> with p._session.store.transaction() as con:
        ...     w = ModeWriter(con, mode="skip-existing", run_id=None, media=[1], report=rep, author="a",
        ...                    schema_version=1)
        ...     w.write(rows); w.write(rows)  # alike rows of one write: both go in (at finish)
        ...     w.finish().tolist()
        [1, 2]
    """

    def __init__(self, con: Any, *, mode: str, run_id: int | None, media: list[int], report: ImportReport,
                 author: str | None, schema_version: int, noun: str = "instances",
                 tolerance: float = TOLERANCE) -> None:
        self.con, self.mode, self.run_id, self.report = con, check_mode(mode), run_id, report
        self.author, self.schema_version, self.noun, self.tolerance = author, schema_version, noun, tolerance
        self.ids: list[np.ndarray] = []
        # chunks not yet written (less than a row group), as Arrow columns; a one-row chunk as its frame
        # (a single row goes in as one parameterised INSERT, the annotator's and add_instances' case)
        self.held: list[pa.Table | pd.DataFrame] = []
        self.held_rows = self.held_text = 0
        self.rows = self.repeats = self.gone = self.replaced = 0
        self.coco = False
        self.touched = sorted({int(m) for m in media})
        if self.mode == "replace":
            self.replaced = tombstone_many(con, media=self.touched, run_id=run_id, author=author,
                                           schema_version=schema_version)
        self.below = next_id(con, "instances")  # every row of this write gets an id from here on

    def write(self, frame: pd.DataFrame) -> None:
        """Write one chunk of checked rows (see the class docstring): its repeats dropped, it is held as
        Arrow columns (the frame is let go) until a row group's worth (:data:`WRITE_ROWS`, or
        :data:`WRITE_TEXT` characters of points) is there, then written in one statement."""
        self.rows += len(frame)
        if self.mode == "skip-existing" and len(frame):
            # against what was stored before the write began (``below``): the same for any chunking
            rep = find_repeats(self.con, frame, self.run_id, self.tolerance, below=self.below)
            self.coco = self.coco or _any_coco(frame)  # the note's wording, as one write of every row gives it
            if len(rep):
                keep = np.ones(len(frame), dtype=bool)
                keep[rep["pos"].to_numpy(np.int64)] = False
                frame = frame[keep]
                self.repeats += len(rep)
                self.gone += int(rep["deleted"].sum())
        if not len(frame):
            return
        if "points" in frame.columns and frame["points"].notna().any():
            self.held_text += sum(len(v) for v in frame["points"].to_list() if isinstance(v, str))
        self.held.append(frame if len(frame) == 1 else instance_table(frame))
        self.held_rows += len(frame)
        if self.held_rows >= WRITE_ROWS or self.held_text >= WRITE_TEXT:
            self._flush()

    def _flush(self) -> None:
        if not self.held:
            return
        held, self.held, self.held_rows, self.held_text = self.held, [], 0, 0
        if len(held) == 1 and isinstance(held[0], pd.DataFrame):
            self.ids.append(insert_rows(self.con, held[0], author=self.author, schema_version=self.schema_version))
            return
        tables = [instance_table(h) if isinstance(h, pd.DataFrame) else h for h in held]
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]  # no copy: the chunks side by side
        self.ids.append(insert_table(self.con, table, author=self.author, schema_version=self.schema_version))

    def finish(self) -> np.ndarray:
        """Put the notes and ``report.extra`` of the whole write in the report; returns every new id in order."""
        self._flush()
        report, noun = self.report, self.noun
        if self.mode == "replace":
            report.extra["replaced"] = self.replaced
            if self.replaced:
                report.notes.append(f"replaced {_plural(self.replaced, noun)} on {len(self.touched):,} media item(s) "
                                    "(deleted as new versions: proj.history(id) still has them)")
        elif self.mode == "skip-existing" and self.rows:
            if self.repeats:
                why = ("same image and COCO annotation id, or same image, label and geometry" if self.coco
                       else "same image, label and geometry")
                deleted = (f"; {self.gone:,} of them were deleted in the project and stay deleted" if self.gone
                           else "")
                report.notes.append(f"skipped {_plural(self.repeats, noun)} already in the project ({why}){deleted}; "
                                    "pass mode='append' to add them again")
            report.extra["repeats"] = self.repeats
        return np.concatenate(self.ids) if self.ids else np.zeros(0, dtype=np.int64)


def write_with_mode(con: Any, frame: pd.DataFrame, *, mode: str, run_id: int | None, media: list[int] | None,
                    report: ImportReport, author: str | None, schema_version: int, noun: str = "instances",
                    tolerance: float = TOLERANCE) -> np.ndarray:
    """Write checked rows inside the caller's transaction as ``mode`` says; returns the new ids.

    ``media``: the media items the import touches (``"replace"`` clears the source's instances on
    them; default: the media of ``frame``). What was skipped or replaced goes into ``report.notes``
    and ``report.extra`` (``"repeats"``: how many rows were skipped, ``"replaced"``: how many
    stored instances were deleted).

    Example:
        >>> import nblabel as nl, numpy as np, pandas as pd
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> _ = p.schema.add_label("car")
        >>> df = pd.DataFrame({"media_id": [1], "label": ["car"], "x0": [5], "y0": [5], "x1": [20], "y1": [30]})
        >>> _ = p.add_instances(df); r = p.add_instances(df)
        >>> r.added, r.notes[0]
        (0, "skipped 1 instance already in the project (same image, label and geometry); pass mode='append' to add them again")
    """
    touched = media if media is not None else frame["media_id"].astype(int).tolist()
    writer = ModeWriter(con, mode=mode, run_id=run_id, media=touched, report=report, author=author,
                        schema_version=schema_version, noun=noun, tolerance=tolerance)
    writer.write(frame)
    return writer.finish()
