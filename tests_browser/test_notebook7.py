"""The annotator in Notebook 7 (not JupyterLab): the same notebook, draw a box, check the row."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests_browser.lab import Canvas, Server, make_project, open_and_run, rows, wait_saved, write_notebook

pytestmark = [pytest.mark.lab, pytest.mark.browser, pytest.mark.slow]


def test_draw_box_in_notebook7(notebook7_server: Server, page: Page, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    project = make_project(tmp_path / "nb7")
    write_notebook(notebook7_server, "nb7.ipynb", project)
    try:
        root = open_and_run(page, notebook7_server, "nb7.ipynb")
        expect(root).to_have_attribute("data-image-size", "640x480")
        c = Canvas(page, root)
        root.locator('button[data-tool="box"]').click()
        c.drag(120, 90, 360, 270)
        wait_saved(root, 1)
        tol = 2.5 / c.scale() + 0.5
        got = rows(project, "SELECT media_id, kind, x0, y0, x1, y1, author FROM current_instances")
        assert len(got) == 1
        assert got[0][:2] == (1, "box")
        assert got[0][2:6] == pytest.approx((120, 90, 360, 270), abs=tol)
        assert got[0][6] == "tester"
    finally:
        notebook7_server.shutdown_kernels()
