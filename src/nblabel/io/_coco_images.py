"""The categories and images of a COCO import: labels made or reused, image files found, probed rows written.

Categories become labels (``meta = {"coco_id", "supercategory"}``; keypoint categories get a
keypoint template, the 1-based COCO skeleton made 0-based). Images: :func:`image_rows` finds each
listed file under the image root before the write transaction (reading no image), and
:func:`write_images` writes the probed ones inside it, refusing those whose size disagrees with
the JSON.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .._report import ImportReport
from ..errors import FormatError, ValidationError
from ..store import Schema
from ..store._arrow_scan import NAME, run_over_values
from ..store._meta import merge_media_meta, set_label_meta
from ._ingest import Probed, write_probed
from ._paths import resolve_under_root, resolved

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["IMAGE_STANDARD", "categories", "image_rows", "listed_sizes", "write_images"]

IMAGE_STANDARD = {"id", "file_name", "width", "height"}


def categories(session: Session, cats: list[Any], with_kps: set[Any], path: Path) -> dict[int, int]:
    """Create or reuse a label per category (``with_kps``: the category ids that annotations with
    keypoints name); returns {coco category id: label_id}."""
    seen: dict[int, str] = {}
    for i, c in enumerate(cats):
        if not isinstance(c, dict) or "id" not in c or "name" not in c:
            raise FormatError(f"COCO file {str(path)!r}: category #{i} needs 'id' and 'name', got {c!r}")
        if not isinstance(c["id"], int) or isinstance(c["id"], bool):
            raise FormatError(f"COCO file {str(path)!r}: category {c['name']!r} has id {c['id']!r}; ids are integers")
        if not isinstance(c["name"], str) or not c["name"].strip():
            raise FormatError(f"COCO file {str(path)!r}: category {c['id']} has name {c['name']!r}; "
                              "names are non-empty strings")
        if c["id"] in seen:
            raise FormatError(f"COCO file {str(path)!r}: category id {c['id']} is used twice "
                              f"({seen[c['id']]!r} and {c['name']!r})")
        if c["name"] in seen.values():
            raise FormatError(f"COCO file {str(path)!r}: category name {c['name']!r} is used twice")
        seen[c["id"]] = c["name"]
    out: dict[int, int] = {}
    schema = Schema(session.store)
    for c in sorted(cats, key=lambda c: c["id"]):
        name, cid = c["name"], int(c["id"])
        kp_names = c.get("keypoints") or None
        need = ["box", "polygon"] + (["keypoints"] if kp_names or cid in with_kps else [])
        meta = {"coco_id": cid}
        if "supercategory" in c:
            meta["supercategory"] = c["supercategory"]
        state = schema.state()
        existing = state.label_ids_by_name().get(name)
        try:
            if existing is None:
                lid = schema.add_label(name, spatial=need, meta=meta)
            else:
                lid = existing
                lab = state.labels[lid]
                if any(s not in lab.spatial for s in need):
                    schema.update_label(name, spatial=list(lab.spatial) + [s for s in need if s not in lab.spatial])
                if "coco_id" not in lab.meta:
                    with session.store.transaction() as con:
                        set_label_meta(con, lid, {**lab.meta, **meta})
            if kp_names and schema.state().template_for(lid) is None:
                if not isinstance(kp_names, list) or not all(isinstance(k, str) for k in kp_names):
                    raise FormatError(f"COCO file {str(path)!r}: category {name!r} has keypoints {kp_names!r}; "
                                      "they must be a list of point names")
                skel = c.get("skeleton") or []
                try:
                    edges = [(int(a) - 1, int(b) - 1) for a, b in skel]  # COCO skeletons are 1-based
                except (TypeError, ValueError):
                    raise FormatError(f"COCO file {str(path)!r}: category {name!r} has skeleton {skel!r}; "
                                      "it must be a list of [i, j] pairs of 1-based point numbers") from None
                schema.add_keypoints(name, points=kp_names, skeleton=edges)
        except ValidationError as e:
            raise FormatError(f"COCO file {str(path)!r}: category {cid} ({name!r}): {e}") from None
        out[cid] = lid
    return out


def _plain_under_root(base: str, name: str, real_dirs: dict[str, str]) -> str | None:
    """The resolved path of a plain relative file name ("a/b.jpg": no "..", ".", "~", empty or
    absolute parts) when it stays inside the resolved root ``base``, with strings only (what
    :func:`._paths.resolve_under_root` gives for it, without its pathlib objects); else None."""
    if not name or name[0] in "/~":
        return None
    parts = name.split("/")
    if "" in parts or "." in parts or ".." in parts:
        return None
    full = resolved(os.path.join(base, name), real_dirs)
    if full is None or not full.startswith(base.rstrip("/") + "/"):
        return None
    return full


def image_rows(imgs: list[Any], root: Path, allow_outside_root: bool, report: ImportReport,
                path: Path) -> tuple[list[dict[str, Any]], dict[Any, str]]:
    """The listed images that resolve to files under the root (as rows for ``add_images``), and
    {coco image id: why it is missing} for the others. Reads no image yet."""
    failed: dict[Any, str] = {}
    rows: list[dict[str, Any]] = []
    ids: list[Any] = []
    first_name: dict[Any, Any] = {}  # coco image id -> the file_name it was first listed with
    real_dirs: dict[str, str] = {}  # folders resolved once for the whole list
    base = os.path.realpath(os.path.expanduser(root))
    for i, im in enumerate(imgs):
        if not isinstance(im, dict) or "id" not in im or "file_name" not in im:
            have = sorted(im) if isinstance(im, dict) else type(im).__name__
            report.add_problem(f"image #{i}", f"an image needs 'id' and 'file_name'; it has {have}")
            continue
        iid, fname = im["id"], im["file_name"]
        if iid in first_name:
            report.add_problem(f"image {iid} ({fname})", f"image id {iid} is listed twice in 'images': for "
                               f"{first_name[iid]!r} and for {fname!r}; image ids must be unique")
            failed[iid] = "listed twice"
            continue
        first_name[iid] = fname
        if not isinstance(fname, str) or not fname:
            failed[iid] = f"file_name {fname!r} is not a path"
            report.add_problem(f"image {iid}", f"{failed[iid]}; give the path relative to the image root")
            continue
        plain = _plain_under_root(base, fname, real_dirs) if not allow_outside_root else None
        problem = None
        if plain is None:  # anything but a plain relative name inside the root: the full check words it
            checked, problem = resolve_under_root(root, fname, allow_outside_root=allow_outside_root,
                                                  real_dirs=real_dirs)
            plain = str(checked)
        full = plain
        if problem:
            failed[iid] = problem
            report.add_problem(f"image {iid} ({fname})", problem)
            continue
        if not os.path.isfile(full):
            failed[iid] = f"{fname!r} is not under the image root"
            report.add_problem(f"image {iid} ({fname})", f"file {str(full)!r} does not exist; check images= "
                               f"(the root that file names in {path.name} are relative to)")
            continue
        row = {"path": str(full), "file_name": fname, "coco_id": iid}
        row.update({k: v for k, v in im.items() if k not in IMAGE_STANDARD})
        rows.append(row)
        ids.append(iid)
    return rows, failed


def listed_sizes(imgs: list[Any]) -> dict[Any, tuple[Any, Any, Any]]:
    """{coco image id: (width, height, file_name)} as the first entry of each id lists them (the one
    whose file is read, see :func:`image_rows`): what :func:`write_images` checks, without the dicts.

    Example:
        >>> listed_sizes([{"id": 1, "file_name": "a.jpg", "width": 4}, {"id": 1, "file_name": "b.jpg"}, 5])
        {1: (4, None, 'a.jpg')}
    """
    out: dict[Any, tuple[Any, Any, Any]] = {}
    for im in imgs:
        if isinstance(im, dict) and "id" in im and im["id"] not in out:
            out[im["id"]] = (im.get("width"), im.get("height"), im.get("file_name"))
    return out


def write_images(con: Any, probed: Probed | None, rows: list[tuple[str, Any, Any]], failed: dict[Any, str],
                 listed: dict[Any, tuple[Any, Any, Any]], report: ImportReport) -> tuple[dict[Any, int], dict[Any, str]]:
    """Write the probed images inside the import's transaction (``rows``: ``(path, coco id,
    file_name)`` of each row :func:`image_rows` gave, as probed; ``listed``: :func:`listed_sizes`).
    Returns {coco image id: media_id} and {coco image id: why it is missing}."""
    if probed is None:
        return {}, failed
    rep = write_probed(con, probed)
    report.notes.extend(rep.notes)  # files already in the project, files with identical pixels
    bad_paths = {p.item: p.reason for p in rep.problems}
    media: dict[Any, int] = {}
    it = iter(rep.ids)
    for path, iid, fname in rows:
        if path in bad_paths:
            failed[iid] = bad_paths[path]
            report.add_problem(f"image {iid} ({fname})", bad_paths[path])
        else:
            media[iid] = int(next(it))
    sizes = run_over_values(con, f"SELECT m.media_id, m.width, m.height, json_extract(m.meta, '$.coco_id') "  # noqa: S608
                            f"FROM media m SEMI JOIN {NAME} ON m.media_id = {NAME}.v", list(media.values()),
                            pa.int64()).fetchall()
    size = {int(mid): (int(w), int(h), cid) for mid, w, h, cid in sizes}
    for iid, mid in list(media.items()):
        w, h, cid = size[mid]
        jw, jh, fname = listed[iid]
        if (jw is not None and jw != w) or (jh is not None and jh != h):
            failed[iid] = "size mismatch"
            report.add_problem(f"image {iid} ({fname})",
                               f"the file is {w}x{h} (upright) but the JSON says {jw}x{jh}; its annotations "
                               "would be misplaced: fix width/height in the JSON or the image's EXIF rotation")
            del media[iid]
        elif cid is None:  # already in the project (same bytes) without a COCO id: remember this one
            merge_media_meta(con, mid, {"coco_id": iid})
    report.extra["images_added"] = rep.added
    report.extra["images_duplicate"] = rep.duplicates
    return media, failed


