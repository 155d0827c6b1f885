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

if TYPE_CHECKING:
    from ..project import Project

__all__ = ["Boxes", "dt_eval_frame", "gt_eval_frame", "load_boxes", "load_media", "run_id_of"]


def run_id_of(project: Project, run: Any) -> int:
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
    with project.store.read() as con:
        out = project._run_id(con, run)  # type: ignore[attr-defined]
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


def load_boxes(project: Project, *, run: Any = None, slice: MediaSlice | None = None,
               complete_stage: str | None = None, min_score: float | None = None) -> Boxes:
    """GT (``run=None``) or a run's predictions of the media in ``slice`` as :class:`Boxes`.

    Example:
        >>> import nblabel as nl
        >>> len(load_boxes(nl.open(":memory:")))
        0
    """
    rid = None if run is None else run_id_of(project, run)
    msql, mparams = _slice_sql(slice)
    sql, params = boxes_sql(msql, mparams, run_id=rid, complete_stage=complete_stage)
    with project.store.read() as con:
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


def load_media(project: Project, slice: MediaSlice | None = None, *,
               complete_stage: str | None = None) -> pd.DataFrame:
    """``media_id, file_name, width, height`` of the media in ``slice`` (sorted by id).

    Example:
        >>> import nblabel as nl
        >>> load_media(nl.open(":memory:")).columns.tolist()
        ['media_id', 'file_name', 'width', 'height']
    """
    msql, mparams = _slice_sql(slice)
    sql, params = media_sql(msql, mparams, complete_stage=complete_stage)
    with project.store.read() as con:
        return con.execute(sql, params).df()


def _read(project: Project, run_id: int | None, slice: MediaSlice | None, complete_stage: str | None,
          kinds: tuple[str, ...]) -> pd.DataFrame:
    msql, mparams = _slice_sql(slice)
    sql, params = boxes_sql(msql, mparams, run_id=run_id, complete_stage=complete_stage, kinds=kinds,
                            extra_columns=True)
    with project.store.read() as con:
        return con.execute(sql, params).df()


def _loads(v: Any) -> Any:
    if isinstance(v, str):
        return json.loads(v)
    return v


def _segmentation(kind: str, points: Any, extra: Any) -> Any:
    ex = _loads(extra) or {}
    coco = ex.get("coco") if isinstance(ex, dict) else None
    if isinstance(coco, dict) and coco.get("segmentation") is not None:
        return coco["segmentation"]
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
    ex = _loads(extra) or {}
    coco = ex.get("coco") if isinstance(ex, dict) else None
    if isinstance(coco, dict) and coco.get("keypoints") is not None:
        return coco["keypoints"]
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


def gt_eval_frame(project: Project, *, iou_type: str = "bbox", slice: MediaSlice | None = None,
                  complete_stage: str | None = "label") -> pd.DataFrame:
    """Ground truth of (completed) media in ``slice`` as the evaluation engine's gt frame.

    Example:
        >>> import nblabel as nl
        >>> gt_eval_frame(nl.open(":memory:")).columns.tolist()[:4]
        ['gt_id', 'image_id', 'category_id', 'x']
    """
    if iou_type not in _KINDS:
        raise ValidationError(f"iou_type must be 'bbox', 'segm' or 'keypoints', got {iou_type!r}")
    df = _read(project, None, slice, complete_stage, _KINDS[iou_type])
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
        out = _with_sizes(project, out)
    elif iou_type == "keypoints":
        kps = [_keypoints(k, p, e) for k, p, e in zip(kinds, df["points"].to_list(), df["extra"].to_list(), strict=True)]
        out["keypoints"] = kps
        out["num_keypoints"] = [int((np.asarray(k, dtype=float).reshape(-1, 3)[:, 2] > 0).sum()) if k else 0
                                for k in kps]
    return out


