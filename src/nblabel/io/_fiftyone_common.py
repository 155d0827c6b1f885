"""What the FiftyOne exporter and importer share: loading the optional package, and the field layout.

One nblabel source (ground truth, or one model run) becomes up to four FiftyOne label fields on each
sample, named after a base name ``f``:

- ``f``: ``Detections``, one per box, polygon, mask and keypoints instance (its box; a mask instance
  also carries its mask), so ``evaluate_detections`` sees every object;
- ``f_polylines``: ``Polylines``, the exact polygons (closed, filled) and lines (open);
- ``f_keypoints``: ``Keypoints``, the keypoints and single points;
- ``f_tags``: ``Classifications``, the whole-image tags.

An instance written to two fields (a polygon's box and its polyline) carries the same
``nblabel_id`` in both, so the importer makes one instance of them again.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from ..errors import MissingDependencyError

__all__ = ["INFO_KEY", "LABEL_RESERVED", "SAMPLE_RESERVED", "SIBLINGS", "attribute_field", "field_name",
           "load_fiftyone"]

#: suffixes of the fields that go with a source's Detections field
SIBLINGS = ("_polylines", "_keypoints", "_tags")
#: where ``to_fiftyone`` keeps what it needs to bring a dataset back (``dataset.info[INFO_KEY]``)
INFO_KEY = "nblabel"
#: names a FiftyOne label already uses (an nblabel attribute of such a name goes in as ``attr_<name>``)
LABEL_RESERVED = frozenset({"id", "_id", "_cls", "label", "bounding_box", "mask", "mask_path", "confidence",
                            "index", "tags", "attributes", "points", "closed", "filled", "logits",
                            "nblabel_id", "iscrowd", "visibility"})
#: sample fields FiftyOne or the exporter set (a media meta key of such a name goes in as ``meta_<key>``)
SAMPLE_RESERVED = frozenset({"id", "_id", "filepath", "tags", "metadata", "media_type", "created_at",
                             "last_modified_at", "nblabel_media_id", "nblabel_status", "file_name", "_dataset_id",
                             "_media_type", "_rand"})


def load_fiftyone() -> Any:
    """The ``fiftyone`` module, or a :class:`~nblabel.errors.MissingDependencyError` saying how to get it.

    Example:
        >>> try:
        ...     fo = load_fiftyone()
        ... except MissingDependencyError as e:
        ...     assert "pip install fiftyone" in str(e)
    """
    try:  # by name: FiftyOne ships no type information, and the main environment does not install it
        fiftyone = importlib.import_module("fiftyone")
    except ImportError as e:
        raise MissingDependencyError(
            f"FiftyOne is not installed ({e}); install it with `pip install fiftyone` (it brings its own "
            "database) to use proj.to_fiftyone / nl.from_fiftyone") from None
    return fiftyone


def field_name(name: str, taken: set[str]) -> str:
    """A FiftyOne field name for a run called ``name``: letters, digits and ``_`` only, not starting
    with ``_`` or a digit, and not one of ``taken`` (nor a sibling of one).

    Example:
        >>> field_name("yolo-v8n@640", {"ground_truth"})
        'yolo_v8n_640'
        >>> field_name("ground truth", {"ground_truth"})
        'ground_truth_2'
    """
    base = re.sub(r"[^0-9A-Za-z_]", "_", name).strip("_") or "run"
    if base[0].isdigit():
        base = f"run_{base}"
    if base in SAMPLE_RESERVED:
        base = f"run_{base}"
    out, n = base, 1
    used = taken | {t + s for t in taken for s in SIBLINGS}
    while out in used or any(out + s in used for s in SIBLINGS):
        n += 1
        out = f"{base}_{n}"
    return out


def attribute_field(name: str) -> str:
    """The label attribute an nblabel attribute group is written to.

    Example:
        >>> attribute_field("occluded"), attribute_field("label")
        ('occluded', 'attr_label')
    """
    ok = re.fullmatch(r"[A-Za-z][0-9A-Za-z_]*", name) is not None
    return name if ok and name not in LABEL_RESERVED else "attr_" + re.sub(r"[^0-9A-Za-z_]", "_", name)
