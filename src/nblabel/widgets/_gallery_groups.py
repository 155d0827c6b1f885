"""Extra per-item columns of a gallery: joined from a DataFrame, coloured by a column, grouped by one.

:func:`check_extra` validates the ``extra=`` DataFrame of ``proj.gallery`` (a ``media_id`` column,
each id once, ids that are media of the project, column names that do not collide with the grid's
own). :func:`decorate` joins it onto the ``items`` table the gallery sends to the browser and adds
three reserved columns (names starting with ``@``, which no user column may take):

* ``@color``: the frame colour of each item, from ``color_by``'s value (``""``: no value, no frame);
  the palette is assigned by the sorted distinct values (of all of ``extra``'s rows when the column
  comes from it, so a gallery of part of the media colours them as the whole does);
* ``@group``: with ``group_by``, the rank of the item's group (0, 1, ...: groups in order of their
  first item; items without a group value last, as one block); the rows are reordered group by
  group (stable within a group) and the browser starts a new grid row at each change;
* ``@keep``: with ``group_by`` and a boolean ``keep`` column, 1 for the member a group keeps.

Reordering rows renumbers the ``item`` column of the ``boxes`` table, so both tables come back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._warnings import warn
from ..errors import NotFoundError, ValidationError, did_you_mean

if TYPE_CHECKING:
    import pyarrow as pa

    from ..store import Store

__all__ = ["PALETTE", "RESERVED", "check_extra", "decorate", "palette_for"]

# Categorical, distinguishable on the dark grid; the frame of value k (in sorted order) is PALETTE[k % len].
PALETTE = ("#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
           "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3")
RESERVED = ("@color", "@group", "@keep")
BUILTIN = ("media_id", "file_name", "width", "height", "n_gt")


def check_extra(store: Store, extra: Any, taken: Sequence[str]) -> pd.DataFrame | None:
    """Validate ``extra`` (``None`` or a DataFrame with ``media_id``); returns it with unique int ids.

    ``taken`` are the names already in the item table (slice columns, run counts): an extra column
    may not reuse one, nor start with ``@``. Ids that are not media of the project are an error
    (the wrong table, most likely); ids outside the gallery's slice are simply not shown.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
        >>> check_extra(p.store, pd.DataFrame({"media_id": [1], "split": ["train"]}), ["width"]).columns.tolist()
        ['media_id', 'split']
    """
    if extra is None:
        return None
    if not isinstance(extra, pd.DataFrame):
        raise ValidationError(f"extra= is a DataFrame with a media_id column (e.g. proj.split_of(name)), "
                              f"got {type(extra).__name__}")
    if "media_id" not in extra.columns:
        raise ValidationError(f"extra= needs a media_id column to join on; it has {list(map(str, extra.columns))}")
    names = [str(c) for c in extra.columns if c != "media_id"]
    for c in names:
        if c.startswith("@") or c in BUILTIN or c in taken or ":" in c:
            raise ValidationError(f"extra column {c!r} collides with a gallery column (the built-ins "
                                  f"{list(BUILTIN)}, the shown columns, run counts 'tp:<run>', names with "
                                  f"'@' or ':'); rename it, e.g. extra.rename(columns={{{c!r}: 'my_{c.lstrip('@')}'}})")
    try:
        ids = pd.to_numeric(extra["media_id"], errors="raise").astype(np.int64)
    except (ValueError, TypeError) as e:
        raise ValidationError(f"extra['media_id'] must hold integer media ids: {e}") from None
    dup = ids[ids.duplicated()]
    if len(dup):
        raise ValidationError(f"extra= has {len(dup)} repeated media_id(s) (e.g. {int(dup.iloc[0])}); "
                              "give each media item one row (drop_duplicates('media_id'))")
    with store.read() as con:
        known = {int(r[0]) for r in con.execute("SELECT media_id FROM media WHERE media_id IN (SELECT unnest(?))",
                                                [ids.tolist()]).fetchall()}
    unknown = [int(i) for i in ids if int(i) not in known]
    if unknown:
        raise NotFoundError(f"extra= names {len(unknown)} media id(s) not in the project, e.g. {unknown[:5]}; "
                            "pass a table of this project's media")
    out = extra.copy()
    out["media_id"] = ids.to_numpy()
    out.columns = ["media_id" if c == "media_id" else str(c) for c in extra.columns]
    return out.reset_index(drop=True)


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, float(v)) if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) \
        else (1, str(v))


def palette_for(values: pd.Series) -> dict[Any, str]:
    """A colour per distinct non-null value: the k-th in sorted order (numbers before text) gets ``PALETTE[k]``.

    Example:
        >>> palette_for(pd.Series(["val", "train", None, "train"]))
        {'train': '#e6194b', 'val': '#3cb44b'}
    """
    distinct = sorted(pd.unique(values.dropna()), key=_sort_key)
    return {v: PALETTE[k % len(PALETTE)] for k, v in enumerate(distinct)}


def _column_values(items: pa.Table, extra_df: pd.DataFrame | None, name: str) -> pd.Series:
    if extra_df is not None and name in extra_df.columns:
        return extra_df[name]
    return items.column(name).to_pandas()


def decorate(items: pa.Table, boxes: pa.Table, extra: pd.DataFrame | None, *, color_by: str | None = None,
             group_by: str | None = None, sort: str | None = None) -> tuple[pa.Table, pa.Table, list[dict[str, str]]]:
    """Join ``extra`` onto the item table, add ``@color`` / ``@group`` / ``@keep``, order by group.

    ``sort`` (``"name"`` / ``"-name"``, nulls last) orders the rows first, for a column of ``extra``
    the slice's SQL cannot sort by; groups then keep that order inside each group.

    Returns the new ``items`` and ``boxes`` tables and the legend (``value``, ``color``) of ``color_by``.

    Example:
        >>> import pyarrow as pa
        >>> items = pa.table({"media_id": pa.array([1, 2, 3], pa.int64()), "file_name": ["a", "b", "c"]})
        >>> boxes = pa.table({"item": pa.array([0, 2], pa.int32())})
        >>> extra = pd.DataFrame({"media_id": [1, 2, 3], "group": [5, 4, 5], "keep": [True, True, False]})
        >>> it, bx, legend = decorate(items, boxes, extra, color_by="group", group_by="group")
        >>> it["media_id"].to_pylist(), it["@group"].to_pylist(), it["@keep"].to_pylist(), bx["item"].to_pylist()
        ([1, 3, 2], [0, 0, 1], [1, 0, 1], [0, 1])
        >>> legend
        [{'value': '4', 'color': '#e6194b'}, {'value': '5', 'color': '#3cb44b'}]
    """
    import pyarrow as pa

    from ._gallery_tables import arrow_column

    mids = items.column("media_id").to_numpy()
    joined: pd.DataFrame | None = None
    if extra is not None:
        joined = pd.DataFrame({"media_id": mids}).merge(extra, on="media_id", how="left", sort=False)
        for c in joined.columns:
            if c != "media_id":
                items = items.append_column(c, arrow_column(joined[c]))
    for what, name in (("color_by", color_by), ("group_by", group_by), ("sort", (sort or "").lstrip("-") or None)):
        if name is not None and name not in items.column_names:
            have = [c for c in items.column_names if not c.startswith("@")]
            raise ValidationError(f"{what}={name!r} is not a gallery column{did_you_mean(name, have)}; "
                                  "pass it in extra= or columns=")
    legend: list[dict[str, str]] = []
    if color_by is not None:
        values = _column_values(items, joined, color_by)
        # by the values of the whole extra table, so a sub-slice keeps the colours of the full one
        colors = palette_for(extra[color_by] if extra is not None and color_by in extra.columns else values)
        if len(colors) > len(PALETTE):
            warn(f"color_by={color_by!r} has {len(colors)} distinct values; the {len(PALETTE)} colours repeat")
        legend = [{"value": str(v), "color": c} for v, c in colors.items()]
        col = [colors.get(v, "") if not pd.isna(v) else "" for v in values.astype(object)]
        items = items.append_column("@color", pa.array(col, pa.string()))
    perm = np.arange(items.num_rows)
    if sort:
        name = sort.lstrip("-")
        key = _column_values(items, joined, name).reset_index(drop=True)
        perm = key.sort_values(ascending=not sort.startswith("-"), kind="stable", na_position="last").index.to_numpy()
    if group_by is not None:
        values = _column_values(items, joined, group_by).reset_index(drop=True)
        codes, _ = pd.factorize(values.iloc[perm], use_na_sentinel=True)  # in order of first appearance
        rank = np.empty(len(perm), np.int32)
        rank[perm] = np.where(codes < 0, codes.max(initial=-1) + 1, codes)
        perm = perm[np.argsort(rank[perm], kind="stable")]
        items = items.append_column("@group", pa.array(rank, pa.int32()))
        if joined is not None and extra is not None and "keep" in extra.columns and pd.api.types.is_bool_dtype(extra["keep"]):
            keep = joined["keep"].astype("boolean").fillna(False).to_numpy(bool).astype(np.int8)
            items = items.append_column("@keep", pa.array(keep, pa.int8()))
    if sort or group_by is not None:
        items, boxes = _permute(items, boxes, perm)
    return items, boxes, legend


def _permute(items: pa.Table, boxes: pa.Table, perm: np.ndarray) -> tuple[pa.Table, pa.Table]:
    """Rows of ``items`` in the order ``perm`` (new row k = old row perm[k]); boxes renumbered and re-sorted."""
    import pyarrow as pa

    items = items.take(pa.array(perm, pa.int64()))
    if boxes.num_rows:
        new_of_old = np.empty(len(perm), np.int32)
        new_of_old[perm] = np.arange(len(perm), dtype=np.int32)
        item = new_of_old[boxes.column("item").to_numpy()]
        o = np.argsort(item, kind="stable")
        boxes = boxes.take(pa.array(o, pa.int64())).set_column(
            boxes.column_names.index("item"), "item", pa.array(item[o], pa.int32()))
    return items, boxes
