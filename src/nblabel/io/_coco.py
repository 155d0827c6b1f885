"""COCO ground truth in and out, keeping what the source said.

Import: categories become labels (``meta = {"coco_id", "supercategory"}``; keypoint categories get
a keypoint template, the 1-based COCO skeleton made 0-based), images become media (``meta.coco_id``
is the COCO image id; the file name is kept exactly as in the JSON), annotations become instances:
``bbox`` (xywh) is stored as the instance box (xyxy), polygons as kind ``polygon`` with every ring,
RLE masks as kind ``mask`` with the RLE dict exactly as given, keypoints as kind ``keypoints``
([x, y, v] triples; a segmentation they carry is kept in ``extra``). ``area`` and ``iscrowd`` are
kept as given so evaluation can reproduce pycocotools; ``extra`` holds the COCO annotation id and
every non-standard field.

Export writes the same shapes back with the ids preserved, deterministically (sorted ids and
keys, no timestamps) so the same data gives the same bytes (:mod:`._coco_export`). The import's parts:
:mod:`._coco_stream` (the file read once), :mod:`._coco_fast` / :mod:`._coco_columns` (annotations
staged as columns), :mod:`._coco_images` (categories, image files), :mod:`._coco_staged` (ids
mapped inside the transaction), :mod:`._coco_reference` (the one-by-one conversion).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._report import ImportReport
from ..errors import FormatError, ValidationError
from ..store._repeats import DEFAULT_MODE, check_mode
from ._coco_export import _assign_ids as _assign_ids  # re-exported (the Label Studio export uses it)
from ._coco_export import export_coco, rle_area
from ._coco_images import categories, image_rows, listed_sizes, write_images
from ._coco_reference import STANDARD, annotation_rows
from ._coco_source import open_coco, read_json
from ._coco_staged import Names, Staged, resolve
from ._gc_pause import gc_paused
from ._import_tail import finish_import_chunks
from ._ingest import probe_images

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["export_coco", "import_coco", "read_json", "rle_area"]

def _check_top(d: Any, path: Path) -> None:
    if not isinstance(d, dict):
        raise FormatError(f"COCO file {str(path)!r} must hold a JSON object with 'images', 'annotations' and "
                          f"'categories'; it holds a {type(d).__name__}")
    missing = [k for k in ("images", "annotations", "categories") if k not in d]
    if missing:
        raise FormatError(f"COCO file {str(path)!r} is missing {missing}; a COCO ground-truth file needs "
                          "'images', 'annotations' and 'categories' (a results list goes to run.add_predictions)")
    for k in ("images", "annotations", "categories"):
        if not isinstance(d[k], list):
            raise FormatError(f"COCO file {str(path)!r}: {k!r} must be a list, it is a {type(d[k]).__name__}")


def _check_masks(df: pd.DataFrame, con: Any, names: Sequence[str], report: ImportReport) -> np.ndarray:
    """RLE masks must have the size [height, width] of their image."""
    ok = np.ones(len(df), dtype=bool)
    idx = np.flatnonzero((df["kind"] == "mask").to_numpy())
    if not len(idx):
        return ok
    sizes = {int(m): (int(h), int(w)) for m, w, h in con.execute(
        "SELECT media_id, width, height FROM media WHERE list_contains(?::BIGINT[], media_id)",
        [[int(v) for v in df["media_id"].iloc[idx]]]).fetchall()}
    for i in idx:
        seg = df["points"].iloc[i]
        hw = sizes[int(df["media_id"].iloc[i])]
        if list(seg["size"]) != list(hw):
            report.add_problem(names[int(i)], f"RLE size {seg['size']} is not the image's [height, width] {list(hw)}")
            ok[i] = False
    return ok


_CHUNK = 10_000  # annotations decoded item by item, then staged, at a time (a chunk's dicts, not the file's, are held)
# staged rows handed to the store's checks at a time: each check costs ~50 ms of fixed work (a query, merges),
# so frames are larger than decoded chunks (their rows are columns); half of the store's write batch
_FRAME = 61_440


def import_coco(session: Session, json_path: str | os.PathLike[str], images: str | os.PathLike[str] | None = None,
                *, complete: bool = True, errors: str = "report", allow_outside_root: bool = False,
                strict: bool = False, clip: bool = False, mode: str = DEFAULT_MODE) -> ImportReport:
    """Import COCO ground truth in one transaction (see ``Project.import_coco``).

    The file is read once, never whole (:mod:`._coco_stream`): images and categories are kept and
    the annotations staged as compact columns keyed by COCO ids (:mod:`._coco_staged`), and the
    images are probed, all before the write transaction opens; inside it the ids are mapped, the
    rows checked ``_FRAME`` at a time and written a row group at a time
    (:class:`~nblabel.store._repeats.ModeWriter`).
    """
    if errors not in ("report", "raise"):
        raise ValidationError(f"errors={errors!r}: use 'report' (store good rows, list bad ones) or 'raise'")
    mode = check_mode(mode)
    with gc_paused():  # millions of short-lived objects: see :mod:`._gc_pause`
        return _import(session, Path(json_path), images, complete=complete, errors=errors,
                       allow_outside_root=allow_outside_root, strict=strict, clip=clip, mode=mode)


def _import(session: Session, path: Path, images: str | os.PathLike[str] | None, *, complete: bool, errors: str,
            allow_outside_root: bool, strict: bool, clip: bool, mode: str) -> ImportReport:
    staged = Staged(STANDARD)
    src = open_coco(path, staged, _CHUNK)  # one pass: annotations staged as columns as they are read
    d = src.top
    if not src.n_annotation_keys and isinstance(d, dict) and isinstance(d.get("annotations"), list):
        for anns in src.annotations(_CHUNK):  # read whole (not streamed): stage it the same way
            staged.add(anns)
    _check_top(d, path)
    root = Path(images) if images is not None else path.parent
    if not root.is_dir():
        raise FormatError(f"image root {str(root)!r} is not a folder; pass images= the folder that the "
                          f"file names in {path.name} are relative to")
    report = ImportReport(f"COCO {path.name}")
    found, failed = image_rows(d["images"], root, allow_outside_root, report, path)
    listed = listed_sizes(d["images"])
    d["images"] = []  # the image dicts are let go before probing: what is needed is in the rows and ``listed``
    keys = [(r["path"], r["coco_id"], r["file_name"]) for r in found]  # the ids as the file gives them
    rows = pd.DataFrame(found)
    del found
    # probe the image files before the write transaction opens (the file lock is not held during file I/O)
    probed = probe_images(session, rows, resolved_paths=True) if len(rows) else None
    with session.store.transaction() as con:
        cats = categories(session, d["categories"], src.keypoint_categories, path)
        media, failed = write_images(con, probed, keys, failed, listed, report)
        del rows, keys, probed, listed  # what the annotations need is in media/failed
        bad_media: set[int] = set()
        finish_import_chunks(con, session, _frames(con, staged, media, failed, cats, report, bad_media), report,
                             what="annotations", media=list(media.values()), bad_media=bad_media, strict=strict,
                             errors=errors, complete=complete, mode=mode, clip=clip, keep_outside=True,
                             refused_note="{n} image(s) with refused annotations were not marked complete; "
                                          "fix them and mark them with proj.complete(...)")
    return report


def _frames(con: Any, staged: Staged, media: dict[Any, int], failed: dict[Any, str], cats: dict[int, int],
            report: ImportReport, bad_media: set[int]) -> Iterator[tuple[pd.DataFrame, Names]]:
    """The staged annotations as instance frames in file order (:func:`._coco_staged.resolve`), their
    problems in the report first, RLE masks of the wrong size refused; ``bad_media`` gets the media
    ids of refused annotations once every frame was handed out."""
    problems: list[tuple[int, str, str]] = []
    bad_images: list[Any] = []
    reference = partial(annotation_rows, media=media, failed=failed, cats=cats)
    reported = False
    for df, names in resolve(staged, media, failed, cats, reference, problems, bad_images, _FRAME):
        if not reported:
            for _, item, reason in problems:
                report.add_problem(item, reason)
            reported = True
        keep = _check_masks(df, con, names, report)
        if not keep.all():
            bad_media |= set(df["media_id"][~keep].astype(int))
            at = np.flatnonzero(keep)
            df, names = df[keep].reset_index(drop=True), Names([names.aid[int(i)] for i in at],
                                                                  [names.iid[int(i)] for i in at])
        yield df, names
    if not reported:
        for _, item, reason in problems:
            report.add_problem(item, reason)
    bad_media |= {media[i] for i in bad_images if i in media}

