"""Media paths read from import files: resolved against the image root the user gave, made safe for exports.

An import file (COCO ``file_name``, a YOLO label's sub-path, VOC ``<filename>``/``<path>``) is data,
not a trusted path: ``../../etc/passwd`` or ``/home/other/x.jpg`` must not reach outside the root
the user named unless they say so (``allow_outside_root=True``).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

__all__ = ["image_index", "resolve_under_root", "safe_relative"]


def resolve_under_root(root: str | os.PathLike[str], name: str, *,
                       allow_outside_root: bool = False) -> tuple[Path, str | None]:
    """Resolve ``name`` (relative to ``root``, or absolute) and check it stays inside ``root``.

    Returns ``(path, problem)``: ``problem`` is ``None`` when the path is acceptable, otherwise a
    message naming the path and the fix. Symlinks are resolved, so a link pointing out of the
    root counts as escaping too.

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> resolve_under_root(root, "a/b.jpg")[1] is None
        True
        >>> print(resolve_under_root(root, "../x.jpg")[1])  # doctest: +ELLIPSIS
        path '../x.jpg' escapes the image root ...
    """
    base = Path(root).expanduser().resolve()
    text = str(name)
    p = Path(text).expanduser()
    full = (p if p.is_absolute() else base / p).resolve()
    if allow_outside_root:
        return full, None
    try:
        full.relative_to(base)
    except ValueError:
        return full, (f"path {text!r} escapes the image root {str(base)!r} (resolves to {str(full)!r}); "
                      "fix the path in the file, pass the right images= root, or pass "
                      "allow_outside_root=True if you trust this file")
    return full, None


def safe_relative(path: str | os.PathLike[str]) -> str:
    """A media file name as a safe relative POSIX path for writing exports (no ``..``, no root).

    Example:
        >>> safe_relative("../a/./b.jpg")
        'a/b.jpg'
        >>> safe_relative("/abs/c.png")
        'abs/c.png'
    """
    parts = [p for p in PurePosixPath(str(path).replace("\\", "/")).parts if p not in ("/", "..", ".", "")]
    return "/".join(parts) or "unnamed"


def image_index(root: Path) -> dict[str, Path]:
    """Every image under ``root`` by its relative path without suffix (``"sub/a"`` → ``sub/a.jpg``)."""
    from ._images import IMAGE_SUFFIXES

    out: dict[str, Path] = {}
    for f in sorted(root.rglob("*")):
        if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file():
            out.setdefault(f.relative_to(root).with_suffix("").as_posix(), f)
    return out
