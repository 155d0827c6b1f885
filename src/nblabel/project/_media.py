"""Project methods about media: adding images, reading them back, per-stage status (delegating to io/ and store/)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .._report import ImportReport
from ..io._ingest import add_images
from ..store import _media

if TYPE_CHECKING:
    from ..store import Session



class MediaMixin:
    """Project methods about media items and their status."""

    _session: Session

    def add_images(self, source: Any, meta: dict[str, Any] | pd.DataFrame | None = None, *,
                   progress: bool | None = None) -> ImportReport:
        """Add images; returns a report (ids added, duplicates skipped, unreadable files).

        A media item is one file name: a file already in the project (the same file name and
        bytes) is not added again (``report.duplicates``; its id is in ``report.ids``). Files with
        identical pixels under different names are separate media items sharing the ``sha256``;
        the report's notes name them.

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
        return add_images(self._session, source, meta, progress=progress)


    def media_info(self, media: int | str) -> dict[str, Any]:
        """One media item as a dict (id, uri, file_name, width, height, meta...).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.media_info(1)["width"]
            6
        """
        with self._session.store.read() as con:
            return _media.media_info(con, media)


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
        with self._session.store.transaction() as con:
            _media.set_status(con, media, state, stage=stage, reason=reason, seconds_active=seconds_active,
                              author=author or self._session.author)


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
        with self._session.store.read() as con:
            return _media.status(con, media, stage)


    def status_summary(self, stage: str | None = None) -> pd.DataFrame:
        """Counts of media per stage and state; completions made under an older schema count as ``stale``.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.status_summary()[["stage", "state", "count"]].values.tolist()
            [['label', 'new', 1]]
        """
        with self._session.store.read() as con:
            return _media.status_summary(con, stage)



