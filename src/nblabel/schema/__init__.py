"""The schema: labels, attribute groups (typed questions) and keypoint templates, versioned."""

from ._schema import Schema
from ._state import ATTRIBUTE_KINDS, SPATIAL_TYPES, Attribute, Label, SchemaState, Template
from ._values import check_attributes, check_value, missing_required

__all__ = [
    "ATTRIBUTE_KINDS",
    "SPATIAL_TYPES",
    "Attribute",
    "Label",
    "Schema",
    "SchemaState",
    "Template",
    "check_attributes",
    "check_value",
    "missing_required",
]
