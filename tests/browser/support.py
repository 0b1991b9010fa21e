"""Browser-test plumbing: a base-path HTTP server like GitHub Pages, and Debian's Chromium."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from sitegen.config import load_config
from tests.conftest import build_project

# scripts/audit.py keeps its own copy of these flags (it runs without the test suite): keep in step.
# Debian's Chromium; $SITEGEN_CHROMIUM or PATH where a system puts it elsewhere.
CHROMIUM = Path(
    os.environ.get("SITEGEN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class BasePathHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder at a base path only, as GitHub Pages serves a project site."""

    def __init__(self, *args: Any, directory: str, base_path: str, **kwargs: Any) -> None:
        # Set before super().__init__, which handles the request straight away.
        self.base_path = base_path
        super().__init__(*args, directory=directory, **kwargs)

    def translate_path(self, path: str) -> str:
        if not path.startswith(self.base_path):
            return str(Path(self.directory) / "__outside_base_path__")
        return super().translate_path("/" + path[len(self.base_path) :])

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file():  # what GitHub Pages does for a missing URL
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path, base_path: str = "/repo/") -> Iterator[str]:
    """Serve folder at `http://127.0.0.1:<free port><base_path>`; yield that URL.

    The port is bound before the yield and the folder is read afresh on every request, so a
    caller may build a site for the yielded URL into a folder that does not exist yet.
    """
    handler = functools.partial(BasePathHandler, directory=str(folder), base_path=base_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{base_path}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serve_built(root: Path, base_path: str = "/repo/") -> Iterator[tuple[str, Path]]:
    """Build the project at root for the URL it is served at; yield (site URL, output folder)."""
    output = load_config(root=root, environ={}).output_dir
    with serve(output, base_path) as site_url:
        config, _ = build_project(root, base_url=site_url)
        assert config.output_dir == output, (config.output_dir, output)
        yield site_url, output


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium (installed by .ci/run through apt), never a downloaded browser build.

    Only one sync Playwright may run at a time: hold this no longer than a test module.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
