"""The gallery widget: a virtual-scrolling thumbnail grid over a slice of media, with overlays.

Python owns the data; the browser asks small questions with the request/response protocol of
``js/PROTOCOL.md`` (kinds ``items``, ``thumbs``, ``select``, ``open``, ``action``; registered in
:attr:`Gallery.commands`, answered by :func:`nblabel.widgets._protocol.dispatch`). The tables the
``items`` reply carries are built in :mod:`nblabel.widgets._gallery_tables`.

Sorting happens in the browser on the typed arrays it already holds (an index permutation: a few
milliseconds for 100k rows, no round trip, and the selection and scroll position survive); the
``sort`` trait records the choice, and a ``sort`` given from Python orders the table before it is sent.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets
import numpy as np
import pandas as pd
import traitlets

from ..errors import SchemaError, ValidationError, did_you_mean
from ..query import MediaSlice
from ..store import media_ids, run_id, run_name_of
from ..store._datasets import add_static_members
from ..store._edits import add_instances
from ..store._media import set_status
from ._colors import run_color
from ._gallery_groups import check_extra, decorate
from ._gallery_tables import check_columns, gallery_tables
from ._protocol import Commands, Reply, dispatch, register
from ._thumbs import thumbnails

if TYPE_CHECKING:
    import pyarrow as pa

    from ..store import Session

__all__ = ["Gallery"]

_STATIC = pathlib.Path(__file__).resolve().parent.parent / "static"
MAX_THUMBS_PER_REQUEST = 256


def _ipc(table: pa.Table) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table.combine_chunks())
    return sink.getvalue().to_pybytes()


class Gallery(anywidget.AnyWidget):
    """A thumbnail grid over a slice of media; make one with :meth:`Project.gallery`.

    Example:
        >>> import nblabel as nl, numpy as np
        >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
        >>> g = p.gallery()
        >>> reply, buffers = g.handle({"id": "1", "kind": "thumbs", "ids": [1]})
        >>> reply["ok"], len(buffers)
        (True, 1)
    """

    _esm = _STATIC / "gallery.js"
    commands = Commands("gallery")  # the request kinds this widget answers (js/PROTOCOL.md)

    size = traitlets.Int(160).tag(sync=True)
    count = traitlets.Int(0).tag(sync=True)
    sort = traitlets.Unicode("").tag(sync=True)
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    runs = traitlets.List(traitlets.Dict()).tag(sync=True)
    labels = traitlets.List(traitlets.Dict()).tag(sync=True)
    stage = traitlets.Unicode("label").tag(sync=True)
    items_version = traitlets.Int(0).tag(sync=True)
    color_by = traitlets.Unicode("").tag(sync=True)  # the column whose value colours each frame ("" = none)
    group_by = traitlets.Unicode("").tag(sync=True)  # the column whose groups start new grid rows
    legend = traitlets.List(traitlets.Dict()).tag(sync=True)  # color_by's value → colour (set when the tables are built)
    selected = traitlets.List(traitlets.Int())  # Python side only: set by the browser's "select" message
    opened = traitlets.Int(None, allow_none=True)
    open_annotator = traitlets.Bool(False)

    def __init__(self, session: Session, media_slice: MediaSlice | None = None, *,
                 runs: Sequence[Any] | str | None = None, size: int = 160, sort: str | None = None,
                 columns: Sequence[str] | None = None, stage: str = "label", extra: pd.DataFrame | None = None,
                 color_by: str | None = None, group_by: str | None = None) -> None:
        if media_slice is None:
            media_slice = MediaSlice(session)
        if not isinstance(media_slice, MediaSlice):
            raise ValidationError(f"gallery() shows a media slice (proj.media()...), got {type(media_slice).__name__}")
        if not isinstance(size, (int, np.integer)) or not 16 <= int(size) <= 1024:
            raise ValidationError(f"size is the thumbnail's longest side in pixels (16–1024), got {size!r}")
        extra_df = check_extra(session.store, extra, media_slice._all_columns())
        extra_cols = [] if extra_df is None else [c for c in extra_df.columns if c != "media_id"]
        sort_name = (sort or "").lstrip("-")
        cols = check_columns(media_slice, columns, None if sort_name in extra_cols else sort) + extra_cols
        for what, name in (("color_by", color_by), ("group_by", group_by)):
            if name is not None and (not isinstance(name, str) or name not in [*cols, "file_name", "width", "height"]):
                raise ValidationError(f"{what}={name!r} is not a gallery column{did_you_mean(str(name), cols)}; "
                                      "pass it in extra= or columns=")
        self.session = session
        self._extra = extra_df
        self.media_slice = media_slice
        self._run_list = self._resolve_runs(runs)
        self._tables: tuple[pa.Table, pa.Table] | None = None
        self._open_callbacks: list[Callable[[int], Any]] = []
        self.output = ipywidgets.Output()
        self.annotator: Any = None  # the annotator last opened below the grid (open_annotator=True)
        state = session.schema_state()
        super().__init__(
            size=int(size), sort=sort or "", columns=cols, stage=stage,
            runs=[{"name": n, "color": run_color(rid)} for rid, n in self._run_list],
            labels=[{"id": lab.id, "name": lab.name, "color": lab.color, "tag": "tag" in lab.spatial}
                    for lab in state.labels.values() if not lab.retired],
            count=media_slice.count(), color_by=color_by or "", group_by=group_by or "",
        )
        register(self)

    # -- setup -------------------------------------------------------------------------------
    def _resolve_runs(self, runs: Sequence[Any] | str | None) -> list[tuple[int, str]]:
        if runs is None:
            return []
        with self.session.store.read() as con:
            if isinstance(runs, str) and runs == "*":
                return [(int(r), str(n)) for r, n in con.execute("SELECT run_id, name FROM runs ORDER BY run_id").fetchall()]
            items = [runs] if isinstance(runs, str) or not isinstance(runs, Sequence) else list(runs)
            out = []
            for r in items:
                rid = run_id(con, r)
                assert rid is not None  # run_id(con, None) is the only None
                out.append((int(rid), run_name_of(con, int(rid))))
        return out

    def tables(self) -> tuple[pa.Table, pa.Table]:
        """The ``items`` and ``boxes`` Arrow tables sent to the browser (built once, then kept).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((40, 60, 3), np.uint8)])
            >>> p.gallery().tables()[0].num_rows
            1
        """
        if self._tables is None:
            extra_cols = set() if self._extra is None else set(self._extra.columns)
            slice_cols = [c for c in self.columns if c not in extra_cols]
            in_sql = self.sort.lstrip("-") not in extra_cols
            items, boxes = gallery_tables(self.session.store, self.media_slice, self._run_list, slice_cols,
                                          (self.sort or None) if in_sql else None)
            items, boxes, legend = decorate(items, boxes, self._extra, color_by=self.color_by or None,
                                            group_by=self.group_by or None, sort=None if in_sql else self.sort)
            self._tables = (items, boxes)
            self.legend = legend
        return self._tables

    def refresh(self) -> None:
        """Rebuild the item table (after instances changed) and tell the browser to fetch it again.

        Example:
            >>> import nblabel as nl
            >>> g = nl.open(":memory:").gallery(); g.refresh(); g.items_version
            1
        """
        self._tables = None
        self.count = self.media_slice.count()
        self.items_version += 1

    # -- the message protocol ------------------------------------------------------------------
    def handle(self, msg: dict[str, Any], buffers: Sequence[Any] | None = None) -> Reply:
        """Answer one request from the browser: ``(reply, buffers)``; errors come back as ``ok: False``.

        Example:
            >>> import nblabel as nl
            >>> g = nl.open(":memory:").gallery()
            >>> g.handle({"id": 7, "kind": "nope"})[0]["ok"]
            False
        """
        return dispatch(self, msg, buffers)

    @commands.command("items")
    def _msg_items(self, msg: dict[str, Any]) -> Reply:
        items, boxes = self.tables()
        reply: dict[str, Any] = {"n": items.num_rows, "runs": [n for _, n in self._run_list],
                                 "columns": list(self.columns), "version": self.items_version}
        if self.color_by or self.group_by:  # the legend and the grouping, only when asked for
            reply.update(legend=list(self.legend), color_by=self.color_by, group_by=self.group_by)
        return reply, [_ipc(items), _ipc(boxes)]

    @commands.command("thumbs")
    def _msg_thumbs(self, msg: dict[str, Any]) -> Reply:
        ids = [int(i) for i in msg.get("ids", [])][:MAX_THUMBS_PER_REQUEST]
        blobs = thumbnails(self.session.store, ids, self.size)
        offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs], dtype=np.int64)]).tolist()
        return {"ids": ids, "offsets": [int(o) for o in offsets]}, [b"".join(blobs)]

    @commands.command("select")
    def _msg_select(self, msg: dict[str, Any]) -> Reply:
        self.selected = [int(i) for i in msg.get("ids", [])]
        return {"count": len(self.selected)}, []

    @commands.command("open")
    def _msg_open(self, msg: dict[str, Any]) -> Reply:
        self.open_item(int(msg["media_id"]))
        return {}, []

    @commands.command("action")
    def _msg_action(self, msg: dict[str, Any]) -> Reply:
        ids = [int(i) for i in msg.get("ids", [])]
        action = msg.get("action")
        if action == "tag":
            return {"added": self.tag(msg["label"], ids)}, []
        if action == "dataset":
            added, did = self._add_members(str(msg["name"]), ids)
            return {"added": added, "dataset_id": did}, []
        if action == "mark":
            return {"count": self.mark_for_review(ids, stage=msg.get("stage") or None)}, []
        raise ValidationError(f"unknown gallery action {action!r}; use 'tag', 'dataset' or 'mark'")

    # -- opening items -------------------------------------------------------------------------
    def on_open(self, fn: Callable[[int], Any]) -> Callable[[int], Any]:
        """Call ``fn(media_id)`` when an item is opened (double-click or Enter); usable as a decorator.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> g = p.gallery(); seen = []
            >>> _ = g.on_open(seen.append); g.open_item(1); seen
            [1]
        """
        self._open_callbacks.append(fn)
        return fn

    def open_item(self, media_id: int) -> None:
        """Open one item: set :attr:`opened`, call the ``on_open`` callbacks and, with
        ``open_annotator=True`` and an annotator available, show it in :attr:`output` below the grid.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> g = p.gallery(); g.open_item(1); g.opened
            1
        """
        self.opened = int(media_id)
        for fn in list(self._open_callbacks):
            fn(int(media_id))
        if self.open_annotator:
            from IPython.display import display

            from ._annotator import Annotator

            if self.annotator is not None:
                self.annotator.close()
            self.annotator = Annotator(self.session, [int(media_id)], stage=self.stage)
            self.output.clear_output(wait=True)
            with self.output:
                display(self.annotator)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        if self.open_annotator:  # the grid with the annotator's output area below it
            return ipywidgets.VBox([self, self.output])._repr_mimebundle_(**kwargs)
        return super()._repr_mimebundle_(**kwargs)

    # -- actions on the selection --------------------------------------------------------------
    def _ids(self, ids: Sequence[int] | None) -> list[int]:
        out = [int(i) for i in (self.selected if ids is None else ids)]
        if not out:
            raise ValidationError("no items selected; click thumbnails (shift/ctrl-click for more) or pass ids=")
        return out

    def tag(self, label: str | int, ids: Sequence[int] | None = None) -> int:
        """Add a whole-image tag of ``label`` to the items (default: the selection); returns how many
        were added (items that already carry the tag are left alone).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> _ = p.schema.add_label("blurry", spatial=["tag"])
            >>> g = p.gallery(); g.tag("blurry", [1]), g.tag("blurry", [1])
            (1, 0)
        """
        ids = self._ids(ids)
        labels = self.session.schema_state().labels
        lab = next((x for x in labels.values() if x.name == label or x.id == label), None)
        if lab is None:
            raise SchemaError(f"label {label!r} is not in the schema{did_you_mean(str(label), [x.name for x in labels.values()])}")
        if "tag" not in lab.spatial:
            raise SchemaError(f"label {lab.name!r} is not a whole-image tag; allow it with "
                              f"proj.schema.add_label({lab.name!r}, spatial=[..., 'tag'])")
        with self.session.store.transaction() as con:
            have = {int(r[0]) for r in con.execute(
                "SELECT DISTINCT media_id FROM current_instances WHERE run_id IS NULL AND kind = 'tag' "
                "AND label_id = ? AND media_id IN (SELECT unnest(?))", [lab.id, ids]).fetchall()}
            todo = [i for i in dict.fromkeys(ids) if i not in have]
            if todo:
                add_instances(self.session, pd.DataFrame({"media_id": todo, "label": lab.name, "kind": "tag"}))
        return len(todo)

    def add_to_dataset(self, name: str, ids: Sequence[int] | None = None) -> int:
        """Add the items (default: the selection) to a static dataset, created if new; returns how many
        were new members.

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.gallery().add_to_dataset("hard", [1])
            1
        """
        return self._add_members(name, self._ids(ids))[0]

    def _add_members(self, name: str, ids: Sequence[int]) -> tuple[int, int]:
        ids = self._ids(ids)
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"a dataset needs a non-empty name, got {name!r}")
        with self.session.store.transaction() as con:
            media_ids(con, ids)  # every id must exist
            return add_static_members(con, name, ids)

    def mark_for_review(self, ids: Sequence[int] | None = None, *, stage: str | None = None) -> int:
        """Set the items (default: the selection) to ``in_review`` in ``stage`` (default: the gallery's).

        Example:
            >>> import nblabel as nl, numpy as np
            >>> p = nl.open(":memory:"); _ = p.add_images([np.zeros((4, 6, 3), np.uint8)])
            >>> p.gallery().mark_for_review([1]); p.status(1)["state"]
            1
            'in_review'
        """
        ids = list(dict.fromkeys(self._ids(ids)))
        with self.session.store.transaction() as con:
            set_status(con, ids, "in_review", stage=stage or self.stage, reason=None, seconds_active=0.0,
                       author=self.session.author)
        return len(ids)

    def __repr__(self) -> str:
        return f"<Gallery: {self.count} items, size {self.size}, runs {json.dumps([n for _, n in self._run_list])}>"

