"""Lazy, composable slices over media and instances (DuckDB SQL with parameters)."""

from ._slice import InstanceSlice, MediaSlice, Slice

__all__ = ["InstanceSlice", "MediaSlice", "Slice"]
