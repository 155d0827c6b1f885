"""Lazy, composable slices over media and instances (DuckDB SQL with parameters)."""

from ._instances import InstanceSlice
from ._media import MediaSlice
from ._slice import Slice

__all__ = ["InstanceSlice", "MediaSlice", "Slice"]
