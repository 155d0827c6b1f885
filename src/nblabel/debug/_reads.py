"""Read ground truth and a run's predictions from the store as evaluation frames.

Two shapes: plain arrays sorted by media (for disagreement ranking, :func:`load_boxes`) and the
COCO-style frames the evaluation engine takes (:func:`gt_eval_frame`, :func:`dt_eval_frame`):
``image_id`` is the media id, ``category_id`` the label id, ``gt_id`` / ``dt_id`` the instance id;
boxes are ``x, y, w, h`` from the stored ``x0..y1``; ``area`` and ``iscrowd`` as stored (a COCO
import keeps COCO's area), the box or polygon area where none was stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ValidationError
from ..geometry import polygons_area
from ..query import MediaSlice
from ..query._filters import boxes_sql, media_sql
from ..store import run_id

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["Boxes", "dt_eval_frame", "gt_eval_frame", "load_boxes", "load_media", "run_id_of"]


def run_id_of(session: Session, run: Any) -> int:
    """The id of a run given by name or :class:`~nblabel.Run`.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m"); run_id_of(p, "m")
        1
    """
    rid = getattr(run, "run_id", None)
    if rid is not None:
        return int(rid)
    if run is None:
        raise ValidationError("give the model run to compare with the ground truth (its name or Run), not None")
    with session.store.read() as con:
        out = run_id(con, run)
    assert out is not None
    return int(out)


def _slice_sql(slice: MediaSlice | None) -> tuple[str | None, list[Any]]:
    if slice is None:
        return None, []
    if not isinstance(slice, MediaSlice):
        raise ValidationError(f"slice must be a media slice (proj.media()...), got {type(slice).__name__}; "
                              "for an instance slice use its .media()")
    return slice.sql()


@dataclass
class Boxes:
    """Instances as arrays sorted by (media_id, instance_id).

    Example:
        >>> Boxes.__name__
        'Boxes'
    """

    id: np.ndarray
    media: np.ndarray
    label: np.ndarray
    box: np.ndarray  # (n, 4) xyxy
    score: np.ndarray
    crowd: np.ndarray

    def __len__(self) -> int:
        return len(self.id)


def load_boxes(session: Session, *, run: Any = None, slice: MediaSlice | None = None,
               complete_stage: str | None = None, min_score: float | None = None) -> Boxes:
    """GT (``run=None``) or a run's predictions of the media in ``slice`` as :class:`Boxes`.

    Example:
        >>> import nblabel as nl
        >>> len(load_boxes(nl.open(":memory:")))
        0
    """
    rid = None if run is None else run_id_of(session, run)
    msql, mparams = _slice_sql(slice)
    sql, params = boxes_sql(msql, mparams, run_id=rid, complete_stage=complete_stage)
    with session.store.read() as con:
        tbl = con.sql(sql, params=params).to_arrow_table()
    cols = {c: tbl.column(c).to_numpy() for c in ("instance_id", "media_id", "label_id", "x0", "y0", "x1", "y1")}
    score = np.asarray(tbl.column("score").to_pandas().to_numpy(dtype=float, na_value=np.nan), dtype=float)
    crowd = np.asarray(tbl.column("iscrowd").to_numpy(zero_copy_only=False), dtype=bool)
    out = Boxes(cols["instance_id"].astype(np.int64), cols["media_id"].astype(np.int64),
                cols["label_id"].astype(np.int64),
                np.stack([cols[c].astype(float) for c in ("x0", "y0", "x1", "y1")], axis=1).reshape(-1, 4),
                score, crowd)
    if min_score is not None and len(out):
        keep = np.nan_to_num(out.score, nan=1.0) >= float(min_score)
        out = Boxes(out.id[keep], out.media[keep], out.label[keep], out.box[keep], out.score[keep], out.crowd[keep])
    return out


def load_media(session: Session, slice: MediaSlice | None = None, *,
               complete_stage: str | None = None) -> pd.DataFrame:
    """``media_id, file_name, width, height`` of the media in ``slice`` (sorted by id).

    Example:
        >>> import nblabel as nl
        >>> load_media(nl.open(":memory:")).columns.tolist()
        ['media_id', 'file_name', 'width', 'height']
    """
    msql, mparams = _slice_sql(slice)
    sql, params = media_sql(msql, mparams, complete_stage=complete_stage)
    with session.store.read() as con:
        return con.execute(sql, params).df()


def _read(session: Session, run_id: int | None, slice: MediaSlice | None, complete_stage: str | None,
          kinds: tuple[str, ...]) -> pd.DataFrame:
    msql, mparams = _slice_sql(slice)
    sql, params = boxes_sql(msql, mparams, run_id=run_id, complete_stage=complete_stage, kinds=kinds,
                            extra_columns=True)
    with session.store.read() as con:
        return con.execute(sql, params).df()


def _loads(v: Any) -> Any:
    if isinstance(v, str):
        return json.loads(v)
    return v


def _coco_field(extra: Any, key: str) -> Any:
    """The COCO annotation's own ``key`` as an import kept it in ``extra["coco"]`` (else ``None``)."""
    ex = _loads(extra) or {}
    coco = ex.get("coco") if isinstance(ex, dict) else None
    return coco.get(key) if isinstance(coco, dict) else None


def _segmentation(kind: str, points: Any, extra: Any) -> Any:
    kept = _coco_field(extra, "segmentation")
    if kept is not None:
        return kept
    pts = _loads(points)
    if kind == "mask":
        return pts
    if kind == "polygon":
        return [np.asarray(r, dtype=float).reshape(-1).tolist() for r in pts]
    return None


