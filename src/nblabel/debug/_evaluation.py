"""Evaluating a run against the store's ground truth: the :class:`Evaluation` result, ``evaluate_project``,
``evaluate_coco`` (two COCO files) and ``ap_from_matches`` (AP of any grouping of the matches).

The frames come from :mod:`._reads`; the engine is :mod:`._cocoeval` (equal to pycocotools).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ValidationError
from ..query import MediaSlice
from ._reads import dt_eval_frame, gt_eval_frame, load_media

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..store import Session

__all__ = ["Evaluation", "ap_from_matches", "evaluate_coco", "evaluate_project"]


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
    methods return matplotlib figures, each next to a ``*_table`` method with the data it draws.

    Example:
        >>> Evaluation.__name__
        'Evaluation'
    """

    def __init__(self, session: Session, run: Any, result: Any, *, iou_type: str, slice: MediaSlice | None,
                 complete_only: bool, stage: str) -> None:
        self.session = session
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
        return {lab.id: lab.name for lab in self.session.schema_state().labels.values()}

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
        media = load_media(self.session)
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
            info = MediaSlice(self.session).df()[["media_id", "meta"]]
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
        with self.session.store.read() as con:
            con.register("matches", m)
            try:
                return con.execute(query, params or []).df()
            finally:
                con.unregister("matches")

    # plots (matplotlib figures, see _plots.py) and the tables they draw (_plot_tables.py)
    def pr_curve(self, iou: float = 0.5, *, labels: list[str] | str | None = None, ax: Axes | None = None) -> Figure:
        """Precision-recall curves at ``iou`` (the mean over labels, and ``labels``) as a matplotlib
        Figure; with ``ax`` it draws on those axes and returns their figure. Data: :meth:`pr_table`.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> type(p.evaluate("m").pr_curve()).__mro__[1].__name__
            'Figure'
        """
        from ._plots import pr_curve

        return pr_curve(self, iou=iou, labels=labels, ax=ax)

    def pr_table(self, iou: float = 0.5) -> pd.DataFrame:
        """The data of :meth:`pr_curve`: precision at each recall point, per label and the mean.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.evaluate("m").pr_table().columns.tolist()[:2]
            ['recall', 'mean']
        """
        from ._plot_tables import pr_table

        return pr_table(self, iou=iou)

    def confusion_matrix(self, iou: float = 0.5, *, min_score: float = 0.25, normalize: bool = False,
                         max_labels: int = 30, ax: Axes | None = None) -> Figure:
        """The confusion matrix (ground truth rows, prediction columns, a background row and column)
        as a matplotlib Figure: counts (``normalize``: row fractions) in the cells, a colour bar, the
        ``max_labels`` most frequent labels. Data: :meth:`confusion_table`.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> len(p.evaluate("m").confusion_matrix().axes)  # the matrix and its colour bar
            2
        """
        from ._plots import confusion_matrix

        return confusion_matrix(self, iou=iou, min_score=min_score, normalize=normalize,
                                max_labels=max_labels, ax=ax)

    def confusion_table(self, iou: float = 0.5, *, min_score: float = 0.25, normalize: bool = False) -> pd.DataFrame:
        """The data of :meth:`confusion_matrix` for every label: a DataFrame of counts (or row fractions).

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> p.evaluate("m").confusion_table().shape
            (1, 1)
        """
        from ._plot_tables import confusion_table

        return confusion_table(self, iou=iou, min_score=min_score, normalize=normalize)

    def iou_histogram(self, *, bins: int = 20, min_score: float = 0.0, ax: Axes | None = None) -> Figure:
        """Histogram of each detection's IoU with its ground truth (true positives stacked under the
        rest) as a matplotlib Figure. Data: :meth:`iou_table`.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> len(p.evaluate("m").iou_histogram(bins=5).axes[0].patches)  # true positives, the rest
            10
        """
        from ._plots import iou_histogram

        return iou_histogram(self, bins=bins, min_score=min_score, ax=ax)

    def iou_table(self, *, bins: int = 20, min_score: float = 0.0) -> pd.DataFrame:
        """The data of :meth:`iou_histogram`: per bin, the detections and the true positives among them.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m")
            >>> len(p.evaluate("m").iou_table())
            20
        """
        from ._plot_tables import iou_table

        return iou_table(self, bins=bins, min_score=min_score)


def evaluate_project(project: Any, run: Any, *, iou_type: str = "bbox", slice: MediaSlice | None = None,
                     complete_only: bool = True, stage: str = "label", **params: Any) -> Evaluation:
    """Build the frames from the store and run the COCO engine (see :meth:`nblabel.Project.evaluate`).

    ``project`` is a :class:`~nblabel.Project` or the :class:`~nblabel.store.Session` it holds.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("m")
        >>> evaluate_project(p, "m").stats.shape
        (12,)
    """
    from ._cocoeval import evaluate_frames

    session: Session = getattr(project, "session", project)
    cstage = stage if complete_only else None
    gt = gt_eval_frame(session, iou_type=iou_type, slice=slice, complete_stage=cstage)
    dt = dt_eval_frame(session, run, iou_type=iou_type, slice=slice, complete_stage=cstage)
    media = load_media(session, slice, complete_stage=cstage)
    labels = sorted(lab.id for lab in session.schema_state().labels.values())
    image_ids = media["media_id"].to_numpy(np.int64)
    to_media = None
    coco = _coco_image_ids(session, image_ids)
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
        sig = _template_sigmas(session, gt)
        if sig is not None:
            params["sigmas"] = sig
    result = evaluate_frames(gt, dt, iou_type=iou_type, **params)
    ev = Evaluation(session, run, result, iou_type=iou_type, slice=slice, complete_only=complete_only,
                    stage=stage)
    ev._to_media = to_media
    return ev


def _template_sigmas(session: Session, gt: pd.DataFrame) -> list[float] | None:
    """The OKS sigmas of the keypoint template of the labels in ``gt`` (None: use COCO's)."""
    state = session.schema_state()
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


def _coco_image_ids(session: Session, media_ids: np.ndarray) -> np.ndarray | None:
    """The COCO image ids of these media when every one has a distinct ``meta.coco_id``, else None."""
    if not len(media_ids):
        return None
    with session.store.read() as con:
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
