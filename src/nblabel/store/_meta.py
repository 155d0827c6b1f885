"""Free-form metadata of labels and media (e.g. the COCO category / image id an import came from).

Metadata is not schema: changing it does not bump the schema version and leaves completions as they are.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["merge_media_meta", "set_label_meta"]


def set_label_meta(con: Any, label_id: int, meta: dict[str, Any]) -> None:
    """Replace a label's metadata.

    Example:
        >>> import nblabel as nl
        >>> p = nl.open(":memory:"); lid = p.schema.add_label("car")
        >>> with p.store.transaction() as con:
        ...     set_label_meta(con, lid, {"coco_id": 3})
        >>> p.schema.state().labels[lid].meta
        {'coco_id': 3}
    """
    con.execute("UPDATE labels SET meta = ?::JSON WHERE label_id = ?", [json.dumps(meta), int(label_id)])


def merge_media_meta(con: Any, media_id: int, patch: dict[str, Any]) -> None:
    """Merge ``patch`` into a media item's metadata (JSON merge patch: keys in ``patch`` win)."""
    con.execute("UPDATE media SET meta = json_merge_patch(coalesce(meta, '{}'::JSON), ?::JSON) WHERE media_id = ?",
                [json.dumps(patch), int(media_id)])
