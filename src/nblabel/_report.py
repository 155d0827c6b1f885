"""The report every import returns: what went in, what was skipped, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .errors import FormatError

__all__ = ["ImportReport", "Problem"]


@dataclass(frozen=True)
class Problem:
    """One input that did not go in: which one (``item``: id, path or row/line) and why."""

    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.reason}"


@dataclass
class ImportReport:
    """Counts added and skipped, the new ids, and every problem with the offending input.

    Example:
        >>> r = ImportReport("images", added=2, ids=[1, 2])
        >>> r.ok
        True
        >>> r
        <ImportReport images: 2 added, 0 skipped, 0 problems>
    """

    what: str
    added: int = 0
    skipped: int = 0
    ids: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing was refused."""
        return not self.problems

    def add_problem(self, item: Any, reason: str) -> None:
        """Record that ``item`` (an id, path or row) did not go in, and why.

        Example:
            >>> r = ImportReport("x"); r.add_problem("row 3", "label 'cra' is not in the schema")
            >>> str(r.problems[0])
            "row 3: label 'cra' is not in the schema"
        """
        self.problems.append(Problem(str(item), reason))

    def problems_df(self) -> pd.DataFrame:
        """The problems as a DataFrame (``item``, ``reason``).

        Example:
            >>> r = ImportReport("x"); r.add_problem("a.jpg", "missing")
            >>> r.problems_df().values.tolist()
            [['a.jpg', 'missing']]
        """
        return pd.DataFrame([{"item": p.item, "reason": p.reason} for p in self.problems],
                            columns=["item", "reason"])

    def raise_if_problems(self) -> ImportReport:
        """Raise :class:`~nblabel.FormatError` listing the problems, if any; else return self.

        Example:
            >>> ImportReport("x").raise_if_problems().ok
            True
        """
        if self.problems:
            shown = "\n  ".join(str(p) for p in self.problems[:20])
            more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
            raise FormatError(f"{self.what}: {len(self.problems)} problem(s):\n  {shown}{more}")
        return self

    def __repr__(self) -> str:
        dup = f", {self.duplicates} duplicates" if self.duplicates else ""
        return (f"<ImportReport {self.what}: {self.added} added, {self.skipped} skipped{dup}, "
                f"{len(self.problems)} problems>")

    def summary(self) -> str:
        """A plain-text summary with up to 20 problems (plain text: never rendered as HTML).

        Example:
            >>> r = ImportReport("images", added=1); r.add_problem("b.jpg", "not an image")
            >>> print(r.summary())
            <ImportReport images: 1 added, 0 skipped, 1 problems>
              b.jpg: not an image
        """
        lines = [repr(self)] + [f"  note: {n}" for n in self.notes]
        lines += [f"  {p}" for p in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"  ... and {len(self.problems) - 20} more (see .problems_df())")
        return "\n".join(lines)
