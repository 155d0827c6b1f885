"""A COCO snapshot (``proj.snapshot(name)``) read back as a training item list.

The snapshot's JSON fixes the items and their annotations; only where each image file lives (its
uri and EXIF orientation: raw media never change) comes from the project, matched by
``file_name``. Items are in media id order, as ``training_items`` gives them without a snapshot.
Labels are the file's category ids and the classes its categories (a COCO file does not keep label
ids); instance ids are its annotation ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import FormatError, MediaError
from ._coco import read_json
from ._training import INSTANCE_COLUMNS, MEDIA_COLUMNS, TrainingItems, keypoints_count

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["read_coco_snapshot"]


def _pairs(flat: Any, n: int) -> list[list[float]]:
    a = np.asarray(flat, dtype=np.float64)
    return a[: a.size // n * n].reshape(-1, n).tolist()


def _row(ann: dict[str, Any], media_id: int) -> dict[str, Any]:
    """One annotation as an instance row (kind from what it holds, as the COCO importer decides)."""
    x, y, w, h = (float(v) for v in ann["bbox"])
    seg = ann.get("segmentation")
    kps = ann.get("keypoints")
    extra: dict[str, Any] | None = None
    points: Any
    if kps:
        kind, points = "keypoints", _pairs(kps, 3)
        if seg:
            extra = {"segmentation": seg}
    elif isinstance(seg, dict):
        kind, points = "mask", seg
    elif isinstance(seg, list) and seg:
        kind, points = "polygon", [_pairs(ring, 2) for ring in seg]
    else:
        kind, points = "box", None
    return {"instance_id": int(ann["id"]), "media_id": media_id, "label_id": int(ann["category_id"]), "kind": kind,
            "x0": x, "y0": y, "x1": x + w, "y1": y + h, "points": points, "attributes": ann.get("attributes"),
            "score": None, "area": float(ann["area"]) if "area" in ann else None,
            "iscrowd": bool(ann.get("iscrowd", 0)), "extra": extra}


def read_coco_snapshot(session: Session, path: Path) -> TrainingItems:
    """The items of the COCO snapshot file ``path`` (see the module docstring)."""
    doc = read_json(path, "COCO snapshot")
    try:
        images, anns, cats = doc["images"], doc["annotations"], doc["categories"]
        names = [str(im["file_name"]) for im in images]
    except (KeyError, TypeError) as e:
        raise FormatError(f"COCO snapshot {str(path)!r} lacks {e} in its images/annotations/categories; restore "
                          "it from a backup or make a new snapshot") from None
    with session.store.read() as con:
        found = con.execute("SELECT media_id, file_name, uri, orientation FROM media "
                            "WHERE list_contains(?::VARCHAR[], file_name)", [names]).df()
    by_name = found.set_index("file_name")
    missing = sorted(set(names) - set(by_name.index))
    if missing:
        raise MediaError(f"COCO snapshot {str(path)!r} lists images the project no longer has: {missing[:5]}; "
                         "add them back (same file names) or make a new snapshot")
    media = pd.DataFrame({"media_id": [int(by_name.loc[n, "media_id"]) for n in names], "file_name": names,
                          "uri": [str(by_name.loc[n, "uri"]) for n in names],
                          "orientation": [int(by_name.loc[n, "orientation"] or 1) for n in names],
                          "width": [int(im["width"]) for im in images], "height": [int(im["height"]) for im in images]})
    media_of = {im["id"]: m for im, m in zip(images, media["media_id"], strict=True)}
    rows = []
    for ann in anns:
        try:
            rows.append(_row(ann, int(media_of[ann["image_id"]])))
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(f"COCO snapshot {str(path)!r}: annotation {ann.get('id') if isinstance(ann, dict) else ann!r} "
                              f"cannot be read ({e!r}); restore the file from a backup") from None
    inst = pd.DataFrame(rows, columns=INSTANCE_COLUMNS)
    for c in ("points", "attributes", "extra", "score", "area"):
        inst[c] = inst[c].astype(object)
    media = media.sort_values("media_id", kind="stable")[MEDIA_COLUMNS].reset_index(drop=True)
    classes = {int(c["id"]): str(c["name"]) for c in sorted(cats, key=lambda c: int(c["id"]))}
    return TrainingItems(media, inst, classes, keypoints_count(inst), False)
