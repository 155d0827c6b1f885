"""The end every ground-truth import shares: check the rows, report problems, write, mark complete.

COCO, YOLO and VOC each parse their own files into an instance frame; from there the steps are the
same, inside the import's one transaction: the store's checks (``prepare_instances``), the
problems under the input's own names (file/line/object), refuse everything (``errors="raise"``)
or write the good rows as ``mode`` says (skip repeats, replace, append: :mod:`nblabel.store._repeats`),
and mark the media whose rows all went in as complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .._report import ImportReport
from ..store._media import set_status
from ..store._prepare import prepare_instances
from ..store._repeats import TOLERANCE, write_with_mode
from ..store._schema_load import load_state

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["finish_import", "translate_problems"]


def translate_problems(sub: ImportReport, report: ImportReport, names: list[str], df: pd.DataFrame) -> set[int]:
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


def finish_import(con: Any, session: Session, df: pd.DataFrame, names: list[str], report: ImportReport, *,
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
    sub = ImportReport(what)
    state = load_state(con)
    frame = prepare_instances(con, state, df, report=sub, strict=strict, clip=clip, keep_outside=keep_outside,
                              noun=what, keep_empty=True)  # a file's zero-area boxes: as pycocotools keeps them
    bad_media = bad_media | translate_problems(sub, report, names, df)
    report.notes.extend(sub.notes)
    if errors == "raise" and report.problems:
        report.raise_if_problems()  # rolls the whole import back
    ids = write_with_mode(con, frame, mode=mode, run_id=None, media=sorted(set(media)), report=report,
                          author=session.author, schema_version=state.version, noun=what, tolerance=tolerance)
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
