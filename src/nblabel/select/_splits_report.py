"""How good a split is: part sizes, each label's share per part, and near-duplicate leaks.

A *leak* is a near-duplicate pair (at the embedding's threshold) whose two items sit in different
parts: the model would be tested on a near-copy of a training image. A split grouped by
near-duplicates has none (at the threshold it was made with).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..store._embeddings import embedding_names
from ..store._splits import read_split_config
from ._splits import item_labels, split_table
from ._stratify import label_shares

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["SplitReport", "split_report"]


@dataclass
class SplitReport:
    """A split's report.

    Attributes:
        name: the split.
        ratios: the target fraction per part.
        sizes: ``split, n, share, target`` per part.
        label_shares: one row per label some item of the split carries: ``label``, ``n`` (items
            with it), then per part the share of those items in it.
        worst_error: the largest ``|share − target|`` over labels and parts (0 = perfect balance).
        leaks: ``media_a, media_b, distance, split_a, split_b`` of near-duplicate pairs in two parts
            (``None`` when the project has no ``"default"`` embedding to find them with).

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.full((4, 6, 3), v, np.uint8) for v in range(4)])
        >>> _ = p.split("v1", {"a": 0.5, "b": 0.5})
        >>> p.split_report("v1").sizes.to_dict("list")
        {'split': ['a', 'b'], 'n': [2, 2], 'share': [0.5, 0.5], 'target': [0.5, 0.5]}
    """

    name: str
    ratios: dict[str, float]
    sizes: pd.DataFrame
    label_shares: pd.DataFrame
    worst_error: float
    leaks: pd.DataFrame | None

    def plot(self, ax: Any = None) -> Any:
        """A grouped bar chart of each label's share per part, the targets as dashed lines (matplotlib).

        Returns the matplotlib ``Figure`` (drawn on ``ax`` when given).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.full((8, 8, 3), v, np.uint8) for v in (0, 1)])
            >>> _ = p.split("v1", {"a": 0.5, "b": 0.5})
            >>> from matplotlib.figure import Figure
            >>> isinstance(p.split_report("v1").plot(), Figure)
            True
        """
        from .._figure import figure_axes

        fig, ax = figure_axes(ax, figsize=(min(14.0, max(4.0, 0.45 * len(self.label_shares) + 2)), 3.4))
        parts = list(self.ratios)
        labels = self.label_shares["label"].astype(str).tolist()
        xs = np.arange(len(labels))
        width = 0.8 / max(1, len(parts))
        for k, part in enumerate(parts):
            vals = self.label_shares[part].to_numpy(dtype=float) if labels else np.zeros(0)
            bars = ax.bar(xs + (k - (len(parts) - 1) / 2) * width, np.nan_to_num(vals), width, label=part)
            ax.axhline(self.ratios[part], color=bars.patches[0].get_facecolor() if len(bars.patches) else None,
                       linestyle="--", linewidth=1)
        ax.set_xticks(xs)
        ax.set_xticklabels(labels, rotation=45 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center")
        ax.set_ylabel("share of the label's items")
        ax.set_ylim(0, 1)
        ax.set_title(f"split {self.name!r}: label shares per part (dashed: target)")
        ax.legend(fontsize="small")
        return fig

    def __repr__(self) -> str:
        parts = ", ".join(f"{s}={n}" for s, n in zip(self.sizes["split"], self.sizes["n"], strict=True))
        leaks = "not checked (no embedding)" if self.leaks is None else str(len(self.leaks))
        return (f"<SplitReport {self.name!r}: {parts}; worst label share error {self.worst_error:.3f}; "
                f"leaks {leaks}>")


def split_report(session: Session, name: str) -> SplitReport:
    """The :class:`SplitReport` of split ``name``.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
        >>> _ = p.split("v1", {"all": 1.0}); split_report(p.session, "v1").worst_error
        0.0
    """
    table = split_table(session, name)
    with session.store.read() as con:
        cfg = read_split_config(con, name) or {}
    ratios = {str(k): float(v) for k, v in cfg.get("ratios", {}).items()}
    parts = list(ratios)
    ids = table["media_id"].astype(int).tolist()
    idx = np.asarray([parts.index(s) for s in table["split"]], dtype=np.int64)
    n = len(ids)
    counts = np.bincount(idx, minlength=len(parts)) if n else np.zeros(len(parts), np.int64)
    sizes = pd.DataFrame({"split": parts, "n": counts.astype(int),
                          "share": counts / n if n else np.zeros(len(parts)),
                          "target": [ratios[p] for p in parts]})
    y, names = item_labels(session, ids)
    sh = label_shares(y, idx, len(parts))
    shares = pd.DataFrame({"label": names, "n": y.sum(axis=0).astype(int)})
    for k, p in enumerate(parts):
        shares[p] = sh[k] if len(names) else []
    shares = shares[shares["n"] > 0].reset_index(drop=True)
    target = np.asarray([ratios[p] for p in parts])
    worst = float(np.nanmax(np.abs(sh - target[:, None]))) if sh.size and not np.isnan(sh).all() else 0.0
    leaks = None
    if "default" in embedding_names(session):
        from ._duplicates import find_near_duplicates

        d = find_near_duplicates(session, media_ids=ids)
        pairs = d.pairs[d.pairs["distance"] <= d.threshold]
        where = dict(zip(ids, table["split"], strict=True))
        a = pairs["media_a"].map(where)
        b = pairs["media_b"].map(where)
        leaks = pairs.assign(split_a=a, split_b=b)[a.notna() & b.notna() & (a != b)].reset_index(drop=True)
    return SplitReport(name, ratios, sizes, shares, worst, leaks)
