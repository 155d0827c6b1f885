"""What every notebooks/make_0*.py generator shares: the cell constructors and writing the notebook.

A generator lists its cells (``MD(...)``, ``CODE(...)``) and calls :func:`write`. The notebook is
stored without outputs (nbval runs it, the browser tests open it) and with the Python 3 kernelspec.
A cell whose type and text are unchanged keeps the id it has in the notebook already on disk, so
regenerating an unchanged notebook rewrites the same bytes and a diff shows only the cells that
changed (nbformat gives every new cell a random id).
"""

from __future__ import annotations

from collections import defaultdict, deque
from pathlib import Path

import nbformat
from nbformat import NotebookNode

__all__ = ["CODE", "MD", "write"]

MD = nbformat.v4.new_markdown_cell
CODE = nbformat.v4.new_code_cell
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _source(cell: NotebookNode) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def _keep_ids(cells: list[NotebookNode], old_path: Path) -> None:
    """Give each cell the id of the first unused cell of ``old_path`` with the same type and text."""
    if not old_path.exists():
        return
    old = nbformat.read(old_path, as_version=4)
    ids: dict[tuple[str, str], deque[str]] = defaultdict(deque)
    for c in old.cells:
        if "id" in c:
            ids[(c.cell_type, _source(c))].append(c.id)
    for c in cells:
        free = ids.get((c.cell_type, _source(c)))
        if free:
            c.id = free.popleft()


def write(cells: list[NotebookNode], out: Path, *, language_info: bool = False) -> Path:
    """Write ``cells`` as the notebook ``out`` (no outputs, Python 3 kernelspec); returns ``out``.

    ``language_info=True`` also records ``{"name": "python"}`` as the language (02_labeling has it).
    """
    cells = [nbformat.from_dict(c) for c in cells]  # copies: the generator's CELLS stay as they are
    _keep_ids(cells, out)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    if language_info:
        nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, out)
    return out
