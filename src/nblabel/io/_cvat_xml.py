"""Reading a CVAT XML file safely, keeping the line each element starts on.

The same hardening as the VOC reader (:mod:`._voc`): the raw bytes are refused when they hold a
DOCTYPE/ENTITY declaration or NUL bytes (UTF-16/32 would hide one), and the expat parser itself
refuses any DOCTYPE, entity declaration or external entity it meets, so nothing can expand and
nothing is fetched. The tree is built with expat directly so every element knows its line: a bad
shape is reported as ``annotations.xml:42``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

from ..errors import FormatError
from ._voc import _DECL

__all__ = ["XmlTree", "read_xml"]


class _Refused(Exception):
    """A declaration met inside the parser (the byte check missed it)."""


class XmlTree:
    """A parsed XML file: its root element and the line each element starts on."""

    def __init__(self, path: Path, root: ET.Element, lines: dict[ET.Element, int]) -> None:
        self.path = path
        self.root = root
        self._lines = lines

    def line(self, el: ET.Element) -> int:
        """The 1-based line ``el`` starts on (0 if unknown)."""
        return self._lines.get(el, 0)

    def where(self, el: ET.Element) -> str:
        """``file.xml:line`` of an element, for problem reports."""
        return f"{self.path.name}:{self.line(el)}"


def read_xml(path: str | Path, what: str = "CVAT file") -> XmlTree:
    """Parse an XML file with entities and DTDs refused; errors name the file and line.

    Raises:
        FormatError: the file cannot be read, is not UTF-8, has a DOCTYPE/ENTITY declaration, or is
            not well-formed XML (with the line and column expat stopped at).

    Example:
        >>> import tempfile, os, pathlib
        >>> p = os.path.join(tempfile.mkdtemp(), "a.xml")
        >>> _ = pathlib.Path(p).write_text("<annotations>\\n  <image id='0'/>\\n</annotations>")
        >>> t = read_xml(p)
        >>> t.root.tag, t.line(t.root.find("image"))
        ('annotations', 2)
        >>> _ = pathlib.Path(p).write_text("<annotations>\\n<image>\\n</annotations>")
        >>> read_xml(p)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nblabel.errors.FormatError: CVAT file '...a.xml' is not well-formed XML at line 3, column 2 (mismatched tag); ...
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{what} {str(p)!r} does not exist; check the path") from None
    except OSError as e:
        raise FormatError(f"{what} {str(p)!r} cannot be read: {e}") from None
    if b"\x00" in raw:
        raise FormatError(f"{what} {str(p)!r} is not UTF-8 (it has NUL bytes); re-save it as UTF-8")
    refused = (f"{what} {str(p)!r} has a DOCTYPE/ENTITY declaration; these are refused (entity expansion "
               "and external entity attacks): remove the declaration")
    if _DECL.search(raw):
        raise FormatError(refused)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    lines: dict[ET.Element, int] = {}
    stack: list[ET.Element] = []
    top: list[ET.Element] = []

    def refuse(*_args: object) -> None:
        raise _Refused

    def refuse_ref(_context: str, _base: str | None, _system: str | None, _public: str | None) -> int:
        raise _Refused

    def start(tag: str, attrs: dict[str, str]) -> None:
        el = ET.Element(tag, attrs)
        lines[el] = parser.CurrentLineNumber
        (stack[-1].append(el) if stack else top.append(el))
        stack.append(el)

    def end(_tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if not stack:
            return
        el = stack[-1]
        if len(el):
            last = el[-1]
            last.tail = (last.tail or "") + data
        else:
            el.text = (el.text or "") + data

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_ref
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.buffer_text = True
    try:
        parser.Parse(raw, True)
    except _Refused:
        raise FormatError(refused) from None
    except expat.ExpatError as e:
        reason = expat.ErrorString(e.code) if e.code is not None else str(e)
        raise FormatError(f"{what} {str(p)!r} is not well-formed XML at line {e.lineno}, column {e.offset} "
                          f"({reason}); fix the file or export it again") from None
    if not top:  # pragma: no cover - expat reports a document without elements itself
        raise FormatError(f"{what} {str(p)!r} has no XML element")
    return XmlTree(p, top[0], lines)
