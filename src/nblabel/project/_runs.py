"""Model runs: a model with its runtime settings, and the predictions it made (parsed and written by io/)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._report import ImportReport
from ..io._predictions import add_predictions
from ..query import InstanceSlice

if TYPE_CHECKING:
    from ..store import Session


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

    def __init__(self, session: Session, run_id: int, name: str) -> None:
        self._session = session
        self.run_id = run_id
        self.name = name

    def __repr__(self) -> str:
        return f"<Run {self.name!r} (id {self.run_id})>"

    def add_predictions(self, data: Any, *, coords: str = "absolute", box_format: str | None = None,
                        min_score: float | None = None, errors: str = "report", strict: bool = False,
                        clip: bool = False, mode: str = "skip-existing") -> ImportReport:
        """Add this run's predictions; returns a report naming every row that did not go in.

        Boxes are stored as given, also where they reach past the image border (the report's
        notes count them), so ``proj.evaluate(run)`` equals pycocotools on the same files.

        Args:
            data: a DataFrame (``file_name`` or ``media_id``, ``label``, box columns named after
                ``box_format``, ``score``), a list of dicts of the same, the path of a Parquet file
                of the same, or COCO results (a list of ``{image_id, category_id, bbox, score}`` or
                the path of such a JSON file; ids as in the COCO file the images came from).
            coords: ``"absolute"`` pixels or ``"relative"`` (0–1 of the image size). Absolute boxes
                whose every coordinate is at most 1 get a warning.
            box_format: ``"xyxy"``, ``"xywh"`` or ``"cxcywh"``; default xywh for COCO results
                (their ``bbox``), xyxy otherwise.
            min_score: drop predictions below this score (counted as skipped).
            errors: ``"report"`` (default): good rows go in, bad ones are listed;
                ``"raise"``: any bad row refuses the whole batch.
            strict: refuse boxes reaching outside the image; with ``strict=True`` any refused row
                (a box past the border, a score that is not finite in [0, 1], a media item that is not
                in the project) refuses the batch.
            clip: clip boxes to the image instead of storing them as given.
            mode: what to do with predictions this run has already: ``"skip-existing"`` (default)
                leaves out a row with the same media item, label and box (within 1e-6 px) as one
                of the run's predictions and says how many in the report's notes;
                ``"replace"`` deletes the run's predictions on the media items in ``data`` first
                (as new versions: history keeps them); ``"append"`` adds every row.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); run = p.add_run("m")
            >>> r = run.add_predictions([{"media_id": 1, "label": "truck", "x0": 1, "y0": 1, "x1": 5, "y1": 5,
            ...                           "score": 0.5}])
            >>> r.problems[0].reason
            "label 'truck' is not in the schema; choose one of 'car'"
        """
        return add_predictions(self._session, self.run_id, self.name, data, coords=coords, box_format=box_format,
                               min_score=min_score, errors=errors, strict=strict, clip=clip, mode=mode)

    def predictions(self) -> Any:
        """This run's current predictions as an instance slice.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); p.add_run("m").predictions().count()
            0
        """
        return InstanceSlice(self._session, run=self.name)
