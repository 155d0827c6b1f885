"""Adding images: expand the source, probe every file, then write the media rows in one short transaction.

Probing (size from the header, EXIF orientation, truncation check, sha256) reads files, so it runs
before the write transaction opens: the project file is locked only while the rows go in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._report import ImportReport
from ..errors import MediaError, ValidationError
from ..store._media import insert_media
from ._images import ImageInfo, expand_source, probe_many, write_arrays

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["Probed", "add_images", "add_media", "probe_files", "probe_images", "write_probed"]


@dataclass
class Probed:
    """Images read and checked, not yet written: the readable ones, their metadata, and the report."""

    good: list[tuple[int, ImageInfo]]
    meta: Any
    meta_rows: pd.DataFrame | None
    report: ImportReport


def probe_images(session: Session, source: Any, meta: dict[str, Any] | pd.DataFrame | None = None, *,
                 progress: bool | None = None, resolved_paths: bool = False) -> Probed:
    """Expand ``source`` (see ``Project.add_images``) and probe every image; nothing is written yet.
    ``resolved_paths``: the source's paths are resolved already (see :func:`._images.probe_many`)."""
    pairs, meta_rows, arrays, notes = expand_source(source)
    if isinstance(meta, pd.DataFrame):
        if pairs and arrays:
            raise ValidationError("a DataFrame of metadata lines up with a source of files only or of arrays/PIL "
                                  "images only; add the two kinds in two calls")
        n_images = len(pairs) + len(arrays)
        if len(meta) != n_images:
            raise ValidationError(f"meta has {len(meta)} rows but the source has {n_images} images")
        meta_rows = meta.reset_index(drop=True) if meta_rows is None else pd.concat(
            [meta_rows, meta.reset_index(drop=True)], axis=1)
    if arrays:
        pairs = pairs + write_arrays(arrays, session.media_folder())
    report = ImportReport("images")
    report.notes.extend(notes)
    good: list[tuple[int, ImageInfo]] = []
    for i, info in enumerate(probe_many(pairs, progress, resolved_paths=resolved_paths)):
        if isinstance(info, MediaError):
            report.add_problem(pairs[i][0], str(info))
            report.skipped += 1
        else:
            good.append((i, info))
    return Probed(good, meta, meta_rows, report)


def write_probed(con: Any, probed: Probed) -> ImportReport:
    """Write probed images inside the caller's transaction; returns the finished report."""
    report = probed.report
    report.added = insert_media(con, probed.good, probed.meta, probed.meta_rows, report)
    if report.duplicates:
        report.notes.append(f"{report.duplicates} image(s) were already in the project (the same file name and "
                            "bytes) and were not added again")
    return report


def add_images(session: Session, source: Any, meta: dict[str, Any] | pd.DataFrame | None = None, *,
               progress: bool | None = None) -> ImportReport:
    """Probe, then add images in one short transaction (see ``Project.add_images``)."""
    probed = probe_images(session, source, meta, progress=progress)
    with session.store.transaction() as con:
        return write_probed(con, probed)


def probe_files(session: Session, paths: list[Path], names: list[str]) -> Probed | None:
    """Probe image files given by path with the file names to store (before a write transaction)."""
    if not paths:
        return None
    return probe_images(session, pd.DataFrame({"path": [str(p) for p in paths], "file_name": names}))


def add_media(con: Any, probed: Probed | None, paths: list[Path], report: ImportReport,
              items: list[str]) -> dict[int, int]:
    """Write probed files; returns {position: media_id} for the ones that went in (problems reported
    under ``items``, the input's own names)."""
    if probed is None:
        return {}
    rep = write_probed(con, probed)
    report.notes.extend(rep.notes)  # files already in the project, files with identical pixels
    bad = {p.item: p.reason for p in rep.problems}
    it = iter(rep.ids)
    out: dict[int, int] = {}
    for i, p in enumerate(paths):
        if str(p) in bad:
            report.add_problem(items[i], bad[str(p)])
        else:
            out[i] = int(next(it))
    return out
