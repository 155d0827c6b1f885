"""Tests against the real interop tools (Label Studio SDK, datumaro, fiftyone).

They run in the second virtual environment, ``.venv-interop`` (``make test`` installs it from the
``interop`` extra), because those tools pin older pandas/numpy/pillow than the main test environment.
The shared test data is the main suite's ``tests/data``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "tests" / "data"


@pytest.fixture
def coco21() -> Path:
    """The folder of the 21 COCO photos and their official annotations (``images/``, ``instances.json``)."""
    return DATA / "coco21"
