"""`make demo` lands on the quickstart notebook itself, with and without a browser.

Runs exactly what `make demo` runs (``scripts/demo.sh``) on a free port, with this interpreter's
jupyter and isolated Jupyter folders: with ``NO_BROWSER=1`` the one printed URL, opened in
Chromium, shows 01_quickstart.ipynb as the active main-area tab and no Launcher; without it, the
URL jupyter hands to ``$BROWSER`` (a script that records its argument: the ``jpserver-*-open.html``
redirect file) leads to the same place. The server is stopped with SIGTERM to its process group.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests_browser.lab import free_port

pytestmark = [pytest.mark.lab, pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "01_quickstart.ipynb"


class Demo:
    """A running ``scripts/demo.sh``: its port, output file and the file its $BROWSER wrote to."""

    def __init__(self, tmp: Path, *, browser: bool) -> None:
        self.port, self.out, self.recorded = free_port(), tmp / "demo.out", tmp / "browser-arg.txt"
        recorder = tmp / "record-browser.sh"
        recorder.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{self.recorded}"\n')
        recorder.chmod(0o755)
        env = {**os.environ, "PORT": str(self.port), "JUPYTER": str(Path(sys.executable).parent / "jupyter"),
               "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_DATA_DIR": str(tmp / "data"),
               "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "BROWSER": str(recorder)}
        env.pop("NO_BROWSER", None)
        if not browser:
            env["NO_BROWSER"] = "1"
        settings = tmp / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        self._log = open(self.out, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([str(ROOT / "scripts" / "demo.sh")], env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_for(self, what: str, find: re.Pattern[str] | Path, timeout: float = 120) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"scripts/demo.sh exited ({self.proc.returncode}):\n{self.out.read_text()}")
            if isinstance(find, Path):
                if find.exists() and find.read_text():
                    return find.read_text()
            else:
                m = find.search(self.out.read_text())
                if m:
                    return m.group(0)
            time.sleep(0.2)
        raise AssertionError(f"no {what} after {timeout} s:\n{self.out.read_text()}")

    def wait_ready(self, url: str) -> None:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(url.replace(f"/lab/tree/{NOTEBOOK}", "/api/status"), timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                if time.time() > deadline:
                    raise AssertionError(f"the demo server did not answer:\n{self.out.read_text()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the script and its jupyter: this test's own processes
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


@pytest.fixture
def demo(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Demo]:
    d = Demo(tmp_path, browser=request.param)
    try:
        yield d
    finally:
        d.stop()
    assert d.proc.returncode is not None


def _assert_on_the_notebook(page: Page) -> None:
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    expect(tab).to_have_text(NOTEBOOK, timeout=90_000)
    expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")).to_be_visible(timeout=60_000)
    labels = page.locator("#jp-main-dock-panel .lm-TabBar-tab .lm-TabBar-tabLabel").all_inner_texts()
    assert labels == [NOTEBOOK], labels
    assert page.locator(".jp-Launcher").count() == 0


@pytest.mark.parametrize("demo", [False], indirect=True, ids=["NO_BROWSER=1"])
def test_no_browser_prints_one_url_that_opens_the_notebook(demo: Demo, page: Page) -> None:
    pattern = re.compile(rf"http://127\.0\.0\.1:{demo.port}/lab/tree/{re.escape(NOTEBOOK)}\?token=[0-9a-f]{{48}}")
    url = demo.wait_for("printed URL", pattern)
    printed = [line for line in demo.out.read_text().splitlines() if line.startswith("[make] open ")]
    assert printed == [f"[make] open {url}"]  # one full URL, token included
    demo.wait_ready(url)
    assert not demo.recorded.exists()  # no browser was started
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url)
    _assert_on_the_notebook(page)


@pytest.mark.parametrize("demo", [True], indirect=True, ids=["BROWSER"])
def test_the_browser_jupyter_opens_lands_on_the_notebook(demo: Demo, page: Page) -> None:
    arg = demo.wait_for("URL handed to $BROWSER", demo.recorded)
    assert arg.startswith("file://") and re.search(r"jpserver-.*-open\.html$", arg), arg
    redirect = Path(arg.removeprefix("file://")).read_text()
    target = re.search(r'url=(http://127\.0\.0\.1:\d+/lab/tree/[^"]+)"', redirect)
    assert target is not None and target.group(1).startswith(
        f"http://127.0.0.1:{demo.port}/lab/tree/{NOTEBOOK}?token="), redirect
    demo.wait_ready(target.group(1))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(arg)  # the redirect file itself, as the browser receives it
    page.wait_for_url(re.compile(rf".*/lab/tree/{re.escape(NOTEBOOK)}.*"), timeout=60_000)
    _assert_on_the_notebook(page)
