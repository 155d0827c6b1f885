"""Project methods for evaluation, disagreement ranking, run comparison, and saved slices (datasets).

Each delegates: datasets to query/ and store/, debugging to debug/ (imported when first used: it pulls
in the evaluation engine).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ..query._datasets import dataset, define_dataset
from ..store import _datasets

if TYPE_CHECKING:
    from ..debug._evaluation import Evaluation
    from ..query import MediaSlice, Slice
    from ..store import Session


class DebugMixin:
    """Project methods for evaluation, disagreement ranking and run comparison."""

    _session: Session

    # -- datasets (saved slices) ---------------------------------------------------------------
    def define_dataset(self, name: str, *, rule: Slice, overwrite: bool = False) -> None:
        """Save a slice as a dynamic dataset: its filters are stored and re-evaluated on every read.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:")
            >>> p.define_dataset("wide", rule=p.media().image_size(min_width=1000))
            >>> p.dataset("wide").count()
            0
        """
        define_dataset(self._session, name, rule, overwrite=overwrite)

    def dataset(self, name: str) -> Any:
        """A dataset as a slice: a static dataset's members, or a dynamic one's rule evaluated now.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.media().save("none")
            >>> p.dataset("none").count()
            0
        """
        return dataset(self._session, name)

    def datasets(self) -> pd.DataFrame:
        """All datasets: name, kind (static / dynamic), split group, number of static members.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.media().save("none")
            >>> p.datasets()["name"].tolist()
            ['none']
        """
        with self._session.store.read() as con:
            return _datasets.list_datasets(con)

    def delete_dataset(self, name: str) -> None:
        """Delete a dataset definition (its media stay in the project).

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.media().save("x"); p.delete_dataset("x")
            >>> len(p.datasets())
            0
        """
        with self._session.store.transaction() as con:
            _datasets.delete_dataset(con, name)

    # -- debugging a run -------------------------------------------------------------------------
    def evaluate(self, run: Any, iou_type: str = "bbox", *, slice: MediaSlice | None = None,
                 complete_only: bool = True, stage: str = "label", **params: Any) -> Evaluation:
        """Evaluate ``run`` against the ground truth, exactly as pycocotools' COCOeval would.

        Ground truth: the current instances of the media in ``slice`` whose status in ``stage`` is
        complete (``complete_only=False``: of every media item); ``area`` and ``iscrowd`` as stored.
        ``params`` go to the engine (``iou_thresholds``, ``max_dets``, ``area_ranges``, ``sigmas``...).

        Returns:
            An :class:`~nblabel.debug.Evaluation` with ``.stats``, ``.per_class``, ``.matches``
            (joined with file and label names), ``.summary()``, ``.ap(by=...)`` and plots.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[5, 5, 30, 30])
            >>> p.complete(1); r = p.add_run("m")
            >>> _ = p.add_instance(1, "car", box=[5, 5, 30, 30], run="m", score=0.9)
            >>> round(float(p.evaluate("m").stats[0]), 3)
            1.0
        """
        from ..debug._evaluation import evaluate_project

        return evaluate_project(self._session, run, iou_type=iou_type, slice=slice,
                                complete_only=complete_only, stage=stage, **params)

    def disagreements(self, run: Any, iou: float = 0.5, *, per: str = "instance", slice: MediaSlice | None = None,
                      min_score: float = 0.0, complete_only: bool = False, stage: str = "label",
                      kinds: list[str] | None = None) -> pd.DataFrame:
        """Where the ground truth and ``run`` disagree, worst first: what to review and fix.

        Kinds: ``missing_gt`` (a prediction no ground truth explains: a label is probably missing),
        ``missed`` (a ground truth nothing predicted: spurious or badly placed), ``class_mismatch``
        (a prediction of another label on it), ``poor_localization`` (same label, IoU in
        [0.1, ``iou``)). ``score`` in [0, 1] estimates the chance that the row is a label error from
        the row's own evidence only (prediction score, IoU, box size), so it never changes with the
        slice around it.

        Args:
            per: ``"instance"``: one row per disagreement (ids, labels, IoU, both boxes);
                ``"image"``: one row per media item of the slice, ``score`` the noisy-or
                ``1 - prod(1 - s)`` of its rows (0 when there are none) and counts per kind.
            slice: a media slice to look at (default: every media item).
            min_score: predictions below this score are ignored.
            complete_only: only media whose status in ``stage`` is complete.
            kinds: keep only these kinds.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((100, 100, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); _ = p.add_run("m")
            >>> _ = p.add_instance(1, "car", box=[10, 10, 60, 60], run="m", score=0.9)
            >>> p.disagreements("m")[["kind", "pred_label"]].values.tolist()
            [['missing_gt', 'car']]
        """
        from ..debug._disagree import disagreements

        return disagreements(self._session, run, iou, per=per, slice=slice, min_score=min_score,
                             complete_only=complete_only, stage=stage, kinds=kinds)

    def compare(self, run_a: Any, run_b: Any, iou: float = 0.5, *, slice: MediaSlice | None = None,
                min_score: float = 0.0, complete_only: bool = True, stage: str = "label") -> Any:
        """Two runs side by side against the same ground truth: overall and per image.

        Returns:
            A :class:`~nblabel.debug.Comparison`: ``.overall`` (TP/FP/FN of predictions scored
            >= ``min_score``, precision, recall, AP at ``iou`` and AP .50:.95 per run),
            ``.per_image`` (counts per run and their difference, most different first),
            ``.per_class`` (AP at ``iou`` per label for both runs).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[5, 5, 30, 30]); p.complete(1)
            >>> _ = p.add_run("a"); _ = p.add_run("b")
            >>> _ = p.add_instance(1, "car", box=[5, 5, 30, 30], run="a", score=0.9)
            >>> p.compare("a", "b").overall["tp"].tolist()
            [1, 0]
        """
        from ..debug._compare import compare_runs

        return compare_runs(self._session, run_a, run_b, iou=iou, slice=slice,
                            min_score=min_score, complete_only=complete_only, stage=stage)
