"""Training items: a frozen list of media with their instances, streamed as ``(image, target)`` pairs.

:func:`collect` reads, in one read of the project, which media an item list holds (a split part or
any dataset, a slice; by default only media complete in stage "label": an incomplete item would
teach the model that its missing objects are background), in media id order, with their current
ground truth (or one run's predictions) and the label names. The result, :class:`TrainingItems`,
holds no connection: it pickles to DataLoader workers, which only read image files (no project
lock is taken there). :mod:`._training_snapshot` freezes one under a snapshot name.

Images come out as the annotator shows them (EXIF orientation applied, 8-bit RGB); targets in the
layout of :mod:`._training_targets`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import MediaError, ValidationError
from ..store import load_state, media_ids, run_id
from ._exports import export_instances, export_media
from ._images import load_display_image
from ._training_targets import OBJECT_KINDS, item_target

if TYPE_CHECKING:
    from ..store import Session

__all__ = ["MEDIA_COLUMNS", "TrainingItems", "collect", "load_rgb", "scope_ids"]

#: the columns of ``TrainingItems.media`` (in item order)
MEDIA_COLUMNS = ["media_id", "file_name", "uri", "orientation", "width", "height"]
#: the columns of ``TrainingItems.instances``
INSTANCE_COLUMNS = ["instance_id", "media_id", "label_id", "kind", "x0", "y0", "x1", "y1", "points",
                    "attributes", "score", "area", "iscrowd", "extra"]


def load_rgb(uri: str, orientation: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """An image as the annotator shows it: ``uint8 [H, W, 3]`` RGB, EXIF orientation applied.

    ``size`` is the ``(width, height)`` the project recorded; a file whose upright size differs has
    changed since it was added (:class:`~nblabel.errors.MediaError`: its boxes would not fit it).

    Example:
        >>> import tempfile, os; from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "a.png"); Image.new("L", (4, 3), 9).save(p)
        >>> a = load_rgb(p, 1); a.shape, a.dtype.name, int(a[0, 0, 0])
        ((3, 4, 3), 'uint8', 9)
    """
    a = np.array(load_display_image(uri, int(orientation or 1)).convert("RGB"))  # writable, unlike np.asarray
    if size is not None and (a.shape[1], a.shape[0]) != (int(size[0]), int(size[1])):
        raise MediaError(f"{uri!r} is {a.shape[1]}×{a.shape[0]} upright but the project recorded "
                         f"{int(size[0])}×{int(size[1])}: the file changed since it was added; restore it")
    return a


@dataclass
class TrainingItems:
    """A frozen list of training items: media rows in item order, their instances, the classes.

    ``media`` has :data:`MEDIA_COLUMNS`; ``instances`` the current instances of those media
    (points, attributes and extra parsed), sorted by item then instance id; ``classes`` maps label
    id to name; ``keypoints`` is K, the largest keypoint count (0: no keypoints); ``scores`` says the
    instances are a run's predictions.

    Example:
        >>> items = TrainingItems(pd.DataFrame(columns=MEDIA_COLUMNS), pd.DataFrame(columns=INSTANCE_COLUMNS), {})
        >>> len(items)
        0
    """

    media: pd.DataFrame
    instances: pd.DataFrame
    classes: dict[int, str]
    keypoints: int = 0
    scores: bool = False
    _bounds: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.media = self.media.reset_index(drop=True)
        pos = pd.Series(np.arange(len(self.media)), index=self.media["media_id"].astype(np.int64))
        inst = self.instances
        order = pos.reindex(inst["media_id"].astype(np.int64)).to_numpy()
        if len(inst) and np.isnan(order.astype(float)).any():
            raise ValidationError("training instances refer to media outside the item list")
        inst = inst.assign(_pos=order).sort_values(["_pos", "instance_id"], kind="stable")
        self.instances = inst.drop(columns="_pos").reset_index(drop=True)
        self._bounds = np.searchsorted(inst["_pos"].to_numpy(np.int64), np.arange(len(self.media) + 1))

    def __len__(self) -> int:
        return len(self.media)

    def media_ids(self) -> list[int]:
        """The media ids, in item order."""
        return self.media["media_id"].astype(int).tolist()

    def target(self, i: int, *, masks: bool = False) -> dict[str, Any]:
        """The target of item ``i`` (layout: :mod:`nblabel.io._training_targets`)."""
        m = self.media.iloc[i]
        rows = self.instances.iloc[self._bounds[i]:self._bounds[i + 1]]
        kinds = rows["kind"]
        tags = rows.loc[kinds == "tag", "label_id"].to_numpy(np.int64)
        objects = rows[kinds.isin(OBJECT_KINDS).to_numpy()].reset_index(drop=True)
        return item_target(int(m["media_id"]), int(m["height"]), int(m["width"]), objects, tags,
                           k=self.keypoints, masks=masks, scores=self.scores)

    def image(self, i: int) -> np.ndarray:
        """The image of item ``i``: ``uint8 [H, W, 3]`` RGB, upright."""
        m = self.media.iloc[i]
        return load_rgb(str(m["uri"]), int(m["orientation"]), (int(m["width"]), int(m["height"])))

    def iter(self, *, masks: bool = False) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
        """``(image, target)`` for every item, in order."""
        for i in range(len(self)):
            yield self.image(i), self.target(i, masks=masks)


def scope_ids(session: Session, con: Any, split: str | None, slice: Any) -> list[int] | None:
    """Media ids of the split part / dataset ``split`` intersected with ``slice`` (None: every media item)."""
    from ..query import InstanceSlice
    from ..query._datasets import dataset

    ids: list[int] | None = None
    for scope in (dataset(session, split) if split is not None else None, slice):
        if scope is None:
            continue
        if isinstance(scope, str):
            raise ValidationError(f"slice must be a slice (proj.media()...) or media ids, got the text {scope!r}; "
                                  "a dataset or split part goes to split=, e.g. split='v1/train'")
        if isinstance(scope, InstanceSlice):
            scope = scope.media()
        got = media_ids(con, scope)
        ids = got if ids is None else sorted(set(ids) & set(got))
    return ids


def collect(session: Session, *, split: str | None = None, slice: Any = None, completed_only: bool = True,
            run: Any = None, stage: str = "label", con: Any = None) -> TrainingItems:
    """The item list of the project now (one read): media in id order and their current instances.

    ``con``: an open connection of ``session``'s store to read through (a snapshot being made).
    """
    if not isinstance(completed_only, bool):
        raise ValidationError(f"completed_only must be True or False, got {completed_only!r}")
    if con is None:
        with session.store.read() as c:
            return collect(session, split=split, slice=slice, completed_only=completed_only, run=run,
                           stage=stage, con=c)
    if hasattr(run, "name") and hasattr(run, "run_id"):
        run = run.name
    rid = run_id(con, run) if run is not None else None
    ids = scope_ids(session, con, split, slice)
    mdf, _ = export_media(con, ids, include_incomplete=not completed_only, stage=stage)
    orient = dict(con.execute("SELECT media_id, orientation FROM media WHERE list_contains(?::BIGINT[], media_id)",
                              [mdf["media_id"].astype(int).tolist()]).fetchall())
    mdf["orientation"] = [int(orient.get(int(m)) or 1) for m in mdf["media_id"]]
    inst = export_instances(con, mdf["media_id"].astype(int).tolist(), rid)[INSTANCE_COLUMNS]
    state = load_state(con)
    used = set(inst["label_id"].astype(int))
    classes = {lab.id: lab.name for lab in sorted(state.labels.values(), key=lambda lab: lab.id)
               if not lab.retired or lab.id in used}
    return TrainingItems(mdf[MEDIA_COLUMNS].copy(), inst, classes, keypoints_count(inst), rid is not None)


def keypoints_count(inst: pd.DataFrame) -> int:
    """K: the most keypoints any keypoints instance has (0 when there are none).

    Example:
        >>> keypoints_count(pd.DataFrame({"kind": ["keypoints", "box"], "points": [[[1, 2, 2]] * 3, None]}))
        3
    """
    kp = inst.loc[inst["kind"] == "keypoints", "points"]
    return max((len(p) for p in kp if p), default=0)


def dumps_column(values: Any) -> list[str | None]:
    """A parsed JSON column back to text (None stays None) for writing a snapshot."""
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else json.dumps(v) for v in values]
