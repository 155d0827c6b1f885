"""Media: adding images, reading them back, and per-stage status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import MediaError, ValidationError, did_you_mean
from ..io._images import ImageInfo, expand_source, probe_many, write_arrays
from ..io._report import ImportReport

if TYPE_CHECKING:
    from ..store import Store

STATES = ("new", "in_progress", "skipped", "complete", "in_review")


class MediaMixin:
    """Project methods about media items and their status."""

    store: Store
    author: str
    media_dir: Path | None

    def add_images(self, source: Any, meta: dict[str, Any] | pd.DataFrame | None = None, *,
                   progress: bool | None = None) -> ImportReport:
        """Add images; returns a report (ids added, exact duplicates skipped, unreadable files).

        Args:
            source: a folder (searched recursively), a glob, a list of paths, a DataFrame with a
                ``path`` column (other columns become metadata), or numpy arrays / PIL images
                (saved as PNG into the project's media folder).
            meta: metadata for every image (a dict), or per image (a DataFrame aligned with the
                source's paths).
            progress: show a progress bar (default: for 500 images and more).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:")
            >>> p.add_images([np.zeros((4, 6, 3), np.uint8)])
            <ImportReport images: 1 added, 0 skipped, 0 problems>
        """
        pairs, meta_rows, arrays = expand_source(source)
        if isinstance(meta, pd.DataFrame):
            if len(meta) != len(pairs):
                raise ValidationError(f"meta has {len(meta)} rows but the source has {len(pairs)} images")
            meta_rows = meta.reset_index(drop=True) if meta_rows is None else pd.concat(
                [meta_rows, meta.reset_index(drop=True)], axis=1)
        if arrays:
            folder = self._media_folder()
            pairs = pairs + write_arrays(arrays, folder)
        report = ImportReport("images")
        infos = probe_many(pairs, progress)
        good: list[tuple[int, ImageInfo]] = []
        for i, info in enumerate(infos):
            if isinstance(info, MediaError):
                report.add_problem(pairs[i][0], str(info))
                report.skipped += 1
            else:
                good.append((i, info))
        with self.store.transaction() as con:
            have = dict(con.execute("SELECT sha256, media_id FROM media").fetchall()) if good else {}
            rows, seen = [], {}
            start = int(con.execute("SELECT coalesce(max(media_id), 0) + 1 FROM media").fetchall()[0][0])
            for i, info in good:
                mid = have.get(info.sha256) or seen.get(info.sha256)
                if mid is not None:
                    report.duplicates += 1
                    report.skipped += 1
                    report.ids.append(int(mid))
                    continue
                m: dict[str, Any] = dict(meta) if isinstance(meta, dict) else {}
                if meta_rows is not None and i < len(meta_rows):
                    m.update({k: _jsonable(v) for k, v in meta_rows.iloc[i].items()})
                mid = start + len(rows)
                seen[info.sha256] = mid
                rows.append((mid, info.uri, info.file_name, info.sha256, info.width, info.height, info.format,
                             info.orientation, info.nbytes, json.dumps(m)))
                report.ids.append(mid)
            if rows:
                df = pd.DataFrame(rows, columns=["media_id", "uri", "file_name", "sha256", "width", "height",
                                                 "format", "orientation", "bytes", "meta"])
                con.register("_nbl_new_media", df)
                con.execute("INSERT INTO media SELECT media_id, uri, file_name, sha256, width, height, format, "
                            "orientation, bytes, meta::JSON, now() FROM _nbl_new_media")
                con.unregister("_nbl_new_media")
        report.added = len(rows)
        if report.duplicates:
            report.notes.append(f"{report.duplicates} exact duplicate(s) (same sha256) were already in the project")
        return report

    def _media_folder(self) -> Path:
        if self.media_dir is None:
            raise MediaError("this project has no media folder for in-memory images; "
                             "open it with nl.open(path, media_dir=...) or save the images as files first")
        return self.media_dir

    def _media_ids(self, con: Any, media: Any) -> list[int]:
        """Resolve media ids from an id, a file name, a list of either, or a slice."""
        from ..query import MediaSlice

        if isinstance(media, MediaSlice):
            return [int(x) for x in media.ids()]
        items = [media] if isinstance(media, (int, np.integer, str)) else list(media)
        ids, names = [], []
        for m in items:
            (ids if isinstance(m, (int, np.integer)) else names).append(m)
        out = [int(i) for i in ids]
        if ids:
            found = {r[0] for r in con.execute("SELECT media_id FROM media WHERE media_id IN (SELECT unnest(?))",
                                               [out]).fetchall()}
            missing = [i for i in out if i not in found]
            if missing:
                raise MediaError(f"media id(s) {missing[:10]} are not in the project; list them with proj.media().df()")
        if names:
            rows = dict(con.execute("SELECT file_name, min(media_id) FROM media WHERE file_name IN (SELECT unnest(?)) "
                                    "GROUP BY file_name", [names]).fetchall())
            for n in names:
                if n not in rows:
                    known = [r[0] for r in con.execute("SELECT file_name FROM media LIMIT 5000").fetchall()]
                    raise MediaError(f"no media item named {n!r}{did_you_mean(n, known)}")
                out.append(int(rows[n]))
        return out

    def media_info(self, media: int | str) -> dict[str, Any]:
        """One media item as a dict (id, uri, file_name, width, height, meta...).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.media_info(1)["width"]
            6
        """
        with self.store.read() as con:
            (mid,) = self._media_ids(con, media)
            r = con.execute("SELECT * FROM media WHERE media_id = ?", [mid]).df().iloc[0].to_dict()
        r["meta"] = json.loads(r["meta"]) if r.get("meta") else {}
        return r

    # -- status ------------------------------------------------------------------------------
    def set_status(self, media: Any, state: str, *, stage: str = "label", reason: str | None = None,
                   seconds_active: float = 0.0, author: str | None = None) -> None:
        """Set the status of media items in a stage: new, in_progress, skipped (with reason), complete, in_review.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.set_status(1, "complete")
            >>> p.status(1)["state"]
            'complete'
        """
        if state not in STATES:
            raise ValidationError(f"state {state!r} is unknown{did_you_mean(state, STATES)}")
        if state == "skipped" and not reason:
            raise ValidationError("skipping needs a reason, e.g. set_status(m, 'skipped', reason='blurry')")
        with self.store.transaction() as con:
            ids = self._media_ids(con, media)
            sv = int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0])
            con.execute(
                """INSERT INTO status AS s SELECT unnest(?), ?, ?, ?, ?, ?, now(),
                       CASE WHEN ? IN ('complete', 'skipped') THEN now() END, ?, now()
                   ON CONFLICT (media_id, stage) DO UPDATE SET state = excluded.state,
                       reason = excluded.reason, author = excluded.author,
                       schema_version = excluded.schema_version,
                       started_at = coalesce(s.started_at, excluded.started_at),
                       finished_at = excluded.finished_at,
                       seconds_active = s.seconds_active + excluded.seconds_active,
                       updated_at = excluded.updated_at""",
                [ids, stage, state, reason, author or self.author, sv, state, float(seconds_active)],
            )

    def complete(self, media: Any, *, stage: str = "label", seconds_active: float = 0.0) -> None:
        """Mark media complete in a stage (its instances are the full truth for it).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.complete(1)
        """
        self.set_status(media, "complete", stage=stage, seconds_active=seconds_active)

    def skip(self, media: Any, reason: str, *, stage: str = "label") -> None:
        """Skip media in a stage, with a reason.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.skip(1, "blurry")
        """
        self.set_status(media, "skipped", stage=stage, reason=reason)

    def status(self, media: int | str, *, stage: str = "label") -> dict[str, Any]:
        """The status of one media item in a stage (``state`` is 'new' when never touched).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.status(1)["state"]
            'new'
        """
        with self.store.read() as con:
            (mid,) = self._media_ids(con, media)
            sv = int(con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0])
            df = con.execute("SELECT * FROM status WHERE media_id = ? AND stage = ?", [mid, stage]).df()
        if df.empty:
            return {"media_id": mid, "stage": stage, "state": "new", "stale": False}
        r = df.iloc[0].to_dict()
        r["stale"] = r["state"] == "complete" and int(r["schema_version"]) < sv
        return r

    def status_summary(self, stage: str | None = None) -> pd.DataFrame:
        """Counts of media per stage and state; completions made under an older schema count as ``stale``.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.status_summary()[["stage", "state", "count"]].values.tolist()
            [['label', 'new', 1]]
        """
        with self.store.read() as con:
            df = con.execute(
                """WITH sv AS (SELECT CAST(value AS INTEGER) v FROM meta WHERE key = 'schema_version'),
                   stages AS (SELECT DISTINCT stage FROM status WHERE ? IS NULL OR stage = ?
                              UNION SELECT coalesce(?, 'label')),
                   grid AS (SELECT m.media_id, st.stage FROM media m, stages st)
                   SELECT g.stage,
                          CASE WHEN s.state IS NULL THEN 'new'
                               WHEN s.state = 'complete' AND s.schema_version < (SELECT v FROM sv) THEN 'stale'
                               ELSE s.state END AS state,
                          count(*) AS count, sum(coalesce(s.seconds_active, 0)) AS seconds_active
                   FROM grid g LEFT JOIN status s USING (media_id, stage)
                   GROUP BY ALL ORDER BY 1, 2""",
                [stage, stage, stage],
            ).df()
        df["count"] = df["count"].astype("int64")
        return df


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, (pd.Timestamp,)):
        return v.isoformat()
    return v