def _segmentations(df: pd.DataFrame) -> list[Any]:
    """Segmentations of the rows; a box becomes its rectangle polygon (as ``COCO.loadRes`` does)."""
    segs = [_segmentation(k, p, e) for k, p, e in
            zip(df["kind"].to_list(), df["points"].to_list(), df["extra"].to_list(), strict=True)]
    b = df[["x0", "y0", "x1", "y1"]].to_numpy(float)
    for i in np.flatnonzero(np.array([s is None for s in segs], dtype=bool)):
        x0, y0, x1, y1 = b[i].tolist()
        segs[i] = [[x0, y0, x0, y1, x1, y1, x1, y0]]
    return segs


def _keypoints(kind: str, points: Any, extra: Any) -> Any:
    kept = _coco_field(extra, "keypoints")
    if kept is not None:
        return kept
    if kind != "keypoints":
        return None
    return np.asarray(_loads(points), dtype=float).reshape(-1).tolist()


_KINDS = {"bbox": ("box", "polygon", "mask", "keypoints"), "segm": ("polygon", "mask", "box"),
          "keypoints": ("keypoints",)}


def _base_frame(df: pd.DataFrame, id_col: str) -> pd.DataFrame:
    x0, y0 = df["x0"].to_numpy(float), df["y0"].to_numpy(float)
    return pd.DataFrame({
        id_col: df["instance_id"].to_numpy(np.int64),
        "image_id": df["media_id"].to_numpy(np.int64),
        "category_id": df["label_id"].to_numpy(np.int64),
        "x": x0, "y": y0, "w": df["x1"].to_numpy(float) - x0, "h": df["y1"].to_numpy(float) - y0,
    })


def gt_eval_frame(session: Session, *, iou_type: str = "bbox", slice: MediaSlice | None = None,
                  complete_stage: str | None = "label") -> pd.DataFrame:
    """Ground truth of (completed) media in ``slice`` as the evaluation engine's gt frame.

    Example:
        >>> import nblabel as nl
        >>> gt_eval_frame(nl.open(":memory:")).columns.tolist()[:4]
        ['gt_id', 'image_id', 'category_id', 'x']
    """
    if iou_type not in _KINDS:
        raise ValidationError(f"iou_type must be 'bbox', 'segm' or 'keypoints', got {iou_type!r}")
    df = _read(session, None, slice, complete_stage, _KINDS[iou_type])
    out = _base_frame(df, "gt_id")
    area = df["area"].to_numpy(dtype=float, na_value=np.nan)
    kinds = df["kind"].to_numpy(dtype=object)
    missing = np.isnan(area)
    if missing.any():
        box_area = (out["w"] * out["h"]).to_numpy()
        poly = np.array([polygons_area(_loads(p) or []) if k == "polygon" and m else 0.0
                         for k, p, m in zip(kinds, df["points"].to_list(), missing, strict=True)])
        area = np.where(missing, np.where(kinds == "polygon", poly, box_area), area)
    out["area"] = area
    out["iscrowd"] = df["iscrowd"].fillna(False).astype(bool).to_numpy().astype(np.int64)
    if iou_type == "segm":
        out["segmentation"] = _segmentations(df)
        out = _with_sizes(session, out)
    elif iou_type == "keypoints":
        kps = [_keypoints(k, p, e) for k, p, e in zip(kinds, df["points"].to_list(), df["extra"].to_list(), strict=True)]
        out["keypoints"] = kps
        out["num_keypoints"] = [int((np.asarray(k, dtype=float).reshape(-1, 3)[:, 2] > 0).sum()) if k else 0
                                for k in kps]
    return out


def dt_eval_frame(session: Session, run: Any, *, iou_type: str = "bbox", slice: MediaSlice | None = None,
                  complete_stage: str | None = "label") -> pd.DataFrame:
    """A run's predictions on (completed) media in ``slice`` as the evaluation engine's dt frame.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> dt_eval_frame(p, "m").columns.tolist()[-1]
        'score'
    """
    if iou_type not in _KINDS:
        raise ValidationError(f"iou_type must be 'bbox', 'segm' or 'keypoints', got {iou_type!r}")
    df = _read(session, run_id_of(session, run), slice, complete_stage, _KINDS[iou_type])
    out = _base_frame(df, "dt_id")
    out["score"] = df["score"].to_numpy(dtype=float, na_value=np.nan)
    kinds = df["kind"].to_numpy(dtype=object)
    if iou_type == "segm":
        out["segmentation"] = _segmentations(df)
        # COCO.loadRes gives a box result the box area even when evaluating masks
        is_box = (kinds == "box") & ~np.array([isinstance(_loads(e), dict) and "segmentation" in
                                               (_loads(e) or {}).get("coco", {}) for e in df["extra"].to_list()],
                                              dtype=bool)
        out["area"] = np.where(is_box, out["w"] * out["h"], np.nan)
        out = _with_sizes(session, out)
    elif iou_type == "keypoints":
        out["keypoints"] = [_keypoints(k, p, e) for k, p, e in
                            zip(kinds, df["points"].to_list(), df["extra"].to_list(), strict=True)]
    return out


def _with_sizes(session: Session, frame: pd.DataFrame) -> pd.DataFrame:
    sizes = load_media(session)[["media_id", "height", "width"]].rename(columns={"media_id": "image_id"})
    return frame.merge(sizes, on="image_id", how="left")


# -- evaluation through the store ---------------------------------------------------------------
