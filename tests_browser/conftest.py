"""Shared fixtures for browser tests.

- ``browser_type_launch_args``: pytest-playwright override that launches Debian's Chromium
  (Playwright cannot download its own browser here).
- ``static_server``: a local HTTP server for plain-page tests; ``/harness/...`` serves
  ``tests_browser/harness`` and ``/static/...`` serves the built bundles in ``src/nblabel/static``.

JupyterLab fixtures (real server, real kernel) belong in this file too, as separate fixtures.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[1]
HARNESS_DIR = ROOT / "tests_browser" / "harness"
STATIC_DIR = ROOT / "src" / "nblabel" / "static"

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's Chromium; Playwright's launch() already uses a fresh temporary profile."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """Serve a fixed mapping of URL prefixes to directories, quietly, with ESM-friendly MIME types."""

    mounts: ClassVar[dict[str, Path]] = {}
    extensions_map: ClassVar[dict[str, str]] = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, directory in self.mounts.items():
            if path.startswith(prefix):
                rel = Path(path[len(prefix):])
                target = (directory / rel).resolve()
                if directory.resolve() in target.parents or target == directory.resolve():
                    return str(target)
        return str(ROOT / "__not_found__")

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def static_server() -> Iterator[str]:
    """Base URL of a local server: ``{url}/harness/annotator.html`` and ``{url}/static/annotator.js``."""
    handler = type("Handler", (_StaticHandler,), {"mounts": {"/harness/": HARNESS_DIR, "/static/": STATIC_DIR}})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(ROOT)))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


# Real JupyterLab / Notebook 7 servers (tests_browser/lab.py; this folder is on sys.path via rootdir conftest import)
from tests_browser.lab import lab_server, notebook7_server  # noqa: E402, F401
