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
keys, no timestamps) so the same data gives the same bytes.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
import pandas as pd

from .._report import ImportReport
from ..errors import FormatError, ValidationError
from ..store import Schema, load_state, run_id
from ..store._meta import merge_media_meta, set_label_meta
from ..store._repeats import DEFAULT_MODE, check_mode
from ._coco_staged import Names, Staged, resolve
from ._coco_stream import open_coco, read_json
from ._exports import ExportInfo, check_target, export_instances, export_media, write_atomic
from ._import_tail import finish_import_chunks
from ._ingest import Probed, probe_images, write_probed
from ._paths import resolve_under_root, resolved

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["export_coco", "import_coco", "read_json", "rle_area"]

_STANDARD = {"id", "image_id", "category_id", "bbox", "segmentation", "area", "iscrowd", "keypoints",
             "num_keypoints"}
_IMAGE_STANDARD = {"id", "file_name", "width", "height"}
_MAX_LISTED = 10_000


def rle_area(rle: dict[str, Any]) -> float:
    """Pixel area of a COCO RLE mask, compressed (string counts) or not (list counts), as a float.

    Example:
        >>> rle_area({"size": [2, 2], "counts": [1, 2, 1]})
        2.0
    """
    from ..geometry import rle_area as _rle_area

    return float(_rle_area(rle))


def _is_num(v: Any) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# -- import ------------------------------------------------------------------------------------

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


def _categories(session: Session, cats: list[Any], with_kps: set[Any], path: Path) -> dict[int, int]:
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


