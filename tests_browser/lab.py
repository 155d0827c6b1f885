"""Real Jupyter servers for browser tests: JupyterLab and Notebook 7 (fixtures + page helpers).

Registered from ``conftest.py`` with ``pytest_plugins``. Each server runs on a free port with a
token, ``--allow-root``, isolated ``JUPYTER_CONFIG_DIR/DATA_DIR/RUNTIME_DIR`` (a kernelspec in the
home folder cannot shadow this venv's), the news toast off, and the app exposed as
``window.jupyterapp`` so tests can run commands. Helpers build a small nblabel project, write a
notebook that opens it in the annotator, run it in the page and talk to the kernel.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running Jupyter server: ``url``, ``token``, notebook ``root``, kernel ``runtime`` dir, ``app``."""

    def __init__(self, app: str, url: str, token: str, root: Path, runtime: Path, log: Path,
                 proc: subprocess.Popen) -> None:
        self.app, self.url, self.token, self.root, self.runtime, self.log, self.proc = (
            app, url, token, root, runtime, log, proc)

    def api(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def notebook_url(self, name: str) -> str:
        if self.app == "lab":
            return f"{self.url}/lab/tree/{name}?reset&token={self.token}"
        return f"{self.url}/notebooks/{name}?token={self.token}"

    def shutdown_kernels(self) -> None:
        """End every session (and its kernel) so the next test starts on a quiet machine."""
        for s in self.api("/api/sessions"):
            with contextlib.suppress(OSError):
                self.api(f"/api/sessions/{s['id']}", method="DELETE")


def start_server(app: str, base: Path) -> Server:
    """Start ``jupyter lab`` (``app="lab"``) or Notebook 7 (``app="notebook"``) in the background."""
    root = base / "nb"
    root.mkdir(parents=True)
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    common = [
        "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0", "--allow-root",
    ]
    if app == "lab":
        cmd = [sys.executable, "-m", "jupyterlab", *common, "--LabApp.expose_app_in_browser=True",
               f"--LabApp.workspaces_dir={base / 'workspaces'}", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    elif app == "notebook":
        # (Notebook 7 has no news_url / check_for_updates_class: an unknown trait there breaks
        # the linking of its whole config, expose_app_in_browser included)
        cmd = [sys.executable, "-m", "notebook", *common, "--JupyterNotebookApp.expose_app_in_browser=True",
               f"--JupyterNotebookApp.workspaces_dir={base / 'workspaces'}"]
    else:
        raise ValueError(f"app must be 'lab' or 'notebook', got {app!r}")
    s = base / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    s.mkdir(parents=True)
    (s / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    log_path = base / f"{app}.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed with the server
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    proc._nbl_log = log  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter {app} exited:\n" + log_path.read_text())
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            if time.time() > deadline:
                raise RuntimeError(f"jupyter {app} did not start:\n" + log_path.read_text()) from None
            time.sleep(0.1)
    return Server(app, url, token, root, base / "runtime", log_path, proc)


def stop_server(server: Server) -> None:
    """Stop a server started by :func:`start_server` (its own process only)."""
    server.proc.terminate()
    try:
        server.proc.wait(15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
    server.proc._nbl_log.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A JupyterLab server for the whole session."""
    srv = start_server("lab", tmp_path_factory.mktemp("jlab"))
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture(scope="session")
def notebook7_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Notebook 7 server for the whole session."""
    srv = start_server("notebook", tmp_path_factory.mktemp("nb7"))
    try:
        yield srv
    finally:
        stop_server(srv)


# -- a project and a notebook that opens it --------------------------------------------------------
def make_project(folder: Path, n_images: int = 2, size: tuple[int, int] = (640, 480)) -> Path:
    """A project file with ``n_images`` generated images and a schema: car (box, polygon; required
    select ``color``), face (keypoints l_eye, r_eye, nose), tag labels; returns the file's path."""
    import nblabel as nl

    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    paths = []
    for i in range(n_images):
        a = np.zeros((h, w, 3), np.uint8)
        a[..., 0] = np.linspace(40, 200, w, dtype=np.uint8)[None, :]
        a[..., 1] = np.linspace(40, 160, h, dtype=np.uint8)[:, None]
        a[..., 2] = 60 + 40 * i
        a[h // 4: h // 2, w // 4: w // 2] = (230, 230, 230)
        p = folder / f"img{i}.png"
        Image.fromarray(a).save(p)
        paths.append(p)
    path = folder / "project.duckdb"
    proj = nl.open(path, author="tester")
    proj.add_images(paths)
    proj.schema.add_label("car", spatial=["box", "polygon"])
    proj.schema.add_keypoints("face", points=["l_eye", "r_eye", "nose"], skeleton=[(0, 1)])
    proj.schema.add_label("night", spatial=["tag"])
    proj.schema.add_attribute("color", kind="select", options=["red", "blue"], labels=["car"], required=True)
    proj.schema.add_attribute("occluded", kind="bool")
    return path


def write_notebook(server: Server, name: str, project: Path, *, code: str = "w = proj.annotate()\nw",
                   extra_cells: int = 2) -> Path:
    """Write ``name`` into the server's root: open ``project``, record the kernel pid, show ``code``."""
    import nbformat

    cells = [
        nbformat.v4.new_code_cell(
            "import os\nimport nblabel as nl\n"
            f"open({str(project.with_suffix('.pid'))!r}, 'w').write(str(os.getpid()))\n"
            f"proj = nl.open({str(project)!r}, author='tester')"),
        nbformat.v4.new_code_cell(code),
    ]
    cells += [nbformat.v4.new_markdown_cell(f"filler cell {i}") for i in range(extra_cells)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out = server.root / name
    nbformat.write(nb, out)
    return out


def kernel_pid(project: Path, timeout: float = 60) -> int:
    """The pid of the kernel that opened ``project`` (the notebook's first cell writes it)."""
    f = project.with_suffix(".pid")
    deadline = time.time() + timeout
    while not f.exists() or not f.read_text().strip():
        if time.time() > deadline:
            raise TimeoutError(f"the notebook never wrote {f}")
        time.sleep(0.1)
    return int(f.read_text())


# -- page helpers ------------------------------------------------------------------------------------
APP_READY = ("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
             " const s = w && w.sessionContext; return !!(s && s.session && s.session.kernel &&"
             " s.session.kernel.connectionStatus === 'connected' && s.session.kernel.status === 'idle'); }")


def open_and_run(page: Any, server: Server, name: str, timeout_ms: int = 90_000) -> Any:
    """Open a notebook, wait for an idle kernel, run all cells; returns the annotator root locator
    once its image is drawn (``data-rendered="1"``)."""
    from playwright.sync_api import expect

    page.set_default_timeout(timeout_ms)
    page.goto(server.notebook_url(name))
    page.wait_for_function(APP_READY, timeout=timeout_ms)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    root = page.locator(".nblabel-annotator").first
    expect(root).to_have_attribute("data-rendered", "1", timeout=timeout_ms)
    root.scroll_into_view_if_needed()
    return root


def n_cells(page: Any) -> int:
    """Number of cells of the current notebook (from the app's model, not the DOM)."""
    return int(page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length"))


class Canvas:
    """Maps original-image pixels to page coordinates through the widget's current view."""

    def __init__(self, page: Any, root: Any) -> None:
        self.page, self.root = page, root
        self.canvas = root.locator("canvas.nblabel-canvas")

    def client(self, x: float, y: float) -> tuple[float, float]:
        box = self.canvas.bounding_box()
        s, tx, ty = (float(v) for v in self.root.get_attribute("data-view").split(","))
        return box["x"] + tx + x * s, box["y"] + ty + y * s

    def drag(self, x0: float, y0: float, x1: float, y1: float, steps: int = 8) -> None:
        m = self.page.mouse
        m.move(*self.client(x0, y0))
        m.down()
        m.move(*self.client((x0 + x1) / 2, (y0 + y1) / 2), steps=steps)
        m.move(*self.client(x1, y1), steps=steps)
        m.up()

    def click(self, x: float, y: float) -> None:
        self.page.mouse.click(*self.client(x, y))

    def scale(self) -> float:
        return float(self.root.get_attribute("data-view").split(",")[0])


def wait_saved(root: Any, ninstances: int | None = None, timeout_ms: int = 30_000) -> None:
    """Wait until every change was acknowledged by the kernel (and, optionally, the instance count)."""
    from playwright.sync_api import expect

    if ninstances is not None:
        expect(root).to_have_attribute("data-ninstances", str(ninstances), timeout=timeout_ms)
    expect(root).to_have_attribute("data-pending", "0", timeout=timeout_ms)
    expect(root).to_have_attribute("data-save-state", "saved", timeout=timeout_ms)


def rows(project: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    """Query the project file from this (test) process through nblabel's lock."""
    import nblabel as nl

    proj = nl.open(project)
    with proj.store.read() as con:
        return con.execute(sql, params or []).fetchall()


def copy_file(src: Path, dst: Path) -> None:
    shutil.copy(src, dst)


# -- for benchmarks: a JupyterLab page outside pytest ---------------------------------------------
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class LabSession:
    """JupyterLab + headless Debian Chromium with one notebook open (for scripts under benchmarks/).

    Example:
        >>> with LabSession(["x = 1"]) as s:          # doctest: +SKIP
        ...     s.run_cell(0)
    """

    def __init__(self, cells: list[str], *, viewport: tuple[int, int] = (1400, 1000), base: Path | None = None) -> None:
        import tempfile

        self.cells = cells
        self.viewport = viewport
        self.base = Path(base or tempfile.mkdtemp(prefix="nbl-bench-"))

    def __enter__(self) -> LabSession:
        import nbformat
        from playwright.sync_api import sync_playwright

        self.server = start_server("lab", self.base / "lab")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in self.cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, self.server.root / "bench.ipynb")
        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.page = self.browser.new_page(viewport={"width": self.viewport[0], "height": self.viewport[1]})
        self.page.set_default_timeout(120_000)
        self.page.goto(self.server.notebook_url("bench.ipynb"))
        self.page.wait_for_function(APP_READY)
        return self

    def run_cell(self, index: int, source: str | None = None, wait: bool = True) -> None:
        """Run one cell (optionally replacing its source first) and wait for the kernel to be idle."""
        self.page.evaluate(
            """async ([i, src]) => {
                const nb = window.jupyterapp.shell.currentWidget.content;
                nb.activeCellIndex = i;
                if (src !== null) nb.activeCell.model.sharedModel.setSource(src);
                await window.jupyterapp.commands.execute('notebook:run-cell');
            }""", [index, source])
        if wait:
            self.page.wait_for_function(APP_READY)

    def kernel_exec(self, code: str) -> str:
        """Run code in the notebook's kernel through a second client; returns its stdout."""
        from jupyter_client import BlockingKernelClient

        kid = self.server.api("/api/sessions")[0]["kernel"]["id"]
        kc = BlockingKernelClient(connection_file=str(self.server.runtime / f"kernel-{kid}.json"))
        kc.load_connection_file()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=30)
            out: list[str] = []
            reply = kc.execute_interactive(
                code, timeout=60,
                output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(str(reply["content"]))
            return "".join(out)
        finally:
            kc.stop_channels()

    def __exit__(self, *exc: object) -> None:
        try:
            self.browser.close()
            self._pw.stop()
        finally:
            stop_server(self.server)
