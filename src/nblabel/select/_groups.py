"""Near-duplicate groups: connected components of the pairs at a threshold, and which member to keep.

Groups are transitive (a ≈ b and b ≈ c put a, b, c in one group, whatever the order of the media)
and exact duplicates (identical vectors) are grouped at any threshold. One member per group is kept,
by the rule **labelled > higher resolution > earlier** (smaller media id).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["group_pairs"]


def group_pairs(media_ids: np.ndarray, a: np.ndarray, b: np.ndarray, distance: np.ndarray, threshold: float,
                *, labelled: np.ndarray | None = None, pixels: np.ndarray | None = None) -> pd.DataFrame:
    """``media_id, group, keep`` of every media item in a group of two or more at ``threshold``.

    ``a``, ``b`` and ``distance`` are the candidate pairs (media ids); a pair joins a group when its
    distance is at most ``threshold`` (distance 0, an exact duplicate, always does). ``labelled``
    and ``pixels`` (aligned with ``media_ids``) decide the kept member; groups are numbered from 0
    in the order of their smallest media id.

    Example:
        >>> ids = np.array([1, 2, 3, 4])
        >>> g = group_pairs(ids, np.array([1, 2]), np.array([2, 3]), np.array([0.01, 0.02]), 0.05,
        ...                 pixels=np.array([10, 10, 99, 10]))
        >>> g.to_dict("list")
        {'media_id': [1, 2, 3], 'group': [0, 0, 0], 'keep': [False, False, True]}
    """
    ids = np.asarray(media_ids, dtype=np.int64)
    out = pd.DataFrame({"media_id": pd.Series([], dtype="int64"), "group": pd.Series([], dtype="int64"),
                        "keep": pd.Series([], dtype="bool")})
    if not len(ids):
        return out
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    d = np.asarray(distance, dtype=np.float64)
    take = (d <= threshold) | (d <= 0)
    ia = order[np.searchsorted(sorted_ids, np.asarray(a, np.int64)[take])]
    ib = order[np.searchsorted(sorted_ids, np.asarray(b, np.int64)[take])]
    n = len(ids)
    graph = coo_matrix((np.ones(len(ia), np.int8), (ia, ib)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    sizes = np.bincount(comp)
    member = sizes[comp] >= 2
    if not member.any():
        return out
    lab = np.zeros(n, bool) if labelled is None else np.asarray(labelled, bool)
    pix = np.zeros(n, np.int64) if pixels is None else np.asarray(pixels, np.int64)
    df = pd.DataFrame({"media_id": ids, "comp": comp, "lab": lab, "pix": pix})[member]
    first = df.groupby("comp")["media_id"].transform("min")
    df["group"] = pd.factorize(first, sort=True)[0].astype(np.int64)
    df = df.sort_values(["group", "lab", "pix", "media_id"], ascending=[True, False, False, True])
    df["keep"] = ~df["group"].duplicated()
    return df.sort_values("media_id")[["media_id", "group", "keep"]].reset_index(drop=True)
