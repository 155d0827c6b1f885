"""Shared fixtures: small projects built from generated images, and the coco21 project (tests never read ../shared).

``coco_file`` is a closed project file with tests/data/coco21 imported (once per session); a module
that needs more in it overrides ``coco_file`` at module scope, building on ``coco21_file``
(``copy_project`` then its additions). ``coco_proj`` is a fresh, open copy of ``coco_file`` per test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nblabel as nl
from tests._fixtures import AUTHOR, copy_project, import_coco21


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    """Three small RGB JPEGs of different sizes in a folder (one in a subfolder)."""
    d = tmp_path / "imgs"
    (d / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, (w, h) in {"a.jpg": (64, 48), "b.jpg": (80, 60), "sub/c.jpg": (50, 40)}.items():
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(d / name, quality=90)
    return d


@pytest.fixture
def proj(tmp_path: Path, image_dir: Path) -> nl.Project:
    """A file-backed project with the three images and a small schema."""
    p = nl.open(tmp_path / "p.duckdb", author="tester")
    p.add_images(image_dir)
    p.schema.add_label("car", spatial=["box", "polygon"])
    p.schema.add_label("person", spatial=["box", "keypoints", "point", "line"])
    p.schema.add_label("night", spatial=["tag"])
    p.schema.add_attribute("color", kind="select", options=["red", "green"], labels=["car"])
    p.schema.add_attribute("occluded", kind="bool", labels=["car"])
    p.schema.add_keypoints("person", points=["head", "l_hand", "r_hand"], skeleton=[(0, 1), (0, 2)])
    return p


@pytest.fixture(scope="session")
def coco21_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed project file with coco21 imported, made once per session: copy it, never open it for writing."""
    return import_coco21(tmp_path_factory.mktemp("coco21") / "coco.duckdb")


@pytest.fixture(scope="module")
def coco_file(coco21_file: Path) -> Path:
    """The project file ``coco_proj`` copies (modules override this to add to coco21)."""
    return coco21_file


@pytest.fixture
def coco_proj(coco_file: Path, tmp_path: Path) -> nl.Project:
    """A fresh copy of ``coco_file``, open for writing."""
    return nl.open(copy_project(coco_file, tmp_path), author=AUTHOR)
