"""The schema, pure: labels, attribute groups (typed questions), keypoint templates and value checks.

No SQL here; the store reads and writes the schema (``nblabel.store``: ``Schema``, ``load_state``).
"""

from ._state import ATTRIBUTE_KINDS, PALETTE, SPATIAL_TYPES, Attribute, Label, SchemaState, Template
from ._values import check_attributes, check_value, missing_required

__all__ = [
    "ATTRIBUTE_KINDS",
    "PALETTE",
    "SPATIAL_TYPES",
    "Attribute",
    "Label",
    "SchemaState",
    "Template",
    "check_attributes",
    "check_value",
    "missing_required",
]
