"""Gallery in a plain page with a fake model (no Jupyter): 100k synthetic items, scrolling, selection,
keyboard containment, file names as text. The bundle is ``src/nblabel/static/gallery.js``; Chromium's
launch arguments come from ``tests_browser/conftest.py``. The page is served by a server of this module
because the Arrow tables are generated per run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from playwright.sync_api import Page, expect

from tests_browser.folder_server import serve_folder

HERE = Path(__file__).parent
BUNDLE = HERE.parent / "src" / "nblabel" / "static" / "gallery.js"
XSS = "<img src=x onerror=window.__pwned=1>"
N = 100_000
# the layout of a 160 px gallery (js/gallery/grid.js): 6 px padding, 166 px columns, 184 px rows
PAD, CELL_W, CELL_H = 6, 166, 184

pytestmark = pytest.mark.browser


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def synthetic_tables(n: int, seed: int = 0) -> tuple[bytes, bytes]:
    """Items and boxes tables shaped like ``gallery_tables`` makes them, for ``n`` items and one run 'm'."""
    rng = np.random.default_rng(seed)
    names = [f"img_{i:06d}.jpg" for i in range(n)]
    names[0] = XSS
    width = np.where(np.arange(n) % 2, 640, 480).astype(np.int32)
    height = np.where(np.arange(n) % 2, 480, 640).astype(np.int32)
    items = pa.table({
        "media_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "file_name": pa.array(names),
        "width": pa.array(width), "height": pa.array(height),
        "n_gt": pa.array(np.ones(n, np.int32)),
        "score": pa.array(rng.random(n)),
        "tp:m": pa.array(np.ones(n, np.int32)), "fp:m": pa.array(np.ones(n, np.int32)),
        "fn:m": pa.array(np.zeros(n, np.int32)),
    })
    k = 3  # per item: a GT box, its true positive, a false positive
    item = np.repeat(np.arange(n, dtype=np.int32), k)
    x0 = np.tile(np.array([40, 44, 300], np.float32), n)
    y0 = np.tile(np.array([40, 42, 200], np.float32), n)
    boxes = pa.table({
        "item": pa.array(item), "x0": pa.array(x0), "y0": pa.array(y0),
        "x1": pa.array(x0 + 120), "y1": pa.array(y0 + 100),
        "src": pa.array(np.tile(np.array([0, 1, 1], np.int8), n)),
        "status": pa.array(np.tile(np.array([0, 1, 2], np.int8), n)),
        "label_id": pa.array(np.ones(n * k, np.int32)),
        "score": pa.array(np.tile(np.array([np.nan, 0.9, 0.4], np.float32), n)),
    })
    return _ipc(items), _ipc(boxes)


@pytest.fixture(scope="module")
def harness_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("gallery-harness")
    shutil.copy(HERE / "harness" / "gallery.html", root / "gallery.html")
    shutil.copy(BUNDLE, root / "gallery.js")
    items, boxes = synthetic_tables(N)
    (root / "items.arrow").write_bytes(items)
    (root / "boxes.arrow").write_bytes(boxes)

    with serve_folder(root) as url:
        yield f"{url}/gallery.html"


@pytest.fixture
def gallery(page: Page, harness_url: str) -> Iterator[Any]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(harness_url)
    page.wait_for_function("() => window.harnessReady")
    page.evaluate("() => mountGallery({runs: ['m'], columns: ['file_name', 'width', 'score']})")
    root = page.locator(".nblabel-gallery")
    expect(root).to_have_attribute("data-count", str(N))
    expect(root).to_have_attribute("data-rendered", "1")
    yield root
    assert not errors, errors


def _cell(page: Page, pos: int, cols: int) -> tuple[float, float]:
    b = page.locator(".nbl-g-scroller").bounding_box()
    assert b is not None
    r, c = divmod(pos, cols)
    return b["x"] + PAD + c * CELL_W + 80, b["y"] + PAD + r * CELL_H + 80


def _cols(page: Page) -> int:
    return int(page.evaluate("() => document.querySelector('.nbl-g-scroller').clientWidth - 6") // CELL_W)


def _sent(page: Page, kind: str) -> list[dict[str, Any]]:
    return page.evaluate("(k) => window.model.sent.filter((m) => m.kind === k)", kind)


def _dom_size(page: Page) -> int:
    return int(page.evaluate("() => document.querySelectorAll('.nblabel-gallery *').length"))


def test_wheel_scrolls_100k_items_with_a_small_constant_dom(page: Page, gallery: Any) -> None:
    dom0 = _dom_size(page)
    assert dom0 < 60, f"{dom0} elements for 100k items"
    assert gallery.get_attribute("data-first-visible") == "0"
    first_ids = gallery.get_attribute("data-visible-ids")
    assert first_ids.split(",")[:3] == ["1", "2", "3"]
    # a thumbnail lands on the canvas (the cell is no longer the empty placeholder colour)
    page.wait_for_function("""() => {
        const c = document.querySelector('.nbl-g-canvas'), d = window.devicePixelRatio || 1;
        const p = c.getContext('2d').getImageData(Math.round(20 * d), Math.round(90 * d), 1, 1).data;
        return !(p[0] === 0x2b && p[1] === 0x2b && p[2] === 0x2b) && !(p[0] === 0x1e && p[1] === 0x1e);
    }""")
    x, y = _cell(page, 0, _cols(page))
    page.mouse.move(x, y)
    seen = []
    for _ in range(6):
        before = gallery.get_attribute("data-first-visible")
        page.mouse.wheel(0, 2500)
        page.wait_for_function("(v) => document.querySelector('.nblabel-gallery').dataset.firstVisible !== v",
                               arg=before)
        seen.append(int(gallery.get_attribute("data-first-visible")))
    assert seen == sorted(seen)
    assert seen[-1] > 0
    ids = gallery.get_attribute("data-visible-ids").split(",")
    assert ids != first_ids.split(",")
    assert int(ids[0]) == seen[-1] + 1  # the cells drawn are the ones at the scroll position
    assert _dom_size(page) == dom0
    # jump to the end: the last items are drawn, and thumbnails were asked for in batches only
    page.evaluate("() => { const s = document.querySelector('.nbl-g-scroller'); s.scrollTop = s.scrollHeight; }")
    page.wait_for_function(f"() => document.querySelector('.nblabel-gallery').dataset.visibleIds.endsWith(',{N}')")
    sent = _sent(page, "thumbs")
    assert sent
    assert max(len(m["ids"]) for m in sent) <= 48
    assert sum(len(m["ids"]) for m in sent) < 2000


def test_click_shift_click_ctrl_click_select_and_send(page: Page, gallery: Any) -> None:
    cols = _cols(page)
    page.mouse.click(*_cell(page, 0, cols))
    expect(gallery).to_have_attribute("data-selected", "1")
    page.keyboard.down("Shift")
    page.mouse.click(*_cell(page, cols + 1, cols))
    page.keyboard.up("Shift")
    expect(gallery).to_have_attribute("data-selected", str(cols + 2))
    page.keyboard.down("Control")
    page.mouse.click(*_cell(page, 1, cols))
    page.keyboard.up("Control")
    expect(gallery).to_have_attribute("data-selected", str(cols + 1))
    sel = _sent(page, "select")
    assert [m["ids"] for m in sel[:2]] == [[1], list(range(1, cols + 3))]
    assert sel[2]["ids"] == [1, *range(3, cols + 3)]
    page.mouse.dblclick(*_cell(page, 2, cols))
    page.wait_for_function("() => window.model.sent.some((m) => m.kind === 'open')")
    assert _sent(page, "open")[0]["media_id"] == 3
    # an action sends the selection; its reply is shown as text
    page.mouse.click(*_cell(page, 4, cols))
    page.locator(".nbl-g-mark").click()
    expect(page.locator(".nbl-g-status")).to_have_text("marked 1 item(s) for review")
    page.locator(".nbl-g-dataset").fill("hard")
    page.locator(".nbl-g-add").click()
    expect(page.locator(".nbl-g-status")).to_contain_text('dataset "hard"')
    acts = _sent(page, "action")
    assert [(a["action"], a["ids"]) for a in acts] == [("mark", [5]), ("dataset", [5])]
    assert acts[1]["name"] == "hard"


def test_file_names_are_text_never_html(page: Page, gallery: Any) -> None:
    page.mouse.click(*_cell(page, 0, _cols(page)))
    expect(page.locator(".nbl-g-info")).to_contain_text(XSS)
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator(".nblabel-gallery img").count() == 0


def test_keyboard_stays_inside_the_widget(page: Page, gallery: Any) -> None:
    gallery.focus()
    for key in ["ArrowRight", "ArrowDown", "ArrowLeft", "a", "j", "Shift+ArrowRight", "Escape", "Space"]:
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.model.sent.some((m) => m.kind === 'open')")
    cols = _cols(page)
    # right, down, left: second row, first column; shift+right: one more (and selects both)
    assert _sent(page, "open")[0]["media_id"] == cols + 2
    page.keyboard.press("Control+a")
    expect(gallery).to_have_attribute("data-selected", str(N))
    page.locator(".nbl-g-dataset").press("x")  # typing in the toolbar does not leak either
    assert page.evaluate("() => window.docKeys") == []
    gallery.focus()
    page.keyboard.press("Escape")
    expect(gallery).to_have_attribute("data-selected", "0")


def test_sort_in_the_browser_reorders_and_records_the_choice(page: Page, gallery: Any) -> None:
    page.locator(".nbl-g-sort").select_option("width")
    page.locator(".nbl-g-desc").check()
    expect(gallery).not_to_have_attribute("data-visible-ids", "")
    page.wait_for_function("() => window.model.get('sort') === '-width'")
    ids = [int(i) for i in gallery.get_attribute("data-visible-ids").split(",")]
    assert all(i % 2 == 0 for i in ids), ids  # even media ids are the 640-wide ones
    page.locator(".nbl-g-sort").select_option("file_name")
    page.locator(".nbl-g-desc").uncheck()
    page.wait_for_function("() => window.model.get('sort') === 'file_name'")
    ids = gallery.get_attribute("data-visible-ids").split(",")
    assert ids[:3] == ["1", "2", "3"]  # '<img…' sorts before 'img_…'


# -- the real comm path: JupyterLab, a kernel, a project file ------------------------------------------
@pytest.mark.lab
def test_gallery_in_jupyterlab_fetches_thumbnails_and_marks_the_selection(page: Page, tmp_path: Path,
                                                                          request: pytest.FixtureRequest) -> None:
    from tests_browser.lab import make_project, n_cells, rows, write_notebook

    server = request.getfixturevalue("lab_server")
    project = make_project(tmp_path / "gal", n_images=5)
    page.set_viewport_size({"width": 1280, "height": 900})
    write_notebook(server, "gallery.ipynb", project, code="g = proj.gallery(size=96)\ng")
    try:
        page.set_default_timeout(90_000)
        page.goto(server.notebook_url("gallery.ipynb"))
        page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.sessionContext?.session?.kernel"
                               "?.status === 'idle')")
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        root = page.locator(".nblabel-gallery").first
        expect(root).to_have_attribute("data-count", "5")
        expect(root).to_have_attribute("data-thumbs", "5")  # JPEG bytes came through the comm as buffers
        root.scroll_into_view_if_needed()
        b = root.locator(".nbl-g-scroller").bounding_box()
        assert b is not None
        step = 96 + 6  # 96 px thumbnails
        page.mouse.click(b["x"] + PAD + 40, b["y"] + PAD + 40)
        page.keyboard.down("Shift")
        page.mouse.click(b["x"] + PAD + 2 * step + 40, b["y"] + PAD + 40)
        page.keyboard.up("Shift")
        expect(root).to_have_attribute("data-selected", "3")
        root.locator(".nbl-g-mark").click()
        expect(root.locator(".nbl-g-status")).to_have_text("marked 3 item(s) for review")
        assert rows(project, "SELECT media_id, state FROM status ORDER BY 1") == [
            (1, "in_review"), (2, "in_review"), (3, "in_review")]
        assert rows(project, "SELECT count(*), min(size) FROM thumbnails") == [(5, 96)]
        # keys typed in the grid stay there: "d d" would delete a cell in JupyterLab's command mode
        cells = n_cells(page)
        root.focus()
        for key in ["d", "d", "ArrowRight", "Enter", "a", "Escape"]:
            page.keyboard.press(key)
        expect(root).to_have_attribute("data-selected", "0")
        assert n_cells(page) == cells
    finally:
        server.shutdown_kernels()

