"""Resolving media paths read from an import file against the image root the user gave.

An import file (COCO ``file_name``, a YOLO label's sub-path, VOC ``<filename>``/``<path>``) is data,
not a trusted path: ``../../etc/passwd`` or ``/home/other/x.jpg`` must not reach outside the root
the user named unless they say so (``allow_outside_root=True``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

__all__ = ["ExportInfo", "export_instances", "export_media", "resolve_under_root", "safe_relative", "write_atomic"]


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


# -- what every exporter shares: which media go out, their instances, atomic writes -------------

@dataclass
class ExportInfo:
    """What an export wrote: where, how many media and instances, and what it left out.

    Example:
        >>> ExportInfo(Path("a.json"), 2, 5).left_out_incomplete
        0
    """

    path: Path
    n_media: int
    n_instances: int
    left_out_incomplete: int = 0
    skipped_instances: int = 0
    notes: list[str] = field(default_factory=list)


def export_media(proj: Any, con: Any, slice: Any = None, *, include_incomplete: bool = False,
                 stage: str = "label") -> tuple[pd.DataFrame, int]:
    """The media an export writes (sorted by id) and how many incomplete ones were left out.

    Without ``include_incomplete`` only media complete in ``stage`` go out: an incomplete item
    exported without instances would claim to be a background image.
    """
    ids = None if slice is None else proj._media_ids(con, slice)
    df = con.execute(
        "SELECT m.media_id, m.file_name, m.uri, m.width, m.height, m.meta, s.state FROM media m "
        "LEFT JOIN status s ON s.media_id = m.media_id AND s.stage = ? "
        "WHERE ?::BIGINT[] IS NULL OR list_contains(?::BIGINT[], m.media_id) ORDER BY m.media_id",
        [stage, ids, ids]).df()
    done = (df["state"] == "complete").to_numpy()
    left_out = 0 if include_incomplete else int((~done).sum())
    if not include_incomplete:
        df = df[done]
    df = df.reset_index(drop=True)
    df["meta"] = [json.loads(m) if isinstance(m, str) and m else {} for m in df["meta"]]
    return df, left_out


def export_instances(con: Any, media_ids: list[int], run_id: int | None = None) -> pd.DataFrame:
    """Current instances (ground truth, or one run's predictions) of the media, with label names."""
    df = con.execute(
        "SELECT i.instance_id, i.media_id, i.label_id, l.name AS label, i.kind, i.x0, i.y0, i.x1, i.y1, "
        "i.points, i.attributes, i.score, i.track_id, i.area, i.iscrowd, i.extra FROM current_instances i "
        "JOIN labels l USING (label_id) WHERE list_contains(?::BIGINT[], i.media_id) "
        "AND ((?::INTEGER IS NULL AND i.run_id IS NULL) OR i.run_id = ?::INTEGER) "
        "ORDER BY i.media_id, i.instance_id",
        [[int(m) for m in media_ids], run_id, run_id]).df()
    for c in ("points", "attributes", "extra"):
        df[c] = [json.loads(v) if isinstance(v, str) else None for v in df[c]]
    return df


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file and a rename (no half-written exports)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def ensure_labels(proj: Any, names: list[str], spatial: list[str]) -> dict[str, int]:
    """Label ids for ``names``: existing labels are reused (gaining the ``spatial`` types they lack),
    missing ones are created with ``spatial``."""
    out: dict[str, int] = {}
    for name in names:
        state = proj.schema.state()
        lid = state.label_ids_by_name().get(name)
        if lid is None:
            lid = proj.schema.add_label(name, spatial=spatial)
        else:
            lab = state.labels[lid]
            if any(s not in lab.spatial for s in spatial):
                proj.schema.update_label(name, spatial=list(lab.spatial) + [s for s in spatial if s not in lab.spatial])
        out[name] = int(lid)
    return out


def image_index(root: Path) -> dict[str, Path]:
    """Every image under ``root`` by its relative path without suffix (``"sub/a"`` → ``sub/a.jpg``)."""
    from ._images import IMAGE_SUFFIXES

    out: dict[str, Path] = {}
    for f in sorted(root.rglob("*")):
        if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file():
            out.setdefault(f.relative_to(root).with_suffix("").as_posix(), f)
    return out


def add_media(proj: Any, paths: list[Path], names: list[str], report: Any, items: list[str]) -> dict[int, int]:
    """Add image files; returns {position: media_id} for the ones that went in (problems reported)."""
    if not paths:
        return {}
    rep = proj.add_images(pd.DataFrame({"path": [str(p) for p in paths], "file_name": names}))
    bad = {p.item: p.reason for p in rep.problems}
    it = iter(rep.ids)
    out: dict[int, int] = {}
    for i, p in enumerate(paths):
        if str(p) in bad:
            report.add_problem(items[i], bad[str(p)])
        else:
            out[i] = int(next(it))
    return out


def translate_problems(sub: Any, report: Any, names: list[str], df: pd.DataFrame) -> set[int]:
    """Copy prepare_instances' "row N" problems into ``report`` under the input's own names; returns
    the media ids of the refused rows."""
    bad: set[int] = set()
    for p in sub.problems:
        row = p.item[4:] if p.item.startswith("row ") else ""
        if row.isdigit():
            report.add_problem(names[int(row)], p.reason)
            bad.add(int(df["media_id"].iloc[int(row)]))
        else:
            report.add_problem(p.item, p.reason)
    return bad
