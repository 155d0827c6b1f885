"""The label picker in a real JupyterLab: a project with COCO's 80 classes. The toolbar does not
overflow (the chips give way to the picker and the recent labels), ``/`` opens the picker, typing
filters and ranks, arrows + Enter or a click pick, Esc closes, keys 1-9 pick the recent labels, and
the boxes drawn with the mouse are stored in the DuckDB file under the picked labels."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import Page, expect

from tests_browser.lab import Canvas, Server, open_and_run, rows, wait_saved

pytestmark = [pytest.mark.lab, pytest.mark.browser, pytest.mark.slow]

COCO = Path(__file__).resolve().parents[1] / "tests" / "data" / "coco21"
NAMES = [c["name"] for c in json.loads((COCO / "instances.json").read_text())["categories"]]


@pytest.fixture
def lab(lab_server: Server, page: Page) -> Iterator[Server]:
    page.set_viewport_size({"width": 1280, "height": 900})
    yield lab_server
    lab_server.shutdown_kernels()


def make_coco_project(folder: Path) -> Path:
    """Two COCO photos and the 80 COCO classes as box/polygon labels (ids 1..80 in COCO order)."""
    import nblabel as nl

    folder.mkdir(parents=True)
    photos = []
    for name in sorted(p.name for p in (COCO / "images").glob("*.jpg"))[:2]:
        shutil.copy(COCO / "images" / name, folder / name)
        photos.append(folder / name)
    path = folder / "project.duckdb"
    proj = nl.open(path, author="tester")
    proj.add_images(photos)
    for n in NAMES:
        proj.schema.add_label(n, spatial=["box", "polygon"])
    return path


def write_notebook(server: Server, name: str, project: Path) -> None:
    """Open the project, show one annotator in two views (cells 1 and 2), print its recent labels (cell 3)."""
    cells = [
        nbformat.v4.new_code_cell(f"import nblabel as nl\nproj = nl.open({str(project)!r}, author='tester')"),
        nbformat.v4.new_code_cell("w = proj.annotate()\nw"),
        nbformat.v4.new_code_cell("w"),
        nbformat.v4.new_code_cell("print('recent:', w.recent_labels)"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, server.root / name)


def run_cell(page: Page, index: int) -> None:
    page.evaluate("""async (i) => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        nb.activeCellIndex = i;
        await window.jupyterapp.commands.execute('notebook:run-cell');
    }""", index)


def chip_ids(root: Any) -> list[int]:
    return [int(x) for x in root.locator(".nbl-labels .nbl-chip").evaluate_all("els => els.map(e => e.dataset.labelId)")]


def test_picker_with_80_coco_labels(lab: Server, page: Page, tmp_path: Path) -> None:
    t0 = time.time()
    project = make_coco_project(tmp_path / "coco")
    write_notebook(lab, "picker.ipynb", project)
    root = open_and_run(page, lab, "picker.ipynb")
    view2 = page.locator(".nblabel-annotator").nth(1)
    expect(view2).to_have_attribute("data-rendered", "1")
    ids = {n: i + 1 for i, n in enumerate(NAMES)}

    # the toolbar does not overflow: the picker's button and nine chips (keys 1-9), wrapped inside it
    bar = root.locator(".nbl-top")
    sizes = bar.evaluate("""b => { const g = b.querySelector('.nbl-labels'), r = b.getBoundingClientRect(), q = g.getBoundingClientRect();
        return {barScroll: b.scrollWidth, barClient: b.clientWidth, left: r.left, right: r.right, gLeft: q.left, gRight: q.right, gScroll: g.scrollWidth, gClient: g.clientWidth}; }""")
    assert sizes["barScroll"] <= sizes["barClient"], sizes
    assert sizes["left"] <= sizes["gLeft"] and sizes["gRight"] <= sizes["right"] + 0.5, sizes
    assert sizes["gScroll"] <= sizes["gClient"], sizes
    expect(root.locator('.nbl-labels button[data-action="picker"]')).to_have_text("80 labels… /")
    assert chip_ids(root) == list(range(1, 10))  # nothing used yet: keys 1-9 are the first nine labels
    expect(root).to_have_attribute("data-label", "1")

    # "/" opens the picker; typing ranks (both prefixes, schema order); arrow down + Enter picks
    root.locator(".nbl-pos").click()  # give the widget the keyboard, as a person clicking on it would
    page.keyboard.press("/")
    expect(root).to_have_attribute("data-picker", "1")
    field = root.locator(".nbl-picker-input")
    expect(field).to_be_focused()
    expect(root.locator(".nbl-picker-row")).to_have_count(80)
    page.keyboard.type("tra")
    expect(root).to_have_attribute("data-picker-matches", f"{ids['train']},{ids['traffic light']}")
    expect(root.locator(".nbl-picker-name")).to_have_text(["train", "traffic light"])
    expect(root.locator(".nbl-picker-row .nbl-key")).to_have_text(["7", ""])  # train is on key 7 (first nine labels)
    expect(root).to_have_attribute("data-picker-active", str(ids["train"]))
    page.keyboard.press("ArrowDown")
    expect(root).to_have_attribute("data-picker-active", str(ids["traffic light"]))
    page.keyboard.press("Enter")
    expect(root).to_have_attribute("data-picker", "0")
    expect(root).to_have_attribute("data-label", str(ids["traffic light"]))
    expect(root).to_have_attribute("data-ninstances", "0")  # the Enter picked; it did not complete the item
    expect(root).to_have_attribute("data-index", "0")
    assert chip_ids(root)[0] == ids["traffic light"]
    expect(root.locator(f'.nbl-labels .nbl-chip[data-label-id="{ids["traffic light"]}"]')).to_have_attribute("aria-pressed", "true")
    expect(root.locator(f'.nbl-labels .nbl-chip[data-label-id="{ids["traffic light"]}"] .nbl-key')).to_have_text("1")

    # draw a box by dragging, like a person
    c = Canvas(page, root)
    page.keyboard.press("b")
    expect(root).to_have_attribute("data-tool", "box")
    c.drag(60, 50, 220, 180)
    wait_saved(root, 1)
    page.keyboard.press("Escape")  # the new box is selected: a pick would relabel it
    expect(root).to_have_attribute("data-selected", "0")

    # Esc closes without picking; a click on a row picks
    page.keyboard.press("/")
    page.keyboard.type("zeb")
    page.keyboard.press("Escape")
    expect(root).to_have_attribute("data-picker", "0")
    expect(root).to_have_attribute("data-label", str(ids["traffic light"]))
    page.keyboard.press("/")
    page.keyboard.type("do")
    expect(root.locator(".nbl-picker-name")).to_have_text(["dog", "donut", "hot dog"])  # prefixes, then a word start
    root.locator(f'.nbl-picker-row[data-label-id="{ids["dog"]}"]').click()
    expect(root).to_have_attribute("data-picker", "0")
    expect(root).to_have_attribute("data-label", str(ids["dog"]))
    assert chip_ids(root)[:3] == [ids["dog"], ids["traffic light"], 1]
    c.drag(300, 200, 420, 330)
    wait_saved(root, 2)
    page.keyboard.press("Escape")

    # keys 1-9 are the recent labels, most recent first: "2" is the one before the last
    page.keyboard.press("2")
    expect(root).to_have_attribute("data-label", str(ids["traffic light"]))
    assert chip_ids(root)[:2] == [ids["traffic light"], ids["dog"]]
    page.keyboard.press("2")
    expect(root).to_have_attribute("data-label", str(ids["dog"]))
    page.keyboard.press("3")  # the first label in schema order fills the list after the recent ones
    expect(root).to_have_attribute("data-label", str(ids["person"]))
    c.drag(450, 60, 560, 200)
    wait_saved(root, 3)
    # a pick in the picker, like a chip, changes the label of the selection (the new box)
    expect(root).to_have_attribute("data-selected", "1")
    page.keyboard.press("/")
    page.keyboard.type("cat")
    page.keyboard.press("Enter")
    expect(root).to_have_attribute("data-label", str(ids["cat"]))
    wait_saved(root, 3)

    # the other view of the same widget shows the same recent chips; the kernel has the list too
    recent = [ids["cat"], ids["person"], ids["dog"], ids["traffic light"]]
    expect(view2.locator(".nbl-labels .nbl-chip").first).to_have_attribute("data-label-id", str(ids["cat"]))
    assert chip_ids(view2)[:4] == recent
    run_cell(page, 3)
    out = page.locator(".jp-Notebook .jp-Cell").nth(3).locator(".jp-OutputArea-output")
    expect(out).to_have_text(f"recent: {recent}")

    got = rows(project, "SELECT l.name, i.x0, i.y0, i.x1, i.y1 FROM current_instances i "
               "JOIN labels l ON l.label_id = i.label_id WHERE i.media_id = 1 ORDER BY i.instance_id")
    tol = 2.5 / c.scale() + 0.5
    assert [g[0] for g in got] == ["traffic light", "dog", "cat"], got
    assert got[0][1:] == pytest.approx((60, 50, 220, 180), abs=tol)
    assert got[1][1:] == pytest.approx((300, 200, 420, 330), abs=tol)
    print(f"\n[lab] picker test {time.time() - t0:.1f}s")


# -- in a plain page with the fake kernel (tests_browser/harness): names are text, few labels keep their chips
from tests_browser.test_annotator_page import config, make_item, mount  # noqa: E402, F401 - the fixture


def _labels(names: list[str]) -> list[dict[str, Any]]:
    return [{"id": i + 1, "name": n, "color": None, "hotkey": str(i + 1) if i < 9 else None, "spatial": ["box"], "keypoints": None}
            for i, n in enumerate(names)]


@pytest.mark.browser
def test_picker_rows_are_text_and_ten_labels_keep_their_chips(mount: Any, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    hostile = '<img src=x onerror="window.__pwned=1">'
    names = [*NAMES[:30], hostile, "<b>bold</b>"]
    a = mount(config([make_item(0)], schema={"version": 1, "labels": _labels(names), "attributes": []}))
    a.key("/")
    expect(a.root).to_have_attribute("data-picker", "1")
    a.page.keyboard.type("<")
    expect(a.root.locator(".nbl-picker-name")).to_have_text([hostile, "<b>bold</b>"])
    assert a.root.locator(".nbl-picker img, .nbl-picker b").count() == 0
    a.root.screenshot(path=str(tmp_path / "picker.png"))
    a.page.keyboard.press("ArrowUp")  # wraps around to the last row
    expect(a.root).to_have_attribute("data-picker-active", "32")
    a.page.keyboard.press("Enter")
    expect(a.root).to_have_attribute("data-label", "32")
    expect(a.root.locator('.nbl-labels .nbl-chip[data-label-id="32"] .nbl-chip-name')).to_have_text("<b>bold</b>")
    assert a.page.evaluate("() => window.__pwned") is None
    # a query nothing matches says so (as text); Enter then picks nothing
    a.key("/")
    a.page.keyboard.type("zzz")
    expect(a.root.locator(".nbl-picker-empty")).to_have_text('no label matches "zzz"')
    a.page.keyboard.press("Enter")
    expect(a.root).to_have_attribute("data-picker", "1")
    a.page.keyboard.press("Escape")
    expect(a.root).to_have_attribute("data-picker", "0")
    expect(a.root).to_have_attribute("data-label", "32")

    # ten labels: one chip each, no picker button, digits by position as before
    a = mount(config([make_item(0)], schema={"version": 1, "labels": _labels(NAMES[:10]), "attributes": []}))
    assert a.root.locator(".nbl-labels .nbl-chip").count() == 10
    assert a.root.locator('.nbl-labels [data-action="picker"]').count() == 0
    a.key("3")
    expect(a.root).to_have_attribute("data-label", "3")
    a.key("2")
    expect(a.root).to_have_attribute("data-label", "2")
    assert [c.get_attribute("data-label-id") for c in a.root.locator(".nbl-labels .nbl-chip").all()][:3] == ["1", "2", "3"]
