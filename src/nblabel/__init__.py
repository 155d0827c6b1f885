"""nblabel: label, debug and select training data inside Jupyter, backed by one DuckDB file.

Example:
    >>> import nblabel as nl
    >>> proj = nl.open(":memory:")
    >>> proj.schema.add_label("car")
    1
"""

from ._version import __version__
from .errors import (
    ConcurrencyError,
    FormatError,
    GeometryError,
    MediaError,
    NblabelError,
    SchemaError,
    StoreError,
    ValidationError,
)
from .io._report import ImportReport, Problem
from .project import Project, Run, open
from .query import InstanceSlice, MediaSlice
from .schema import Schema

__all__ = [
    "ConcurrencyError",
    "FormatError",
    "GeometryError",
    "ImportReport",
    "InstanceSlice",
    "MediaError",
    "MediaSlice",
    "NblabelError",
    "Problem",
    "Project",
    "Run",
    "Schema",
    "SchemaError",
    "StoreError",
    "ValidationError",
    "__version__",
    "open",
]
