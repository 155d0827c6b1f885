"""The annotator in a real JupyterLab with a real kernel: draw with the mouse, then check the
DuckDB file from this process (nblabel's lock serialises access while the kernel is alive)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests_browser.lab import (
    Canvas,
    Server,
    kernel_pid,
    make_project,
    n_cells,
    open_and_run,
    rows,
    wait_saved,
    write_notebook,
)

pytestmark = [pytest.mark.lab, pytest.mark.browser, pytest.mark.slow]

SHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshot.png"


@pytest.fixture
def lab(lab_server: Server, page: Page) -> Iterator[Server]:
    page.set_viewport_size({"width": 1280, "height": 900})
    yield lab_server
    lab_server.shutdown_kernels()


def _tol(c: Canvas) -> float:
    return 2.5 / c.scale() + 0.5  # a couple of screen pixels, in image pixels


def test_draw_edit_undo_complete(lab: Server, page: Page, tmp_path: Path) -> None:
    t0 = time.time()
    project = make_project(tmp_path / "p1")
    write_notebook(lab, "draw.ipynb", project)
    root = open_and_run(page, lab, "draw.ipynb")
    t_open = time.time()
    expect(root).to_have_attribute("data-image-size", "640x480")
    c = Canvas(page, root)
    car, face = 1, 2
    # a box, then its required attribute through the panel
    root.locator(f'.nbl-chip[data-label-id="{car}"]').click()
    root.locator('button[data-tool="box"]').click()
    c.drag(100, 80, 300, 240)
    wait_saved(root, 1)
    root.locator('.nbl-field[data-attr="color"] input[value="red"]').check()
    wait_saved(root, 1)
    # a polygon: clicks + Enter
    root.locator('button[data-tool="polygon"]').click()
    for x, y in [(350, 100), (500, 120), (420, 300)]:
        c.click(x, y)
    page.keyboard.press("Enter")
    wait_saved(root, 2)
    root.locator('.nbl-field[data-attr="color"] input[value="blue"]').check()
    wait_saved(root, 2)
    # keypoints: one click per template point (the last one finishes the instance)
    root.locator(f'.nbl-chip[data-label-id="{face}"]').click()
    root.locator('button[data-tool="keypoints"]').click()
    for x, y in [(150, 330), (220, 330), (185, 380)]:
        c.click(x, y)
    wait_saved(root, 3)
    # undo the keypoints, redo them
    page.keyboard.press("Control+z")
    wait_saved(root, 2)
    page.keyboard.press("Control+Shift+z")
    wait_saved(root, 3)
    tol = _tol(c)

    got = rows(project, "SELECT kind, x0, y0, x1, y1, points, attributes, author FROM current_instances "
               "WHERE media_id = 1 ORDER BY instance_id")
    assert [g[0] for g in got] == ["box", "polygon", "keypoints"], got
    box = got[0]
    assert box[1:5] == pytest.approx((100, 80, 300, 240), abs=tol)
    assert json.loads(box[6]) == {"color": "red"}
    assert {g[7] for g in got} == {"tester"}
    ring = json.loads(got[1][5])[0]
    assert len(ring) == 3
    assert ring[1] == pytest.approx([500, 120], abs=tol)
    assert json.loads(got[1][6]) == {"color": "blue"}
    kp = json.loads(got[2][5])
    assert [p[2] for p in kp] == [2, 2, 2]
    assert kp[2][:2] == pytest.approx([185, 380], abs=tol)
    deleted = rows(project, "SELECT count(*) FROM instances WHERE kind = 'keypoints' AND deleted")
    assert deleted == [(1,)]  # the undone first keypoints instance is a tombstone in the history

    # complete (both cars have their required colour) and move on to the next image
    page.keyboard.press("c")
    expect(root).to_have_attribute("data-index", "1")
    expect(root).to_have_attribute("data-rendered", "1")
    st = rows(project, "SELECT media_id, state, author, seconds_active FROM status WHERE stage = 'label'")
    assert [(s[0], s[1], s[2]) for s in st] == [(1, "complete", "tester")]
    assert st[0][3] >= 0
    print(f"\n[lab] open+run {t_open - t0:.1f}s, drawing and checks {time.time() - t_open:.1f}s")


def test_large_image_preview_then_full_and_exact_coordinates(lab: Server, page: Page, tmp_path: Path) -> None:
    project = make_project(tmp_path / "big", n_images=2, size=(3000, 2000))
    write_notebook(lab, "big.ipynb", project)
    root = open_and_run(page, lab, "big.ipynb")  # data-rendered="1": the preview is drawn
    expect(root).to_have_attribute("data-image-size", "3000x2000")
    expect(root).to_have_attribute("data-full", "1", timeout=60_000)  # then the full image, view kept
    c = Canvas(page, root)
    root.locator('.nbl-chip[data-label-id="1"]').click()
    root.locator('button[data-tool="box"]').click()
    c.drag(600, 400, 1800, 1300)
    wait_saved(root, 1)
    # the kernel keeps the file open while the widget is shown, yet this process gets it at once
    t0 = time.perf_counter()
    got = rows(project, "SELECT x0, y0, x1, y1 FROM current_instances WHERE media_id = 1")
    assert time.perf_counter() - t0 < 5
    assert got[0] == pytest.approx((600, 400, 1800, 1300), abs=_tol(c))
    # the next item (prefetched, full image) shows at once and full
    page.keyboard.press("n")
    expect(root).to_have_attribute("data-index", "1")
    expect(root).to_have_attribute("data-rendered", "1")
    expect(root).to_have_attribute("data-full", "1")


def test_kill_kernel_after_acks_loses_nothing(lab: Server, page: Page, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p2")
    write_notebook(lab, "kill.ipynb", project)
    root = open_and_run(page, lab, "kill.ipynb")
    pid = kernel_pid(project)
    c = Canvas(page, root)
    root.locator('button[data-tool="box"]').click()
    boxes = [(20 + 60 * i, 30 + 40 * i, 70 + 60 * i, 90 + 40 * i) for i in range(6)]
    for b in boxes:  # no waiting in between: the saves queue up
        c.drag(*b, steps=3)
    wait_saved(root, len(boxes))
    os.kill(pid, signal.SIGKILL)  # right after the last acknowledgement
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    got = rows(project, "SELECT x0, y0, x1, y1 FROM current_instances ORDER BY instance_id")
    assert len(got) == len(boxes)
    tol = _tol(c)
    for g, b in zip(got, boxes, strict=True):
        assert g == pytest.approx(b, abs=tol)


def test_typing_in_the_canvas_deletes_no_cell(lab: Server, page: Page, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p3")
    write_notebook(lab, "keys.ipynb", project)
    root = open_and_run(page, lab, "keys.ipynb")
    c = Canvas(page, root)
    root.locator('button[data-tool="box"]').click()
    c.drag(50, 50, 150, 150)
    wait_saved(root, 1)
    before = n_cells(page)
    c.click(600, 20)  # focus the canvas (a click on empty image: selects nothing)
    for key in ("d", "d", "x"):
        page.keyboard.press(key)
    page.wait_for_timeout(300)
    assert n_cells(page) == before
    assert root.get_attribute("data-ninstances") == "1"
    assert rows(project, "SELECT count(*) FROM current_instances") == [(1,)]


COCO21 = Path(__file__).resolve().parents[1] / "tests" / "data" / "coco21"


def _coco_photo_project(folder: Path, image_id: int = 544) -> Path:
    """A project holding one real COCO photo with its official boxes and a simulated model run."""
    import nblabel as nl

    folder.mkdir(parents=True, exist_ok=True)
    data = json.loads((COCO21 / "instances.json").read_text())
    one = {"images": [i for i in data["images"] if i["id"] == image_id],
           "annotations": [a for a in data["annotations"] if a["image_id"] == image_id and not a["iscrowd"]],
           "categories": data["categories"]}
    (folder / "one.json").write_text(json.dumps(one))
    path = folder / "project.duckdb"
    proj = nl.open(path, author="tester")
    proj.import_coco(folder / "one.json", images=COCO21 / "images")
    gt = proj.instances().df().sort_values("instance_id")
    preds = [{"media_id": int(r.media_id), "label": r.label, "x0": r.x0 + 4, "y0": r.y0 - 3, "x1": r.x1 + 6,
              "y1": r.y1 + 2, "score": round(0.95 - 0.07 * k, 2)} for k, r in enumerate(gt.head(6).itertuples())]
    proj.add_run("detector@640").add_predictions(preds)
    proj.close()
    return path


def test_screenshot_for_the_docs(lab: Server, page: Page, tmp_path: Path) -> None:
    project = _coco_photo_project(tmp_path / "p4")
    n0 = rows(project, "SELECT count(*) FROM current_instances WHERE run_id IS NULL")[0][0]
    write_notebook(lab, "shot.ipynb", project, code="w = proj.annotate(proj.media())\nw")  # imported = complete
    root = open_and_run(page, lab, "shot.ipynb")
    c = Canvas(page, root)
    c.click(600, 20)  # focus the canvas
    page.keyboard.press("/")  # COCO's 80 labels: the type-to-search picker
    page.keyboard.type("baseball g")
    page.keyboard.press("Enter")
    root.locator('button[data-tool="box"]').click()
    c.drag(20, 300, 90, 380)  # a person adds a box the ground truth lacks
    wait_saved(root)
    got = rows(project, "SELECT l.name FROM current_instances i JOIN labels l USING (label_id) "
                        "WHERE i.run_id IS NULL ORDER BY instance_id DESC LIMIT 1")
    assert rows(project, "SELECT count(*) FROM current_instances WHERE run_id IS NULL")[0][0] == n0 + 1
    assert got == [("baseball glove",)]
    shot = tmp_path / "screenshot.png"
    root.screenshot(path=str(shot), animations="disabled")
    size = shot.stat().st_size
    print(f"\n[lab] screenshot {size / 1024:.0f} KB")
    assert 5_000 < size < 1_500_000
    # docs/screenshot.png is (re)written when missing or on request, not on every test run
    if not SHOT.exists() or os.environ.get("NBLABEL_UPDATE_SCREENSHOT") == "1":
        from PIL import Image

        SHOT.parent.mkdir(exist_ok=True)  # 256 colours: a third of the bytes, no visible loss
        Image.open(shot).convert("RGB").quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(SHOT, optimize=True)
