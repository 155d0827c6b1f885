"""Project methods that stream labeled media to training: ``training_items`` and ``training_classes``.

Thin: the item lists, snapshots and target layout live in :mod:`nblabel.io._training`,
:mod:`nblabel.io._training_snapshot` and :mod:`nblabel.io._training_targets`; the PyTorch wrapper is
:class:`nblabel.torch.Dataset`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io._training_snapshot import training_item_list

if TYPE_CHECKING:
    from ..store import Session


class TrainingMixin:
    """Project methods for training: ``(image, target)`` pairs and the class mapping."""

    _session: Session

    def training_items(self, *, split: str | None = None, snapshot: str | None = None,
                       completed_only: bool | None = None, slice: Any = None, run: Any = None,
                       masks: bool = False) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
        """Yield ``(image, target)`` for every training item, in one documented layout.

        ``image`` is ``uint8 [H, W, 3]`` RGB as the annotator shows it (EXIF orientation applied, so
        it matches the stored coordinates). ``target`` follows torchvision's detection convention
        (``boxes``, ``labels``, ``masks``, ``keypoints``, ``area``, ``iscrowd``, ``image_id``):

        - ``boxes`` float32 [N, 4] ``x0, y0, x1, y1`` pixels; ``labels`` int64 [N] label ids (the
          names: :meth:`training_classes`; 0 is never a label id: it is free for background);
        - ``area`` float32 [N]; ``iscrowd`` int64 [N]; ``instance_ids`` int64 [N]; ``media_id`` and
          ``image_id`` (the same, int64); ``image_labels`` int64 [T] (whole-image tags);
          ``attributes``: a list of N dicts;
        - ``keypoints`` float32 [N, K, 3] ``x, y, visibility`` when the items have keypoints (K: the
          largest template; other rows zeros);
        - ``masks`` uint8 [N, H, W] only with ``masks=True`` (rasterised as pycocotools' ``annToMask``;
          a box fills its box); ``scores`` float32 [N] only for a run's predictions.

        Objects are instances of kinds box, polygon, mask and keypoints; points and lines are left out.

        Args:
            split: a dataset name, e.g. a split part ``"v1/train"`` made by :meth:`split`.
            snapshot: a snapshot name. The first use freezes the item list (with these options) as a
                snapshot of format ``"training"``; later uses read it back, so the same name always
                yields the same items in the same order, even after the project changed. A COCO
                snapshot made by :meth:`snapshot` is read back too (its labels are its category ids).
            completed_only: only media complete in stage "label" (default True; an incomplete item would
                teach that its missing objects are background). With an existing snapshot: as made.
            slice: a media slice (or media ids) to restrict to.
            run: a run's predictions (with ``scores``) instead of the ground truth.
            masks: add ``masks`` (they cost N × H × W bytes per item).

        Without a snapshot the items are the project's now, in media id order.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[5, 5, 20, 30]); p.complete(1)
            >>> image, target = next(p.training_items())
            >>> image.shape, target["boxes"].tolist(), target["labels"].tolist()
            ((40, 60, 3), [[5.0, 5.0, 20.0, 30.0]], [1])
        """
        items = training_item_list(self._session, split=split, snapshot=snapshot, completed_only=completed_only,
                                   slice=slice, run=run)
        return items.iter(masks=masks)

    def training_classes(self, *, snapshot: str | None = None) -> dict[int, str]:
        """The class mapping of ``training_items``' ``labels``: ``{label id: label name}``.

        With ``snapshot``: the mapping frozen in that snapshot (unchanged by later renames).

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.schema.add_label("car"); _ = p.schema.add_label("bus")
            >>> p.training_classes()
            {1: 'car', 2: 'bus'}
        """
        if snapshot is None:
            return training_item_list(self._session, slice=[]).classes
        return training_item_list(self._session, snapshot=snapshot).classes
