"""A run's predictions in: DataFrames, lists of dicts, or COCO results files, through the store's write path.

COCO results (``{image_id, category_id, bbox, score}``) are matched to the project's media and labels
by the COCO ids kept at ``import_coco``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._report import ImportReport
from ..errors import FormatError, ValidationError
from ..schema import SchemaState
from ..store._instance_input import normalise_boxes, relative_to_absolute
from ..store._prepare import prepare_instances
from ..store._repeats import DEFAULT_MODE, check_mode, write_with_mode
from ..store._schema_load import load_state

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["add_predictions"]


def add_predictions(session: Session, run_id: int, run_name: str, data: Any, *, coords: str = "absolute",
                    box_format: str = "xyxy", min_score: float | None = None, errors: str = "report",
                    strict: bool = False, mode: str = DEFAULT_MODE) -> ImportReport:
    """Add a run's predictions (see ``Run.add_predictions``); returns the report."""
    if errors not in ("raise", "report"):
        raise ValidationError(f"errors must be 'raise' or 'report', got {errors!r}")
    mode = check_mode(mode)
    report = ImportReport(f"predictions of {run_name!r}")
    with session.store.transaction() as con:
        state = load_state(con)
        df, fmt = _frame(con, state, data, report)
        if df is None:
            frame = None
        else:
            frame = normalise_boxes(df, box_format=fmt or box_format)
            if coords == "relative":
                frame = relative_to_absolute(con, frame)
            elif coords != "absolute":
                raise ValidationError(f"coords must be 'absolute' or 'relative', got {coords!r}")
        n_in = 0 if frame is None else len(frame)
        if frame is not None and min_score is not None:
            keep = pd.to_numeric(frame["score"], errors="coerce").fillna(-np.inf) >= float(min_score)
            report.notes.append(f"{int((~keep).sum())} prediction(s) below min_score={min_score} were skipped")
            frame = frame[keep.to_numpy()]
        if frame is None or frame.empty:
            report.skipped = n_in
            if errors == "raise":
                report.raise_if_problems()
            return report
        clean = prepare_instances(con, state, frame, report=report, strict=strict, run_id=run_id)
        if report.problems and errors == "raise":
            report.raise_if_problems()
        ids = write_with_mode(con, clean, mode=mode, run_id=run_id, media=None, report=report,
                              author=session.author, schema_version=state.version, noun="predictions")
    report.added = len(ids)
    report.skipped = n_in - len(ids)
    report.ids = ids.tolist()
    return report


def _frame(con: Any, state: SchemaState, data: Any,
           report: ImportReport) -> tuple[pd.DataFrame | None, str | None]:
    if isinstance(data, (str, Path)):
        try:
            data = json.loads(Path(data).read_text())
        except FileNotFoundError:
            raise FormatError(f"predictions file {str(data)!r} does not exist") from None
        except json.JSONDecodeError as e:
            raise FormatError(f"predictions file {str(data)!r} is not valid JSON: {e}") from None
    if isinstance(data, dict) and "annotations" in data:
        data = data["annotations"]
    if isinstance(data, list):
        if data and isinstance(data[0], dict) and "bbox" in data[0] and "image_id" in data[0]:
            return _coco_frame(con, state, data, report), "xywh"
        data = pd.DataFrame(data)
    if not isinstance(data, pd.DataFrame):
        raise ValidationError(f"predictions must be a DataFrame, a list of dicts or a COCO results file, "
                              f"got {type(data).__name__}")
    return data, None


def _coco_frame(con: Any, state: SchemaState, data: list, report: ImportReport) -> pd.DataFrame:
    df = pd.DataFrame(data)
    for col in ("image_id", "category_id", "bbox", "score"):
        if col not in df.columns:
            raise FormatError(f"COCO results need {col!r} in every entry; the first entry has {sorted(data[0])}")
    img = con.execute("SELECT media_id, CAST(json_extract(meta, '$.coco_id') AS BIGINT) AS image_id "
                      "FROM media WHERE json_extract(meta, '$.coco_id') IS NOT NULL").df()
    cats = {int(lab.meta["coco_id"]): lid for lid, lab in state.labels.items() if "coco_id" in lab.meta}
    m = df[["image_id"]].merge(img, on="image_id", how="left")
    bad_img = m["media_id"].isna().to_numpy()
    for i in np.flatnonzero(bad_img)[:1000]:
        report.add_problem(f"result {i}", f"image_id {df['image_id'].iloc[i]} is not a COCO image of this "
                           "project; import the COCO ground truth (proj.import_coco) first")
    lid = df["category_id"].map(cats)
    bad_cat = lid.isna().to_numpy() & ~bad_img
    for i in np.flatnonzero(bad_cat)[:1000]:
        report.add_problem(f"result {i}", f"category_id {df['category_id'].iloc[i]} is not a COCO category of "
                           "this project's schema")
    ok = ~bad_img & ~bad_cat
    bbox = np.array([np.asarray(b, dtype=float).reshape(-1)[:4] if isinstance(b, (list, tuple)) and len(b) == 4
                     else np.full(4, np.nan) for b in df["bbox"]]).reshape(-1, 4)
    out = pd.DataFrame({"media_id": m["media_id"], "label_id": lid, "x": bbox[:, 0], "y": bbox[:, 1],
                        "w": bbox[:, 2], "h": bbox[:, 3], "score": df["score"]})
    if "segmentation" in df.columns or "keypoints" in df.columns:
        extra = [{"coco": {k: v for k, v in r.items() if k in ("segmentation", "keypoints")}}
                 for r in data]
        out["extra"] = extra
    return out[ok].astype({"media_id": "int64", "label_id": "int64"})
