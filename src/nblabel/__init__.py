"""nblabel: label, debug and select training data inside Jupyter, backed by one DuckDB file.

Example:
    >>> import nblabel as nl
    >>> proj = nl.open(":memory:")
    >>> proj.schema.add_label("car")
    1
"""

from ._report import ImportReport, Problem
from ._version import __version__
from .errors import (
    ConcurrencyError,
    ConflictError,
    DiskFullError,
    FormatError,
    GeometryError,
    MediaError,
    MissingDependencyError,
    NblabelError,
    NotFoundError,
    ProjectFileError,
    SchemaError,
    StoreError,
    ValidationError,
)
from .project import Project, Run, from_fiftyone, open
from .query import InstanceSlice, MediaSlice
from .store import Schema

__all__ = [
    "ConcurrencyError",
    "ConflictError",
    "DiskFullError",
    "FormatError",
    "GeometryError",
    "ImportReport",
    "InstanceSlice",
    "MediaError",
    "MediaSlice",
    "MissingDependencyError",
    "NblabelError",
    "NotFoundError",
    "Problem",
    "Project",
    "ProjectFileError",
    "Run",
    "Schema",
    "SchemaError",
    "StoreError",
    "ValidationError",
    "__version__",
    "from_fiftyone",
    "open",
]
