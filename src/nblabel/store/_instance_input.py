"""Instance input as users give it, turned into rows: one instance's geometry arguments, box formats,
relative coordinates.

``add_instance(box=..., polygon=...)`` becomes a row (:func:`geometry_row`); a DataFrame's box
columns in xyxy / xywh / cxcywh become ``x0..y1`` (:func:`normalise_boxes`); relative boxes
become pixels (:func:`relative_to_absolute`). The rows then go through :mod:`._prepare`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ValidationError
from ..geometry import to_xyxy

__all__ = ["BOX_COLUMNS", "check_media_arg", "geometry_row", "normalise_boxes", "relative_to_absolute"]


def check_media_arg(media: Any, where: str = "add_instance") -> None:
    """Refuse a ``media=`` argument that cannot name one media item: it is a media id (an integer), a
    file name, or a media slice / list holding one of those.

    Example:
        >>> check_media_arg(1.0)
        Traceback (most recent call last):
        ...
        nblabel.errors.ValidationError: add_instance: media=1.0 is a float; give a media id as an integer (media=1), a file name, or a media slice
    """
    if isinstance(media, (bool, np.bool_)) or media is None or (
            not isinstance(media, (int, np.integer, str, list, tuple)) and not hasattr(media, "ids")):
        hint = f" (media={int(media)})" if isinstance(media, (float, np.floating)) and float(media).is_integer() \
            else ""
        raise ValidationError(f"{where}: media={media!r} is a {type(media).__name__}; give a media id as an integer"
                              f"{hint}, a file name, or a media slice")


def _numbers(value: Any, n: int, what: str, shape: str) -> np.ndarray:
    """``value`` as exactly ``n`` finite-or-not floats, or a ValidationError naming the argument."""
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(f"{what}={value!r} is not {n} numbers; give {shape}") from None
    if a.size != n:
        raise ValidationError(f"{what}={value!r} has {a.size} value(s), not {n}; give {shape}")
    return a


def geometry_row(*, box: Any = None, polygon: Any = None, keypoints: Any = None, point: Any = None,
                 line: Any = None, tag: bool = False, box_format: str = "xyxy") -> dict[str, Any]:
    """One instance's geometry arguments as a row: kind, x0..y1 and points."""
    given = [k for k, v in (("polygon", polygon), ("keypoints", keypoints), ("point", point), ("line", line))
             if v is not None]
    if tag:
        given.insert(0, "tag")
    if len(given) > 1:
        raise ValidationError(f"give one spatial type per instance, got {given}")
    row: dict[str, Any] = {"x0": np.nan, "y0": np.nan, "x1": np.nan, "y1": np.nan, "points": None}
    if box is not None:
        shape = {"xyxy": "[x0, y0, x1, y1]", "xywh": "[x, y, w, h]", "cxcywh": "[cx, cy, w, h]"}.get(box_format,
                                                                                                  "4 numbers")
        b = to_xyxy(_numbers(box, 4, "box", f"{shape} (box_format={box_format!r})").reshape(1, 4), box_format)[0]
        row.update(x0=b[0], y0=b[1], x1=b[2], y1=b[3])
    if not given:
        if box is None:
            raise ValidationError("an instance needs a geometry: box=, polygon=, keypoints=, point=, line= or tag=True")
        row["kind"] = "box"
        return row
    kind = given[0]
    row["kind"] = kind
    if kind == "point":
        row["points"] = [list(_numbers(point, 2, "point", "[x, y]").reshape(2))]
    elif kind != "tag":
        row["points"] = {"polygon": polygon, "keypoints": keypoints, "line": line}[kind]
        if isinstance(row["points"], np.ndarray):
            row["points"] = row["points"].tolist()
    return row


BOX_COLUMNS = {"xyxy": ("x0", "y0", "x1", "y1"), "xywh": ("x", "y", "w", "h"), "cxcywh": ("cx", "cy", "w", "h")}


def normalise_boxes(df: pd.DataFrame, *, box_format: str = "xyxy") -> pd.DataFrame:
    """Rename box columns of ``box_format`` to absolute-or-relative xyxy ``x0..y1`` (vectorised)."""
    if box_format not in BOX_COLUMNS:
        raise ValidationError(f"box_format {box_format!r} is unknown; use one of {sorted(BOX_COLUMNS)}")
    cols = BOX_COLUMNS[box_format]
    out = df.copy()
    if all(c in df.columns for c in cols):
        xyxy = to_xyxy(df[list(cols)].to_numpy(dtype=float), box_format)
        out = out.drop(columns=[c for c in cols if c not in ("x0", "y0", "x1", "y1")])
        out[["x0", "y0", "x1", "y1"]] = xyxy
    elif "box" in df.columns:
        arr = np.array([np.asarray(b, dtype=float) if b is not None else np.full(4, np.nan) for b in df["box"]])
        out[["x0", "y0", "x1", "y1"]] = to_xyxy(arr.reshape(-1, 4), box_format)
        out = out.drop(columns=["box"])
    elif not ("points" in df.columns or ("kind" in df.columns and (df["kind"] == "tag").all())):
        raise ValidationError(f"box_format={box_format!r} needs columns {list(cols)} (or a 'box' column); "
                              f"the data has {list(df.columns)}")
    return out


def relative_to_absolute(con: Any, frame: pd.DataFrame) -> pd.DataFrame:
    if "points" in frame.columns and frame["points"].notna().any():
        # scaling nested point lists (rings, keypoint triples) silently wrong would store a tiny
        # polygon in the corner of the image: refuse instead
        raise ValidationError("coords='relative' converts box columns only; give polygons, keypoints, points "
                              "and lines in absolute pixels (multiply x by the width and y by the height)")
    sizes = con.execute("SELECT media_id, file_name, width, height FROM media").df()
    key = "media_id" if "media_id" in frame.columns else "file_name"
    s = frame[[key]].merge(sizes.drop_duplicates(key), on=key, how="left")
    w, h = s["width"].to_numpy(float), s["height"].to_numpy(float)
    out = frame.copy()
    for c in ("x0", "x1"):
        out[c] = out[c].to_numpy(float) * w
    for c in ("y0", "y1"):
        out[c] = out[c].to_numpy(float) * h
    return out
