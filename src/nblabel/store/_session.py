"""The session: what the layers below the facade receive instead of the whole ``Project``.

A session is the store (the project file), who makes the changes, and where in-memory images are
saved. io/, query/, debug/ and widgets/ take one and call store/ and io/ functions with it; they
never call back into ``Project``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MediaError
from ._schema import load_state

if TYPE_CHECKING:
    from ..schema import SchemaState
    from ._store import Store

__all__ = ["Session"]


@dataclass(eq=False)
class Session:
    """A project file, its author, and its media folder.

    Example:
        >>> from nblabel.store import Session, Store
        >>> s = Session(Store(":memory:"), author="ana", media_dir=None)
        >>> s.author, s.path is None, s.schema_state().version
        ('ana', True, 0)
    """

    store: Store
    author: str
    media_dir: Path | None

    @property
    def path(self) -> Path | None:
        """The project file (``None`` for an in-memory project)."""
        return self.store.path

    def schema_state(self) -> SchemaState:
        """The schema as it is now (cached per schema version)."""
        with self.store.read() as con:
            return load_state(con)

    def media_folder(self) -> Path:
        """Where in-memory images (arrays, PIL) are saved; an error if this session has none."""
        if self.media_dir is None:
            raise MediaError("this project has no media folder for in-memory images; "
                             "open it with nl.open(path, media_dir=...) or save the images as files first")
        return self.media_dir
