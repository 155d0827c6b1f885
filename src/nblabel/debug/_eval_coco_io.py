"""COCO json -> the DataFrames of :func:`nblabel.debug._cocoeval.evaluate_frames`.

:func:`gt_from_coco` reads a dataset dict, :func:`dt_from_coco_results` a results list normalised
exactly as pycocotools' ``COCO.loadRes`` does it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nblabel.debug._eval_prepare import keypoint_array
from nblabel.debug._eval_segm import mask_area, rle_box, segm_rles
from nblabel.errors import FormatError

__all__ = ["dt_from_coco_results", "gt_from_coco"]


def gt_from_coco(dataset: Mapping[str, Any], *, iou_type: str = "bbox") -> pd.DataFrame:
    """Ground-truth frame from a COCO dataset dict (``annotations`` in file order).

    The ``ignore`` field is dropped, as pycocotools overwrites it with ``iscrowd``. For ``segm``
    the image ``height``/``width`` are joined as columns (needed to rasterise polygons).

    Example:
        >>> ds = {"images": [{"id": 1, "height": 10, "width": 10}], "annotations": [
        ...     {"id": 5, "image_id": 1, "category_id": 2, "bbox": [0, 0, 4, 4], "area": 16,
        ...      "iscrowd": 0}], "categories": [{"id": 2}]}
        >>> g = gt_from_coco(ds)
        >>> g.gt_id.tolist(), g.w.tolist(), g.area.tolist()
        ([5], [4.0], [16.0])
    """
    anns = list(dataset.get("annotations", []))
    try:
        boxes = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(len(anns), 4)
        frame = pd.DataFrame(
            {
                "gt_id": [a["id"] for a in anns],
                "image_id": [a["image_id"] for a in anns],
                "category_id": [a["category_id"] for a in anns],
                "x": boxes[:, 0],
                "y": boxes[:, 1],
                "w": boxes[:, 2],
                "h": boxes[:, 3],
                "area": np.array([a["area"] for a in anns], dtype=np.float64),
                "iscrowd": np.array([int(a.get("iscrowd", 0)) for a in anns], dtype=np.int64),
            }
        )
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(f"COCO annotations need id, image_id, category_id, bbox, area: {e}") from e
    if iou_type == "segm":
        frame["segmentation"] = [a.get("segmentation") for a in anns]
        sizes = {im["id"]: (im.get("height"), im.get("width")) for im in dataset.get("images", [])}
        frame["height"] = [sizes.get(a["image_id"], (None, None))[0] for a in anns]
        frame["width"] = [sizes.get(a["image_id"], (None, None))[1] for a in anns]
    if iou_type == "keypoints":
        frame["keypoints"] = [a.get("keypoints", []) for a in anns]
        frame["num_keypoints"] = [a.get("num_keypoints", 0) for a in anns]
    return frame


def dt_from_coco_results(
    results: Sequence[Mapping[str, Any]],
    *,
    image_sizes: Mapping[Any, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Detection frame from a COCO results list, normalised exactly as ``COCO.loadRes`` does.

    Like ``loadRes``, the *first* result decides the kind: with a non-empty ``bbox`` every result
    gets ``area = w*h`` (and a box polygon as ``segmentation`` when it has none); else with a
    ``segmentation`` (RLE) ``area`` is the mask area; else with ``keypoints`` the box and area come
    from the keypoints' extent (all keypoints, visible or not). Ids are ``1..N`` in list order.

    Example:
        >>> res = [{"image_id": 1, "category_id": 2, "bbox": [0, 0, 2, 3], "score": 0.5}]
        >>> d = dt_from_coco_results(res)
        >>> d.dt_id.tolist(), d.area.tolist(), d.segmentation.tolist()
        ([1], [6.0], [[[0.0, 0.0, 0.0, 3.0, 2.0, 3.0, 2.0, 0.0]]])
    """
    anns = list(results)
    n = len(anns)
    if n and not isinstance(anns[0], Mapping):
        raise FormatError("results must be a list of dicts (COCO results format)")
    cols: dict[str, Any] = {
        "dt_id": np.arange(1, n + 1, dtype=np.int64),
        "image_id": [a["image_id"] for a in anns],
        "category_id": [a["category_id"] for a in anns],
        "score": np.array([a.get("score", np.nan) for a in anns], dtype=np.float64),
    }
    first = anns[0] if n else {}
    if "bbox" in first and first["bbox"] != []:
        boxes = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(n, 4)
        segs = []
        for a, b in zip(anns, boxes.tolist(), strict=False):
            if "segmentation" in a:
                segs.append(a["segmentation"])
            else:
                x1, x2, y1, y2 = b[0], b[0] + b[2], b[1], b[1] + b[3]
                segs.append([[x1, y1, x1, y2, x2, y2, x2, y1]])
        area = boxes[:, 2] * boxes[:, 3]
        cols["segmentation"] = segs
        if "keypoints" in first:
            cols["keypoints"] = [a.get("keypoints") for a in anns]
    elif "segmentation" in first:
        segs = [a["segmentation"] for a in anns]
        rles = segm_rles(
            pd.DataFrame({"segmentation": segs}),
            np.arange(n),
            np.array([a["image_id"] for a in anns], dtype=object),
            image_sizes,
            "results",
        )
        area = mask_area(rles)
        boxes = np.array(
            [a["bbox"] if "bbox" in a else rle_box(r) for a, r in zip(anns, rles, strict=False)],
            dtype=np.float64,
        ).reshape(n, 4)
        cols["segmentation"] = segs
    elif "keypoints" in first:
        kp = keypoint_array([a["keypoints"] for a in anns], "results")
        x, y = kp[:, :, 0], kp[:, :, 1]
        x0, x1, y0, y1 = x.min(1), x.max(1), y.min(1), y.max(1)
        area = (x1 - x0) * (y1 - y0)
        boxes = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)
        cols["keypoints"] = [a["keypoints"] for a in anns]
    elif n:
        raise FormatError("results need a 'bbox', 'segmentation' or 'keypoints' field (COCO results)")
    else:
        boxes = np.zeros((0, 4))
        area = np.zeros(0)
    frame = pd.DataFrame(cols)
    frame["x"], frame["y"], frame["w"], frame["h"] = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    frame["area"] = area
    frame["iscrowd"] = 0
    order = ["dt_id", "image_id", "category_id", "x", "y", "w", "h", "score", "area", "iscrowd"]
    return frame[order + [c for c in frame.columns if c not in order]]
