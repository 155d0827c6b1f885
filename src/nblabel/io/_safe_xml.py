"""Reading an untrusted XML file safely: the one reader every XML importer goes through.

VOC annotations, CVAT files and Label Studio configs come from outside, so reading one must not
expand entities ("billion laughs") or fetch anything (XXE). Two layers refuse both:

- the raw bytes are refused when they hold NUL bytes (UTF-16/32 would hide a declaration from the
  next check) or a ``<!DOCTYPE``/``<!ENTITY`` declaration;
- the parser itself refuses any DOCTYPE, entity declaration or external entity reference it still
  meets, so nothing can expand and nothing is fetched.

Every refusal is a :class:`~nblabel.errors.FormatError` naming the file (and, for XML that is not
well-formed, the line and column the parser stopped at). :func:`read_xml` gives the root element
(C parser, for small files read in bulk); :func:`read_xml_lines` also keeps the line each element
starts on, so a caller can report a bad element as ``annotations.xml:42``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

from ..errors import FormatError
from ._input_file import input_bytes

__all__ = ["XmlTree", "read_xml", "read_xml_lines"]

#: a DTD or entity declaration in the raw bytes (case-insensitive, spaces allowed after ``<!``)
_DECL = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class _Refused(Exception):
    """A declaration met inside the parser (the byte check missed it)."""


class _RefusingBuilder(ET.TreeBuilder):
    """A tree builder whose parser stops at the start of any DOCTYPE."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _Refused


def _refused(what: str, p: Path) -> FormatError:
    return FormatError(f"{what} {str(p)!r} has a DOCTYPE/ENTITY declaration; these are refused (entity expansion "
                       "and external entity attacks): remove the declaration")


def _malformed(what: str, p: Path, line: int | None, column: int | None, reason: str) -> FormatError:
    return FormatError(f"{what} {str(p)!r} is not well-formed XML at line {line}, column {column} ({reason}); "
                       "fix the file or export it again")


def _safe_bytes(p: Path, what: str) -> bytes:
    """The file's bytes, refused when unreadable, not UTF-8 (NUL bytes) or holding a declaration."""
    raw = input_bytes(p, what)
    if b"\x00" in raw:  # UTF-16/32 would hide a declaration from the byte check below
        raise FormatError(f"{what} {str(p)!r} is not UTF-8 (it has NUL bytes); re-save it as UTF-8")
    if _DECL.search(raw):
        raise _refused(what, p)
    return raw


def read_xml(path: str | Path, what: str) -> ET.Element:
    """The root element of an XML file, with DTDs and entities refused; ``what`` names the file in errors.

    Raises:
        FormatError: the file does not exist or cannot be read, is not UTF-8, has a DOCTYPE/ENTITY
            declaration, or is not well-formed XML (with the line and column the parser stopped at).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp(), "a.xml")
        >>> _ = p.write_text("<annotation><filename>a.jpg</filename></annotation>")
        >>> read_xml(p, "VOC file").findtext("filename")
        'a.jpg'
        >>> _ = p.write_text('<!DOCTYPE a [<!ENTITY x "y">]><annotation>&x;</annotation>')
        >>> read_xml(p, "VOC file")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nblabel.errors.FormatError: VOC file '...a.xml' has a DOCTYPE/ENTITY declaration; these are refused ...
    """
    p = Path(path)
    raw = _safe_bytes(p, what)
    try:
        return ET.fromstring(raw, ET.XMLParser(target=_RefusingBuilder()))
    except _Refused:
        raise _refused(what, p) from None
    except ET.ParseError as e:
        line, column = e.position
        raise _malformed(what, p, line, column, expat.ErrorString(e.code)) from None


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


def read_xml_lines(path: str | Path, what: str) -> XmlTree:
    """Parse an XML file as :func:`read_xml` does, keeping the line each element starts on.

    Raises:
        FormatError: as :func:`read_xml`.

    Example:
        >>> import tempfile, os, pathlib
        >>> p = os.path.join(tempfile.mkdtemp(), "a.xml")
        >>> _ = pathlib.Path(p).write_text("<annotations>\\n  <image id='0'/>\\n</annotations>")
        >>> t = read_xml_lines(p, "CVAT file")
        >>> t.root.tag, t.line(t.root.find("image")), t.where(t.root.find("image"))
        ('annotations', 2, 'a.xml:2')
        >>> _ = pathlib.Path(p).write_text("<annotations>\\n<image>\\n</annotations>")
        >>> read_xml_lines(p, "CVAT file")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nblabel.errors.FormatError: CVAT file '...a.xml' is not well-formed XML at line 3, column 2 (mismatched tag); ...
    """
    p = Path(path)
    raw = _safe_bytes(p, what)
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
        raise _refused(what, p) from None
    except expat.ExpatError as e:
        reason = expat.ErrorString(e.code) if e.code is not None else str(e)
        raise _malformed(what, p, e.lineno, e.offset, reason) from None
    if not top:  # pragma: no cover - expat reports a document without elements itself
        raise FormatError(f"{what} {str(p)!r} has no XML element")
    return XmlTree(p, top[0], lines)