def dt_eval_frame(project: Project, run: Any, *, iou_type: str = "bbox", slice: MediaSlice | None = None,
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
    df = _read(project, run_id_of(project, run), slice, complete_stage, _KINDS[iou_type])
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
        out = _with_sizes(project, out)
    elif iou_type == "keypoints":
        out["keypoints"] = [_keypoints(k, p, e) for k, p, e in
                            zip(kinds, df["points"].to_list(), df["extra"].to_list(), strict=True)]
    return out


def _with_sizes(project: Project, frame: pd.DataFrame) -> pd.DataFrame:
    sizes = load_media(project)[["media_id", "height", "width"]].rename(columns={"media_id": "image_id"})
    return frame.merge(sizes, on="image_id", how="left")


# -- evaluation through the store ---------------------------------------------------------------
def ap_from_matches(matches: pd.DataFrame, by: str | list[str] | None = None, *,
                    rec_thresholds: np.ndarray | None = None) -> pd.DataFrame:
    """COCO-style AP per group from a matches table (one IoU threshold or several, averaged).

    Per (group, IoU threshold, category): detections sorted by score, cumulative TP/FP, precision
    made monotone from the right, read at 101 recall points; then the mean over categories with
    ground truth and over thresholds. ``ignored`` rows are left out, ``fn`` rows count ground truth.

    Example:
        >>> m = pd.DataFrame({"iou_threshold": .5, "category_id": 1, "g": ["a", "a", "b"],
        ...                   "status": ["tp", "fn", "fp"], "score": [.9, np.nan, .8]})
        >>> ap_from_matches(m, "g").round(4)[["g", "AP", "n_gt"]].values.tolist()
        [['a', 0.505, 2], ['b', -1.0, 0]]
    """
    rt = np.linspace(0.0, 1.0, 101) if rec_thresholds is None else np.asarray(rec_thresholds)
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    m = matches[matches["status"] != "ignored"]
    st = m["status"].astype(str).to_numpy()
    m = m.assign(_tp=(st == "tp").astype(np.int64), _fp=(st == "fp").astype(np.int64),
                 _gt=((st == "tp") | (st == "fn")).astype(np.int64), _one=1)
    cat = "label_id" if "label_id" in m.columns else "category_id"
    gkeys = [*keys, "iou_threshold", cat]
    rows = []
    for key, grp in m.groupby(gkeys, sort=True, dropna=False):
        n_gt = int(grp["_gt"].sum())
        det = grp[grp["status"].astype(str) != "fn"].sort_values("score", ascending=False, kind="mergesort")
        if n_gt == 0:
            ap = -1.0
        else:
            tp = np.cumsum(det["_tp"].to_numpy())
            fp = np.cumsum(det["_fp"].to_numpy())
            rc = tp / n_gt
            pr = tp / np.maximum(tp + fp, np.spacing(1))
            pr = np.maximum.accumulate(pr[::-1])[::-1] if len(pr) else pr
            idx = np.searchsorted(rc, rt, side="left")
            q = np.where(idx < len(pr), pr[np.minimum(idx, max(len(pr) - 1, 0))] if len(pr) else 0.0, 0.0)
            ap = float(np.mean(q))
        rows.append((*(key if isinstance(key, tuple) else (key,)), ap, n_gt, len(det)))
    per = pd.DataFrame(rows, columns=[*gkeys, "AP", "n_gt", "n_dt"])
    if per.empty:
        return pd.DataFrame(columns=[*keys, "AP", "n_gt", "n_dt"])
    valid = per[per["AP"] > -1]
    agg_keys = keys or ["_all"]
    if not keys:
        per = per.assign(_all=0)
        valid = valid.assign(_all=0)
    ap = valid.groupby(agg_keys, dropna=False)["AP"].mean()
    n = per[per["iou_threshold"] == per["iou_threshold"].min()].groupby(agg_keys, dropna=False)[
        ["n_gt", "n_dt"]].sum()
    out = n.join(ap, how="left").fillna({"AP": -1.0}).reset_index()
    out = out[[*agg_keys, "AP", "n_gt", "n_dt"]]
    return out.drop(columns=["_all"]) if not keys else out


class Evaluation:
    """A run evaluated against the ground truth of the store (see :meth:`nblabel.Project.evaluate`).

    ``stats`` / ``precision`` / ``recall`` are pycocotools' numbers; ``per_class`` and ``matches``
    carry label and file names; ``ap(by=...)`` is AP for any grouping of the matches; the plot
    methods return PIL images (and the data behind them).

    Example:
        >>> Evaluation.__name__
        'Evaluation'
    """

    def __init__(self, project: Project, run: Any, result: Any, *, iou_type: str, slice: MediaSlice | None,
                 complete_only: bool, stage: str) -> None:
        self.project = project
        self.run = run
        self.result = result
        self.iou_type = iou_type
        self.slice = slice
        self.complete_only = complete_only
        self.stage = stage
        self._to_media: dict[int, int] | None = None

    # pycocotools' arrays, as they are
    @property
    def stats(self) -> np.ndarray:
        """The 12 (keypoints: 10) numbers pycocotools' ``summarize()`` prints."""
        return self.result.stats

    @property
    def precision(self) -> np.ndarray:
        """``[T, R, K, A, M]`` precision (pycocotools' ``eval['precision']``)."""
        return self.result.precision

    @property
    def recall(self) -> np.ndarray:
        """``[T, K, A, M]`` recall (pycocotools' ``eval['recall']``)."""
        return self.result.recall

    @property
    def params(self) -> Any:
        """The parameters the evaluation ran with."""
        return self.result.params

    def summary(self) -> str:
        """The lines pycocotools' ``summarize()`` prints.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.evaluate("m").summary().splitlines()[0][:19]
            ' Average Precision '
        """
        return self.result.summary()

    def __repr__(self) -> str:
        name = getattr(self.run, "name", self.run)
        return f"<Evaluation of {name!r} ({self.iou_type}): AP {self.stats[0]:.3f}>"

    def _names(self) -> dict[int, str]:
        return {lab.id: lab.name for lab in self.project.schema.state().labels.values()}

    @property
    def per_class(self) -> pd.DataFrame:
        """Per label: AP, AP50, AP75, AR at the largest max_dets, ground truths and detections.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> "label" in p.evaluate("m").per_class.columns
            True
        """
        pc = self.result.per_class.copy()
        if pc.empty:
            pc = pd.DataFrame(columns=["category_id", "AP", "AP50", "AP75", f"AR{self.params.max_dets[-1]}",
                                       "n_gt", "n_dt"])
        pc.insert(0, "label", pc["category_id"].map(self._names()) if len(pc) else [])
        return pc.rename(columns={"category_id": "label_id"})

    @property
    def matches(self) -> pd.DataFrame:
        """Every detection's outcome per IoU threshold (tp / fp / ignored) plus the ground truths
        left unmatched (fn), with ``media_id``, ``file_name``, ``label``, ``pred_id``, ``gt_id``.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.evaluate("m").matches.columns.tolist()[:4]
            ['pred_id', 'media_id', 'file_name', 'label']
        """
        cached = getattr(self, "_matches", None)
        if cached is not None:
            return cached
        m = self.result.matches.rename(columns={"dt_id": "pred_id", "image_id": "media_id",
                                                "category_id": "label_id"})
        if self._to_media is not None:
            m["media_id"] = m["media_id"].map(self._to_media)
        m["media_id"] = m["media_id"].astype(np.int64)
        media = load_media(self.project)
        names = pd.Series(media["file_name"].to_numpy(), index=media["media_id"].to_numpy())
        m.insert(2, "file_name", names.reindex(m["media_id"].to_numpy(dtype=np.int64)).to_numpy())
        lab = self._names()
        m.insert(3, "label", m["label_id"].map(lab))
        m["iou_threshold"] = m["iou_threshold"].round(2)
        self._matches = m
        return m

    def ap(self, by: str | list[str] | None = None, *, iou: float | None = None,
           meta: str | None = None) -> pd.DataFrame:
        """AP from the matches table grouped by any column(s) (``label``, ``media_id``, ...) or a
        media metadata key (``meta="camera"``); ``iou`` picks one threshold (default: .50:.95).

        With ``by=None`` and the default parameters this is pycocotools' AP.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.evaluate("m").ap(by="label", iou=0.5).columns.tolist()
            ['label', 'AP', 'n_gt', 'n_dt']
        """
        m = self.matches
        if iou is not None:
            m = m[np.isclose(m["iou_threshold"].to_numpy(float), iou)]
            if m.empty and len(self.matches):
                raise ValidationError(f"iou={iou} is not one of the evaluated thresholds "
                                      f"{sorted(set(self.matches['iou_threshold']))}")
        keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
        if meta is not None:
            info = self.project.media().df()[["media_id", "meta"]]
            vals = info["meta"].map(lambda s: (json.loads(s) if isinstance(s, str) else (s or {})).get(meta))
            m = m.merge(pd.DataFrame({"media_id": info["media_id"], meta: vals}), on="media_id", how="left")
            keys.append(meta)
        missing = [k for k in keys if k not in m.columns]
        if missing:
            raise ValidationError(f"cannot group matches by {missing}; columns are {list(m.columns)}")
        return ap_from_matches(m, keys or None, rec_thresholds=self.params.rec_thresholds)

    def sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run SQL over the matches (table ``matches``) next to the project's tables.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.evaluate("m").sql("SELECT count(*) AS n FROM matches")["n"].tolist()
            [0]
        """
        m = self.matches.assign(status=self.matches["status"].astype(str))
        with self.project.store.read() as con:
            con.register("matches", m)
            try:
                return con.execute(query, params or []).df()
            finally:
                con.unregister("matches")

    # plots (PIL images; see _plots.py)
    def pr_curve(self, iou: float = 0.5, *, labels: list[str] | None = None, size: tuple[int, int] = (640, 420)) -> Any:
        """Precision-recall curves at ``iou`` (mean over labels, and the given labels) as a PIL image.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.evaluate("m").pr_curve().size
            (640, 420)
        """
        from ._plots import pr_curve

        return pr_curve(self, iou=iou, labels=labels, size=size)

    def pr_table(self, iou: float = 0.5) -> pd.DataFrame:
        """The data of :meth:`pr_curve`: precision at each recall point, per label and the mean.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.evaluate("m").pr_table().columns.tolist()[:2]
            ['recall', 'mean']
        """
        from ._plots import pr_table

        return pr_table(self, iou=iou)

    def confusion_matrix(self, iou: float = 0.5, *, min_score: float = 0.25, normalize: bool = False) -> Any:
        """Confusion matrix with a background row and column (ground truth rows, predictions columns).

        Returns a :class:`~nblabel.debug._plots.Figure`: ``.data`` (DataFrame), ``.image`` (PIL),
        shown as the picture in a notebook.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.evaluate("m").confusion_matrix().data.shape
            (1, 1)
        """
        from ._plots import confusion_matrix

        return confusion_matrix(self, iou=iou, min_score=min_score, normalize=normalize)

    def iou_histogram(self, *, bins: int = 20, min_score: float = 0.0) -> Any:
        """Histogram of each detection's best IoU with a same-label ground truth, as a Figure.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> len(p.evaluate("m").iou_histogram().data)
            20
        """
        from ._plots import iou_histogram

        return iou_histogram(self, bins=bins, min_score=min_score)


def evaluate_project(project: Project, run: Any, *, iou_type: str = "bbox", slice: MediaSlice | None = None,
                     complete_only: bool = True, stage: str = "label", **params: Any) -> Evaluation:
    """Build the frames from the store and run the COCO engine (see :meth:`nblabel.Project.evaluate`).

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> evaluate_project(p, "m").stats.shape
        (12,)
    """
    from ._cocoeval import evaluate_frames

    cstage = stage if complete_only else None
    gt = gt_eval_frame(project, iou_type=iou_type, slice=slice, complete_stage=cstage)
    dt = dt_eval_frame(project, run, iou_type=iou_type, slice=slice, complete_stage=cstage)
    media = load_media(project, slice, complete_stage=cstage)
    labels = sorted(lab.id for lab in project.schema.state().labels.values())
    image_ids = media["media_id"].to_numpy(np.int64)
    to_media = None
    coco = _coco_image_ids(project, image_ids)
    if coco is not None:
        # COCO-imported media: evaluate under the COCO image ids, so that images sort (and score
        # ties across images break) exactly as in pycocotools
        fwd = dict(zip(image_ids.tolist(), coco.tolist(), strict=True))
        gt["image_id"] = gt["image_id"].map(fwd).astype(np.int64)
        dt["image_id"] = dt["image_id"].map(fwd).astype(np.int64)
        to_media = {v: k for k, v in fwd.items()}
        image_ids = coco
    params.setdefault("images", image_ids.tolist())
    params.setdefault("categories", labels)
    if iou_type == "keypoints" and params.get("sigmas") is None:
        sig = _template_sigmas(project, gt)
        if sig is not None:
            params["sigmas"] = sig
    result = evaluate_frames(gt, dt, iou_type=iou_type, **params)
    ev = Evaluation(project, run, result, iou_type=iou_type, slice=slice, complete_only=complete_only,
                    stage=stage)
    ev._to_media = to_media
    return ev


def _template_sigmas(project: Project, gt: pd.DataFrame) -> list[float] | None:
    """The OKS sigmas of the keypoint template of the labels in ``gt`` (None: use COCO's)."""
    state = project.schema.state()
    sig = set()
    for lid in sorted(set(gt["category_id"].tolist())):
        tpl = state.template_for(int(lid))
        if tpl is not None:
            if tpl.sigmas is None:
                if len(tpl.points) != 17:
                    raise ValidationError(
                        f"keypoint template of {state.labels[int(lid)].name!r} has {len(tpl.points)} points and no "
                        "sigmas; set them with proj.schema.add_keypoints(..., sigmas=[...]) or pass sigmas=")
                continue
            sig.add(tuple(tpl.sigmas))
    if len(sig) > 1:
        raise ValidationError("the labels evaluated have keypoint templates with different sigmas; "
                              "evaluate one label at a time (slice=...) or pass sigmas=")
    return list(next(iter(sig))) if sig else None


def _coco_image_ids(project: Project, media_ids: np.ndarray) -> np.ndarray | None:
    """The COCO image ids of these media when every one has a distinct ``meta.coco_id``, else None."""
    if not len(media_ids):
        return None
    with project.store.read() as con:
        df = con.execute("SELECT media_id, TRY_CAST(json_extract_string(meta, '$.coco_id') AS BIGINT) AS cid "
                         "FROM media WHERE media_id IN (SELECT unnest(?))", [media_ids.tolist()]).df()
    cid = df.set_index("media_id")["cid"].reindex(media_ids)
    if cid.isna().any() or cid.duplicated().any():
        return None
    return cid.to_numpy(np.int64)


def evaluate_coco(gt_json: str | Any, results_json: str | Any, *, iou_type: str = "bbox", **params: Any) -> Any:
    """Evaluate a COCO results file against a COCO ground-truth file, like pycocotools, no project needed.

    ``gt_json`` / ``results_json`` are paths or the already loaded dict / list. Images and
    categories are those of the ground-truth file (as ``COCO(gt).getImgIds()`` / ``getCatIds()``).

    Returns:
        The engine's result: ``.stats``, ``.per_class``, ``.matches``, ``.summary()``.

    Example:
        >>> gt = {"images": [{"id": 1, "width": 50, "height": 50}], "categories": [{"id": 1}],
        ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10],
        ...                        "area": 100, "iscrowd": 0}]}
        >>> res = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9}]
        >>> round(float(evaluate_coco(gt, res).stats[0]), 6)
        1.0
    """
    from pathlib import Path

    from ._cocoeval import dt_from_coco_results, evaluate_frames, gt_from_coco

    def load(x: Any) -> Any:
        return json.loads(Path(x).read_text()) if isinstance(x, (str, Path)) else x

    gt, res = load(gt_json), load(results_json)
    if isinstance(res, dict) and "annotations" in res:
        res = res["annotations"]
    g = gt_from_coco(gt, iou_type=iou_type)
    d = dt_from_coco_results(res, image_sizes={im["id"]: (im["height"], im["width"]) for im in gt["images"]}
                             if iou_type == "segm" else None)
    params.setdefault("images", sorted(im["id"] for im in gt["images"]))
    params.setdefault("categories", sorted(c["id"] for c in gt["categories"]))
    return evaluate_frames(g, d, iou_type=iou_type, **params)
