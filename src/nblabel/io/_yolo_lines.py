"""YOLO label lines: class names (list, dict, data.yaml, classes.txt) and the checks of each line.

One ``.txt`` per image, one object per line, coordinates normalised to 0–1 of the image size:

- detect: ``class cx cy w h``
- segment: ``class x1 y1 x2 y2 ...`` (one polygon ring)
- pose: ``class cx cy w h`` then ``K`` keypoints ``x y`` or ``x y v``

:func:`parse_lines` checks every line (column count, numbers, class range, geometry not entirely
outside [0, 1]) and names each bad one in the report as ``file:line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._report import ImportReport
from ..errors import FormatError

__all__ = ["TASKS", "YOLO_TOLERANCE", "infer_task", "parse_lines", "read_lines", "read_names"]

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


def read_lines(files: list[Path]) -> pd.DataFrame:
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


def parse_lines(lines: pd.DataFrame, task: str, nc: int, kpt_shape: list[int] | None,
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


def infer_task(lines: pd.DataFrame, kpt_shape: Any) -> str:
    """The task a data.yaml import reads its lines as: ``"pose"`` when the file gives ``kpt_shape``,
    ``"segment"`` when some line holds a polygon (7 or more values), else ``"detect"``.

    Example:
        >>> lines = pd.DataFrame({"tokens": [["0", "0.5", "0.5", "0.2", "0.2"]]})
        >>> infer_task(lines, None), infer_task(lines, [17, 3])
        ('detect', 'pose')
    """
    if kpt_shape is not None:
        return "pose"
    if len(lines) and int(lines["tokens"].map(len).max()) >= 7:
        return "segment"
    return "detect"
