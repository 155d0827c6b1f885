"""Without fiftyone installed, proj.to_fiftyone / nl.from_fiftyone say how to install it and change nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import nblabel as nl


@pytest.fixture
def no_fiftyone(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import fiftyone`` fails, as where it is not installed (a None entry in sys.modules raises ImportError)."""
    for name in [m for m in sys.modules if m == "fiftyone" or m.startswith("fiftyone.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "fiftyone", None)


def _proj() -> nl.Project:
    p = nl.open(":memory:")
    p.add_images([np.zeros((40, 60, 3), np.uint8)])
    p.schema.add_label("car")
    p.add_instance(1, "car", box=[6, 4, 30, 20])
    p.complete(1)
    return p


def test_to_fiftyone_without_fiftyone(no_fiftyone: None) -> None:
    p = _proj()
    before = p.instances().df()
    with pytest.raises(nl.MissingDependencyError, match=r"pip install fiftyone.*proj.to_fiftyone") as e:
        p.to_fiftyone("cars")
    assert isinstance(e.value, ImportError) and isinstance(e.value, nl.NblabelError)
    assert p.instances().df().equals(before)


def test_from_fiftyone_without_fiftyone(no_fiftyone: None, tmp_path: Path) -> None:
    target = tmp_path / "new.duckdb"
    with pytest.raises(nl.MissingDependencyError, match="pip install fiftyone"):
        nl.from_fiftyone(object(), target)
    assert not target.exists()  # no project file is made


def test_from_fiftyone_is_in_the_top_level_api() -> None:
    assert "from_fiftyone" in nl.__all__ and callable(nl.from_fiftyone)
    assert nl.from_fiftyone.__module__ == "nblabel.project._fiftyone"
