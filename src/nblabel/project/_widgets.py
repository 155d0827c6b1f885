"""Project methods for the annotator and the review queue (widgets are imported when first shown)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..query import MediaSlice
from ..store import latest_boxes, media_ids, run_id, run_name_of

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Session
    from ..widgets import Annotator


class WidgetsMixin:
    """Project methods for the annotator, review queue and gallery widgets."""

    _session: Session

    def annotate(self, queue: Any = None, *, stage: str = "label", runs: list[str] | str | None = None,
                 author: str | None = None, max_display: int = 4096) -> Annotator:
        """Open the annotator over a queue of media items.

        Args:
            queue: a :class:`~nblabel.MediaSlice`, a list of media ids / file names, or ``None``:
                every item not yet complete (nor skipped) in ``stage``, by media id.
            stage: the labeling stage whose status the widget records (default ``"label"``).
            runs: model runs whose predictions are shown as layers (default: every run).
            author: who is labeling (default: the project's author).
            max_display: images larger than this (longest side, px) are downscaled for display, to
                this size or, when a whole factor keeps at least 90 % of it, to the image divided by
                that factor (a 12000 px image shows at 4000, decoded by one box reduction);
                coordinates stay in original pixels.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car", spatial=["box", "polygon"])
            >>> w = p.annotate()
            >>> w.total, w.author == p.author
            (1, True)
        """
        from ..widgets import Annotator  # deferred: ``import nblabel`` must not import anywidget

        if isinstance(runs, str):
            runs = [runs]
        if queue is None:
            ids = MediaSlice(self._session).status(["new", "in_progress", "in_review"], stage=stage).sort_by("media_id").ids()
        elif isinstance(queue, MediaSlice):
            ids = queue.ids()
        else:
            items = [queue] if isinstance(queue, (int, str)) else list(queue)
            with self._session.store.read() as con:
                ids = media_ids(con, items)
        return Annotator(self._session, [int(i) for i in ids], stage=stage, runs=runs, author=author,
                         max_display=max_display)

    def review(self, disagreements: pd.DataFrame, run: Any = None, *, stage: str = "review",
               author: str | None = None, max_display: int = 4096) -> Annotator:
        """Open the annotator in review mode over the rows of a disagreements table, in the given order.

        Each row (columns ``media_id``, ``kind``, ``gt_id``, ``pred_id``) is one queue item; the
        widget zooms to the union of the ground-truth and predicted boxes. Verdicts
        (``confirm_gt``, ``delete_gt``, ``accept_pred``) are stored in the ``verdicts`` table;
        ``delete_gt`` deletes the ground-truth instance and ``accept_pred`` copies the prediction
        into ground truth.

        Args:
            disagreements: e.g. ``proj.disagreements(run)``, filtered and sorted as you like.
            run: the run under review (its predictions are shown; default: the runs of the rows' predictions).

        Example:
            >>> import nblabel as nl, numpy as np, pandas as pd
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); g = p.add_instance(1, "car", box=[5, 5, 20, 20])
            >>> d = pd.DataFrame({"media_id": [1], "kind": ["fn"], "gt_id": [g], "pred_id": [None]})
            >>> w = p.review(d)
            >>> w.mode, w.focus["box"]
            ('review', [5.0, 5.0, 20.0, 20.0])
        """
        from ..widgets import Annotator

        need = {"media_id", "kind", "gt_id", "pred_id"}
        cols = set(getattr(disagreements, "columns", []))
        if not need <= cols:
            raise ValidationError(f"review() needs a DataFrame with columns {sorted(need)}; "
                                  f"it has {sorted(cols)} (make one with proj.disagreements(run))")

        def _id(v: Any) -> int | None:
            if v is None:
                return None
            try:
                f = float(v)
            except (TypeError, ValueError):
                return None
            return None if math.isnan(f) else int(f)

        rows = [(int(r.media_id), str(r.kind), _id(r.gt_id), _id(r.pred_id))
                for r in disagreements[["media_id", "kind", "gt_id", "pred_id"]].itertuples(index=False)]
        inst_ids = sorted({i for r in rows for i in r[2:] if i is not None})
        with self._session.store.read() as con:
            found = latest_boxes(con, inst_ids)
            rid = run_id(con, run) if run is not None else None
            run_name = run_name_of(con, rid) if rid is not None else None
        boxes = {int(f[0]): [float(f[1]), float(f[2]), float(f[3]), float(f[4])] for f in found}
        pred_runs = sorted({f[6] for f in found if f[6] is not None})
        focus: list[dict[str, Any] | None] = []
        for _mid, kind, gid, pid in rows:
            bs = [boxes[i] for i in (gid, pid) if i is not None and i in boxes]
            box = ([min(b[0] for b in bs), min(b[1] for b in bs), max(b[2] for b in bs), max(b[3] for b in bs)]
                   if bs else None)
            focus.append({"box": box, "kind": kind, "gt_id": gid, "pred_id": pid,
                          "kinds": {"disagreement": kind,
                                    "gt": "gt" if gid is not None else None,
                                    "pred": "pred" if pid is not None else None}})
        runs = [run_name] if run_name is not None else (pred_runs or None)
        return Annotator(self._session, [r[0] for r in rows], stage=stage, runs=runs, author=author,
                         max_display=max_display, mode="review", focus=focus, review_run_id=rid)
