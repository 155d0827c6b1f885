"""What the keep rule of near-duplicate groups needs to know of media: labelled or not, pixel count."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["labelled_and_pixels"]


def labelled_and_pixels(session: Session, media_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each media id (in order): labelled (a current ground-truth instance, or ``complete`` in some
    stage) and width × height.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
        >>> lab, pix = labelled_and_pixels(p.session, np.array([1])); lab.tolist(), pix.tolist()
        ([False], [24])
    """
    ids = [int(i) for i in media_ids]
    with session.store.read() as con:
        rows = con.execute(
            "SELECT m.media_id, m.width::BIGINT * m.height AS pixels, "
            "(m.media_id IN (SELECT media_id FROM current_instances WHERE run_id IS NULL) "
            " OR m.media_id IN (SELECT media_id FROM status WHERE state = 'complete')) "
            "AS labelled FROM media m WHERE m.media_id IN (SELECT unnest(?))", [ids]).df()
    rows.columns = ["media_id", "pixels", "labelled"]
    facts = rows.set_index("media_id").reindex(np.asarray(ids, np.int64))
    return (facts["labelled"].fillna(False).to_numpy(bool), facts["pixels"].fillna(0).to_numpy(np.int64))
