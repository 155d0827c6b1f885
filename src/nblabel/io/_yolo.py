"""YOLO (Ultralytics) label files in and out: detect, segment and pose.

One ``.txt`` per image, one object per line, coordinates normalised to 0–1 of the image size:

- detect: ``class cx cy w h``
- segment: ``class x1 y1 x2 y2 ...`` (one polygon ring)
- pose: ``class cx cy w h`` then ``K`` keypoints ``x y`` or ``x y v``

The image of ``labels/sub/a.txt`` is ``<images>/sub/a.<any image suffix>``. Class names come from a
list or a ``data.yaml`` (``names`` as a list or ``{id: name}``; ``kpt_shape`` for pose).
"""

from __future__ import annotations

import os
import shutil
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

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["export_yolo", "import_yolo", "read_names"]

TASKS = ("detect", "segment", "pose")
#: a re-imported export is the same box within this many pixels (8 decimals of 0-1 coordinates)
YOLO_TOLERANCE = 1e-3


def read_names(names: Any) -> tuple[list[str], list[int] | None]:
    """Class names (index = class id) and ``kpt_shape`` from a list, a dict or a data.yaml path.

    Example:
        >>> read_names(["car", "person"])
        (['car', 'person'], None)
        >>> read_names({0: "car", 1: "person"})[0]
        ['car', 'person']
    """
    kpt = None
    if isinstance(names, (str, Path)):
        import yaml

        p = Path(names)
        try:
            text = p.read_text(encoding="utf-8-sig")  # -sig: a byte-order mark is not part of the first name
        except FileNotFoundError:
            raise FormatError(f"YOLO names file {str(p)!r} does not exist") from None
        except UnicodeDecodeError as e:
            raise FormatError(f"YOLO names file {str(p)!r} is not UTF-8 text ({e.reason}); save it as UTF-8") from None
        if p.suffix.lower() == ".txt":  # a classes.txt: one class name per line
            return read_names([line.strip() for line in text.splitlines() if line.strip()])
        try:
            d = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise FormatError(f"YOLO names file {str(p)!r} is not valid YAML: {e}") from None
        if not isinstance(d, dict) or "names" not in d:
            raise FormatError(f"YOLO names file {str(p)!r} has no 'names' entry; add names: [class0, class1, ...]")
        names, kpt = d["names"], d.get("kpt_shape")
    if isinstance(names, dict):
        try:
            keys = sorted(int(k) for k in names)
        except (TypeError, ValueError):
            raise FormatError(f"YOLO names {names!r}: the keys must be class numbers 0..n-1") from None
        if keys != list(range(len(keys))):
            raise FormatError(f"YOLO names have class ids {keys}; they must be 0..{len(keys) - 1} without gaps")
        names = [names[k] if k in names else names[str(k)] for k in keys]
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) and n for n in names):
        raise FormatError(f"YOLO names must be a non-empty list of class names, got {names!r}")
    if len(set(names)) != len(names):
        raise FormatError(f"YOLO names {list(names)} contain a name twice; class names must be unique")
    return list(names), (list(kpt) if kpt is not None else None)


def _read_lines(files: list[Path], root: Path) -> pd.DataFrame:
    """Every non-blank line of every file: file index, line number, tokens."""
    fi, ln, toks = [], [], []
    for i, f in enumerate(files):
        # utf-8-sig: a byte-order mark (some Windows editors write one) is not part of line 1's class number
        for n, line in enumerate(f.read_text(encoding="utf-8-sig", errors="replace").splitlines(), 1):
            t = line.split()
            if t:
                fi.append(i)
                ln.append(n)
                toks.append(t)
    return pd.DataFrame({"file": fi, "line": ln, "tokens": toks})


