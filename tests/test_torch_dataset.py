"""nblabel.torch: the Dataset matches training_items, pickles without the project, loads with
DataLoader(num_workers=2) while another process writes to (and then holds) the project, and a
missing torch is a clear error."""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import nblabel as nl
from nblabel.errors import MissingDependencyError, NotFoundError, ValidationError
from nblabel.torch import Dataset, collate
from tests._fixtures import copy_project


@pytest.fixture
def path(coco_file: Path, tmp_path: Path) -> Path:
    """A fresh copy of the coco21 project file (closed: nothing in this process holds it)."""
    return copy_project(coco_file, tmp_path)


def _reference(path: Path, **kw):
    with nl.open(path, read_only=True) as p:
        return list(p.training_items(**kw))


def _assert_same(image: torch.Tensor, target: dict, ref_image: np.ndarray, ref: dict) -> None:
    assert image.dtype == torch.float32 and tuple(image.shape) == (3, *ref_image.shape[:2])
    np.testing.assert_array_equal((image * 255).round().to(torch.uint8).permute(1, 2, 0).numpy(), ref_image)
    assert target.keys() == ref.keys()
    for k in ref.keys() - {"attributes"}:
        assert isinstance(target[k], torch.Tensor), k
        np.testing.assert_array_equal(target[k].numpy(), ref[k])
    assert target["attributes"] == ref["attributes"]


def test_dataset_equals_training_items(path: Path) -> None:
    ref = _reference(path, masks=True)
    ds = Dataset(path, masks=True)
    assert len(ds) == len(ref) == 21 and ds.media_ids == [int(t["media_id"]) for _, t in ref]
    assert ds.path == path and ds.classes[1] == "person"
    for i, (ref_image, t) in enumerate(ref):
        image, target = ds[i]
        _assert_same(image, target, ref_image, t)
        assert target["boxes"].dtype == torch.float32 and target["labels"].dtype == torch.int64
        assert target["masks"].dtype == torch.uint8
    last_image, last = ds[-1]
    assert int(last["media_id"]) == ds.media_ids[-1]
    with pytest.raises(IndexError, match="out of range"):
        ds[21]


def test_uint8_transforms_split_and_bad_arguments(path: Path) -> None:
    with nl.open(path) as p:
        p.split("v1", {"train": 0.7, "val": 0.3}, stratify="none")
        train = sorted(p.dataset("v1/train").ids())
        ds = Dataset(p, split="v1/train", dtype="uint8",
                     transforms=lambda im, t: (im.flip(-1), {**t, "flipped": True}))
    assert ds.media_ids == train
    image, target = ds[0]
    ref_image, _ = _reference(path, split="v1/train")[0]
    assert image.dtype == torch.uint8 and target["flipped"] is True
    np.testing.assert_array_equal(image.flip(-1).permute(1, 2, 0).numpy(), ref_image)
    with pytest.raises(ValidationError, match="dtype"):
        Dataset(path, dtype="float16")
    with pytest.raises(ValidationError, match="transforms"):
        Dataset(path, transforms="flip")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="source"):
        Dataset(42)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="read-only"):  # a path opens read-only: a new snapshot cannot be made
        Dataset(path, snapshot="new")
    with nl.open(path) as p:  # made once on the writable project, then read through the path
        _ = p.training_items(split="v1/train", snapshot="train-v1")
    assert Dataset(path, snapshot="train-v1").media_ids == train


def test_pickled_dataset_needs_no_project_file(path: Path) -> None:
    with nl.open(path) as p:  # writable: the snapshot is made now
        ds = Dataset(p, snapshot="t1")
    data = pickle.dumps(ds)
    ref = [ds[i] for i in range(len(ds))]
    for f in path.parent.glob("coco.duckdb*"):  # the project file is gone: workers only read images
        f.unlink()
    back = pickle.loads(data)
    assert len(back) == len(ds) and back.classes == ds.classes
    for i, (image, target) in enumerate(ref):
        b_image, b_target = back[i]
        assert torch.equal(image, b_image)
        assert all(torch.equal(target[k], b_target[k]) for k in target if k != "attributes")


_WRITER = textwrap.dedent("""
    import sys, time, os
    import nblabel as nl
    path, hold, stop = sys.argv[1:4]
    p = nl.open(path, author="writer")
    p.add_run("w")
    print("ready", flush=True)
    n = 0
    while not os.path.exists(hold):  # a notebook writing while the DataLoader is being made
        p.add_instance(1 + n % 21, "person", box=[1, 1, 10 + n % 5, 12], run="w", score=0.5)
        n += 1
    with p.store.transaction():  # then holding the project file for the whole epoch
        print("holding", n, flush=True)
        t = time.time()
        while not os.path.exists(stop) and time.time() - t < 300:
            time.sleep(0.05)
    p.close()
    print("done", n, flush=True)
""")


def test_dataloader_two_workers_while_another_process_writes(path: Path, tmp_path: Path) -> None:
    ref = _reference(path)
    hold, stop = tmp_path / "hold", tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(hold), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        ds = Dataset(path)  # opens read-only for its turn between the writer's writes
        hold.touch()
        line = writer.stdout.readline().split()
        assert line[0] == "holding" and int(line[1]) > 0, line
        loader = DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate)
        got = [(im, t) for images, targets in loader for im, t in zip(images, targets, strict=True)]
        assert len(got) == len(ref) == 21
        for (image, target), (ref_image, t) in zip(got, ref, strict=True):
            _assert_same(image, target, ref_image, t)
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert out.split()[0] == "done"
    with nl.open(path, read_only=True) as p:
        assert p.instances(run="w").count() == int(out.split()[1]) > 0  # the writer's writes all went in


def test_collate_keeps_lists() -> None:
    batch = [(torch.zeros(3, 4, 5), {"boxes": torch.zeros(1, 4)}), (torch.ones(3, 6, 2), {"boxes": torch.zeros(0, 4)})]
    images, targets = collate(batch)
    assert [tuple(i.shape) for i in images] == [(3, 4, 5), (3, 6, 2)]
    assert [tuple(t["boxes"].shape) for t in targets] == [(1, 4), (0, 4)]


def test_torch_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # what an environment without PyTorch looks like
    monkeypatch.delitem(sys.modules, "nblabel.torch")
    with pytest.raises(MissingDependencyError, match="pip install torch"):
        importlib.import_module("nblabel.torch")
