"""Train/val/test splits that are stratified by label, grouped, deterministic and stable.

:func:`make_split` reads what a split needs (each item's labels: its current ground-truth
instances' labels, whole-image tags included; its group), places the items with
:func:`~nblabel.select._stratify.stratified_group_split` and stores the result through
:mod:`nblabel.store._splits` (each part a static dataset ``"<name>/<part>"``; the configuration as
JSON). A second call with the same name keeps every earlier assignment and places only new items.

Groups (``group_by``):

- ``None``: every item is its own group;
- ``"near_duplicates"``: the groups of :func:`~nblabel.select.find_near_duplicates` over the
  ``"default"`` embedding (items in no group, or with no vector, are their own group);
- ``"meta:<key>"``: items with the same value of media metadata ``key`` (a scene, patient or
  video); items without the key are their own group.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import NotFoundError, ValidationError, did_you_mean
from ..query._filters import json_pointer
from ..store._splits import add_split_members, read_split_config, split_members
from ._scope import scope_ids
from ._stratify import stratified_group_split

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["check_ratios", "item_groups", "item_labels", "make_split", "split_table"]

STRATIFY = ("labels", "none")


def check_ratios(ratios: object) -> dict[str, float]:
    """``ratios`` as ``{part: fraction}`` after checking it: names non-empty without ``/``, each
    fraction > 0, their sum 1 within 1e-9.

    Example:
        >>> check_ratios({"train": 0.8, "test": 0.2})
        {'train': 0.8, 'test': 0.2}
        >>> check_ratios({"train": 0.8, "test": 0.3})
        Traceback (most recent call last):
        ...
        nblabel.errors.ValidationError: ratios {'train': 0.8, 'test': 0.3} sum to 1.1, not 1; scale them so they add up to 1
    """
    if not isinstance(ratios, Mapping) or not ratios:
        raise ValidationError(f"ratios must be a non-empty dict like {{'train': 0.8, 'test': 0.2}}, got {ratios!r}")
    out: dict[str, float] = {}
    for k, v in ratios.items():
        if not isinstance(k, str) or not k or "/" in k:
            raise ValidationError(f"split part names must be non-empty strings without '/', got {k!r}")
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not math.isfinite(v) or v <= 0:
            raise ValidationError(f"ratio of {k!r} must be a number > 0, got {v!r}")
        out[k] = float(v)
    total = math.fsum(out.values())
    if abs(total - 1.0) > 1e-9:
        raise ValidationError(f"ratios {dict(ratios)!r} sum to {total:.10g}, not 1; scale them so they add up to 1")
    return out


def item_labels(session: Session, ids: list[int]) -> tuple[np.ndarray, list[str]]:
    """``[n, L]`` boolean matrix: item ``i`` carries label ``l`` (a current ground-truth instance of
    it, whole-image tags included), and the label names (sorted by label id).

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.full((40, 60, 3), v, np.uint8) for v in (0, 1)])
        >>> _ = p.schema.add_label("car"); _ = p.add_instance(2, "car", box=[1, 1, 9, 9])
        >>> y, names = item_labels(p.session, [1, 2]); y.tolist(), names
        ([[False], [True]], ['car'])
    """
    with session.store.read() as con:
        pairs = con.execute(
            "SELECT DISTINCT i.media_id, i.label_id FROM current_instances i "
            "WHERE i.run_id IS NULL AND i.media_id IN (SELECT unnest(?::BIGINT[]))", [ids]).fetchnumpy()
    state = session.schema_state()
    label_ids = sorted(state.labels)
    y = np.zeros((len(ids), len(label_ids)), dtype=bool)
    if len(pairs["media_id"]):
        pos = np.searchsorted(np.asarray(ids, np.int64), np.asarray(pairs["media_id"], np.int64))
        col = np.searchsorted(np.asarray(label_ids, np.int64), np.asarray(pairs["label_id"], np.int64))
        y[pos, col] = True
    return y, [state.labels[i].name for i in label_ids]


def _meta_groups(session: Session, ids: list[int], key: str) -> np.ndarray:
    with session.store.read() as con:
        vals = con.execute(
            "SELECT media_id, json_extract_string(meta, ?) AS v FROM media "
            "WHERE media_id IN (SELECT unnest(?::BIGINT[])) ORDER BY media_id", [json_pointer(key), ids]).df()
        if vals["v"].isna().all():
            keys = sorted({str(r[0]) for r in con.execute(
                "SELECT DISTINCT unnest(json_keys(meta)) FROM media WHERE meta IS NOT NULL").fetchall()})
            raise ValidationError(f"group_by='meta:{key}': no media item has metadata {key!r}"
                                  f"{did_you_mean(key, keys)}; keys there are: {keys}")
    v = vals.set_index("media_id")["v"].reindex(ids)
    # items without the key: their own group (a key that cannot collide with a metadata value)
    return np.asarray([f"v:{x}" if isinstance(x, str) else f"id:{i}" for i, x in zip(ids, v.tolist(), strict=True)])


def item_groups(session: Session, ids: list[int], group_by: str | None) -> np.ndarray:
    """One group key per item (see the module docstring for ``group_by``).

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8), np.ones((4, 6, 3), np.uint8)])
        >>> item_groups(p.session, [1, 2], None).tolist()
        ['id:1', 'id:2']
    """
    if group_by is None or group_by == "none":
        return np.asarray([f"id:{i}" for i in ids])
    if group_by == "near_duplicates":
        from ._duplicates import find_near_duplicates

        g = find_near_duplicates(session, media_ids=ids).groups
        gmap = dict(zip(g["media_id"].astype(int).tolist(), g["group"].astype(int).tolist(), strict=True))
        return np.asarray([f"g:{gmap[i]}" if i in gmap else f"id:{i}" for i in ids])
    if isinstance(group_by, str) and group_by.startswith("meta:") and len(group_by) > 5:
        return _meta_groups(session, ids, group_by[5:])
    raise ValidationError(f"group_by must be None, 'near_duplicates' or 'meta:<key>', got {group_by!r}")


def _settle(given: Any, stored: Any, what: str, name: str, default: Any) -> Any:
    if stored is None:
        return default if given is None else given
    if given is not None and given != stored:
        raise ValidationError(f"split {name!r} was made with {what}={stored!r}, not {given!r}; call it again "
                              f"with the same {what} (or leave it out), or choose a new split name")
    return stored


def make_split(session: Session, name: str, ratios: Mapping[str, float] | None = None, *,
               stratify: str | None = None, group_by: str | None = None, seed: int | None = None,
               slice: Any = None) -> pd.DataFrame:
    """Make split ``name`` (or extend it with the media not yet in it); returns ``media_id, split``.

    A new split needs ``ratios``; ``stratify`` (``"labels"`` or ``"none"``), ``group_by`` and
    ``seed`` default to ``"labels"``, ``None`` and 0. A later call reuses the stored configuration:
    arguments left out take the stored values, different ones are refused.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.full((4, 6, 3), v, np.uint8) for v in range(10)])
        >>> make_split(p.session, "v1", {"train": 0.8, "test": 0.2})["split"].value_counts().to_dict()
        {'train': 8, 'test': 2}
    """
    if not isinstance(name, str) or not name or "/" in name:
        raise ValidationError(f"a split needs a non-empty name without '/', got {name!r}")
    with session.store.read() as con:
        stored = read_split_config(con, name)
        old = split_members(con, name)
    if stored is None and ratios is None:
        raise NotFoundError.from_key("split", name, hint="a new split needs ratios, e.g. "
                                     "proj.split(name, {'train': 0.8, 'val': 0.1, 'test': 0.1})")
    r = check_ratios(ratios) if ratios is not None else {}
    if stored is not None and ratios is not None and r != stored["ratios"]:
        raise ValidationError(f"split {name!r} was made with ratios {stored['ratios']!r}, not {r!r}; "
                              "leave ratios out to extend it, or choose a new split name")
    if stored is not None:
        r = {str(k): float(v) for k, v in stored["ratios"].items()}  # the stored order of the parts
    cfg = stored or {}
    strat = _settle(stratify, cfg.get("stratify"), "stratify", name, "labels")
    if strat not in STRATIFY:
        raise ValidationError(f"stratify must be 'labels' or 'none', got {strat!r}")
    grp = _settle(group_by, cfg.get("group_by"), "group_by", name, None)
    sd = _settle(seed, cfg.get("seed"), "seed", name, 0)
    if isinstance(sd, bool) or not isinstance(sd, (int, np.integer)):
        raise ValidationError(f"seed must be an integer, got {sd!r}")

    ids = sorted(set(scope_ids(session, slice)) | set(old["media_id"].astype(int).tolist()))
    parts = list(r)
    groups = item_groups(session, ids, grp)
    if strat == "labels":
        y, _ = item_labels(session, ids)
    else:
        y = np.zeros((len(ids), 0), dtype=bool)
    fixed = np.full(len(ids), -1, dtype=np.int64)
    if len(old):
        pos = np.searchsorted(np.asarray(ids, np.int64), old["media_id"].to_numpy(np.int64))
        fixed[pos] = [parts.index(s) for s in old["split"]]
    split = stratified_group_split(y, groups, np.asarray([r[p] for p in parts]), seed=int(sd), fixed=fixed)
    new = fixed < 0
    idarr = np.asarray(ids, np.int64)
    by_part = {p: idarr[new & (split == k)].tolist() for k, p in enumerate(parts)}
    config = {"ratios": r, "stratify": strat, "group_by": grp, "seed": int(sd), "format": 1}
    with session.store.transaction() as con:
        add_split_members(con, name, config, by_part)
    return pd.DataFrame({"media_id": idarr, "split": [parts[k] for k in split]})


def split_table(session: Session, name: str) -> pd.DataFrame:
    """``media_id, split`` of split ``name``; :class:`~nblabel.errors.NotFoundError` if there is none.

    Example:
        >>> import nblabel as nl
        >>> split_table(nl.open(":memory:").session, "v9")
        Traceback (most recent call last):
        ...
        nblabel.errors.NotFoundError: split 'v9' does not exist; make one with proj.split(name, ratios)
    """
    with session.store.read() as con:
        if read_split_config(con, name) is None:
            raise NotFoundError.from_key("split", name, hint="make one with proj.split(name, ratios)")
        return split_members(con, name)
