"""The Project: the user's entry point, composed of media, instances and runs."""

from ._fiftyone import from_fiftyone
from ._project import Project, open
from ._runs import Run

__all__ = ["Project", "Run", "from_fiftyone", "open"]
