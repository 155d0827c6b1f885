"""Model runs: a model with its runtime settings, and the predictions it made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import FormatError, ValidationError
from ..io._report import ImportReport
from ..schema import SchemaState
from ._instances import _relative_to_absolute, normalise_boxes
from ._prepare import prepare_instances, write_instances

if TYPE_CHECKING:
    from ._project import Project


class Run:
    """A model run: its own id, name, model and parameters; predictions are instances with ``run_id``.

    Example:
        >>> import nblabel as nl, numpy as np, pandas as pd
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> _ = p.schema.add_label("car")
        >>> run = p.add_run("yolo@640", params={"conf": 0.25})
        >>> df = pd.DataFrame({"media_id": [1], "label": ["car"], "x0": [1], "y0": [1], "x1": [9], "y1": [9],
        ...                    "score": [0.9]})
        >>> run.add_predictions(df).added
        1
    """

    def __init__(self, project: Project, run_id: int, name: str) -> None:
        self.project = project
        self.run_id = run_id
        self.name = name

    def __repr__(self) -> str:
        return f"<Run {self.name!r} (id {self.run_id})>"

    def add_predictions(self, data: Any, *, coords: str = "absolute", box_format: str = "xyxy",
                        min_score: float | None = None, errors: str = "report", strict: bool = False) -> ImportReport:
        """Add this run's predictions; returns a report naming every row that did not go in.

        Args:
            data: a DataFrame (``file_name`` or ``media_id``, ``label``, box columns named after
                ``box_format``, ``score``), a list of dicts of the same, or COCO results (a list of
                ``{image_id, category_id, bbox, score}`` or the path of such a JSON file; always
                absolute xywh, ids as in the COCO file the images came from).
            coords: ``"absolute"`` pixels or ``"relative"`` (0–1 of the image size).
            box_format: ``"xyxy"``, ``"xywh"`` or ``"cxcywh"``.
            min_score: drop predictions below this score (counted as skipped).
            errors: ``"report"`` (default): good rows go in, bad ones are listed;
                ``"raise"``: any bad row refuses the whole batch.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); run = p.add_run("m")
            >>> r = run.add_predictions([{"media_id": 1, "label": "truck", "x0": 1, "y0": 1, "x1": 5, "y1": 5,
            ...                           "score": 0.5}])
            >>> r.problems[0].reason
            "label 'truck' is not in the schema; choose one of 'car'"
        """
        if errors not in ("raise", "report"):
            raise ValidationError(f"errors must be 'raise' or 'report', got {errors!r}")
        report = ImportReport(f"predictions of {self.name!r}")
        proj = self.project
        with proj.store.transaction() as con:
            state = SchemaState.load(con)
            df, fmt = self._frame(con, state, data, report)
            if df is None:
                frame = None
            else:
                frame = normalise_boxes(df, box_format=fmt or box_format)
                if coords == "relative":
                    frame = _relative_to_absolute(con, frame)
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
            clean = prepare_instances(con, state, frame, report=report, strict=strict, run_id=self.run_id)
            if report.problems and errors == "raise":
                report.raise_if_problems()
            ids = write_instances(con, clean, author=proj.author, schema_version=state.version)
        report.added = len(ids)
        report.skipped = n_in - len(ids)
        report.ids = ids.tolist()
        return report

    def _frame(self, con: Any, state: SchemaState, data: Any,
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
                return self._coco_frame(con, state, data, report), "xywh"
            data = pd.DataFrame(data)
        if not isinstance(data, pd.DataFrame):
            raise ValidationError(f"predictions must be a DataFrame, a list of dicts or a COCO results file, "
                                  f"got {type(data).__name__}")
        return data, None

    def _coco_frame(self, con: Any, state: SchemaState, data: list, report: ImportReport) -> pd.DataFrame:
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

    def predictions(self) -> Any:
        """This run's current predictions as an instance slice.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); p.add_run("m").predictions().count()
            0
        """
        return self.project.instances(run=self.name)
