"""Media paths read from import files: resolved against the image root the user gave, made safe for exports.

An import file (COCO ``file_name``, a YOLO label's sub-path, VOC ``<filename>``/``<path>``) is data,
not a trusted path: ``../../etc/passwd`` or ``/home/other/x.jpg`` must not reach outside the root
the user named unless they say so (``allow_outside_root=True``).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

__all__ = ["image_index", "resolve_under_root", "resolved", "safe_relative"]


def resolved(path: str, real_dirs: dict[str, str]) -> str | None:
    """``str(Path(path).resolve())`` with each folder resolved once per batch (``real_dirs``, the
    caller's cache: one ``lstat`` per file instead of one per path component); None when ``path``
    does not end in a plain file name.

    Example:
        >>> import tempfile, os
        >>> d = os.path.realpath(tempfile.mkdtemp()); os.symlink(d, f"{d}/up"); cache = {}
        >>> resolved(f"{d}/up/a.jpg", cache) == f"{d}/a.jpg", resolved(f"{d}/..", cache)
        (True, None)
    """
    folder, name = os.path.split(path if os.path.isabs(path) else os.path.join(os.getcwd(), path))
    if name in ("", ".", ".."):
        return None
    real = real_dirs.get(folder)
    if real is None:
        real = real_dirs[folder] = os.path.realpath(folder)
    full = os.path.join(real, name)
    return os.path.realpath(full) if os.path.islink(full) else full


def resolve_under_root(root: str | os.PathLike[str], name: str, *,
                       allow_outside_root: bool = False,
                       real_dirs: dict[str, str] | None = None) -> tuple[Path, str | None]:
    """Resolve ``name`` (relative to ``root``, or absolute) and check it stays inside ``root``.

    Returns ``(path, problem)``: ``problem`` is ``None`` when the path is acceptable, otherwise a
    message naming the path and the fix. Symlinks are resolved, so a link pointing out of the
    root counts as escaping too. ``real_dirs``: the caller's cache of resolved folders for a batch
    of names (see :func:`resolved`).

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> resolve_under_root(root, "a/b.jpg")[1] is None
        True
        >>> print(resolve_under_root(root, "../x.jpg")[1])  # doctest: +ELLIPSIS
        path '../x.jpg' escapes the image root ...
    """
    key = "\0root:" + os.fspath(root)
    if real_dirs is None or key not in real_dirs:
        base = Path(root).expanduser().resolve()
        if real_dirs is not None:
            real_dirs[key] = str(base)
    else:
        base = Path(real_dirs[key])
    text = str(name)
    p = Path(text).expanduser()
    joined = p if p.is_absolute() else base / p
    fast = resolved(str(joined), real_dirs) if real_dirs is not None else None
    full = Path(fast) if fast is not None else joined.resolve()
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