def _parse(lines: pd.DataFrame, task: str, nc: int, kpt_shape: list[int] | None,
           items: list[str], report: ImportReport) -> tuple[pd.DataFrame, np.ndarray]:
    """Check lines (column count, numbers, class range, geometry not entirely outside [0, 1]); returns good
    lines + values. Geometry crossing the border is the store's concern (the border rule: kept as given)."""
    ncols = lines["tokens"].map(len).to_numpy()
    if task == "detect":
        ok_cols = ncols == 5
        want = "5 numbers (class cx cy w h)"
    elif task == "segment":
        ok_cols = (ncols >= 7) & (ncols % 2 == 1)
        want = "class then at least 3 x y pairs (an odd count of 7 or more numbers)"
    else:
        assert kpt_shape is not None, "task='pose' without kpt_shape (import_yolo checks it first)"
        k, dim = kpt_shape
        ok_cols = ncols == 5 + k * dim
        want = f"{5 + k * dim} numbers (class cx cy w h then {k} keypoints of {dim} values)"
    ok = ok_cols.copy()
    for i in np.flatnonzero(~ok_cols)[:10_000]:
        report.add_problem(items[i], f"has {ncols[i]} values; a {task} line needs {want}")
    # at least a box's columns, so the checks below also run on no lines at all (an all-background import)
    width = max(int(ncols[ok].max()) if ok.any() else 0, 5)
    vals = np.full((len(lines), width), np.nan)
    cols = np.arange(width)[None, :]
    present = ok[:, None] & (cols < ncols[:, None])  # which cells of the padded table hold a value
    if present.any():
        flat = [tok for toks, keep in zip(lines["tokens"], ok, strict=True) if keep for tok in toks]
        vals[present] = pd.to_numeric(pd.Series(flat), errors="coerce").to_numpy(float)  # row-major, like flat
    finite = (np.isfinite(vals) | ~present).all(axis=1)
    bad = ok & ~finite
    for i in np.flatnonzero(bad)[:10_000]:
        report.add_problem(items[i], "has a value that is not a finite number (NaN, inf or text)")
    ok &= ~bad
    cls = vals[:, 0]
    bad = ok & ((cls != np.round(cls)) | (cls < 0) | (cls >= nc))
    for i in np.flatnonzero(bad)[:10_000]:
        report.add_problem(items[i], f"class {lines['tokens'].iloc[i][0]} is out of range: the names give "
                           f"{nc} classes (0..{nc - 1})")
    ok &= ~bad
    if task == "segment":
        xs, ys = present & (cols >= 1) & (cols % 2 == 1), present & (cols >= 2) & (cols % 2 == 0)
        ext = np.column_stack([np.where(xs, vals, np.inf).min(axis=1), np.where(ys, vals, np.inf).min(axis=1),
                               np.where(xs, vals, -np.inf).max(axis=1), np.where(ys, vals, -np.inf).max(axis=1)])
    else:
        cwh = vals[:, 1:5]
        # a zero width or height is kept (the store counts it; strict=True refuses it), as pycocotools keeps it
        size_bad = ok & ((cwh[:, 2] < 0) | (cwh[:, 3] < 0))
        for i in np.flatnonzero(size_bad)[:10_000]:
            report.add_problem(items[i], f"box width/height {cwh[i, 2]:g} x {cwh[i, 3]:g} is not positive")
        ok &= ~size_bad
        # box edges (not centres) must lie in [0, 1]; for pose also every keypoint x, y
        ext = np.column_stack([cwh[:, 0] - cwh[:, 2] / 2, cwh[:, 1] - cwh[:, 3] / 2,
                               cwh[:, 0] + cwh[:, 2] / 2, cwh[:, 1] + cwh[:, 3] / 2])
    # a box or polygon reaching past the border is kept as given (and counted); one wholly outside is refused
    with np.errstate(invalid="ignore"):
        outside = ok & ((ext[:, 2] <= 0) | (ext[:, 3] <= 0) | (ext[:, 0] >= 1) | (ext[:, 1] >= 1))
    for i in np.flatnonzero(outside)[:10_000]:
        report.add_problem(items[i], "its coordinates lie entirely outside [0, 1]; YOLO coordinates are "
                           "normalised by the image size: check they are not pixels")
    ok &= ~outside
    return lines[ok], vals[ok]


