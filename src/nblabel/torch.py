"""PyTorch over a project: a map-style :class:`Dataset` of ``(image tensor, target dict)`` and a :func:`collate`.

The dataset freezes its item list when it is made (media, their instances, the classes: the
project's now, or a snapshot's) and keeps only that list and the project's path. Workers of a
``DataLoader`` receive it pickled and read nothing but the image files, so they never open the
project file: no lock is taken and a notebook can keep writing while they load. Edits made after
the dataset was made do not reach it (make a new one, or use a snapshot to fix the items for good).

PyTorch is optional: importing this module without it raises
:class:`~nblabel.errors.MissingDependencyError` naming the install.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MissingDependencyError, ValidationError

try:
    import torch
    from torch.utils.data import Dataset as _TorchDataset
except ImportError:
    raise MissingDependencyError(
        "nblabel.torch needs PyTorch, which is not installed; install it with `pip install torch` (a CPU-only "
        "build: `pip install torch --index-url https://download.pytorch.org/whl/cpu`)") from None

from .io._training import TrainingItems
from .io._training_snapshot import training_item_list
from .project import Project
from .project import open as open_project

__all__ = ["Dataset", "collate"]

Sample = tuple["torch.Tensor", dict[str, Any]]
_DTYPES = {"float32": torch.float32, "uint8": torch.uint8}


def _tensor(v: Any) -> Any:
    """numpy arrays and numbers become tensors; anything else (the attributes list) stays as it is."""
    if isinstance(v, np.ndarray):
        a = np.ascontiguousarray(v)
        return torch.from_numpy(a if a.flags.writeable else a.copy())
    if isinstance(v, np.generic):
        return torch.tensor(v.item())
    return v


class Dataset(_TorchDataset[Sample]):
    """A project's training items as a map-style ``torch.utils.data.Dataset``.

    ``ds[i]`` is ``(image, target)``: ``image`` a ``[3, H, W]`` tensor, float32 in [0, 1] (what
    torchvision's detection models take) or, with ``dtype="uint8"``, the 0–255 values; ``target``
    the layout of :meth:`nblabel.Project.training_items` with every array as a tensor (``boxes``
    float32 [N, 4] xyxy, ``labels`` int64, ``masks`` uint8 [N, H, W] with ``masks=True``,
    ``keypoints`` float32 [N, K, 3], ``area``, ``iscrowd``, ``image_id``, ...; ``attributes`` stays a
    list of dicts). ``transforms(image, target)`` runs last and returns the pair.

    Args:
        source: a :class:`~nblabel.Project` or the path of a project file (opened read-only, only
            while the item list is read).
        split, snapshot, completed_only, slice, run: which items (see ``Project.training_items``;
            ``snapshot`` freezes them under a name for good).
        masks: add ``masks`` to the targets.
        transforms: a callable ``(image, target) -> (image, target)``.
        dtype: ``"float32"`` (default) or ``"uint8"``.

    ``classes`` is ``{label id: name}``; ``media_ids`` the items in order; ``path`` the project file.
    Use :func:`collate` as a ``DataLoader``'s ``collate_fn`` (targets differ in size).

    Example:
        >>> import nblabel as nl, numpy as np, tempfile, os
        >>> from nblabel.torch import Dataset
        >>> p = nl.open(os.path.join(tempfile.mkdtemp(), "p.duckdb")); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> _ = p.schema.add_label("car"); _ = p.add_instance(1, "car", box=[5, 5, 20, 30]); p.complete(1)
        >>> ds = Dataset(p.path)
        >>> image, target = ds[0]
        >>> tuple(image.shape), image.dtype, target["boxes"].tolist(), ds.classes
        ((3, 40, 60), torch.float32, [[5.0, 5.0, 20.0, 30.0]], {1: 'car'})
    """

    def __init__(self, source: Project | str | os.PathLike[str], *, split: str | None = None,
                 snapshot: str | None = None, completed_only: bool | None = None, slice: Any = None,
                 run: Any = None, masks: bool = False,
                 transforms: Callable[[torch.Tensor, dict[str, Any]], Sample] | None = None,
                 dtype: str = "float32") -> None:
        if dtype not in _DTYPES:
            raise ValidationError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        if transforms is not None and not callable(transforms):
            raise ValidationError(f"transforms must be a callable (image, target) -> (image, target), "
                                  f"got {type(transforms).__name__}")
        if isinstance(source, Project):
            self.items = self._items(source, split, snapshot, completed_only, slice, run)
            self.path: Path | None = source.path
        elif isinstance(source, (str, os.PathLike)):
            proj = open_project(source, read_only=True)
            try:
                self.items = self._items(proj, split, snapshot, completed_only, slice, run)
            finally:
                proj.close()
            self.path = proj.path
        else:
            raise ValidationError(f"source must be a project or a project file path, got {type(source).__name__}")
        self.masks = bool(masks)
        self.transforms = transforms
        self.dtype = dtype

    @staticmethod
    def _items(proj: Project, split: str | None, snapshot: str | None, completed_only: bool | None,
               slice: Any, run: Any) -> TrainingItems:
        return training_item_list(proj.session, split=split, snapshot=snapshot, completed_only=completed_only,
                                  slice=slice, run=run)

    @property
    def classes(self) -> dict[int, str]:
        """``{label id: name}``: what the ``labels`` of the targets mean."""
        return dict(self.items.classes)

    @property
    def media_ids(self) -> list[int]:
        """The media ids of the items, in order."""
        return self.items.media_ids()

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Sample:
        n = len(self.items)
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"Dataset indices must be integers, got {type(index).__name__}")
        i = int(index) + n if index < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"index {int(index)} is out of range for a dataset of {n} items")
        array = self.items.image(i)
        image = torch.from_numpy(np.array(array.transpose(2, 0, 1), order="C"))  # a writable copy, CHW
        if self.dtype == "float32":
            image = image.to(torch.float32).div_(255.0)
        target = {k: _tensor(v) for k, v in self.items.target(i, masks=self.masks).items()}
        if self.transforms is not None:
            return self.transforms(image, target)
        return image, target

    def __repr__(self) -> str:
        where = ":memory:" if self.path is None else str(self.path)
        return f"<nblabel.torch.Dataset {where}: {len(self)} items, {len(self.items.classes)} classes>"


def collate(batch: Sequence[Sample]) -> tuple[list[torch.Tensor], list[dict[str, Any]]]:
    """A ``DataLoader`` ``collate_fn`` for detection: ``(images, targets)`` as two lists (sizes differ).

    torchvision's detection models take exactly these: ``model(images, targets)``.

    Example:
        >>> images, targets = collate([(torch.zeros(3, 4, 5), {"boxes": torch.zeros(0, 4)})] * 2)
        >>> len(images), len(targets)
        (2, 2)
    """
    images = [b[0] for b in batch]
    targets = [b[1] for b in batch]
    return images, targets
