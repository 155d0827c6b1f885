"""Where a YOLO export puts each file, and how its images get there (copy, hard link, symbolic link).

Without a split: ``labels/<name>.txt`` and, with ``copy_images``, ``images/<name>``. With a split
(``export_yolo(split="v1")``) a training-ready tree per part: ``images/<part>/<name>`` and the label
file Ultralytics looks for beside it (``labels/<part>/<name>.txt``, its rule of replacing the last
``images`` folder), and a ``data.yaml`` naming the parts. A file name that already holds an
``images`` folder (a tree imported from a data.yaml: ``images/train/a.jpg``) is written from below
its last ``images/<part>/`` (``images/train/a.jpg``, not ``images/train/images/train/a.jpg``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import ValidationError
from ._yolo_yaml import SPLIT_KEYS, label_path_for

__all__ = ["LINKS", "check_link", "place_image", "split_data_yaml", "tree_paths"]

#: how images reach the export: a copy, a hard link (falls back to a copy across file systems), a symlink
LINKS = ("copy", "hardlink", "symlink")


def _below_images(rel: str, part: str) -> str:
    """``rel`` without its leading folders up to the last ``images`` folder (and a ``<part>`` after it)."""
    parts = list(PurePosixPath(rel).parts)
    if "images" in parts[:-1]:
        cut = len(parts) - 1 - parts[:-1][::-1].index("images")
        parts = parts[cut:]
        if len(parts) > 1 and parts[0] == part:
            parts = parts[1:]
    return "/".join(parts)


def tree_paths(rel: str, part: str | None, *, with_image: bool) -> tuple[str, str | None]:
    """The label file and image file (or ``None``) one media item is written to, relative to the export.

    Example:
        >>> tree_paths("sub/a.jpg", None, with_image=True)
        ('labels/sub/a.txt', 'images/sub/a.jpg')
        >>> tree_paths("images/train/a.jpg", "train", with_image=True)
        ('labels/train/a.txt', 'images/train/a.jpg')
        >>> tree_paths("a.jpg", "val", with_image=False)
        ('labels/val/a.txt', None)
    """
    if part is None:
        stem = str(PurePosixPath(rel).with_suffix(""))
        return f"labels/{stem}.txt", (f"images/{rel}" if with_image else None)
    image = f"images/{part}/{_below_images(rel, part)}"
    label = label_path_for("/" + image, sep="/")[1:]  # the rule needs the slash before images/
    return label, (image if with_image else None)


def check_link(link: str) -> str:
    """``link`` after checking it is one of :data:`LINKS`.

    Example:
        >>> check_link("hardlink")
        'hardlink'
    """
    if link not in LINKS:
        raise ValidationError(f"link={link!r} is unknown; use one of {list(LINKS)}")
    return link


def place_image(src: str | os.PathLike[str], dst: Path, link: str) -> bool:
    """Put the image ``src`` at ``dst``; returns ``False`` when a hard link was asked for but the
    file had to be copied (another file system).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "a.png").write_bytes(b"x")
        >>> place_image(d / "a.png", d / "out" / "a.png", "hardlink"), (d / "out" / "a.png").read_bytes()
        (True, b'x')
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    if link == "symlink":
        os.symlink(Path(src).resolve(), dst)
        return True
    if link == "hardlink":
        try:
            os.link(src, dst)
            return True
        except OSError:
            shutil.copyfile(src, dst)
            return False
    shutil.copyfile(src, dst)
    return True


def split_data_yaml(parts: list[str], names: list[str], kpt_k: int | None) -> dict[str, Any]:
    """The ``data.yaml`` of a split tree: each part's image folder, ``names``, ``nc``, ``kpt_shape`` for pose.

    No ``path:`` key: Ultralytics then takes the yaml's own folder as the root, wherever the tree is
    moved and whatever the working directory (``path: .`` would be the working directory).

    Example:
        >>> split_data_yaml(["train", "val"], ["car"], None)
        {'names': {0: 'car'}, 'nc': 1, 'train': 'images/train', 'val': 'images/val'}
    """
    data: dict[str, Any] = {"names": dict(enumerate(names)), "nc": len(names)}
    for part in [*[k for k in SPLIT_KEYS if k in parts], *[p for p in parts if p not in SPLIT_KEYS]]:
        data[part] = f"images/{part}"
    if kpt_k is not None:
        data["kpt_shape"] = [kpt_k, 3]
    return data
