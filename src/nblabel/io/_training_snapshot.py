"""Training item lists frozen under a snapshot name: the same name always gives the same items.

The first ``training_items(snapshot=name)`` collects the item list (:func:`._training.collect`) and
writes it, inside the same transaction, as a snapshot of format ``"training"`` in the project's
snapshot folder (:mod:`._snapshot`): ``media.parquet`` (the items in order: id, file name, uri,
orientation, size), ``instances.parquet`` (their instances, JSON columns as text) and
``items.json`` (classes, keypoint count, the options). Like every snapshot it is recorded with its
sha256 and listed by ``proj.snapshots()``. Later calls read those files back after checking the
hash, whatever changed in the project since; the options given then must be the ones it was made
with (or left out). A COCO snapshot (``proj.snapshot(name)``) is read back too
(:mod:`._training_coco`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import NotFoundError, StoreError, ValidationError
from ..store._caches import add_snapshot, snapshot_row
from ._snapshot import _NAME, _options, content_sha256, snapshot, snapshot_root, stage
from ._training import INSTANCE_COLUMNS, MEDIA_COLUMNS, TrainingItems, collect, dumps_column

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["FORMAT", "training_item_list", "training_snapshot"]

FORMAT = "training"
_JSON_COLUMNS = ("points", "attributes", "extra")


def _write(items: TrainingItems, folder: Path, options: dict[str, Any]) -> None:
    media = pa.Table.from_pandas(items.media[MEDIA_COLUMNS], preserve_index=False)
    pq.write_table(media.replace_schema_metadata(None), folder / "media.parquet")
    inst = items.instances[INSTANCE_COLUMNS].copy()
    for c in _JSON_COLUMNS:
        inst[c] = dumps_column(inst[c])
    inst["score"] = pd.to_numeric(inst["score"], errors="coerce").astype("float64")
    inst["area"] = pd.to_numeric(inst["area"], errors="coerce").astype("float64")
    inst["iscrowd"] = inst["iscrowd"].to_numpy(dtype=bool, na_value=False)
    table = pa.Table.from_pandas(inst, preserve_index=False)
    pq.write_table(table.replace_schema_metadata(None), folder / "instances.parquet")
    meta = {"classes": {str(k): v for k, v in items.classes.items()}, "keypoints": items.keypoints,
            "scores": items.scores, "options": options}
    (folder / "items.json").write_text(json.dumps(meta, sort_keys=True, indent=1))


def _read(folder: Path) -> TrainingItems:
    try:
        meta = json.loads((folder / "items.json").read_text())
        media = pq.read_table(folder / "media.parquet").to_pandas()
        inst = pq.read_table(folder / "instances.parquet").to_pandas()
    except (OSError, ValueError, pa.ArrowException) as e:
        raise StoreError(f"training snapshot {str(folder)!r} cannot be read ({e}); restore it from a backup "
                         "or make a new snapshot under another name") from None
    for c in _JSON_COLUMNS:
        inst[c] = pd.Series([json.loads(v) if isinstance(v, str) else None for v in inst[c]], index=inst.index,
                            dtype=object)
    inst["area"] = inst["area"].astype(object).where(inst["area"].notna(), None)
    classes = {int(k): str(v) for k, v in meta["classes"].items()}
    return TrainingItems(media, inst, classes, int(meta["keypoints"]), bool(meta["scores"]))


def training_snapshot(session: Session, name: str, *, split: str | None = None, slice: Any = None,
                      completed_only: bool | None = None, run: Any = None) -> TrainingItems:
    """The item list frozen as snapshot ``name``: made now from the options if it does not exist yet, else
    read back (options given must match the ones it was made with)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValidationError(f"snapshot name {name!r} must be 1-128 letters, digits, '.', '_' or '-' "
                              "(starting with a letter or digit), e.g. 'train-v1'")
    given = {k: v for k, v in {"split": split, "slice": slice, "completed_only": completed_only,
                               "run": run}.items() if v is not None}
    with session.store.read() as con:
        row = snapshot_row(con, name)
    if row is None:
        if session.store.read_only:
            raise NotFoundError(f"snapshot {name!r} does not exist, and this project is open read-only so it cannot "
                                "be made here; make it once on the project opened for writing "
                                f"(proj.training_items(snapshot={name!r}, ...)), then read it anywhere")
        made = _make(session, name, given)
        if made is not None:
            return made
        with session.store.read() as con:
            row = snapshot_row(con, name)
        assert row is not None
    fmt, query, _, _ = row
    stored = (json.loads(query) if query else {}).get("options") or {}
    path, _ = snapshot(session, name, None, {})  # checks the files are there and unchanged
    if fmt == FORMAT:
        want = _options(given)
        differ = {k: v for k, v in want.items() if stored.get(k) != v}
        if differ:
            raise ValidationError(f"snapshot {name!r} was made with options {stored}, not {want}; a snapshot never "
                                  "changes: leave the options out to read it, or pick a new name")
        return _read(path)
    if fmt == "coco":
        if given:
            raise ValidationError(f"snapshot {name!r} is a COCO export: its items are fixed; leave out "
                                  f"{sorted(given)} or make a training snapshot under a new name")
        from ._training_coco import read_coco_snapshot

        return read_coco_snapshot(session, path)
    raise ValidationError(f"snapshot {name!r} is a {fmt} export, which keeps no item list to train on; use a "
                          "new name (training_items makes a training snapshot) or a COCO snapshot")


def _make(session: Session, name: str, given: dict[str, Any]) -> TrainingItems | None:
    """Collect and write the snapshot in one transaction; None when another process made it meanwhile."""
    with session.store.transaction() as con:
        if snapshot_row(con, name) is not None:
            return None
        opts = {"completed_only": True, **given}
        items = collect(session, split=opts.get("split"), slice=opts.get("slice"),
                        completed_only=opts["completed_only"], run=opts.get("run"), con=con)
        options = _options(opts)

        def record(target: Path, _: None) -> None:
            add_snapshot(con, name, FORMAT, {"format": FORMAT, "options": options}, content_sha256(target), name,
                         len(items.media), len(items.instances))

        target, _ = stage(snapshot_root(session), name, lambda tmp: _write(items, tmp, options), record)
    return _read(target)


def training_item_list(session: Session, *, split: str | None = None, snapshot: str | None = None,
                       completed_only: bool | None = None, slice: Any = None, run: Any = None) -> TrainingItems:
    """The item list ``training_items`` streams: from snapshot ``snapshot`` (made on first use), else the project now.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.full((4, 6, 3), v, np.uint8) for v in (0, 1)])
        >>> p.complete(2); training_item_list(p.session).media_ids()
        [2]
    """
    if snapshot is not None:
        return training_snapshot(session, snapshot, split=split, slice=slice, completed_only=completed_only, run=run)
    return collect(session, split=split, slice=slice, completed_only=True if completed_only is None else completed_only,
                   run=run)
