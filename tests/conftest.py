"""Shared fixtures: small projects built from generated images (tests never read ../shared)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nblabel as nl

DATA = Path(__file__).parent / "data"


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
