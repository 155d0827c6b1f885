"""Iterative stratification over groups (Sechidis et al. 2011), with earlier assignments kept.

The split of a multi-label set is balanced label by label: the rarest label still to place goes
first, and each group that carries it goes to the split that still needs that label the most
(then the one that still needs the most items, then a seeded random one). Groups, not items, are
placed, so a group (near-duplicates, a patient, a video) never straddles two splits; big groups go
first within a label, as in bin packing, so the small ones can even out what they leave.

Items already assigned (an earlier call of the same split) keep their split; an item of a group
that already has a split joins it; only groups with no assigned item are placed, against the demand
that is left once the fixed items are counted. That makes a split *stable*: adding media never moves
an old item.

The label matrix counts items: ``labels[i, l]`` is true when item ``i`` carries label ``l``, so the
per-label share of a split is the fraction of the items with that label that sit in it.
"""

from __future__ import annotations

import numpy as np

from ..errors import ValidationError

__all__ = ["label_shares", "stratified_group_split", "worst_share_error"]


def _group_index(groups: np.ndarray) -> tuple[np.ndarray, int]:
    _, inv = np.unique(np.asarray(groups), return_inverse=True)
    inv = inv.ravel()
    return inv, int(inv.max()) + 1 if len(inv) else 0


def stratified_group_split(labels: np.ndarray, groups: np.ndarray, ratios: np.ndarray, *, seed: int = 0,
                           fixed: np.ndarray | None = None) -> np.ndarray:
    """Assign every item to a split index: labels balanced per split, groups kept whole.

    Args:
        labels: ``[n, L]`` boolean (or 0/1) label matrix (``L`` may be 0).
        groups: ``[n]`` group keys (any sortable type); items with the same key share a split.
        ratios: ``[S]`` target fractions of the items per split (positive, summing to 1).
        seed: ties between equally good splits are broken by this seed's random order.
        fixed: ``[n]`` split index per item already assigned, ``-1`` for new items.

    Returns:
        ``[n]`` int array of split indices (fixed items unchanged).

    Example:
        >>> y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [0, 0]], bool)
        >>> stratified_group_split(y, np.array([0, 1, 2, 3, 4, 4]), np.array([0.5, 0.5])).tolist()
        [1, 1, 0, 1, 0, 0]
    """
    y = np.asarray(labels).astype(np.int64)
    n = len(y)
    if y.ndim != 2:
        raise ValidationError(f"labels must be a 2-d matrix (items × labels), got shape {y.shape}")
    r = np.asarray(ratios, dtype=np.float64)
    if len(groups) != n:
        raise ValidationError(f"groups has {len(groups)} entries for {n} items")
    gi, n_groups = _group_index(groups)
    out = np.full(n, -1, dtype=np.int64) if fixed is None else np.asarray(fixed, dtype=np.int64).copy()
    if len(out) != n:
        raise ValidationError(f"fixed has {len(out)} entries for {n} items")
    if (out >= len(r)).any():
        raise ValidationError("fixed names a split index outside the ratios")
    # a group with an assigned item takes that split (the first assigned item's, by index)
    group_split = np.full(n_groups, -1, dtype=np.int64)
    assigned = np.flatnonzero(out >= 0)
    group_split[gi[assigned[::-1]]] = out[assigned[::-1]]
    out = np.where(out >= 0, out, group_split[gi])

    size = np.bincount(gi, minlength=n_groups).astype(np.float64)
    gy = np.zeros((n_groups, y.shape[1]), dtype=np.float64)
    np.add.at(gy, gi, y)
    # demand left per split: targets minus what the fixed items already hold
    want_items = r * n
    want_labels = r[:, None] * y.sum(axis=0)[None, :]
    placed = out >= 0
    for s in range(len(r)):
        sel = placed & (out == s)
        want_items[s] -= sel.sum()
        want_labels[s] -= y[sel].sum(axis=0)

    rng = np.random.default_rng(seed)
    todo = group_split < 0
    todo[np.unique(gi[placed])] = False
    order_key = rng.permutation(n_groups)            # seeded tie-break among groups of equal size
    left = gy * todo[:, None]                         # label counts of groups still to place
    tie = rng.permutation(len(r))                    # seeded tie-break among equally good splits

    def place(g: int, label: int | None) -> None:
        if label is None:
            key = np.lexsort((tie, -want_items))
        else:
            key = np.lexsort((tie, -want_items, -want_labels[:, label]))
        s = int(key[0])
        group_split[g] = s
        todo[g] = False
        want_items[s] -= size[g]
        want_labels[s] -= gy[g]
        left[g] = 0.0

    while True:
        remaining = left.sum(axis=0)
        has = np.flatnonzero(remaining > 0)
        if len(has) == 0:
            break
        lab = int(has[np.argmin(remaining[has])])     # the rarest label still to place
        gs = np.flatnonzero(todo & (gy[:, lab] > 0))
        gs = gs[np.lexsort((order_key[gs], -size[gs]))]  # big groups first
        for g in gs:
            place(int(g), lab)
    rest = np.flatnonzero(todo)                       # groups with no label: by size demand only
    for g in rest[np.lexsort((order_key[rest], -size[rest]))]:
        place(int(g), None)
    return np.where(out >= 0, out, group_split[gi])


def label_shares(labels: np.ndarray, split: np.ndarray, n_splits: int) -> np.ndarray:
    """``[S, L]``: the fraction of each label's items that sit in each split (NaN for an absent label).

    Example:
        >>> label_shares(np.array([[1], [1], [0]], bool), np.array([0, 1, 1]), 2).tolist()
        [[0.5], [0.5]]
    """
    y = np.asarray(labels).astype(np.float64)
    counts = np.zeros((n_splits, y.shape[1]))
    np.add.at(counts, np.asarray(split, dtype=np.int64), y)
    tot = counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / np.where(tot > 0, tot, np.nan)


def worst_share_error(labels: np.ndarray, split: np.ndarray, ratios: np.ndarray) -> float:
    """Max over labels and splits of ``|share − ratio|`` (0 is perfect balance).

    Example:
        >>> worst_share_error(np.array([[1], [1], [0]], bool), np.array([0, 1, 1]), np.array([0.5, 0.5]))
        0.0
    """
    r = np.asarray(ratios, dtype=np.float64)
    sh = label_shares(labels, split, len(r))
    if sh.size == 0 or np.isnan(sh).all():
        return 0.0
    return float(np.nanmax(np.abs(sh - r[:, None])))
