"""Two model runs side by side against the same ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._evaluation import Evaluation, evaluate_project
from ._reads import load_media

if TYPE_CHECKING:
    from ..query import MediaSlice
    from ..store import Session

__all__ = ["Comparison", "compare_runs"]


@dataclass
class Comparison:
    """Result of :meth:`nblabel.Project.compare`.

    ``overall``: one row per run (tp, fp, fn at ``min_score``, precision, recall, AP at ``iou``,
    AP .50:.95); ``per_image``: per media item both runs' tp/fp/fn and ``diff`` (how differently
    they err there), most different first; ``per_class``: AP at ``iou`` per label for both runs.

    Example:
        >>> Comparison.__name__
        'Comparison'
    """

    overall: pd.DataFrame
    per_image: pd.DataFrame
    per_class: pd.DataFrame
    a: Evaluation
    b: Evaluation

    def __repr__(self) -> str:
        return f"<Comparison\n{self.overall.to_string(index=False)}>"


def _counts(ev: Evaluation, iou: float, min_score: float, media: np.ndarray) -> pd.DataFrame:
    m = ev.matches
    m = m[np.isclose(m["iou_threshold"].to_numpy(float), iou)]
    st = m["status"].astype(str).to_numpy()
    det = m["pred_id"].notna().to_numpy()
    keep = det & (m["score"].to_numpy(dtype=float, na_value=np.nan) >= min_score)
    pos = np.searchsorted(media, m["media_id"].to_numpy(np.int64))
    n = len(media)
    tp = np.bincount(pos[keep & (st == "tp")], minlength=n)
    fp = np.bincount(pos[keep & (st == "fp")], minlength=n)
    n_gt = np.bincount(pos[(st == "tp") | (st == "fn")], minlength=n)  # non-ignored ground truth
    return pd.DataFrame({"tp": tp, "fp": fp, "fn": n_gt - tp})


def compare_runs(session: Session, run_a: Any, run_b: Any, *, iou: float = 0.5, slice: MediaSlice | None = None,
                 min_score: float = 0.0, complete_only: bool = True, stage: str = "label") -> Comparison:
    """Evaluate both runs on the same ground truth and put them side by side.

    Matching is COCO's (greedy by score, crowd and area rules) at the single threshold ``iou``;
    counts use detections with score >= ``min_score`` (greedy matching makes that exact).

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_run("a"); _ = p.add_run("b")
        >>> compare_runs(p, "a", "b").overall["run"].tolist()
        ['a', 'b']
    """
    kw: dict[str, Any] = {"slice": slice, "complete_only": complete_only, "stage": stage}
    evs = [evaluate_project(session, r, iou_thresholds=[iou], **kw) for r in (run_a, run_b)]
    full = [evaluate_project(session, r, **kw) for r in (run_a, run_b)]
    media = load_media(session, slice, complete_stage=stage if complete_only else None)
    mids = media["media_id"].to_numpy(np.int64)
    counts = [_counts(ev, iou, min_score, mids) for ev in evs]
    names = [str(getattr(r, "name", r)) for r in (run_a, run_b)]
    tag = f"AP{round(iou * 100)}"
    rows = []
    for name, c, ev, fe in zip(names, counts, evs, full, strict=True):
        tp, fp, fn = int(c["tp"].sum()), int(c["fp"].sum()), int(c["fn"].sum())
        rows.append({"run": name, "tp": tp, "fp": fp, "fn": fn,
                     "precision": tp / (tp + fp) if tp + fp else float("nan"),
                     "recall": tp / (tp + fn) if tp + fn else float("nan"),
                     tag: float(ev.stats[0]), "AP": float(fe.stats[0])})
    overall = pd.DataFrame(rows)
    ca, cb = counts
    per_image = pd.DataFrame({
        "media_id": mids, "file_name": media["file_name"].to_numpy(),
        "tp_a": ca["tp"].to_numpy(), "fp_a": ca["fp"].to_numpy(), "fn_a": ca["fn"].to_numpy(),
        "tp_b": cb["tp"].to_numpy(), "fp_b": cb["fp"].to_numpy(), "fn_b": cb["fn"].to_numpy(),
    })
    err_a = per_image["fp_a"] + per_image["fn_a"]
    err_b = per_image["fp_b"] + per_image["fn_b"]
    per_image["errors_a"], per_image["errors_b"] = err_a, err_b
    per_image["diff"] = (per_image[["tp_a", "fp_a", "fn_a"]].to_numpy()
                         - per_image[["tp_b", "fp_b", "fn_b"]].to_numpy()).__abs__().sum(axis=1)
    per_image["better"] = np.where(err_a < err_b, names[0], np.where(err_b < err_a, names[1], "same"))
    per_image = per_image.sort_values(["diff", "media_id"], ascending=[False, True], kind="stable")
    pa = evs[0].per_class[["label", "label_id", "AP", "n_gt", "n_dt"]].rename(
        columns={"AP": f"{tag}_a", "n_dt": "n_dt_a"})
    pb = evs[1].per_class[["label_id", "AP", "n_dt"]].rename(columns={"AP": f"{tag}_b", "n_dt": "n_dt_b"})
    per_class = pa.merge(pb, on="label_id", how="outer")
    per_class["delta"] = np.where((per_class[f"{tag}_a"] > -1) & (per_class[f"{tag}_b"] > -1),
                                  per_class[f"{tag}_b"] - per_class[f"{tag}_a"], np.nan)
    return Comparison(overall, per_image.reset_index(drop=True), per_class, full[0], full[1])
