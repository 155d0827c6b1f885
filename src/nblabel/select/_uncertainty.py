"""How unsure a model run is about each image, from its prediction scores.

A prediction carries one score ``p``: the probability of its label. The rest, ``1 − p``, is taken
as "something else" (background or another label), so each prediction is a two-way decision and
the three classic measures read (all in [0, 1], larger = less sure):

- ``"least_confidence"``: ``1 − p`` (a low-scored box is the least sure);
- ``"margin"``: ``1 − |p − (1 − p)|`` (largest at ``p = 0.5``, where the two readings tie);
- ``"entropy"``: the binary entropy of ``p`` in bits (also largest at 0.5, flatter near it).

An image takes the **maximum** over its predictions: one undecided box is what a labeller should
look at. An image with no prediction (or only unscored ones) gets 0: nothing the model was unsure
about (it still can be picked, last). Margin and entropy rank single predictions the same way; they
differ in how fast the score falls off away from 0.5, which matters once scores are combined
(``strategy="hybrid"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ValidationError, did_you_mean

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["MEASURES", "image_uncertainty", "prediction_uncertainty", "run_uncertainty"]

MEASURES = ("entropy", "margin", "least_confidence")


def prediction_uncertainty(scores: np.ndarray, measure: str = "entropy") -> np.ndarray:
    """Uncertainty of each prediction from its score (see the module docstring).

    Example:
        >>> prediction_uncertainty(np.array([0.5, 0.9, 1.0]), "margin").round(2).tolist()
        [1.0, 0.2, 0.0]
    """
    p = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    if measure == "least_confidence":
        return 1.0 - p
    if measure == "margin":
        return 1.0 - np.abs(2.0 * p - 1.0)
    if measure == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
        return np.nan_to_num(h, nan=0.0)
    raise ValidationError(f"measure must be one of {list(MEASURES)}, got {measure!r}{did_you_mean(str(measure), MEASURES)}")


def image_uncertainty(media_ids: np.ndarray, pred_media: np.ndarray, pred_scores: np.ndarray,
                      measure: str = "entropy") -> np.ndarray:
    """Per media id (in order): the max uncertainty of its predictions (0 without any).

    Example:
        >>> image_uncertainty(np.array([1, 2, 3]), np.array([1, 1, 3]), np.array([0.9, 0.5, 0.99])).round(3).tolist()
        [1.0, 0.0, 0.081]
    """
    ids = np.asarray(media_ids, dtype=np.int64)
    out = np.zeros(len(ids))
    pm = np.asarray(pred_media, dtype=np.int64)
    ps = np.asarray(pred_scores, dtype=np.float64)
    ok = np.isfinite(ps)
    u = prediction_uncertainty(ps[ok], measure)
    pos = np.searchsorted(ids, pm[ok])
    inside = (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == pm[ok]) if len(ids) else np.zeros(0, bool)
    np.maximum.at(out, pos[inside], u[inside])
    return out


def run_uncertainty(session: Session, run: str, media_ids: np.ndarray, measure: str = "entropy") -> np.ndarray:
    """:func:`image_uncertainty` of a run's current predictions for ``media_ids`` (sorted).

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> _ = p.schema.add_label("car"); _ = p.add_run("m")
        >>> _ = p.add_instance(1, "car", box=[1, 1, 9, 9], run="m", score=0.5)
        >>> run_uncertainty(p.session, "m", np.array([1])).tolist()
        [1.0]
    """
    ids = [int(i) for i in media_ids]
    with session.store.read() as con:
        rows = con.execute(
            "SELECT i.media_id, i.score FROM current_instances i JOIN runs r USING (run_id) "
            "WHERE r.name = ? AND i.media_id IN (SELECT unnest(?::BIGINT[]))", [run, ids]).df()
    scores = rows["score"].to_numpy(dtype=np.float64, na_value=np.nan)
    return image_uncertainty(np.asarray(ids, np.int64), rows["media_id"].to_numpy(np.int64), scores, measure)
