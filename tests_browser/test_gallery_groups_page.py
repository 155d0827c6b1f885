"""Grouped gallery in the plain harness page: each group starts a new grid row, re-sorting keeps the
groups together, frames take the ``@color`` of their item. The item table comes from
:func:`nblabel.widgets._gallery_groups.decorate`, as ``Gallery.tables()`` sends it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from playwright.sync_api import Page, expect

from nblabel.widgets._gallery_groups import PALETTE, decorate
from tests_browser.folder_server import serve_folder

HERE = Path(__file__).parent
BUNDLE = HERE.parent / "src" / "nblabel" / "static" / "gallery.js"
PAD, CELL_W, CELL_H = 6, 166, 184  # a 160 px gallery (js/gallery/grid.js)
N = 10
GROUP = ["a", "a", "b", "b", "b", "c", "d", "d", "d", "d"]  # by media id 1..10 → rows of 2, 3, 1, 4

pytestmark = pytest.mark.browser


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


@pytest.fixture(scope="module")
def harness_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("gallery-groups")
    shutil.copy(HERE / "harness" / "gallery.html", root / "gallery.html")
    shutil.copy(BUNDLE, root / "gallery.js")
    items = pa.table({
        "media_id": pa.array(np.arange(1, N + 1, dtype=np.int64)),
        "file_name": pa.array([f"im{i}.jpg" for i in range(1, N + 1)]),
        "width": pa.array(np.full(N, 64, np.int32)), "height": pa.array(np.full(N, 48, np.int32)),
        "n_gt": pa.array(np.zeros(N, np.int32)),
        "rank": pa.array(np.arange(N, 0, -1, dtype=np.int32)),  # descending ids: reverses each group
    })
    boxes = pa.table({"item": pa.array([], pa.int32()), "x0": pa.array([], pa.float32()),
                      "y0": pa.array([], pa.float32()), "x1": pa.array([], pa.float32()),
                      "y1": pa.array([], pa.float32()), "src": pa.array([], pa.int8()),
                      "status": pa.array([], pa.int8()), "label_id": pa.array([], pa.int32()),
                      "score": pa.array([], pa.float32())})
    extra = pd.DataFrame({"media_id": np.arange(1, N + 1), "grp": GROUP, "keep": [k % 2 == 0 for k in range(N)]})
    items, boxes, _ = decorate(items, boxes, extra, color_by="grp", group_by="grp")
    (root / "items.arrow").write_bytes(_ipc(items))
    (root / "boxes.arrow").write_bytes(_ipc(boxes))

    with serve_folder(root) as url:
        yield f"{url}/gallery.html"


def _click(page: Page, row: int, col: int) -> None:
    b = page.locator(".nbl-g-scroller").bounding_box()
    assert b is not None
    page.mouse.click(b["x"] + PAD + col * CELL_W + 80, b["y"] + PAD + row * CELL_H + 80)


def _selected(page: Page) -> list[int]:
    sent = page.evaluate("() => window.model.sent.filter((m) => m.kind === 'select')")
    return list(sent[-1]["ids"]) if sent else []


def _pixel(page: Page, x: int, y: int) -> list[int]:
    return list(page.evaluate("([x, y]) => Array.from(document.querySelector('.nbl-g-canvas').getContext('2d')"
                              ".getImageData(x * devicePixelRatio, y * devicePixelRatio, 1, 1).data)", [x, y]))


def test_groups_start_new_rows_keep_together_when_sorted_and_frames_take_their_colour(page: Page,
                                                                                       harness_url: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(harness_url)
    page.wait_for_function("() => window.harnessReady")
    page.evaluate("() => mountGallery({columns: ['file_name', 'width', 'grp', 'rank']})")
    root = page.locator(".nblabel-gallery")
    expect(root).to_have_attribute("data-count", str(N))
    expect(root).to_have_attribute("data-rendered", "1")
    expect(root).to_have_attribute("data-groups", "4")
    assert page.evaluate("() => document.querySelector('.nbl-g-scroller').clientWidth - 6") // CELL_W >= 5
    # rows: [1 2] [3 4 5] [6] [7 8 9 10]; the cell after a short group stays empty
    for (row, col), want in {(0, 0): [1], (0, 1): [2], (1, 0): [3], (1, 2): [5], (2, 0): [6]}.items():
        _click(page, row, col)
        assert _selected(page) == want, (row, col)
    page.evaluate(f"() => {{ document.querySelector('.nbl-g-scroller').scrollTop = {CELL_H}; }}")
    page.wait_for_timeout(100)
    _click(page, 2, 3)  # the fourth row, scrolled up by one
    assert _selected(page) == [10]
    _click(page, 1, 1)  # the single-member group's row has nothing after it
    assert _selected(page) == [10]
    page.evaluate("() => { document.querySelector('.nbl-g-scroller').scrollTop = 0; }")
    page.wait_for_timeout(100)
    n_sent = len(page.evaluate("() => window.model.sent.filter((m) => m.kind === 'select')"))
    _click(page, 0, 2)  # an empty cell: no item, no select message
    assert len(page.evaluate("() => window.model.sent.filter((m) => m.kind === 'select')")) == n_sent
    # frame colours: groups a, b in palette order (sorted values), at the thumbnail's outer edge
    page.keyboard.press("Escape")
    page.wait_for_timeout(100)
    hexrgb = [int(PALETTE[k][i:i + 2], 16) for k in (0, 1) for i in (1, 3, 5)]
    got = _pixel(page, PAD + 40, PAD) + _pixel(page, PAD + 40, PAD + CELL_H)
    assert [got[0], got[1], got[2], got[4], got[5], got[6]] == hexrgb
    # re-sort by rank ascending (= media id descending): members reverse inside their group, rows stay
    page.select_option(".nbl-g-sort", "rank")
    _click(page, 0, 0)
    assert _selected(page) == [2]
    _click(page, 1, 0)
    assert _selected(page) == [5]
    _click(page, 2, 0)
    assert _selected(page) == [6]
    assert not errors, errors
