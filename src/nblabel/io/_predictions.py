"""A run's predictions in: DataFrames, lists of dicts, COCO results files or Parquet files, through the
store's write path.

COCO results (``{image_id, category_id, bbox, score}``) are matched to the project's media and labels
by the COCO ids kept at ``import_coco``; their ``bbox`` is xywh unless ``box_format=`` says otherwise.
Boxes are stored as the source gave them (the border rule of ``store._border``): predictions reaching
past the image border are counted in the report's notes, clipped only with ``clip=True``, so
``proj.evaluate(run)`` sees what pycocotools sees in the same files.
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
from ..store._instance_input import BOX_COLUMNS, normalise_boxes, relative_to_absolute
from ..store._prepare import prepare_instances
from ..store._repeats import DEFAULT_MODE, check_mode, write_with_mode
from ..store._schema_load import load_state
from ._parquet import read_instances_parquet

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["add_predictions"]


def add_predictions(session: Session, run_id: int, run_name: str, data: Any, *, coords: str = "absolute",
                    box_format: str | None = None, min_score: float | None = None, errors: str = "report",
                    strict: bool = False, clip: bool = False, mode: str = DEFAULT_MODE) -> ImportReport:
    """Add a run's predictions (see ``Run.add_predictions``); returns the report.

    ``box_format=None``: xywh for COCO results, xyxy otherwise. ``strict=True`` refuses the whole
    batch when any row is refused (a box past the border, a score outside [0, 1], ...).
    """
    if errors not in ("raise", "report"):
        raise ValidationError(f"errors must be 'raise' or 'report', got {errors!r}")
    if coords not in ("absolute", "relative"):
        raise ValidationError(f"coords must be 'absolute' or 'relative', got {coords!r}")
    mode = check_mode(mode)
    report = ImportReport(f"predictions of {run_name!r}")
    with session.store.transaction() as con:
        state = load_state(con)
        df, fmt = _frame(con, state, data, report, box_format)
        if df is None:
            frame = None
        else:
            frame = normalise_boxes(df, box_format=fmt)
            if coords == "relative":
                frame = relative_to_absolute(con, frame)
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
        # a detection entirely outside its image is kept as pycocotools keeps it (it can only be a false
        # positive): evaluation counts what the file says
        clean = prepare_instances(con, state, frame, report=report, strict=strict, run_id=run_id, clip=clip,
                                  keep_outside=True, noun="predictions", check_relative=coords == "absolute",
                                  keep_empty=True)  # zero-area detections too: pycocotools evaluates them
        if report.problems and (errors == "raise" or strict):
            report.raise_if_problems()
        ids = write_with_mode(con, clean, mode=mode, run_id=run_id, media=None, report=report,
                              author=session.author, schema_version=state.version, noun="predictions")
    report.added = len(ids)
    report.skipped = n_in - len(ids)
    report.ids = ids.tolist()
    return report


def _frame(con: Any, state: SchemaState, data: Any, report: ImportReport,
           box_format: str | None) -> tuple[pd.DataFrame | None, str]:
    """The predictions as a frame, and the box format of its box columns."""
    if isinstance(data, (str, Path)) and Path(data).suffix.lower() == ".parquet":
        return read_instances_parquet(data), box_format or "xyxy"
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
        if not data:  # an empty results file: nothing to add
            return None, box_format or "xyxy"
        if data and isinstance(data[0], dict) and "bbox" in data[0] and "image_id" in data[0]:
            fmt = box_format or "xywh"  # COCO's own bbox is xywh
            return _coco_frame(con, state, data, report, fmt), fmt
        data = pd.DataFrame(data)
    if not isinstance(data, pd.DataFrame):
        raise ValidationError(f"predictions must be a DataFrame, a list of dicts or a COCO results file, "
                              f"got {type(data).__name__}")
    return data, box_format or "xyxy"


def _coco_frame(con: Any, state: SchemaState, data: list, report: ImportReport, box_format: str) -> pd.DataFrame:
    """COCO results as a frame of media ids, label ids and the four ``bbox`` numbers under the column
    names of ``box_format`` (xywh for COCO's own; ``box_format=`` may say they are xyxy or cxcywh)."""
    cols = BOX_COLUMNS.get(box_format)
    if cols is None:
        raise ValidationError(f"box_format {box_format!r} is unknown; use one of {sorted(BOX_COLUMNS)}")
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
    out = pd.DataFrame({"media_id": m["media_id"], "label_id": lid, **{c: bbox[:, k] for k, c in enumerate(cols)},
                        "score": df["score"]})
    if "segmentation" in df.columns or "keypoints" in df.columns:
        extra = [{"coco": {k: v for k, v in r.items() if k in ("segmentation", "keypoints")}}
                 for r in data]
        out["extra"] = extra
    return out[ok].astype({"media_id": "int64", "label_id": "int64"})
