"""A project: one DuckDB file holding schema, media, instances with history, statuses, snapshots.

``Project`` is the facade users hold: a :class:`~nblabel.store.Session` plus methods that delegate
to store/, io/, query/, debug/ and widgets/ (no SQL here).
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..query import InstanceSlice, MediaSlice
from ..store import Schema, Session, Store, run_id
from ..store import _runs as runs_rows
from ._cvat import CvatMixin
from ._debug import DebugMixin
from ._fiftyone import FiftyOneMixin
from ._formats import FormatsMixin
from ._gallery import GalleryMixin
from ._instances import InstancesMixin
from ._label_studio import LabelStudioMixin
from ._media import MediaMixin
from ._runs import Run
from ._select import SelectMixin
from ._selection import SelectionMixin
from ._training import TrainingMixin
from ._widgets import WidgetsMixin

__all__ = ["Project", "open"]


def _default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (some containers)
        return os.environ.get("USER", "unknown")


class Project(MediaMixin, InstancesMixin, FormatsMixin, CvatMixin, LabelStudioMixin, FiftyOneMixin, TrainingMixin,
              DebugMixin, SelectMixin, SelectionMixin, WidgetsMixin, GalleryMixin):
    """An nblabel project. Open one with :func:`nblabel.open`.

    Example:
        >>> import nblabel as nl
        >>> proj = nl.open(":memory:")
        >>> proj
        <Project :memory:: 0 media, 0 instances, schema v0>
    """

    def __init__(self, path: str | os.PathLike[str] = "nblabel.duckdb", *, author: str | None = None,
                 media_dir: str | os.PathLike[str] | None = None, timeout: float = 120.0,
                 read_only: bool | None = None) -> None:
        store = Store(path, timeout=timeout, read_only=read_only)
        if media_dir is not None:
            folder: Path | None = Path(media_dir)
        elif store.path is not None:
            folder = store.path.with_name(store.path.stem + ".media")
        else:  # an in-memory project keeps in-memory images in a temporary folder
            import tempfile

            folder = Path(tempfile.mkdtemp(prefix="nblabel-media-"))
        self._session = Session(store, author or _default_author(), folder)
        self.schema = Schema(store)

    # -- what the facade holds (the session's parts) -------------------------------------------
    @property
    def session(self) -> Session:
        """What the lower layers receive: the store, the author and the media folder."""
        return self._session

    @property
    def store(self) -> Store:
        """The project file's connection manager."""
        return self._session.store

    @property
    def path(self) -> Path | None:
        """The project file (``None`` for ``":memory:"``)."""
        return self._session.path

    @property
    def author(self) -> str:
        """Who makes the changes (default: the OS user)."""
        return self._session.author

    @author.setter
    def author(self, value: str) -> None:
        self._session.author = value

    @property
    def media_dir(self) -> Path | None:
        """Where in-memory images (arrays, PIL) are saved."""
        return self._session.media_dir

    # -- reading -----------------------------------------------------------------------------
    def media(self) -> MediaSlice:
        """All media as a lazy slice; filter with ``.where()``, ``.labels()``, ``.status()``...

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().count()
            0
        """
        return MediaSlice(self._session)

    def instances(self, run: Any = None) -> InstanceSlice:
        """Current instances as a lazy slice: ground truth (``run=None``), one run's predictions
        (its name or :class:`Run`), or everything (``run="*"``).

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").instances().count()
            0
        """
        if isinstance(run, Run):
            run = run.name
        return InstanceSlice(self._session, run=run)

    # -- runs --------------------------------------------------------------------------------
    def add_run(self, name: str, *, model: str | None = None, params: dict[str, Any] | None = None) -> Run:
        """Register a model run (a model with its runtime settings); returns it.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").add_run("yolo-v8n@640", params={"conf": 0.25})
            <Run 'yolo-v8n@640' (id 1)>
        """
        with self.store.transaction() as con:
            rid = runs_rows.add_run(con, name, model, params)
        return Run(self._session, rid, name)

    def run(self, name: str) -> Run:
        """An existing run by name.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m"); p.run("m").name
            'm'
        """
        with self.store.read() as con:
            rid = run_id(con, name)
        assert rid is not None
        return Run(self._session, rid, name)

    def runs(self) -> pd.DataFrame:
        """All runs with their number of current predictions.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m"); list(p.runs()["name"])
            ['m']
        """
        with self.store.read() as con:
            return runs_rows.list_runs(con)

    # -- the file (delegates to the store) ---------------------------------------------------
    def close(self) -> None:
        """Release the project file now (another process can open it at once); reopens on next use.

        Example:
            >>> import nblabel as nl
            >>> with nl.open(":memory:") as proj:
            ...     proj.media().count()
            0
        """
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        with self.store.read() as con:
            nm, ni, npred, v = runs_rows.counts(con)
        where = ":memory:" if self.path is None else str(self.path)
        preds = f", {npred} predictions" if npred else ""  # instances = ground truth, as proj.instances().count()
        return f"<Project {where}: {nm} media, {ni} instances{preds}, schema v{v}>"


def open(path: str | os.PathLike[str] | None = None, *, author: str | None = None,
         media_dir: str | os.PathLike[str] | None = None, timeout: float = 120.0,
         read_only: bool | None = None) -> Project:
    """Open (or create) a project file; ``":memory:"`` makes a throw-away project.

    Args:
        path: the DuckDB file (default ``./nblabel.duckdb``).
        author: who makes the changes (default: the OS user).
        media_dir: where in-memory images (arrays, PIL) are saved (default ``<file>.media/``).
        timeout: seconds to wait for another process holding the file.
        read_only: open for queries and exports only (writes raise :class:`StoreError`). The default
            opens read-only, with a warning, when the file or its folder is not writable.

    Example:
        >>> import nblabel as nl
        >>> proj = nl.open(":memory:", author="ana")
        >>> proj.author
        'ana'
    """
    return Project(path if path is not None else "nblabel.duckdb", author=author, media_dir=media_dir,
                   timeout=timeout, read_only=read_only)
