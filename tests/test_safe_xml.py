"""The one safe XML reader (io/_safe_xml.py): every refusal tested once here, then once per caller.

Both readers (``read_xml``: the root element; ``read_xml_lines``: with each element's line) refuse
entity expansion ("billion laughs"), external entities (XXE), DTDs, NUL bytes (UTF-16/32 hiding a
declaration) and malformed XML with a FormatError naming the file; the parser-level refusal is
checked on its own by switching the byte check off.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nblabel.errors import FormatError
from nblabel.io import _safe_xml
from nblabel.io._cvat_read import read_cvat
from nblabel.io._label_studio_config import read_config
from nblabel.io._safe_xml import read_xml, read_xml_lines
from nblabel.io._voc import parse_voc

LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
          '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><a>&lol3;</a>')
XXE = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
DECLS = {
    "billion-laughs": LAUGHS,
    "xxe": XXE,
    "external-dtd": '<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>',
    "parameter-entity": '<!DOCTYPE a [<!ENTITY % p SYSTEM "http://example.invalid/p.dtd"> %p;]><a/>',
    "lowercase": "<!doctype a><a/>",
    "spaced": "<! DOCTYPE a><a/>",
}
READERS: dict[str, Callable[[Path, str], Any]] = {"read_xml": read_xml, "read_xml_lines": read_xml_lines}


@pytest.fixture(params=sorted(READERS))
def reader(request: pytest.FixtureRequest) -> Callable[[Path, str], Any]:
    return READERS[request.param]


@pytest.mark.parametrize("name", sorted(DECLS))
def test_declarations_refused(tmp_path: Path, reader: Callable[[Path, str], Any], name: str) -> None:
    p = tmp_path / "a.xml"
    p.write_text(DECLS[name])
    with pytest.raises(FormatError, match=r"Some file '.*a\.xml' has a DOCTYPE/ENTITY declaration; these are "
                                          r"refused .*remove the declaration"):
        reader(p, "Some file")


@pytest.mark.parametrize("name", ["billion-laughs", "xxe", "external-dtd", "parameter-entity"])
def test_parser_refuses_when_byte_check_misses(tmp_path: Path, reader: Callable[[Path, str], Any],
                                               monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The second layer alone: with the byte check switched off the parser still refuses, before any expansion."""
    monkeypatch.setattr(_safe_xml, "_DECL", _safe_xml.re.compile(rb"(?!)"))  # matches nothing
    p = tmp_path / "a.xml"
    p.write_text(DECLS[name])
    with pytest.raises(FormatError, match="has a DOCTYPE/ENTITY declaration"):
        reader(p, "Some file")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_nul_bytes_refused(tmp_path: Path, reader: Callable[[Path, str], Any], encoding: str) -> None:
    p = tmp_path / "a.xml"
    p.write_bytes(LAUGHS.encode(encoding))  # the declaration would hide from a byte check
    with pytest.raises(FormatError, match=r"'.*a\.xml' is not UTF-8 \(it has NUL bytes\); re-save it as UTF-8"):
        reader(p, "Some file")


@pytest.mark.parametrize(("text", "where"), [
    ("<a>\n<b>\n</a>", "line 3, column 2 (mismatched tag)"),
    ("<a>&nope;</a>", "line 1, column 3 (undefined entity)"),
    ("", "line 1, column 0 (no element found)"),
    ("<a></a><b/>", "line 1, column 7 (junk after document element)"),
])
def test_malformed_names_file_and_line(tmp_path: Path, reader: Callable[[Path, str], Any], text: str,
                                       where: str) -> None:
    p = tmp_path / "a.xml"
    p.write_text(text)
    with pytest.raises(FormatError, match=r"'.*a\.xml' is not well-formed XML at " + where.replace("(", r"\(")
                       .replace(")", r"\)") + "; fix the file"):
        reader(p, "Some file")


def test_missing_and_unreadable(tmp_path: Path, reader: Callable[[Path, str], Any]) -> None:
    with pytest.raises(FormatError, match=r"Some file '.*nope\.xml' does not exist; check the path"):
        reader(tmp_path / "nope.xml", "Some file")
    with pytest.raises(FormatError, match=r"Some file '.*' cannot be read: "):
        reader(tmp_path, "Some file")  # a folder


def test_good_file_parsed(tmp_path: Path) -> None:
    p = tmp_path / "a.xml"
    p.write_text('<?xml version="1.0" encoding="utf-8"?>\n<a k="v">x<b>é &amp; y</b>tail\n  <c/>\n</a>')
    root = read_xml(p, "Some file")
    tree = read_xml_lines(p, "Some file")
    for r in (root, tree.root):
        assert (r.tag, r.get("k"), r.text, r.findtext("b"), r.find("b").tail) == ("a", "v", "x", "é & y", "tail\n  ")
    assert [tree.line(e) for e in tree.root.iter()] == [2, 2, 3]
    assert tree.where(tree.root.find("c")) == "a.xml:3"


CALLERS: dict[str, tuple[Callable[[Path], Any], str]] = {
    "voc": (parse_voc, "VOC file"),
    "label_studio_config": (read_config, "Label Studio config"),
    "cvat": (read_cvat, "CVAT file"),
}


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_each_caller_goes_through_the_safe_reader(tmp_path: Path, caller: str) -> None:
    read, what = CALLERS[caller]
    p = tmp_path / "a.xml"
    p.write_text(LAUGHS)
    with pytest.raises(FormatError, match=f"{what} '.*a\\.xml' has a DOCTYPE/ENTITY declaration"):
        read(p)
    p.write_bytes("<a/>".encode("utf-16"))
    with pytest.raises(FormatError, match=f"{what} '.*a\\.xml' is not UTF-8"):
        read(p)
    p.write_text("<a>\n<b></a>")
    with pytest.raises(FormatError, match=f"{what} '.*a\\.xml' is not well-formed XML at line 2, column 5"):
        read(p)
