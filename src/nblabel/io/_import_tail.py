"""The end every ground-truth import shares: check the rows, report problems, write, mark complete.

COCO, YOLO and VOC each parse their own files into an instance frame; from there the steps are the
same, inside the import's one transaction: the store's checks (``prepare_instances``), the
problems under the input's own names (file/line/object), refuse everything (``errors="raise"``)
or write the good rows as ``mode`` says (skip repeats, replace, append: :mod:`nblabel.store._repeats`),
and mark the media whose rows all went in as complete.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._report import ImportReport
from ..store._border import border_notes, empty_notes
from ..store._media import set_status
from ..store._prepare import prepare_instances
from ..store._repeats import TOLERANCE, ModeWriter
from ..store._schema_load import load_state

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["finish_import", "finish_import_chunks", "translate_problems"]


def translate_problems(sub: ImportReport, report: ImportReport, names: Sequence[str], df: pd.DataFrame) -> set[int]:
    """Copy prepare_instances' "row N" problems into ``report`` under the input's own names; returns
    the media ids of the refused rows."""
    bad: set[int] = set()
    for p in sub.problems:
        row = p.item[4:] if p.item.startswith("row ") else ""
        if row.isdigit():
            report.add_problem(names[int(row)], p.reason)
            bad.add(int(df["media_id"].iloc[int(row)]))
        else:
            report.add_problem(p.item, p.reason)
    return bad


def finish_import(con: Any, session: Session, df: pd.DataFrame, names: Sequence[str], report: ImportReport, *,
                  what: str, media: list[int], bad_media: set[int], strict: bool, errors: str, complete: bool,
                  refused_note: str, mode: str, tolerance: float = TOLERANCE, clip: bool = False,
                  keep_outside: bool = False) -> None:
    """Check and write ``df`` (row ``i`` is the input called ``names[i]``) inside the import's transaction.

    ``media``: every media item the import brought in (``mode="replace"`` clears their ground truth);
    ``bad_media``: those already known to have refused rows; ``refused_note``: the note when some
    media are not marked complete (``{n}`` = how many); ``tolerance``: how far (px) a coordinate
    may be from a stored one's and still be a repeat (the precision the format writes).
    Geometry crossing the image border is stored as given and counted in the notes (``clip=True``
    clips it; ``keep_outside``: COCO ground truth keeps boxes entirely outside the image too). Boxes of
    zero width or height are kept too (and counted in the notes; ``strict=True`` refuses them).
    """
    finish_import_chunks(con, session, iter([(df, names)]), report, what=what, media=media, bad_media=bad_media,
                         strict=strict, errors=errors, complete=complete, refused_note=refused_note, mode=mode,
                         tolerance=tolerance, clip=clip, keep_outside=keep_outside)


_CROSS = re.compile(r"^(\d+) \S+ (?:extends|extend|extended) past the image border")
_OUTSIDE = re.compile(r"^(\d+) of them (?:lies|lie) entirely outside the image")
_EMPTY = re.compile(r"^(\d+) \S+ (?:has|have) a box of zero width or height")


def _merge_notes(notes: list[list[str]], noun: str, clip: bool) -> list[str]:
    """The notes of several chunks as one check of all rows would give them: the border rule's
    counts added up (:func:`~nblabel.store._border.border_notes`), other notes once each."""
    if len(notes) == 1:
        return notes[0]
    cross = outside = empty = 0
    other: list[str] = []
    for chunk in notes:
        for note in chunk:
            m, o, e = _CROSS.match(note), _OUTSIDE.match(note), _EMPTY.match(note)
            if m:
                cross += int(m.group(1))
            elif o:
                outside += int(o.group(1))
            elif e:
                empty += int(e.group(1))
            elif note not in other:
                other.append(note)
    return border_notes(cross, outside, noun, clip=clip) + empty_notes(empty, noun) + other


def finish_import_chunks(con: Any, session: Session, chunks: Iterator[tuple[pd.DataFrame, Sequence[str]]],
                         report: ImportReport, *, what: str, media: list[int], bad_media: set[int], strict: bool,
                         errors: str, complete: bool, refused_note: str, mode: str, tolerance: float = TOLERANCE,
                         clip: bool = False, keep_outside: bool = False) -> None:
    """:func:`finish_import` of rows handed over in chunks (``(frame, names)``): each chunk is checked
    and written on its own as ``mode`` says (:class:`~nblabel.store._repeats.ModeWriter`: so no more
    than a chunk's input and rows are held), with the same problems, notes and ids as one check and
    one write of all rows.
    ``bad_media`` is read once every chunk was taken (the producer may add to it).
    """
    state = load_state(con)
    writer = ModeWriter(con, mode=mode, run_id=None, media=sorted(set(media)), report=report, author=session.author,
                        schema_version=state.version, noun=what, tolerance=tolerance)
    notes: list[list[str]] = []
    for df, names in chunks:
        sub = ImportReport(what)
        checked = prepare_instances(con, state, df, report=sub, strict=strict, clip=clip, keep_outside=keep_outside,
                                    noun=what, keep_empty=True)  # a file's zero-area boxes: as pycocotools keeps them
        bad_media |= translate_problems(sub, report, names, df)
        notes.append(sub.notes)
        del df, names
        if errors != "raise" or not report.problems:  # errors="raise" keeps nothing once a row is refused
            writer.write(checked)  # written now, so no more than a chunk of checked rows is held
        del checked
    if notes:
        report.notes.extend(_merge_notes(notes, what, clip))
    if errors == "raise" and report.problems:
        report.raise_if_problems()  # rolls the whole import back
    ids = writer.finish()
    report.added, report.ids = len(ids), [int(i) for i in ids]
    report.skipped = len(report.problems) + int(report.extra.get("repeats", 0))
    report.extra["media_ids"] = sorted(set(media))
    if complete:
        done = sorted(set(media) - bad_media)
        if done:
            set_status(con, done, "complete", stage="label", reason=None, seconds_active=0.0, author=session.author)
        if bad_media:
            report.notes.append(refused_note.format(n=len(bad_media)))
        report.extra["complete"] = done
