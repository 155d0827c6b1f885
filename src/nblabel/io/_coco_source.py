"""A COCO file opened for import: checked and read once (streamed), or read whole when it is no object.

:func:`open_coco` walks a COCO file with the stream reader (:mod:`._coco_stream`), keeping all but
the annotations, which go to a stager as they are read; :func:`read_json` reads a JSON file whole.
Either way a missing, unreadable or malformed file is a :class:`~nblabel.errors.FormatError` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FormatError
from ._coco_stream import iter_annotations, read_head, starts_with_object
from ._input_file import input_bytes

__all__ = ["CocoSource", "open_coco", "read_json"]


def _not_json(what: str, p: Path, e: Exception) -> FormatError:
    if isinstance(e, RecursionError):
        return FormatError(f"{what} {str(p)!r} nests lists/objects too deeply to read (thousands of levels); "
                           "a COCO file needs only a few: fix or re-export the file")
    return FormatError(f"{what} {str(p)!r} is not valid JSON ({e}); fix or re-export the file")


def read_json(path: str | Path, what: str = "COCO file") -> Any:
    """Read a JSON file whole; a missing or malformed file is a :class:`FormatError` naming it.

    Example:
        >>> import tempfile, os, pathlib
        >>> p = os.path.join(tempfile.mkdtemp(), "x.json"); _ = pathlib.Path(p).write_text("{]")
        >>> read_json(p)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nblabel.errors.FormatError: COCO file '...x.json' is not valid JSON (...
    """
    p = Path(path)
    raw = input_bytes(p, what)
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise _not_json(what, p, e) from None


@dataclass
class CocoSource:
    """A COCO file opened for import: its top level (the annotations list left empty when streamed),
    the categories whose annotations carry keypoints, and the annotations in chunks."""

    path: Path
    top: Any
    keypoint_categories: set[Any]
    n_annotation_keys: int  # 0: ``top`` was read whole and holds the annotations itself

    def annotations(self, chunk: int) -> Iterator[list[Any]]:
        """The annotations, ``chunk`` at a time (read again from the file when streamed)."""
        if not self.n_annotation_keys:
            anns = self.top["annotations"]
            for i in range(0, len(anns), chunk):
                yield anns[i:i + chunk]
            return
        try:
            yield from iter_annotations(self.path, self.n_annotation_keys, chunk)
        except OSError as e:
            raise FormatError(f"COCO file {str(self.path)!r} cannot be read: {e}") from None
        except (json.JSONDecodeError, UnicodeError, RecursionError) as e:  # changed since it was first read
            raise _not_json("COCO file", self.path, e) from None


def open_coco(path: Path, staged: Any = None, chunk: int = 10_000) -> CocoSource:
    """Check a COCO file's JSON and read all but its annotations (see the module docstring);
    ``staged`` gets the annotations as they are read (see :func:`read_head`).

    A file whose top level is not an object is read whole: it is refused anyway, with what it holds.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.json"
        >>> _ = p.write_text('{"images": [], "annotations": [{"id": 1}, {"id": 2}], "categories": []}')
        >>> src = open_coco(p); src.top, list(src.annotations(1))
        ({'images': [], 'annotations': [], 'categories': []}, [[{'id': 1}], [{'id': 2}]])
    """
    try:
        streamed = starts_with_object(path)
    except OSError:
        streamed = False  # read_json words the problem
    if not streamed:
        d = read_json(path)
        kps = ({a.get("category_id") for a in d["annotations"] if isinstance(a, dict) and a.get("keypoints")}
               if isinstance(d, dict) and isinstance(d.get("annotations"), list) else set())
        return CocoSource(path, d, kps, 0)
    try:
        head = read_head(path, staged, chunk)
    except OSError as e:
        raise FormatError(f"COCO file {str(path)!r} cannot be read: {e}") from None
    except (json.JSONDecodeError, UnicodeError, RecursionError) as e:
        raise _not_json("COCO file", path, e) from None
    return CocoSource(path, head.top, head.keypoint_categories, head.n_annotation_keys)