def import_yolo(session: Session, labels_dir: str | os.PathLike[str], images: str | os.PathLike[str], names: Any,
                task: str = "detect", *,
                complete: bool = True, errors: str = "report", kpt_shape: Any = None,
                allow_outside_root: bool = False, strict: bool = False, clip: bool = False,
                mode: str = DEFAULT_MODE) -> ImportReport:
    """Import YOLO label files as ground truth in one transaction (see ``Project.import_yolo``)."""
    mode = check_mode(mode)

    if task not in TASKS:
        raise ValidationError(f"task={task!r} is unknown; use one of {list(TASKS)}")
    if errors not in ("report", "raise"):
        raise ValidationError(f"errors={errors!r}: use 'report' or 'raise'")
    ldir, root = Path(labels_dir), Path(images)
    for d, what in ((ldir, "labels_dir"), (root, "images")):
        if not d.is_dir():
            raise FormatError(f"{what} {str(d)!r} is not a folder")
    class_names, yaml_kpt = read_names(names)
    if task == "pose":
        kpt_shape = list(kpt_shape or yaml_kpt or [])
        if len(kpt_shape) != 2 or kpt_shape[1] not in (2, 3) or kpt_shape[0] < 1:
            raise FormatError(f"pose needs kpt_shape=[K, 2 or 3] (keypoints per object, values per keypoint), "
                              f"got {kpt_shape or None}; pass kpt_shape= or give it in data.yaml")
    report = ImportReport(f"YOLO {ldir.name}")
    files = sorted(f for f in ldir.rglob("*.txt") if f.is_file() and f.name != "classes.txt")
    stems = [f.relative_to(ldir).with_suffix("").as_posix() for f in files]
    index = image_index(root)
    # images: every image under the root; a label file needs its image
    img_keys = sorted(index)
    have_label = set(stems)
    file_image: dict[int, int] = {}
    paths, fnames, items, keys = [], [], [], []
    for key in img_keys:
        full, problem = resolve_under_root(root, index[key].relative_to(root).as_posix(),
                                           allow_outside_root=allow_outside_root)
        if problem:
            report.add_problem(index[key].relative_to(root).as_posix(), problem)
            continue
        paths.append(full)
        fnames.append(index[key].relative_to(root).as_posix())
        items.append(fnames[-1])
        keys.append(key)
    spatial = {"detect": ["box"], "segment": ["polygon"], "pose": ["box", "keypoints"]}[task]
    probed = probe_files(session, paths, fnames)  # before the write transaction opens
    with session.store.transaction() as con:
        lid_by_name = ensure_labels(session, class_names, spatial)
        if task == "pose":
            k, dim = kpt_shape
            for name in class_names:
                tpl = session.schema_state().template_for(lid_by_name[name])
                if tpl is None:
                    Schema(session.store).add_keypoints(name, points=[f"kp{i}" for i in range(k)])
                elif len(tpl.points) != k:
                    raise FormatError(f"label {name!r} has a keypoint template of {len(tpl.points)} points but "
                                      f"kpt_shape says {k}")
        media_at = add_media(con, probed, paths, report, items)
        media_of_key = {keys[i]: mid for i, mid in media_at.items()}
        bad_media: set[int] = set()
        for i, s in enumerate(stems):
            if s in media_of_key:
                file_image[i] = media_of_key[s]
            elif s not in index:
                report.add_problem(f"{s}.txt", f"no image named {s}.<jpg|png|...> under {str(root)!r}")
            else:
                report.add_problem(f"{s}.txt", f"its image {index[s].name!r} was not imported (see its problem)")
        lines = _read_lines(files, ldir)
        lines = lines[lines["file"].isin(list(file_image))].reset_index(drop=True)
        line_items = [f"{stems[f]}.txt:{n}" for f, n in zip(lines["file"], lines["line"], strict=True)]
        good, vals = _parse(lines, task, len(class_names), kpt_shape, line_items, report)
        bad_items = {p.item for p in report.problems}
        bad_files = {int(f) for f, it in zip(lines["file"], line_items, strict=True) if it in bad_items}
        bad_media |= {file_image[f] for f in bad_files}
        media_ids = good["file"].map(file_image).to_numpy(np.int64)
        names_good = [line_items[i] for i in good.index]
        sizes = con.execute("SELECT media_id, width, height FROM media WHERE list_contains(?::BIGINT[], media_id)",
                            [sorted(set(media_ids.tolist()))]).df().set_index("media_id")
        w = sizes["width"].reindex(media_ids).to_numpy(float)
        h = sizes["height"].reindex(media_ids).to_numpy(float)
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
        else:
            cx, cy, bw, bh = (vals[:, i] for i in range(1, 5))
            df["x0"] = (cx - bw / 2) * w
            df["y0"] = (cy - bh / 2) * h
            df["x1"] = (cx + bw / 2) * w
            df["y1"] = (cy + bh / 2) * h
            df["kind"] = "box"
            if task == "pose":
                k, dim = kpt_shape
                kp = vals[:, 5:5 + k * dim].reshape(len(vals), k, dim)
                xy = kp[:, :, :2] * np.stack([w, h], axis=1)[:, None, :]
                v = kp[:, :, 2] if dim == 3 else np.where((kp[:, :, 0] == 0) & (kp[:, :, 1] == 0), 0.0, 2.0)
                xy[v == 0] = 0.0
                df["kind"] = "keypoints"
                df["points"] = pd.Series(list(np.concatenate([xy, v[:, :, None]], axis=2).tolist()), dtype=object)
        finish_import(con, session, df.reset_index(drop=True), names_good, report, what="lines",
                      media=list(media_at.values()), bad_media=bad_media, strict=strict, errors=errors,
                      complete=complete, refused_note="{n} image(s) with refused lines were not marked complete",
                      mode=mode, tolerance=YOLO_TOLERANCE, clip=clip)
        report.extra["background"] = len([k for k in media_of_key if k not in have_label])
    return report


