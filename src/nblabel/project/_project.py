"""A project: one DuckDB file holding schema, media, instances with history, statuses, snapshots."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ValidationError
from ..query import InstanceSlice, MediaSlice
from ..schema import Schema
from ..store import Store
from ._debug import DebugMixin
from ._formats import FormatsMixin
from ._gallery import GalleryMixin
from ._instances import InstancesMixin
from ._media import MediaMixin
from ._runs import Run
from ._widgets import WidgetsMixin

__all__ = ["Project", "open"]


def _default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user database entry (some containers)
        return os.environ.get("USER", "unknown")


class Project(MediaMixin, InstancesMixin, FormatsMixin, DebugMixin, WidgetsMixin, GalleryMixin):
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
        self.store = Store(path, timeout=timeout, read_only=read_only)
        self.path = self.store.path
        self.author = author or _default_author()
        if media_dir is not None:
            self.media_dir: Path | None = Path(media_dir)
        elif self.path is not None:
            self.media_dir = self.path.with_name(self.path.stem + ".media")
        else:  # an in-memory project keeps in-memory images in a temporary folder
            import tempfile

            self.media_dir = Path(tempfile.mkdtemp(prefix="nblabel-media-"))
        self.schema = Schema(self.store)

    # -- reading -----------------------------------------------------------------------------
    def media(self) -> MediaSlice:
        """All media as a lazy slice; filter with ``.where()``, ``.labels()``, ``.status()``...

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").media().count()
            0
        """
        return MediaSlice(self)

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
        return InstanceSlice(self, run=run)

    # -- runs --------------------------------------------------------------------------------
    def add_run(self, name: str, *, model: str | None = None, params: dict[str, Any] | None = None) -> Run:
        """Register a model run (a model with its runtime settings); returns it.

        Example:
            >>> import nblabel as nl
            >>> nl.open(":memory:").add_run("yolo-v8n@640", params={"conf": 0.25})
            <Run 'yolo-v8n@640' (id 1)>
        """
        if not isinstance(name, str) or not name:
            raise ValidationError(f"a run needs a non-empty name, got {name!r}")
        with self.store.transaction() as con:
            if con.execute("SELECT 1 FROM runs WHERE name = ?", [name]).fetchall():
                raise ValidationError(f"run {name!r} exists already; get it with proj.run({name!r})")
            rid = int(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchall()[0][0])
            con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, now())",
                        [rid, name, model or name.split("@")[0], json.dumps(params or {})])
        return Run(self, rid, name)

    def run(self, name: str) -> Run:
        """An existing run by name.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m"); p.run("m").name
            'm'
        """
        with self.store.read() as con:
            rid = self._run_id(con, name)
        assert rid is not None
        return Run(self, rid, name)

    def runs(self) -> pd.DataFrame:
        """All runs with their number of current predictions.

        Example:
            >>> import nblabel as nl
            >>> p = nl.open(":memory:"); _ = p.add_run("m"); list(p.runs()["name"])
            ['m']
        """
        with self.store.read() as con:
            return con.execute(
                "SELECT r.run_id, r.name, r.model, r.params, r.created_at, count(i.instance_id) AS n_predictions "
                "FROM runs r LEFT JOIN current_instances i USING (run_id) GROUP BY ALL ORDER BY r.run_id").df()

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
            nm = con.execute("SELECT count(*) FROM media").fetchall()[0][0]
            ni = con.execute("SELECT count(*) FROM current_instances").fetchall()[0][0]
            v = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0]
        where = ":memory:" if self.path is None else str(self.path)
        return f"<Project {where}: {nm} media, {ni} instances, schema v{v}>"


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
