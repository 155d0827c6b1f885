"""An Ultralytics dataset file (``data.yaml``) in: its splits become a split of the project.

What the file says, read as Ultralytics reads it:

- ``path``: the dataset root; relative to the yaml's folder when relative (Ultralytics resolves it
  from the working directory; a file that travels with its dataset means its own folder), the
  yaml's folder when absent. ``images=`` replaces it.
- ``train`` / ``val`` / ``test``: each a folder of images (searched recursively), a ``.txt`` list of
  image paths (one a line; ``./x`` is relative to the list's folder as in Ultralytics, another
  relative path to the dataset root), one image file, or a list of those; relative to the root.
- the label file of ``.../images/.../a.jpg`` is ``.../labels/.../a.txt`` (the last ``images``
  folder of the path replaced by ``labels``), Ultralytics' rule; an image without one is a
  background image.
- ``names`` (a list or ``{id: name}``; ``nc`` alone gives ``class_0``...), ``kpt_shape`` (pose).

Each part becomes the static dataset ``"<split name>/<part>"`` of one split (default name: the
yaml's stem, so ``coco8.yaml`` gives ``coco8/train`` and ``coco8/val``), stored as ``proj.split``
stores its splits (:mod:`nblabel.store._splits`), so ``proj.split_of`` and ``proj.split_report``
work on it; the target share of each part is the share the file gave it. An image listed in
several parts goes to the first of train, val, test (a note says how many).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._report import ImportReport
from ..errors import ConflictError, FormatError, ValidationError
from ..store._splits import add_split_members, read_split_config, split_members
from ._images import IMAGE_SUFFIXES
from ._paths import resolve_under_root
from ._yolo import LabelFile, check_kpt_shape, check_options, import_entries
from ._yolo_lines import infer_task, read_lines, read_names

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["SPLIT_KEYS", "DataYaml", "import_data_yaml", "label_path_for", "read_data_yaml"]

#: the parts an Ultralytics dataset file names, in the order an image listed twice is placed
SPLIT_KEYS = ("train", "val", "test")
#: marks a split made by a data.yaml import (``proj.split`` splits have no ``source``)
SOURCE = "data.yaml"


def label_path_for(image: str | os.PathLike[str], sep: str = os.sep) -> str:
    """The label file Ultralytics reads for an image: the last ``/images/`` folder of the path
    replaced by ``/labels/``, the suffix by ``.txt`` (``img2label_paths``).

    Example:
        >>> label_path_for("/d/images/train/a.jpg")
        '/d/labels/train/a.txt'
        >>> label_path_for("/d/pics/b.png")
        '/d/pics/b.txt'
    """
    sa, sb = f"{sep}images{sep}", f"{sep}labels{sep}"
    return sb.join(os.fspath(image).rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"


@dataclass
class DataYaml:
    """A dataset file read and checked: where it is, its root, class names, ``kpt_shape`` and the
    entries of each part as written."""

    file: Path
    root: Path
    names: list[str]
    kpt_shape: list[int] | None
    splits: dict[str, list[str]] = field(default_factory=dict)


def _load(file: Path) -> dict[str, Any]:
    import yaml

    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FormatError(f"data.yaml {str(file)!r} does not exist") from None
    except UnicodeDecodeError as e:
        raise FormatError(f"data.yaml {str(file)!r} is not UTF-8 text ({e.reason}); save it as UTF-8") from None
    try:
        data = yaml.safe_load(text)  # safe_load: no tags that build Python objects or run code
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise FormatError(f"data.yaml {str(file)!r} is not valid safe YAML{where}: "
                          f"{getattr(e, 'problem', None) or e}; plain YAML only (no !!python tags)") from None
    if not isinstance(data, dict):
        raise FormatError(f"data.yaml {str(file)!r} is not a mapping of keys (train:, val:, names:, ...)")
    return data


def _class_names(file: Path, data: dict[str, Any], names: Any) -> tuple[list[str], Any]:
    if names is not None:
        return read_names(names)
    nc = data.get("nc")
    if data.get("names") is None:
        if isinstance(nc, int) and not isinstance(nc, bool) and nc > 0:
            return [f"class_{i}" for i in range(nc)], data.get("kpt_shape")
        raise FormatError(f"data.yaml {str(file)!r} has no 'names' (nor a class count nc:); add names: [a, b, ...]")
    class_names, _ = read_names(data["names"])
    if nc is not None and nc != len(class_names):
        raise FormatError(f"data.yaml {str(file)!r}: nc is {nc!r} but names has {len(class_names)} classes; "
                          "make them agree (or drop nc)")
    return class_names, data.get("kpt_shape")


def read_data_yaml(path: str | os.PathLike[str], *, images: str | os.PathLike[str] | None = None,
                   names: Any = None) -> DataYaml:
    """Read and check an Ultralytics dataset file (see the module docstring); nothing is imported.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "images" / "train").mkdir(parents=True)
        >>> _ = (d / "data.yaml").write_text("train: images/train\\nval: images/val\\nnames: [car, bus]\\n")
        >>> dy = read_data_yaml(d / "data.yaml")
        >>> dy.names, dy.splits, dy.root == d.resolve()
        (['car', 'bus'], {'train': ['images/train'], 'val': ['images/val']}, True)
    """
    file = Path(path)
    data = _load(file)
    class_names, kpt = _class_names(file, data, names)
    if images is not None:
        root = Path(images)
    else:
        given = data.get("path")
        if given is not None and not isinstance(given, str):
            raise FormatError(f"data.yaml {str(file)!r}: path must be a folder name, got {given!r}")
        root = Path(given).expanduser() if given else Path(".")
        root = root if root.is_absolute() else file.parent / root
    root = root.resolve()
    if not root.is_dir():
        raise FormatError(f"data.yaml {str(file)!r}: the dataset root {str(root)!r} is not a folder; fix path: "
                          "or pass images= (the dataset root)")
    splits: dict[str, list[str]] = {}
    if "val" not in data and "validation" in data:  # Ultralytics reads this spelling as val too
        data["val"] = data["validation"]
    for key in SPLIT_KEYS:
        v = data.get(key)
        if v is None or v == "" or v == []:
            continue
        entries = [v] if isinstance(v, str) else v
        if not isinstance(entries, list) or not all(isinstance(e, str) and e for e in entries):
            raise FormatError(f"data.yaml {str(file)!r}: {key} must be a folder, a .txt list of images, or a "
                              f"list of those, got {v!r}")
        splits[key] = list(entries)
    if not splits:
        raise FormatError(f"data.yaml {str(file)!r} names no images: add train: (and val:, test:) folders or lists")
    return DataYaml(file, root, class_names, kpt, splits)


def _list_file(dy: DataYaml, txt: Path, item: str, report: ImportReport) -> list[tuple[Path, str]]:
    """The image paths of a ``.txt`` list with the report name of each line."""
    try:
        text = txt.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        report.add_problem(item, f"the list file is not UTF-8 text ({e.reason})")
        return []
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        x = line.strip()
        if x:
            p = txt.parent / x[2:] if x.startswith("./") else Path(x) if Path(x).is_absolute() else dy.root / x
            out.append((p, f"{item}:{n}"))
    return out


def _entry_images(dy: DataYaml, part: str, entry: str, allow_outside_root: bool,
                  report: ImportReport) -> list[tuple[Path, str]]:
    """The images one entry of a part names (resolved path, report name); problems go to the report."""
    item = f"{dy.file.name}: {part}: {entry}"
    full, problem = resolve_under_root(dy.root, entry, allow_outside_root=allow_outside_root)
    if problem:
        report.add_problem(item, problem)
        return []
    if full.is_dir():
        return [(f, (Path(entry) / f.relative_to(full)).as_posix()) for f in sorted(full.rglob("*"))
                if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()]
    if full.is_file() and full.suffix.lower() == ".txt":
        return _list_file(dy, full, entry, report)
    if full.is_file() and full.suffix.lower() in IMAGE_SUFFIXES:
        return [(full, entry)]
    what = "is not a folder, a .txt list or an image" if full.exists() else "does not exist"
    report.add_problem(item, f"{str(full)!r} {what}; fix the entry or create the folder")
    return []


def collect(dy: DataYaml, allow_outside_root: bool, report: ImportReport
            ) -> tuple[list[tuple[Path, str]], list[LabelFile], dict[str, list[int]]]:
    """Every image of every part (resolved path, stored file name: relative to the root), its label
    file when there is one, and the image positions of each part."""
    images: list[tuple[Path, str]] = []
    labels: list[LabelFile] = []
    pos_of: dict[Path, int] = {}
    part_at: list[str] = []
    parts: dict[str, list[int]] = {}
    twice = 0
    for part, entries in dy.splits.items():
        parts[part] = []
        for entry in entries:
            for path, item in _entry_images(dy, part, entry, allow_outside_root, report):
                if path.suffix.lower() not in IMAGE_SUFFIXES:
                    report.add_problem(item, f"{path.name!r} is not an image file name ({', '.join(sorted(IMAGE_SUFFIXES))})")
                    continue
                full, problem = resolve_under_root(dy.root, str(path), allow_outside_root=allow_outside_root)
                if problem or not full.is_file():
                    report.add_problem(item, problem or f"image {str(path)!r} does not exist")
                    continue
                if full in pos_of:
                    twice += part_at[pos_of[full]] != part
                    continue
                lab, lproblem = resolve_under_root(dy.root, label_path_for(path),
                                                   allow_outside_root=allow_outside_root)
                if lproblem:
                    report.add_problem(item, f"its label file: {lproblem}")
                    continue
                pos = len(images)
                pos_of[full] = pos
                part_at.append(part)
                parts[part].append(pos)
                try:
                    name = full.relative_to(dy.root).as_posix()
                except ValueError:  # outside the root, allowed
                    name = full.as_posix()
                images.append((full, name))
                if lab.is_file():
                    try:
                        lname = lab.relative_to(dy.root).with_suffix("").as_posix()
                    except ValueError:
                        lname = lab.with_suffix("").as_posix()
                    labels.append(LabelFile(lab, lname, pos))
    if twice:
        report.notes.append(f"{twice} image(s) listed in several parts were put in the first of them "
                            f"({', '.join(SPLIT_KEYS)}): a split's parts do not overlap")
    return images, labels, parts


def _store_split(con: Any, name: str, dy: DataYaml, parts: dict[str, list[int]], media_at: dict[int, int],
                 report: ImportReport) -> None:
    """Add the imported media to split ``name`` (inside the import's transaction)."""
    cfg = read_split_config(con, name)
    if cfg is not None and cfg.get("source") != SOURCE:
        raise ConflictError(f"split {name!r} was made by proj.split; import the data.yaml under another name "
                            "with split_name=")
    old = split_members(con, name)
    part_of = dict(zip(old["media_id"].astype(int).tolist(), old["split"].tolist(), strict=True))
    kept = 0
    by_part: dict[str, list[int]] = {}
    for part, positions in parts.items():
        ids = []
        for pos in positions:
            mid = media_at.get(pos)
            if mid is None:
                continue
            if part_of.get(mid, part) != part:
                kept += 1
                continue
            part_of[mid] = part
            ids.append(mid)
        by_part[part] = ids
    if kept:
        report.notes.append(f"{kept} image(s) already in another part of split {name!r} kept their part")
    counts = {p: sum(1 for v in part_of.values() if v == p) for p in [*SPLIT_KEYS, *sorted(set(part_of.values()))]}
    counts = {p: n for p, n in counts.items() if n}
    total = sum(counts.values())
    if not total:
        report.notes.append(f"no image went in, so no split {name!r} was stored")
        return
    config = {"ratios": {p: n / total for p, n in counts.items()}, "stratify": "none", "group_by": None,
              "seed": 0, "format": 1, "source": SOURCE, "file": str(dy.file)}
    add_split_members(con, name, config, {p: ids for p, ids in by_part.items() if ids})
    report.extra["split"] = name
    report.extra["split_sizes"] = counts


def import_data_yaml(session: Session, path: str | os.PathLike[str], *, images: Any = None, names: Any = None,
                     task: str | None = None, complete: bool = True, errors: str = "report", kpt_shape: Any = None,
                     allow_outside_root: bool = False, strict: bool = False, clip: bool = False,
                     mode: str, split_name: str | None = None) -> ImportReport:
    """Import the images and labels of every part of a data.yaml and store its split (see the module docstring).

    Example:
        >>> import nblabel as nl, tempfile, pathlib
        >>> from PIL import Image
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for part in ("train", "val"):
        ...     (d / "images" / part).mkdir(parents=True); (d / "labels" / part).mkdir(parents=True)
        ...     Image.new("RGB", (100, 50)).save(d / "images" / part / f"{part}.png")
        ...     _ = (d / "labels" / part / f"{part}.txt").write_text("0 0.5 0.5 0.2 0.4\\n")
        >>> _ = (d / "data.yaml").write_text("train: images/train\\nval: images/val\\nnames: [car]\\n")
        >>> p = nl.open(":memory:")
        >>> import_data_yaml(p.session, d / "data.yaml", mode="skip-existing")
        <ImportReport YOLO data.yaml: 2 added, 0 skipped, 0 problems>
        >>> p.split_of("data").to_dict("list")
        {'media_id': [1, 2], 'split': ['train', 'val']}
    """
    dy = read_data_yaml(path, images=images, names=names)
    name = dy.file.stem if split_name is None else split_name
    if not isinstance(name, str) or not name or "/" in name:
        raise ValidationError(f"split_name must be a non-empty name without '/', got {name!r}")
    kpt = kpt_shape if kpt_shape is not None else dy.kpt_shape
    report = ImportReport(f"YOLO {dy.file.name}")
    entries, labels, parts = collect(dy, allow_outside_root, report)
    lines = read_lines([lf.path for lf in labels])
    task = infer_task(lines, kpt) if task is None else task
    check_options(task, errors)
    return import_entries(session, entries, labels, dy.names, task, check_kpt_shape(task, kpt), report,
                          complete=complete, errors=errors, strict=strict, clip=clip, mode=mode, lines=lines,
                          on_media=lambda con, media_at: _store_split(con, name, dy, parts, media_at, report))