def _fmt(a: np.ndarray) -> list[str]:
    return [" ".join(f"{x:.8f}" for x in row) for row in np.atleast_2d(a)]


def export_yolo(session: Session, out_dir: str | os.PathLike[str], *, task: str = "detect",
                copy_images: bool = False, slice: Any = None, include_incomplete: bool = False) -> ExportInfo:
    """Write ``labels/``, ``data.yaml`` and optionally ``images/`` (see ``Project.export_yolo``)."""
    import yaml


    if task not in TASKS:
        raise ValidationError(f"task={task!r} is unknown; use one of {list(TASKS)}")
    out = Path(out_dir)
    with session.store.read() as con:
        state = load_state(con)
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
    stems = [str(Path(r).with_suffix("")) for r in rels]
    dup = pd.Series(stems)[pd.Series(stems).duplicated()].tolist()
    if dup:
        raise FormatError(f"several media share the label file name {dup[0]!r}.txt; export a slice without "
                          "the duplicates or rename them")
    if copy_images:  # every source before anything is written: no half-copied folder
        missing = [f"{f!r} ({u})" for f, u in zip(mdf["file_name"], mdf["uri"], strict=True)
                   if not (isinstance(u, str) and Path(u).is_file())]
        if missing:
            raise MediaError(f"export_yolo(copy_images=True): {len(missing)} source image(s) are missing: "
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
    data: dict[str, Any] = {"names": {i: lab.name for i, lab in enumerate(labels)}, "nc": len(labels),
                            "path": ".", "train": "images", "val": "images"}
    if task == "pose":
        data["kpt_shape"] = [kpt_k, 3]
    with staged_folder(out) as tmp:  # written aside, moved into out_dir only when all of it is there
        for mid, stem, rel, uri in zip(mdf["media_id"], stems, rels, mdf["uri"], strict=True):
            text = "".join(line + "\n" for line in lines[int(mid)])
            write_atomic(tmp / "labels" / f"{stem}.txt", text.encode())
            if copy_images:
                target = tmp / "images" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(uri, target)
        write_atomic(tmp / "data.yaml", yaml.safe_dump(data, sort_keys=True, allow_unicode=True).encode())
    if left_out:
        notes.append(f"{left_out} media item(s) not complete in stage 'label' were left out "
                     "(pass include_incomplete=True to export them too)")
    return ExportInfo(out, len(mdf), len(inst), left_out, skipped, notes)
