"""Small reads every writer needs: the next free id, the schema version, run and media ids.

One copy of each, so "what is the next instance id" or "which run is 'yolo'" is answered the same
way by the API, the importers and the widgets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import MediaError, NotFoundError, did_you_mean

__all__ = ["latest_boxes", "media_ids", "next_id", "run_id", "run_name_of", "schema_version"]

# table -> its id column (the only tables whose ids nblabel hands out itself)
_ID_COLUMNS = {"instances": "instance_id", "media": "media_id", "runs": "run_id", "datasets": "dataset_id",
               "labels": "label_id", "attribute_groups": "group_id", "keypoint_templates": "template_id"}


def next_id(con: Any, table: str) -> int:
    """The next free id of ``table`` (one past the largest; ids are never reused within a file).

    Example:
        >>> from nblabel.store import Store
        >>> with Store(":memory:").read() as con:
        ...     next_id(con, "instances")
        1
    """
    column = _ID_COLUMNS[table]  # KeyError for a table that has no nblabel-assigned id
    return int(con.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}").fetchall()[0][0])  # noqa: S608


def schema_version(con: Any) -> int:
    """The project's current schema version (every schema change bumps it).

    Example:
        >>> from nblabel.store import Store
        >>> with Store(":memory:").read() as con:
        ...     schema_version(con)
        0
    """
    return int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0])


def run_id(con: Any, run: Any) -> int | None:
    """The id of a run given by name or by an object with a ``run_id`` (``None``: ground truth).

    An unknown name is a :class:`~nblabel.errors.NotFoundError` (a ``KeyError``) with a did-you-mean,
    the same error ``proj.instances(run=...)`` raises.

    Example:
        >>> from nblabel.store import Store
        >>> with Store(":memory:").read() as con:
        ...     run_id(con, None) is None
        True
        >>> with Store(":memory:").read() as con:
        ...     run_id(con, "yolo")
        Traceback (most recent call last):
        nblabel.errors.NotFoundError: run 'yolo' does not exist; none are defined yet; list runs with proj.runs(), create one with proj.add_run(name)
    """
    if run is None:
        return None
    rid = getattr(run, "run_id", None)
    if rid is not None:
        return int(rid)
    rows = con.execute("SELECT run_id FROM runs WHERE name = ?", [str(run)]).fetchall()
    if not rows:
        names = [r[0] for r in con.execute("SELECT name FROM runs").fetchall()]
        raise NotFoundError.from_key("run", str(run), choices=names,
                                     hint="list runs with proj.runs(), create one with proj.add_run(name)")
    return int(rows[0][0])


def media_ids(con: Any, media: Any) -> list[int]:
    """Media ids, in the order given, from an id, a file name, a list of either, or anything with ``.ids()``
    (a media slice). Unknown ids or names are a :class:`~nblabel.errors.MediaError`.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
        >>> with p.store.read() as con:
        ...     media_ids(con, [p.media_info(1)["file_name"], 1])
        [1, 1]
    """
    if hasattr(media, "ids") and callable(media.ids):
        return [int(x) for x in media.ids()]
    items = [media] if isinstance(media, (int, np.integer, str)) else list(media)
    nums = [int(m) for m in items if isinstance(m, (int, np.integer))]
    names = [m for m in items if not isinstance(m, (int, np.integer))]
    if nums:
        found = {r[0] for r in con.execute("SELECT media_id FROM media WHERE media_id IN (SELECT unnest(?))",
                                           [nums]).fetchall()}
        missing = [i for i in nums if i not in found]
        if missing:
            raise MediaError(f"media id(s) {missing[:10]} are not in the project; list them with proj.media().df()")
    by_name: dict[str, int] = {}
    if names:
        by_name = {str(k): int(v) for k, v in con.execute(
            "SELECT file_name, min(media_id) FROM media WHERE file_name IN (SELECT unnest(?)) GROUP BY file_name",
            [[str(n) for n in names]]).fetchall()}
        for n in names:
            if str(n) not in by_name:
                known = [r[0] for r in con.execute("SELECT file_name FROM media LIMIT 5000").fetchall()]
                raise MediaError(f"no media item named {n!r}{did_you_mean(str(n), known)}")
    return [int(m) if isinstance(m, (int, np.integer)) else by_name[str(m)] for m in items]


def run_name_of(con: Any, rid: int) -> str:
    """The name of run ``rid``."""
    return str(con.execute("SELECT name FROM runs WHERE run_id = ?", [int(rid)]).fetchall()[0][0])


def latest_boxes(con: Any, instance_ids: list[int]) -> list[tuple]:
    """``(instance_id, x0, y0, x1, y1, run_id, run name)`` of each instance's latest version (deleted ones too)."""
    return con.execute(
        "SELECT i.instance_id, i.x0, i.y0, i.x1, i.y1, i.run_id, r.name FROM instances i "
        "LEFT JOIN runs r USING (run_id) WHERE i.instance_id IN (SELECT unnest(?)) "
        "QUALIFY row_number() OVER (PARTITION BY i.instance_id ORDER BY i.version DESC) = 1",
        [[int(i) for i in instance_ids]]).fetchall()