def _image_rows(imgs: list[Any], root: Path, allow_outside_root: bool, report: ImportReport,
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
        row.update({k: v for k, v in im.items() if k not in _IMAGE_STANDARD})
        rows.append(row)
        ids.append(iid)
    return rows, failed


def _images(con: Any, probed: Probed | None, rows: list[dict[str, Any]], failed: dict[Any, str], imgs: list[Any],
            report: ImportReport) -> tuple[dict[Any, int], dict[Any, str]]:
    """Write the probed images inside the import's transaction; returns {coco image id: media_id} and
    {coco image id: why it is missing}."""
    if probed is None:
        return {}, failed
    rep = write_probed(con, probed)
    report.notes.extend(rep.notes)  # files already in the project, files with identical pixels
    bad_paths = {p.item: p.reason for p in rep.problems}
    media: dict[Any, int] = {}
    it = iter(rep.ids)
    for row in rows:
        if row["path"] in bad_paths:
            failed[row["coco_id"]] = bad_paths[row["path"]]
            report.add_problem(f"image {row['coco_id']} ({row['file_name']})", bad_paths[row["path"]])
        else:
            media[row["coco_id"]] = int(next(it))
    by_id: dict[Any, Any] = {}  # the first entry of an id: the one whose file was read (see _image_rows)
    for im in imgs:
        if isinstance(im, dict) and "id" in im:
            by_id.setdefault(im["id"], im)
    sizes = con.execute("SELECT media_id, width, height, json_extract(meta, '$.coco_id') AS cid FROM media "
                        "WHERE list_contains(?::BIGINT[], media_id)", [list(media.values())]).df()
    size = {int(r.media_id): (int(r.width), int(r.height), r.cid) for r in sizes.itertuples()}
    for iid, mid in list(media.items()):
        w, h, cid = size[mid]
        jw, jh = by_id[iid].get("width"), by_id[iid].get("height")
        if (jw is not None and jw != w) or (jh is not None and jh != h):
            failed[iid] = "size mismatch"
            report.add_problem(f"image {iid} ({by_id[iid]['file_name']})",
                               f"the file is {w}x{h} (upright) but the JSON says {jw}x{jh}; its annotations "
                               "would be misplaced: fix width/height in the JSON or the image's EXIF rotation")
            del media[iid]
        elif cid is None:  # already in the project (same bytes) without a COCO id: remember this one
            merge_media_meta(con, mid, {"coco_id": iid})
    report.extra["images_added"] = rep.added
    report.extra["images_duplicate"] = rep.duplicates
    return media, failed


_ROW_COLUMNS = ("media_id", "label_id", "kind", "x0", "y0", "x1", "y1", "points", "area", "iscrowd", "extra")


def _annotation_rows(anns: list[Any], positions: list[int], problems: list[tuple[int, str, str]], seen: set[Any], *,
                     media: dict[Any, int], failed: dict[Any, str], cats: dict[int, int]
                     ) -> tuple[pd.DataFrame, list[int], list[Any], list[Any], list[Any]]:
    """The reference conversion, one annotation at a time, with every problem worded: the rows
    :mod:`._coco_columns` did not stage as columns (``positions``: their places in the file).

    Returns their instance frame, each row's place, COCO annotation and image id, and the COCO
    image ids of refused annotations; problems go to ``problems`` as ``(place, item, reason)``.
    ``seen``: annotation ids used before (updated), so a repeated id is found.
    """
    cols: dict[str, list[Any]] = {c: [] for c in _ROW_COLUMNS}
    rows = _Rows(cols, [], [], [])
    images: list[Any] = []
    k = 0

    def add(item: str, reason: str) -> None:
        problems.append((k, item, reason))

    for k, a in zip(positions, anns, strict=True):
        if not isinstance(a, dict):
            add(f"annotation #{k}", f"an annotation must be an object, got {type(a).__name__}")
            continue
        aid, iid = a.get("id"), a.get("image_id")
        item = f"annotation {aid} (image {iid})" if aid is not None else f"annotation #{k} (image {iid})"
        missing = [key for key in ("id", "image_id", "category_id") if key not in a]
        if missing:
            add(item, f"missing {missing}; every COCO annotation needs id, image_id and category_id")
            images.append(iid)
            continue
        if not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in (aid, iid, a["category_id"])):
            add(item, "id, image_id and category_id must be integers")
            continue
        if aid in seen:
            add(item, f"annotation id {aid} is used twice; ids must be unique")
            images.append(iid)
            continue
        seen.add(aid)
        if iid not in media:
            why = failed.get(iid)
            add(item, f"its image was not imported ({why})" if why else f"image_id {iid!r} is not listed in 'images'")
            images.append(iid)
            continue
        if a["category_id"] not in cats:
            add(item, f"category_id {a['category_id']!r} is not listed in 'categories'")
            images.append(iid)
            continue
        bbox = a.get("bbox")
        box = [math.nan] * 4
        if bbox is not None:
            if not isinstance(bbox, list) or len(bbox) != 4 or not all(_is_num(v) for v in bbox):
                add(item, f"bbox {bbox!r} is not [x, y, width, height] (4 numbers)")
                images.append(iid)
                continue
            x, y, w, h = (float(v) for v in bbox)
            if not all(math.isfinite(v) for v in (x, y, w, h)):
                add(item, f"bbox {bbox!r} has NaN or infinite values")
                images.append(iid)
                continue
            if w < 0 or h < 0:
                add(item, f"bbox {bbox!r} has a negative width or height; COCO boxes are "
                                   "[x, y, width, height]")
                images.append(iid)
                continue
            box = [x, y, x + w, y + h]
        seg, kps = a.get("segmentation"), a.get("keypoints")
        extra: dict[str, Any] = {"coco_id": aid}
        extra.update({key: v for key, v in a.items() if key not in _STANDARD})
        if "num_keypoints" in a:
            extra["num_keypoints"] = a["num_keypoints"]
        points: Any = None
        if kps:
            if not isinstance(kps, list) or len(kps) % 3 or not all(_is_num(v) for v in kps):
                add(item, "keypoints must be a flat list of x, y, v numbers (a multiple of 3)")
                images.append(iid)
                continue
            kind, points = "keypoints", [kps[i:i + 3] for i in range(0, len(kps), 3)]
            if seg:
                extra["segmentation"] = seg
        elif isinstance(seg, dict):
            if "counts" not in seg or "size" not in seg:
                add(item, "an RLE segmentation needs 'size' and 'counts'")
                images.append(iid)
                continue
            kind, points = "mask", seg
        elif isinstance(seg, list) and seg:
            rings_ok = all(isinstance(r, list) and len(r) >= 6 and len(r) % 2 == 0 and all(_is_num(v) for v in r)
                           for r in seg)
            if not rings_ok:
                add(item, "polygon segmentation must be a list of rings [x0, y0, x1, y1, ...] "
                                   "with at least 3 points each")
                images.append(iid)
                continue
            kind, points = "polygon", seg
        else:
            kind = "box"
            if bbox is None:
                add(item, "has neither a bbox nor a segmentation nor keypoints")
                images.append(iid)
                continue
        area = a.get("area")
        for c, v in zip(_ROW_COLUMNS, (media[iid], cats[a["category_id"]], kind, box[0], box[1], box[2], box[3],
                                       points, float(area) if _is_num(area) else math.nan,
                                       bool(a.get("iscrowd", 0)), extra), strict=True):
            cols[c].append(v)
        rows.pos.append(k)
        rows.aid.append(aid)
        rows.iid.append(iid)
    return rows.frame(), rows.pos, rows.aid, rows.iid, images


