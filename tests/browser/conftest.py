"""Browser fixtures: the seed site served over HTTP under a base path, and Debian's Chromium."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import REPO, build_project, seed_project, write_tree

BASE_PATH = "/repo/"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
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


class _BasePathHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the output folder at BASE_PATH only, as GitHub Pages serves a project site."""

    def translate_path(self, path: str) -> str:
        if not path.startswith(BASE_PATH):
            return str(Path(self.directory) / "__outside_base_path__")
        return super().translate_path("/" + path[len(BASE_PATH) :])

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _serve(root: Path) -> Iterator[tuple[str, Path]]:
    """Build the project at root for its own local URL, serve it; yield (site URL, output)."""
    port = _free_port()
    site_url = f"http://127.0.0.1:{port}{BASE_PATH}"
    config, _ = build_project(root, base_url=site_url)
    handler = functools.partial(_BasePathHandler, directory=str(config.output_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site_url, config.output_dir
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(site URL with base path, output folder) of the seed site built for that URL."""
    with _serve(seed_project(tmp_path_factory.mktemp("browser-site"))) as served:
        yield served


MATH_FEED = r"""Mar 12

Scaling $\mathcal{O}(n^2)$ Attention to $10^6$ Tokens with $\textit{Ringo}$

We cut the cost from $O(n^2)$ to $O(n \log n)$ for sequences of length $n \geq 10^6$, where
$\sum_{i=1}^{n} \alpha_i = 1$ and a rank $r \ll d$. It costs $5 and $6 per run, and an
unknown $\frobnicate{x}$ macro stays readable. See \url{https://example.com/ringo}.

A Second Paper on $\beta$-VAEs

Plain abstract with 12.5\% fewer steps (\eg on GSM8K).
"""


@pytest.fixture(scope="session")
def served_math_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A small site whose titles and abstracts carry `$...$` math."""
    root = tmp_path_factory.mktemp("math-site")
    shutil.copy2(REPO / "sitegen.toml", root / "sitegen.toml")
    write_tree(root, {"seeds/2025-03-12.txt": MATH_FEED})
    with _serve(root) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (installed by .ci/run through apt), never a downloaded browser build.

    Module-scoped: one sync Playwright may run at a time, and other modules start their own.
    """
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS
