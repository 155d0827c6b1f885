"""YOLO (Ultralytics) label files in and out: detect, segment and pose.

The line format and its checks are in :mod:`nblabel.io._yolo_lines`; a ``data.yaml`` with splits
is read by :mod:`nblabel.io._yolo_yaml` and a split is written as a training tree by
:mod:`nblabel.io._yolo_tree`. This module holds what both imports share (:func:`import_entries`:
images, their label files, one transaction), the folder form of the import (``labels/sub/a.txt``
belongs to ``<images>/sub/a.<any image suffix>``) and the export.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._report import ImportReport
from ..errors import FormatError, MediaError, ValidationError
from ..store import Schema, load_state
from ..store._repeats import DEFAULT_MODE, check_mode
from ._exports import ExportInfo, export_instances, export_media, staged_folder, write_atomic
from ._import_tail import finish_import
from ._ingest import add_media, probe_files
from ._labels import ensure_labels
from ._paths import image_index, resolve_under_root, safe_relative
from ._yolo_lines import TASKS, YOLO_TOLERANCE, parse_lines, read_lines, read_names

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["YOLO_TOLERANCE", "LabelFile", "check_kpt_shape", "check_options", "export_yolo", "import_entries",
           "import_yolo", "read_names"]


@dataclass(frozen=True)
class LabelFile:
    """One label file of an import: the file, its name in the report (without ``.txt``), the position
    of its image in the import's image list (``None``: it has none) and the problem reported then."""

    path: Path
    name: str
    image: int | None
    problem: str = ""


def check_kpt_shape(task: str, kpt_shape: Any) -> list[int] | None:
    """``kpt_shape`` as ``[K, 2 or 3]`` for pose (refused with the fix if it is not), ``None`` otherwise.

    Example:
        >>> check_kpt_shape("pose", (17, 3)), check_kpt_shape("detect", None)
        ([17, 3], None)
    """
    if task != "pose":
        return None
    shape = list(kpt_shape or [])
    if (len(shape) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in shape)
            or shape[1] not in (2, 3) or shape[0] < 1):
        raise FormatError(f"pose needs kpt_shape=[K, 2 or 3] (keypoints per object, values per keypoint), "
                          f"got {kpt_shape or None}; pass kpt_shape= or give it in data.yaml")
    return shape


def import_entries(session: Session, images: list[tuple[Path, str]], labels: list[LabelFile],
                   class_names: list[str], task: str, kpt_shape: list[int] | None, report: ImportReport, *,
                   complete: bool, errors: str, strict: bool, clip: bool, mode: str,
                   lines: pd.DataFrame | None = None,
                   on_media: Callable[[Any, dict[int, int]], None] | None = None) -> ImportReport:
    """Add ``images`` (resolved path, stored file name) and the lines of ``labels`` in one transaction.

    ``lines``: :func:`~nblabel.io._yolo_lines.read_lines` of the label files when the caller read
    them already; ``on_media(con, {image position: media_id})`` runs inside the same transaction
    after the images went in (a data.yaml import stores its split there). An image no label file
    names is a background image (counted in ``report.extra["background"]``).
    """
    paths = [p for p, _ in images]
    fnames = [f for _, f in images]
    spatial = {"detect": ["box"], "segment": ["polygon"], "pose": ["box", "keypoints"]}[task]
    probed = probe_files(session, paths, fnames)  # before the write transaction opens
    if lines is None:
        lines = read_lines([lf.path for lf in labels])
    with session.store.transaction() as con:
        lid_by_name = ensure_labels(session, class_names, spatial)
        if task == "pose":
            assert kpt_shape is not None, "task='pose' without kpt_shape (check_kpt_shape runs first)"
            k = kpt_shape[0]
            for name in class_names:
                tpl = session.schema_state().template_for(lid_by_name[name])
                if tpl is None:
                    Schema(session.store).add_keypoints(name, points=[f"kp{i}" for i in range(k)])
                elif len(tpl.points) != k:
                    raise FormatError(f"label {name!r} has a keypoint template of {len(tpl.points)} points but "
                                      f"kpt_shape says {k}")
        media_at = add_media(con, probed, paths, report, fnames)
        if on_media is not None:
            on_media(con, media_at)
        file_image: dict[int, int] = {}
        for i, lf in enumerate(labels):
            if lf.image is not None and lf.image in media_at:
                file_image[i] = media_at[lf.image]
            elif lf.image is None:
                report.add_problem(f"{lf.name}.txt", lf.problem)
            else:
                report.add_problem(f"{lf.name}.txt", f"its image {paths[lf.image].name!r} was not imported "
                                   "(see its problem)")
        lines = lines[lines["file"].isin(list(file_image))].reset_index(drop=True)
        line_items = [f"{labels[f].name}.txt:{n}" for f, n in zip(lines["file"], lines["line"], strict=True)]
        good, vals = parse_lines(lines, task, len(class_names), kpt_shape, line_items, report)
        bad_items = {p.item for p in report.problems}
        bad_files = {int(f) for f, it in zip(lines["file"], line_items, strict=True) if it in bad_items}
        bad_media = {file_image[f] for f in bad_files}
        media_ids = good["file"].map(file_image).to_numpy(np.int64)
        names_good = [line_items[i] for i in good.index]
        sizes = con.execute("SELECT media_id, width, height FROM media WHERE list_contains(?::BIGINT[], media_id)",
                            [sorted(set(media_ids.tolist()))]).df().set_index("media_id")
        w = sizes["width"].reindex(media_ids).to_numpy(float)
        h = sizes["height"].reindex(media_ids).to_numpy(float)
        df = _instance_frame(good, vals, media_ids, w, h, task, kpt_shape, class_names, lid_by_name)
        finish_import(con, session, df, names_good, report, what="lines",
                      media=list(media_at.values()), bad_media=bad_media, strict=strict, errors=errors,
                      complete=complete, refused_note="{n} image(s) with refused lines were not marked complete",
                      mode=mode, tolerance=YOLO_TOLERANCE, clip=clip)
        labelled = {lf.image for lf in labels if lf.image is not None}
        report.extra["background"] = len([pos for pos in media_at if pos not in labelled])
    return report


def _instance_frame(good: pd.DataFrame, vals: np.ndarray, media_ids: np.ndarray, w: np.ndarray, h: np.ndarray,
                    task: str, kpt_shape: list[int] | None, class_names: list[str],
                    lid_by_name: dict[str, int]) -> pd.DataFrame:
    """The instance rows of the good lines, in pixels of their images."""
    label_ids = np.array([lid_by_name[class_names[int(c)]] for c in vals[:, 0]], dtype=np.int64)
    df = pd.DataFrame({"media_id": media_ids, "label_id": label_ids})
    if task == "segment":
        pts = []
        for j in range(len(good)):
            n = len(good["tokens"].iloc[j])
            xy = vals[j, 1:n].reshape(-1, 2) * [w[j], h[j]]  # as given: the store applies the border rule
            pts.append([xy.tolist()])
        df["kind"] = "polygon"
        df["points"] = pd.Series(pts, dtype=object)
        for c in ("x0", "y0", "x1", "y1"):
            df[c] = np.nan
        return df.reset_index(drop=True)
    cx, cy, bw, bh = (vals[:, i] for i in range(1, 5))
    df["x0"] = (cx - bw / 2) * w
    df["y0"] = (cy - bh / 2) * h
    df["x1"] = (cx + bw / 2) * w
    df["y1"] = (cy + bh / 2) * h
    df["kind"] = "box"
    if task == "pose":
        assert kpt_shape is not None
        k, dim = kpt_shape
        kp = vals[:, 5:5 + k * dim].reshape(len(vals), k, dim)
        xy = kp[:, :, :2] * np.stack([w, h], axis=1)[:, None, :]
        v = kp[:, :, 2] if dim == 3 else np.where((kp[:, :, 0] == 0) & (kp[:, :, 1] == 0), 0.0, 2.0)
        xy[v == 0] = 0.0
        df["kind"] = "keypoints"
        df["points"] = pd.Series(list(np.concatenate([xy, v[:, :, None]], axis=2).tolist()), dtype=object)
    return df.reset_index(drop=True)


def check_options(task: str, errors: str) -> None:
    """Refuse an unknown ``task`` or ``errors`` value (with the values there are)."""
    if task not in TASKS:
        raise ValidationError(f"task={task!r} is unknown; use one of {list(TASKS)}")
    if errors not in ("report", "raise"):
        raise ValidationError(f"errors={errors!r}: use 'report' or 'raise'")


def import_yolo(session: Session, labels_dir: str | os.PathLike[str], images: str | os.PathLike[str] | None = None,
                names: Any = None, task: str | None = None, *,
                complete: bool = True, errors: str = "report", kpt_shape: Any = None,
                allow_outside_root: bool = False, strict: bool = False, clip: bool = False,
                mode: str = DEFAULT_MODE, split_name: str | None = None) -> ImportReport:
    """Import YOLO label files as ground truth in one transaction (see ``Project.import_yolo``).

    ``labels_dir`` a ``.yaml``/``.yml`` file: an Ultralytics dataset file with its splits
    (:func:`nblabel.io._yolo_yaml.import_data_yaml`).
    """
    mode = check_mode(mode)
    if Path(labels_dir).suffix.lower() in (".yaml", ".yml") and not Path(labels_dir).is_dir():
        from ._yolo_yaml import import_data_yaml

        return import_data_yaml(session, labels_dir, images=images, names=names, task=task, complete=complete,
                                errors=errors, kpt_shape=kpt_shape, allow_outside_root=allow_outside_root,
                                strict=strict, clip=clip, mode=mode, split_name=split_name)
    if split_name is not None:
        raise ValidationError("split_name= names the split of a data.yaml import; give the data.yaml file "
                              "as the first argument, or leave split_name out")
    task = "detect" if task is None else task
    check_options(task, errors)
    if images is None or names is None:
        raise ValidationError(f"import_yolo({str(labels_dir)!r}, ...) of a labels folder needs images= (the image "
                              "root) and names= (class names or a data.yaml); or give a data.yaml file first")
    ldir, root = Path(labels_dir), Path(images)
    for d, what in ((ldir, "labels_dir"), (root, "images")):
        if not d.is_dir():
            raise FormatError(f"{what} {str(d)!r} is not a folder")
    class_names, yaml_kpt = read_names(names)
    kpt = check_kpt_shape(task, kpt_shape or yaml_kpt)
    report = ImportReport(f"YOLO {ldir.name}")
    files = sorted(f for f in ldir.rglob("*.txt") if f.is_file() and f.name != "classes.txt")
    stems = [f.relative_to(ldir).with_suffix("").as_posix() for f in files]
    index = image_index(root)
    pos_of: dict[str, int] = {}
    entries: list[tuple[Path, str]] = []
    for key in sorted(index):  # every image under the root; one without a label file is a background image
        rel = index[key].relative_to(root).as_posix()
        full, problem = resolve_under_root(root, rel, allow_outside_root=allow_outside_root)
        if problem:
            report.add_problem(rel, problem)
            continue
        pos_of[key] = len(entries)
        entries.append((full, rel))
    labels = []
    for f, s in zip(files, stems, strict=True):
        if s in pos_of:
            labels.append(LabelFile(f, s, pos_of[s]))
        elif s not in index:
            labels.append(LabelFile(f, s, None, f"no image named {s}.<jpg|png|...> under {str(root)!r}"))
        else:
            labels.append(LabelFile(f, s, None, f"its image {index[s].name!r} was not imported (see its problem)"))
    return import_entries(session, entries, labels, class_names, task, kpt, report, complete=complete,
                          errors=errors, strict=strict, clip=clip, mode=mode)


def _fmt(a: np.ndarray) -> list[str]:
    return [" ".join(f"{x:.8f}" for x in row) for row in np.atleast_2d(a)]


def _split_parts(con: Any, split: str) -> tuple[list[str], dict[int, str]]:
    """The parts of split ``split`` (in their stored order) and each member's part."""
    from ..errors import NotFoundError
    from ..store._splits import read_split_config, split_members

    cfg = read_split_config(con, split)
    if cfg is None:
        raise NotFoundError.from_key("split", split, hint="make one with proj.split(name, ratios) or import a "
                                     "data.yaml")
    members = split_members(con, split)
    return [str(k) for k in cfg["ratios"]], dict(zip(members["media_id"].astype(int).tolist(),
                                                     members["split"].tolist(), strict=True))


def export_yolo(session: Session, out_dir: str | os.PathLike[str], *, task: str = "detect",
                copy_images: bool | None = None, slice: Any = None, include_incomplete: bool = False,
                split: str | None = None, link: str = "copy") -> ExportInfo:
    """Write ``labels/``, ``data.yaml`` and optionally ``images/`` (see ``Project.export_yolo``);
    with ``split=`` a tree per part (:mod:`nblabel.io._yolo_tree`)."""
    import yaml

    from ..store import media_ids
    from ._yolo_tree import check_link, place_image, split_data_yaml, tree_paths

    if task not in TASKS:
        raise ValidationError(f"task={task!r} is unknown; use one of {list(TASKS)}")
    check_link(link)
    with_images = (split is not None) if copy_images is None else bool(copy_images)
    out = Path(out_dir)
    part_of: dict[int, str] = {}
    parts: list[str] = []
    with session.store.read() as con:
        state = load_state(con)
        if split is not None:
            parts, part_of = _split_parts(con, split)
            wanted_ids = sorted(part_of) if slice is None else sorted(set(part_of) & set(media_ids(con, slice)))
            slice = wanted_ids
        mdf, left_out = export_media(con, slice, include_incomplete=include_incomplete)
        inst = export_instances(con, mdf["media_id"].tolist())
    labels = [lab for lab in state.labels.values() if not lab.retired]
    cls_of = {lab.id: i for i, lab in enumerate(labels)}
    notes: list[str] = []
    kpt_k = None
    if task == "pose":
        ks = {len(tpl.points) for lab in labels if (tpl := state.template_for(lab.id)) is not None}
        if len(ks) != 1:
            raise FormatError(f"YOLO pose needs every keypoint label to have the same number of points; "
                              f"the templates have {sorted(ks) or 'none'}")
        (kpt_k,) = ks
    rels = [safe_relative(f) for f in mdf["file_name"]]
    targets = [tree_paths(rel, part_of.get(int(mid)) if split is not None else None, with_image=with_images)
               for mid, rel in zip(mdf["media_id"], rels, strict=True)]
    label_files = pd.Series([t[0] for t in targets])
    dup = label_files[label_files.duplicated()].tolist()
    if dup:
        raise FormatError(f"several media share the label file {dup[0]!r}; export a slice without "
                          "the duplicates or rename them")
    if with_images:  # every source before anything is written: no half-copied folder
        missing = [f"{f!r} ({u})" for f, u in zip(mdf["file_name"], mdf["uri"], strict=True)
                   if not (isinstance(u, str) and Path(u).is_file())]
        if missing:
            raise MediaError(f"export_yolo: {len(missing)} source image(s) are missing: "
                             f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; restore them, export "
                             "without them (slice=) or with copy_images=False. Nothing was written")
    w_of = dict(zip(mdf["media_id"], mdf["width"].astype(float), strict=True))
    h_of = dict(zip(mdf["media_id"], mdf["height"].astype(float), strict=True))
    wanted = {"detect": {"box", "polygon", "mask", "keypoints"}, "segment": {"polygon", "box"},
              "pose": {"keypoints"}}[task]
    keep = inst["kind"].isin(wanted).to_numpy()
    skipped = int((~keep).sum())
    if skipped:
        notes.append(f"{skipped} instance(s) of kinds a YOLO {task} file cannot hold were left out")
    inst = inst[keep].reset_index(drop=True)
    lines: dict[int, list[str]] = {int(m): [] for m in mdf["media_id"]}
    if len(inst):
        w = inst["media_id"].map(w_of).to_numpy(float)
        h = inst["media_id"].map(h_of).to_numpy(float)
        cls = inst["label_id"].map(cls_of).to_numpy()
        b = inst[["x0", "y0", "x1", "y1"]].to_numpy(float)
        cxcywh = np.column_stack([(b[:, 0] + b[:, 2]) / 2 / w, (b[:, 1] + b[:, 3]) / 2 / h,
                                  (b[:, 2] - b[:, 0]) / w, (b[:, 3] - b[:, 1]) / h])
        multi = 0
        for j, r in enumerate(inst.itertuples()):
            if task == "detect":
                body = _fmt(cxcywh[j])[0]
                lines[int(r.media_id)].append(f"{int(cls[j])} {body}")
            elif task == "segment":
                rings = r.points if r.kind == "polygon" else [[[b[j, 0], b[j, 1]], [b[j, 2], b[j, 1]],
                                                               [b[j, 2], b[j, 3]], [b[j, 0], b[j, 3]]]]
                multi += len(rings) > 1
                for ring in rings:
                    xy = np.asarray(ring, dtype=float) / [w[j], h[j]]
                    lines[int(r.media_id)].append(f"{int(cls[j])} " + " ".join(f"{x:.8f}" for x in xy.ravel()))
            else:
                kp = np.asarray(r.points, dtype=float)
                kp[:, 0] /= w[j]
                kp[:, 1] /= h[j]
                kp[kp[:, 2] == 0, :2] = 0.0
                vals = " ".join(f"{x:.8f} {y:.8f} {int(v)}" for x, y, v in kp)
                lines[int(r.media_id)].append(f"{int(cls[j])} {_fmt(cxcywh[j])[0]} {vals}")
        if multi:
            notes.append(f"{multi} polygon(s) with several rings were written as one line per ring")
    if split is None:
        data: dict[str, Any] = {"names": {i: lab.name for i, lab in enumerate(labels)}, "nc": len(labels),
                                "path": ".", "train": "images", "val": "images"}
        if task == "pose":
            data["kpt_shape"] = [kpt_k, 3]
    else:
        used = {part_of[int(m)] for m in mdf["media_id"]}
        present = [p for p in parts if p in used]
        data = split_data_yaml(present, [lab.name for lab in labels], kpt_k if task == "pose" else None)
        if "train" not in present or "val" not in present:
            notes.append(f"split {split!r} exported has parts {present}: Ultralytics trains only on a "
                         "data.yaml with both train and val")
    copied = 0
    with staged_folder(out) as tmp:  # written aside, moved into out_dir only when all of it is there
        for mid, (label_rel, image_rel), uri in zip(mdf["media_id"], targets, mdf["uri"], strict=True):
            text = "".join(line + "\n" for line in lines[int(mid)])
            write_atomic(tmp / label_rel, text.encode())
            if image_rel is not None:
                copied += not place_image(uri, tmp / image_rel, link)
        write_atomic(tmp / "data.yaml", yaml.safe_dump(data, sort_keys=split is None, allow_unicode=True).encode())
    if copied:
        notes.append(f"{copied} image(s) were copied: a hard link cannot cross file systems")
    if left_out:
        notes.append(f"{left_out} media item(s) not complete in stage 'label' were left out "
                     "(pass include_incomplete=True to export them too)")
    return ExportInfo(out, len(mdf), len(inst), left_out, skipped, notes)