class _Rows:
    """Converted annotations as columns, with each row's place in the file and COCO ids."""

    def __init__(self, cols: dict[str, Any], pos: list[int], aid: list[Any], iid: list[Any]) -> None:
        self.cols, self.pos, self.aid, self.iid = cols, pos, aid, iid

    def frame(self) -> pd.DataFrame:
        c = self.cols
        return pd.DataFrame({
            "media_id": np.asarray(c["media_id"], dtype=np.int64), "label_id": np.asarray(c["label_id"], dtype=np.int64),
            "kind": pd.Series(list(c["kind"]), dtype=object),
            **{k: np.asarray(c[k], dtype=float) for k in ("x0", "y0", "x1", "y1")},
            "points": pd.Series(list(c["points"]), dtype=object), "area": np.asarray(c["area"], dtype=float),
            "iscrowd": np.asarray(c["iscrowd"], dtype=bool), "extra": pd.Series(list(c["extra"]), dtype=object)})


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


_CHUNK = 10_000  # annotations staged, then checked, at a time (a chunk's Python lists, not the file's, are held)


def import_coco(session: Session, json_path: str | os.PathLike[str], images: str | os.PathLike[str] | None = None,
                *, complete: bool = True, errors: str = "report", allow_outside_root: bool = False,
                strict: bool = False, clip: bool = False, mode: str = DEFAULT_MODE) -> ImportReport:
    """Import COCO ground truth in one transaction (see ``Project.import_coco``).

    The file is read once, never whole (:mod:`._coco_stream`): images and categories are kept and
    the annotations staged as compact columns keyed by COCO ids (:mod:`._coco_staged`), and the
    images are probed, all before the write transaction opens; inside it the ids are mapped, the
    rows checked ``_CHUNK`` at a time and written in one insert.
    """
    if errors not in ("report", "raise"):
        raise ValidationError(f"errors={errors!r}: use 'report' (store good rows, list bad ones) or 'raise'")
    mode = check_mode(mode)
    path = Path(json_path)
    staged = Staged(_STANDARD)
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
    rows, failed = _image_rows(d["images"], root, allow_outside_root, report, path)
    # probe the image files before the write transaction opens (the file lock is not held during file I/O)
    probed = probe_images(session, pd.DataFrame(rows)) if rows else None
    with session.store.transaction() as con:
        cats = _categories(session, d["categories"], src.keypoint_categories, path)
        media, failed = _images(con, probed, rows, failed, d["images"], report)
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
    reference = partial(_annotation_rows, media=media, failed=failed, cats=cats)
    reported = False
    for df, names in resolve(staged, media, failed, cats, reference, problems, bad_images, _CHUNK):
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


# -- export ------------------------------------------------------------------------------------

def _assign_ids(preferred: list[Any], fallback: list[int]) -> list[int]:
    """Keep preferred ids where given and unique; others get the fallback, or fresh ids past the max."""
    out: list[int | None] = []
    used: set[int] = set()
    for p in preferred:
        v = int(p) if _is_num(p) and float(p).is_integer() else None
        if v is not None and v in used:
            v = None
        if v is not None:
            used.add(v)
        out.append(v)
    nxt = max(used | set(fallback) | {0}) + 1
    for i, v in enumerate(out):
        if v is None:
            f = fallback[i]
            if f in used:
                f, nxt = nxt, nxt + 1
            used.add(f)
            out[i] = f
    return [int(v) for v in out if v is not None]


def _flat_rings(points: Any) -> list[list[float]]:
    return [[float(c) for xy in ring for c in xy] for ring in points]


def _area(kind: str, r: Any, hw: tuple[int, int]) -> float:
    """COCO's own convention: a polygon's area is the pixel count of its rasterised mask."""
    if kind == "polygon":
        from ..geometry import polygons_to_rle

        return rle_area(polygons_to_rle(_flat_rings(r.points), *hw))
    if kind == "mask":
        return rle_area(r.points)
    return float((r.x1 - r.x0) * (r.y1 - r.y0))


def _categories_out(state: Any, used: set[int]) -> tuple[list[dict[str, Any]], dict[int, int]]:
    labels = [lab for lab in state.labels.values() if not lab.retired or lab.id in used]
    ids = _assign_ids([lab.meta.get("coco_id") for lab in labels], [lab.id for lab in labels])
    cats = []
    for lab, cid in zip(labels, ids, strict=False):
        c: dict[str, Any] = {"id": cid, "name": lab.name}
        if "supercategory" in lab.meta:
            c["supercategory"] = lab.meta["supercategory"]
        tpl = state.template_for(lab.id)
        if tpl is not None:
            c["keypoints"] = list(tpl.points)
            c["skeleton"] = [[a + 1, b + 1] for a, b in tpl.skeleton]
        cats.append(c)
    return sorted(cats, key=lambda c: c["id"]), {lab.id: cid for lab, cid in zip(labels, ids, strict=False)}


