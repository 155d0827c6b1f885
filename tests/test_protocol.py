"""The one request/response protocol of both widgets: registry, envelope, registration, and the spec."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nblabel as nl
from nblabel.errors import SchemaError
from nblabel.widgets import Annotator, Gallery
from nblabel.widgets._protocol import Commands, dispatch, register

SPEC = Path(__file__).resolve().parent.parent / "js" / "PROTOCOL.md"


@pytest.fixture
def proj() -> nl.Project:
    p = nl.open(":memory:")
    p.add_images([np.zeros((40, 60, 3), np.uint8), np.zeros((30, 20, 3), np.uint8)])
    p.schema.add_label("car")
    return p


class Toy:
    """A widget stand-in with a table of its own (dispatch needs no anywidget)."""

    commands = Commands("toy")

    @commands.command("boom")
    def _boom(self, msg: dict[str, Any]) -> Any:
        raise RuntimeError("the disk is on fire")

    @commands.command("schema")
    def _schema(self, msg: dict[str, Any]) -> Any:
        raise SchemaError("label 'cra' is not in the schema; did you mean 'car'?")

    @commands.command("keys")
    def _keys(self, msg: dict[str, Any]) -> Any:
        return {"id": "forged", "ok": False, "n": 1}, [b"x"]

    @commands.command("echo", takes_buffers=True)
    def _echo(self, msg: dict[str, Any], buffers: list[Any]) -> Any:
        return {"sizes": [len(b) for b in buffers]}, list(buffers)


def test_an_nblabel_error_gives_its_message_and_type_and_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="nblabel.widgets"):
        reply, bufs = dispatch(Toy(), {"id": 3, "kind": "schema"})
    assert reply == {"id": 3, "ok": False, "error": "label 'cra' is not in the schema; did you mean 'car'?",
                     "error_type": "SchemaError"}
    assert bufs == []
    assert not caplog.records


def test_an_unexpected_error_is_type_and_message_and_logged_with_its_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="nblabel.widgets"):
        reply, bufs = dispatch(Toy(), {"id": "b", "kind": "boom"})
    assert reply == {"id": "b", "ok": False, "error": "RuntimeError: the disk is on fire", "error_type": "RuntimeError"}
    (rec,) = caplog.records
    assert rec.exc_info is not None and rec.exc_info[0] is RuntimeError
    assert "'boom'" in rec.getMessage()


def test_bad_requests_get_a_reply_never_an_exception() -> None:
    reply, _ = dispatch(Toy(), ["not", "a", "dict"])
    assert (reply["id"], reply["ok"], reply["error_type"]) == (None, False, "ValidationError")
    reply, _ = dispatch(Toy(), {"id": 9, "kind": "nope"})
    assert reply["ok"] is False
    assert "'nope'" in reply["error"] and "['boom', 'echo', 'keys', 'schema']" in reply["error"]
    reply, _ = dispatch(object(), {"id": 1, "kind": "x"})  # a widget without a table still gets an answer
    assert reply["ok"] is False and "Commands" in reply["error"]


def test_the_envelope_wins_over_handler_fields_and_buffers_pass_through() -> None:
    assert dispatch(Toy(), {"id": 5, "kind": "keys"}) == ({"id": 5, "ok": True, "n": 1}, [b"x"])
    assert dispatch(Toy(), {"id": 6, "kind": "echo"}, [b"abc", b"de"]) == (
        {"sizes": [3, 2], "id": 6, "ok": True}, [b"abc", b"de"])


def test_a_kind_is_registered_once() -> None:
    t = Commands("t", {"a": lambda w, m: ({}, [])})
    with pytest.raises(Exception, match="already answers 'a'"):
        t.add("a", lambda w, m: ({}, []))


@pytest.mark.parametrize("make", ["annotate", "gallery"])
def test_both_widgets_answer_errors_with_the_same_envelope(proj: nl.Project, make: str) -> None:
    w = getattr(proj, make)()
    reply, bufs = w.handle_message({"id": 1, "kind": "nope"}) if make == "annotate" else w.handle({"id": 1, "kind": "nope"})
    assert set(reply) == {"id", "ok", "error", "error_type"}
    assert (reply["ok"], reply["error_type"], bufs) == (False, "ValidationError", [])
    w.close()


@pytest.mark.parametrize("make", ["annotate", "gallery"])
def test_each_widget_installs_one_handler_and_answers_each_request_once(proj: nl.Project, make: str) -> None:
    w = getattr(proj, make)()
    register(w)  # a second registration is a no-op
    sent: list[tuple[dict[str, Any], Any]] = []
    w.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    w._handle_custom_msg({"id": "r1", "kind": "nope"}, [])  # what ipywidgets calls for a msg:custom
    assert len(sent) == 1
    assert sent[0][0]["id"] == "r1" and sent[0][0]["ok"] is False
    w.close()


def test_the_annotator_records_the_time_of_every_request(proj: nl.Project) -> None:
    w = proj.annotate()
    w.handle_message({"id": 1, "kind": "nav", "action": "next"})
    w.handle_message({"id": 2, "kind": "nope"})
    assert [k for k, _ in w._timings] == ["nav", "nope"]
    assert w._last_handler_ms >= 0
    w.close()


def _documented_kinds(section: str) -> set[str]:
    text = SPEC.read_text(encoding="utf-8")
    m = re.search(rf"^## \d+\. {section}\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert m, f"no '## N. {section}' section in {SPEC.name}"
    body = m.group(1)
    req = re.search(r"^### [\d.]+ Requests\n(.*?)(?=^### |\Z)", body, flags=re.S | re.M)
    assert req, f"no Requests table in the {section} section"
    return set(re.findall(r"^\| `([a-z_]+)` \|", req.group(1), flags=re.M))


@pytest.mark.parametrize(("section", "widget"), [("Annotator", Annotator), ("Gallery", Gallery)])
def test_protocol_md_documents_exactly_the_registered_kinds(section: str, widget: type) -> None:
    documented = _documented_kinds(section)
    assert documented, section
    assert documented == set(widget.commands.kinds), (
        f"js/PROTOCOL.md documents {sorted(documented)} for the {section.lower()}, "
        f"Python registers {widget.commands.kinds}")


def test_protocol_md_is_one_specification_not_an_append_log() -> None:
    text = SPEC.read_text(encoding="utf-8").lower()
    assert "appended" not in text
    assert "error_type" in text
