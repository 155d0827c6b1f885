"""Debugging model runs: COCO-exact evaluation from the store, disagreement ranking, run comparison.

Example:
    >>> import nblabel as nl
    >>> p = nl.open(":memory:"); _ = p.add_run("m")
    >>> p.disagreements("m", per="image").empty
    True
"""

from ._disagree import KINDS, find_disagreements, image_scores
from ._frames import dt_eval_frame, gt_eval_frame

__all__ = ["KINDS", "dt_eval_frame", "find_disagreements", "gt_eval_frame", "image_scores"]
