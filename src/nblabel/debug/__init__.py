"""Debugging model runs: COCO-exact evaluation from the store, disagreement ranking, run comparison,
and the evaluation's plots (matplotlib figures, via :class:`Evaluation`).

Example:
    >>> import nblabel as nl
    >>> p = nl.open(":memory:"); _ = p.add_run("m")
    >>> p.disagreements("m", per="image").empty
    True
"""

from ._compare import Comparison, compare_runs
from ._disagree import KINDS, find_disagreements, image_scores
from ._evaluation import Evaluation, ap_from_matches, evaluate_coco, evaluate_project
from ._reads import dt_eval_frame, gt_eval_frame

__all__ = [
    "KINDS",
    "Comparison",
    "Evaluation",
    "ap_from_matches",
    "compare_runs",
    "dt_eval_frame",
    "evaluate_coco",
    "evaluate_project",
    "find_disagreements",
    "gt_eval_frame",
    "image_scores",
]