def export_coco(session: Session, path: str | os.PathLike[str], *, slice: Any = None,
                include_incomplete: bool = False, run: Any = None) -> ExportInfo:
    """Write ground truth (or a run's predictions as a COCO results list) as COCO JSON."""

    out = Path(path)
    check_target(out, "export_coco")  # before any work: a folder as the file path is refused up front
    with session.store.read() as con:
        state = load_state(con)
        rid = run_id(con, run) if run is not None else None
        mdf, left_out = export_media(con, slice, include_incomplete=include_incomplete or run is not None)
        inst = export_instances(con, mdf["media_id"].tolist(), rid)
    img_ids = _assign_ids([m.get("coco_id") for m in mdf["meta"]], mdf["media_id"].astype(int).tolist())
    hw_of = {int(m): (int(h), int(w)) for m, h, w in zip(mdf["media_id"], mdf["height"], mdf["width"], strict=True)}
    img_of = dict(zip(mdf["media_id"].astype(int).tolist(), img_ids, strict=False))
    cats, cat_of = _categories_out(state, set(inst["label_id"].astype(int)))
    writable = inst["kind"].isin(["box", "polygon", "mask", "keypoints"]).to_numpy()
    skipped = int((~writable).sum())
    inst = inst[writable].reset_index(drop=True)
    notes: list[str] = []
    if skipped:
        notes.append(f"{skipped} instance(s) of kinds point/line/tag have no COCO form and were left out")
    # rounded at 1e-10 px: x1 - x0 brings float noise (111.33000000000004) that the source did not have
    xywh = np.round(np.column_stack([inst["x0"], inst["y0"], inst["x1"] - inst["x0"], inst["y1"] - inst["y0"]]),
                    10) if len(inst) else np.zeros((0, 4))
    if run is not None:
        results = []
        for r, b in zip(inst.itertuples(), xywh.tolist(), strict=False):
            d: dict[str, Any] = {"image_id": img_of[int(r.media_id)], "category_id": cat_of[int(r.label_id)],
                                 "bbox": b, "score": None if pd.isna(r.score) else float(r.score)}
            if r.kind == "polygon":
                d["segmentation"] = _flat_rings(r.points)
            elif r.kind == "mask":
                d["segmentation"] = r.points
            elif r.kind == "keypoints":
                d["keypoints"] = [float(v) for p in r.points for v in p]
            results.append(d)
        write_atomic(out, json.dumps(results, sort_keys=True, separators=(",", ":"), allow_nan=False).encode())
        return ExportInfo(out, len(mdf), len(results), 0, skipped, notes)
    ann_ids = _assign_ids([(e or {}).get("coco_id") for e in inst["extra"]], list(range(1, len(inst) + 1)))
    anns = []
    for r, b, aid in zip(inst.itertuples(), xywh.tolist(), ann_ids, strict=False):
        extra = dict(r.extra or {})
        extra.pop("coco_id", None)
        seg_kp = extra.pop("segmentation", None)
        extra.pop("num_keypoints", None)
        a: dict[str, Any] = {k: v for k, v in extra.items() if k not in _STANDARD}
        a.update({"id": aid, "image_id": img_of[int(r.media_id)], "category_id": cat_of[int(r.label_id)],
                  "bbox": b, "iscrowd": int(bool(r.iscrowd))})
        if r.kind == "polygon":
            a["segmentation"] = _flat_rings(r.points)
        elif r.kind == "mask":
            a["segmentation"] = r.points
        elif r.kind == "keypoints":
            a["segmentation"] = seg_kp if seg_kp is not None else []
            a["keypoints"] = [float(v) if not float(v).is_integer() else int(v) for p in r.points for v in p]
            a["num_keypoints"] = int(sum(1 for p in r.points if p[2] > 0))
        else:
            a["segmentation"] = []
        a["area"] = float(r.area) if not pd.isna(r.area) else _area(r.kind, r, hw_of[int(r.media_id)])
        if r.attributes:
            a["attributes"] = r.attributes
        anns.append(a)
    images = []
    sizes = (mdf[c].to_numpy(np.int64) for c in ("width", "height"))
    for meta, file_name, width, height, iid in zip(mdf["meta"], mdf["file_name"], *sizes, img_ids, strict=False):
        im = {k: v for k, v in meta.items() if k not in _IMAGE_STANDARD and k != "coco_id" and v is not None}
        im.update({"id": iid, "file_name": file_name, "width": int(width), "height": int(height)})
        images.append(im)
    doc = {"info": {"description": "exported by nblabel"}, "licenses": [],
           "images": sorted(images, key=lambda d: d["id"]), "annotations": sorted(anns, key=lambda d: d["id"]),
           "categories": cats}
    try:
        data = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    except ValueError as e:
        raise FormatError(f"cannot write {str(out)!r}: a value is NaN or infinite ({e})") from None
    write_atomic(out, data)
    if left_out:
        notes.append(f"{left_out} media item(s) not complete in stage 'label' were left out "
                     "(pass include_incomplete=True to export them too)")
    return ExportInfo(out, len(images), len(anns), left_out, skipped, notes)

