"""A COCO import's annotations staged before the write transaction, resolved inside it.

Before the transaction (while the file is read, once): every chunk of annotations is staged as
compact columns keyed by COCO ids (:mod:`._coco_fast` from the text of clean stretches,
:mod:`._coco_columns` from decoded items). Inside it, once the categories have
label ids and the images media ids, :func:`resolve` maps the ids with array lookups, words the
problems the columns show (a repeated annotation id, an image or category the file does not
list or the import refused), runs the reference conversion on the few rows that were not staged
as columns, and hands out instance frames in file order, a chunk at a time, so no more than a
chunk's points are held as Python lists. Problems are reported in the order of the file, as the
one-by-one conversion reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import numpy as np
import pandas as pd

from ._coco_columns import StagedPart, stage_chunk
from ._coco_fast import AVAILABLE, stage_text

__all__ = ["Names", "Staged", "resolve"]

_FAST_KEYS = {"id", "image_id", "category_id", "bbox", "segmentation", "area", "iscrowd"}

# the reference conversion of the rows not staged as columns (``nblabel.io._coco._annotation_rows``)
Reference = Callable[[list[Any], list[int], list[tuple[int, str, str]], set[Any]],
                     tuple[pd.DataFrame, list[int], list[Any], list[Any], list[Any]]]


class Names(Sequence[str]):
    """The input name of each row of a frame ("annotation 12 (image 3)"), made when a problem needs it."""

    def __init__(self, aid: Sequence[Any], iid: Sequence[Any]) -> None:
        self.aid, self.iid = aid, iid

    def __len__(self) -> int:
        return len(self.aid)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return Names(self.aid[i], self.iid[i])
        return f"annotation {self.aid[i]} (image {self.iid[i]})"


class Staged:
    """The annotations of the last ``annotations`` key of a file, staged chunk by chunk.

    Example:
        >>> s = Staged({"id", "image_id", "category_id", "bbox"})
        >>> s.add([{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2]}, 5])
        >>> s.n, len(s.parts), s.parts[0].slow
        (2, 1, [5])
    """

    def __init__(self, standard: set[str]) -> None:
        self.standard = standard
        self.fast = AVAILABLE and standard >= _FAST_KEYS  # the C-level decode knows only these keys
        self.parts: list[StagedPart] = []
        self.starts: list[int] = []  # where each part begins in the file's annotations
        self.n = 0

    def reset(self) -> None:
        """Forget what was staged (a later ``annotations`` key replaces an earlier one, as in json.loads)."""
        self.parts, self.starts, self.n = [], [], 0

    def add(self, anns: list[Any]) -> None:
        """Stage the next chunk of annotations (decoded)."""
        self._append(stage_chunk(anns, self.n, self.standard), len(anns))

    def add_text(self, text: str) -> bool:
        """Stage the next annotations from their JSON text (an array) when :func:`._coco_fast.stage_text`
        takes it (every one a plain box or polygon row); False, staging nothing, when it does not."""
        part = stage_text(text, self.n) if self.fast else None
        if part is None:
            return False
        self._append(part, len(part.pos))
        return True

    def _append(self, part: StagedPart, n: int) -> None:
        self.parts.append(part)
        self.starts.append(self.n)
        self.n += n


def _py(v: Any) -> Any:
    """A numpy scalar as the Python value the file gave (``repr`` words it as the reference does)."""
    return v.item() if isinstance(v, np.generic) else v


class _Lookup:
    """``keys[v]`` for arrays of ids (-1 where missing), the keys indexed once for every part.

    Example:
        >>> _Lookup({3: 10, 5: 11})(np.array([5, 4, 3])).tolist()
        [11, -1, 10]
    """

    def __init__(self, keys: dict[Any, int]) -> None:
        self.values = np.asarray(list(keys.values()), dtype=np.int64)
        self.objects = pd.Index(list(keys), dtype=object)
        self.ints: pd.Index | None = None
        if keys and set(map(type, keys)) == {int}:  # the usual file: int64 hashing, no object per id
            try:
                self.ints = pd.Index(np.fromiter(keys, dtype=np.int64, count=len(keys)))
            except OverflowError:  # a key past int64: the general lookup
                self.ints = None

    def __call__(self, vals: np.ndarray) -> np.ndarray:
        if not len(self.values) or not len(vals):
            return np.full(len(vals), -1, dtype=np.int64)
        if self.ints is not None and vals.dtype == np.int64:
            at = self.ints.get_indexer(pd.Index(vals))
        else:
            at = self.objects.get_indexer(pd.Index(vals, dtype=object))
        out = self.values[np.maximum(at, 0)]
        out[at < 0] = -1
        return out


def _first_uses(staged: Staged) -> tuple[list[np.ndarray], set[Any]]:
    """Per part, which staged rows repeat an earlier annotation id; and the ids whose first use is a
    staged row that slow rows repeat (the reference conversion must know them)."""
    pos = np.concatenate([p.pos for p in staged.parts] + [p.typed_pos for p in staged.parts])
    ids = [p.aid for p in staged.parts] + [p.typed_aid for p in staged.parts]
    # int64 ids (the usual file) are compared as int64: no Python object per annotation
    aid = np.concatenate(ids if all(a.dtype == np.int64 for a in ids) else [a.astype(object) for a in ids])
    fast = np.concatenate([np.ones(len(p.pos), bool) for p in staged.parts]
                          + [np.zeros(len(p.typed_pos), bool) for p in staged.parts])
    order = np.argsort(pos, kind="stable")
    dup_sorted = pd.Index(aid[order], dtype=aid.dtype).duplicated(keep="first")
    dup = np.empty(len(pos), dtype=bool)
    dup[order] = dup_sorted
    out, at = [], 0
    for p in staged.parts:
        out.append(dup[at:at + len(p.pos)])
        at += len(p.pos)
    slow_ids = set(aid[~fast].tolist())
    seen = set(aid[fast & ~dup].tolist()) & slow_ids if slow_ids else set()
    return out, seen


def _part_frame(p: StagedPart, good: np.ndarray, mids: np.ndarray, lids: np.ndarray) -> pd.DataFrame:
    """The ``good`` staged rows of one part as an instance frame."""
    rings = np.split(p.coords, np.cumsum(p.ring_len)[:-1]) if len(p.ring_len) else []
    ends = np.cumsum(p.row_rings)
    poly_pts = [rings[e - k:e] for e, k in zip(ends.tolist(), p.row_rings.tolist(), strict=True)]
    pts: list[Any] = [None] * len(p.pos)
    for j, i in enumerate(np.flatnonzero(p.poly).tolist()):
        pts[i] = poly_pts[j]
    g = np.flatnonzero(good)
    # a row's extra: its staged JSON text, or (None) just its COCO id, as json.dumps writes it
    extra = [p.extra[i] for i in g] if p.extra is not None else [f'{{"coco_id": {v}}}' for v in p.aid[g].tolist()]
    p.coords, p.extra = np.zeros(0), []  # held once, as the frame's
    return pd.DataFrame({
        "media_id": mids[g], "label_id": lids[g], "kind": np.where(p.poly[g], "polygon", "box").astype(object),
        **{c: p.box[g, j] for j, c in enumerate(("x0", "y0", "x1", "y1"))},
        "points": pd.Series([pts[i] for i in g], dtype=object), "area": p.area[g], "iscrowd": p.iscrowd[g],
        "extra": pd.Series(extra, dtype=object)})


def resolve(staged: Staged, media: dict[Any, int], failed: dict[Any, str], cats: dict[int, int],
            reference: Reference, problems: list[tuple[int, str, str]], bad_images: list[Any],
            chunk: int) -> Iterator[tuple[pd.DataFrame, Names]]:
    """Instance frames of the staged annotations in file order, about ``chunk`` rows at a time (a
    polygon's points count as rows too: they are Python lists in the frame and its checks).

    ``media``/``cats``: COCO image/category id -> media/label id; ``failed``: why a COCO image was
    not imported. Problems are appended to ``problems`` as ``(place in the file, item, reason)``
    before the first frame is handed out; ``bad_images`` gets the COCO image ids of refused
    annotations.
    """
    if not staged.parts:
        return
    dups, seen = _first_uses(staged)
    slow_pos = [k for p in staged.parts for k in p.slow_pos]
    slow = [a for p in staged.parts for a in p.slow]
    s_df, s_pos, s_aid, s_iid, s_images = reference(slow, slow_pos, problems, seen)
    del slow
    bad_images += s_images
    resolved: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = []
    media_of, label_of = _Lookup(media), _Lookup(cats)
    for p, dup in zip(staged.parts, dups, strict=True):
        mids, lids = media_of(p.iid), label_of(p.cid)
        no_media, no_cat = ~dup & (mids < 0), ~dup & (mids >= 0) & (lids < 0)
        for i in np.flatnonzero(dup | no_media | no_cat).tolist():
            aid, iid, k = _py(p.aid[i]), _py(p.iid[i]), int(p.pos[i])
            item = f"annotation {aid} (image {iid})"
            bad_images.append(iid)
            if dup[i]:
                problems.append((k, item, f"annotation id {aid} is used twice; ids must be unique"))
            elif no_media[i]:
                why = failed.get(iid)
                problems.append((k, item, f"its image was not imported ({why})" if why else
                                 f"image_id {iid!r} is not listed in 'images'"))
            else:
                problems.append((k, item, f"category_id {_py(p.cid[i])!r} is not listed in 'categories'"))
        resolved.append((~(dup | no_media | no_cat), mids, lids))
    del dups
    problems.sort(key=lambda t: t[0])
    s_at = np.asarray(s_pos, dtype=np.int64)
    out: list[pd.DataFrame] = []
    names: list[Names] = []
    rows = 0
    parts: list[StagedPart | None] = list(staged.parts)
    starts = staged.starts
    staged.reset()  # handed out once: each part is let go once its frame is made, not held to the end
    for n in range(len(parts)):
        part, r = parts[n], resolved[n]
        assert part is not None
        assert r is not None
        p, (good, mids, lids) = part, r
        parts[n] = resolved[n] = None
        last = n == len(parts) - 1
        hi = None if last else starts[n + 1]
        points = int(p.ring_len.sum()) // 2  # a polygon's points are Python lists in the frame: they count
        df = _part_frame(p, good, mids, lids)
        pos = p.pos[good]
        aid, iid = p.aid[good].tolist(), p.iid[good].tolist()
        take = np.flatnonzero((s_at < hi) if hi is not None else np.ones(len(s_at), bool))
        if len(take):  # slow rows of this part's stretch of the file, merged in by place
            df = pd.concat([df, s_df.iloc[take]], ignore_index=True)
            pos = np.concatenate([pos, s_at[take]])
            aid += [s_aid[i] for i in take]
            iid += [s_iid[i] for i in take]
            order = np.argsort(pos, kind="stable")
            df = df.iloc[order].reset_index(drop=True)
            aid, iid = [aid[i] for i in order], [iid[i] for i in order]
            keep = np.ones(len(s_at), bool)
            keep[take] = False
            s_df, s_at = s_df[keep].reset_index(drop=True), s_at[keep]
            s_aid, s_iid = [v for v, k in zip(s_aid, keep, strict=True) if k], [v for v, k in zip(s_iid, keep, strict=True) if k]
        out.append(df)
        names.append(Names(aid, iid))
        rows += len(df) + points
        if rows >= chunk or last:
            both = Names([a for nm in names for a in nm.aid], [i for nm in names for i in nm.iid])
            yield (pd.concat(out, ignore_index=True) if len(out) > 1 else out[0]), both
            out, names, rows = [], [], 0
