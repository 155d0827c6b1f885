"""The end every ground-truth import shares: check the rows, report problems, write, mark complete.

COCO, YOLO and VOC each parse their own files into an instance frame; from there the steps are the
same, inside the import's one transaction: the store's checks (``prepare_instances``), the
problems under the input's own names (file/line/object), refuse everything (``errors="raise"``)
or write the good rows, and mark the media whose rows all went in as complete. A large import
(COCO) hands its rows over in chunks (:class:`ChunkedWrite`), so no more than a chunk is held
as frames at once; all chunks go into the same transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .._report import ImportReport
from ..store._instances import insert_rows
from ..store._media import set_status
from ..store._prepare import prepare_instances
from ..store._schema_load import load_state

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["ChunkedWrite", "finish_import", "translate_problems"]


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


class ChunkedWrite:
    """Check and write an import's rows chunk by chunk inside its transaction, then finish it once.

    The outcome is that of :func:`finish_import` on all the rows at once: the same checks, problems
    and ids in the same order; with ``errors="raise"`` nothing more is written after the first
    problem, every chunk is still checked, and :meth:`finish` raises (rolling the import back).
    """

    def __init__(self, con: Any, session: Session, report: ImportReport, *, what: str, strict: bool,
                 errors: str) -> None:
        self.con, self.session, self.report, self.what = con, session, report, what
        self.strict, self.errors = strict, errors
        self.state = load_state(con)
        self.bad_media: set[int] = set()
        self.ids: list[int] = []

    def add(self, df: pd.DataFrame, names: list[str], bad_media: set[int]) -> None:
        """Check and (unless refusing) write one chunk; row ``i`` of ``df`` is the input called ``names[i]``."""
        self.bad_media |= bad_media
        sub = ImportReport(self.what)
        frame = prepare_instances(self.con, self.state, df, report=sub, strict=self.strict)
        self.bad_media |= translate_problems(sub, self.report, names, df)
        if self.errors == "raise" and self.report.problems:
            return  # finish() raises: the rows written so far are rolled back with the import
        ids = insert_rows(self.con, frame, author=self.session.author, schema_version=self.state.version)
        self.ids.extend(int(i) for i in ids)

    def finish(self, *, media: list[int], complete: bool, refused_note: str) -> None:
        """Raise for ``errors="raise"`` with problems; else fill the report and mark complete media (see
        :func:`finish_import`)."""
        report = self.report
        if self.errors == "raise" and report.problems:
            report.raise_if_problems()  # rolls the whole import back
        report.added, report.ids = len(self.ids), self.ids
        report.skipped = len(report.problems)
        report.extra["media_ids"] = sorted(set(media))
        if complete:
            done = sorted(set(media) - self.bad_media)
            if done:
                set_status(self.con, done, "complete", stage="label", reason=None, seconds_active=0.0,
                           author=self.session.author)
            if self.bad_media:
                report.notes.append(refused_note.format(n=len(self.bad_media)))
            report.extra["complete"] = done


def finish_import(con: Any, session: Session, df: pd.DataFrame, names: list[str], report: ImportReport, *,
                  what: str, media: list[int], bad_media: set[int], strict: bool, errors: str, complete: bool,
                  refused_note: str) -> None:
    """Check and write ``df`` (row ``i`` is the input called ``names[i]``) inside the import's transaction.

    ``media``: every media item the import brought in; ``bad_media``: those already known to have
    refused rows; ``refused_note``: the note when some media are not marked complete (``{n}`` = how many).
    """
    write = ChunkedWrite(con, session, report, what=what, strict=strict, errors=errors)
    write.add(df, names, bad_media)
    write.finish(media=media, complete=complete, refused_note=refused_note)
