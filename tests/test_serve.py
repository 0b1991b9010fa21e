"""`sitegen serve`: a real server process under /repo/, rebuilding when a content page changes."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sitegen.serve import VERSION_PATH, inject_reload, local_base_url
from tests.conftest import REPO, REPO_BASE_URL, seed_project

DEADLINE = 120.0  # seconds: a bound on waiting, never an assertion about speed
EDITED_TITLE = "Served Straight After The Edit"


@dataclass
class Served:
    project: Path
    port: int
    log: Path

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read().decode("utf-8")
        finally:
            conn.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    what: str, ready: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"sitegen serve exited ({proc.returncode}):\n{log.read_text()}")
        try:
            if ready():
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}:\n{log.read_text()}")


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    project = seed_project(tmp_path_factory.mktemp("serve") / "project")
    port, log = free_port(), project.parent / "serve.log"
    command = [sys.executable, "-m", "sitegen", "serve", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--base-url", REPO_BASE_URL],
            cwd=project,
            stdout=out,
            stderr=out,
            # Ctrl+C as on a terminal: pytest started in the background of a script ignores
            # SIGINT, and so would the server, which then never stops.
            preexec_fn=_sigint_default,
        )
    server = Served(project, port, log)
    try:
        wait_for("the first page", lambda: server.get("/repo/")[0] == 200, proc, log)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "stopped" in log.read_text()


def paper_page(project: Path) -> tuple[Path, str]:
    page = sorted((project / "content" / "papers").glob("*.md"))[0]
    return page, f"/repo/papers/{page.stem}/"


def test_serves_pages_under_the_base_path_with_the_reload_script(served: Served) -> None:
    status, headers, body = served.get("/repo/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert VERSION_PATH in body and body.rstrip().endswith("</html>")
    # Links and feeds point at the local server, under the same base path as the real site.
    assert f'href="http://127.0.0.1:{served.port}/repo/feed.xml"' in body
    status, headers, _ = served.get("/repo/static/style.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")


def test_reload_script_is_never_in_the_built_files(served: Served) -> None:
    assert not (served.project / "_site").exists()
    for page in (served.project / "content").rglob("*.md"):
        assert "__sitegen" not in page.read_text(encoding="utf-8")
    _, _, feed = served.get("/repo/feed.xml")
    assert "<script" not in feed


def test_redirects_and_not_found(served: Served) -> None:
    status, headers, _ = served.get("/")
    assert status == 302 and headers["Location"] == "/repo/"
    status, headers, _ = served.get("/repo/tags")
    assert status == 302 and headers["Location"] == "/repo/tags/"
    status, _, body = served.get("/repo/no-such-page/")
    assert status == 404 and "Page not found" in body
    assert served.get("/elsewhere/")[0] == 404
    assert served.get("/repo/%2e%2e/sitegen.toml")[0] == 404


def test_editing_a_content_page_is_served(served: Served) -> None:
    _, _, before = served.get(VERSION_PATH)
    version = json.loads(before)["version"]
    page, url = paper_page(served.project)
    status, _, body = served.get(url)
    assert status == 200 and EDITED_TITLE not in body
    lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("title:"))
    lines[at] = f'title: "{EDITED_TITLE}"\n'
    page.write_text("".join(lines), encoding="utf-8")

    deadline = time.monotonic() + DEADLINE
    while EDITED_TITLE not in served.get(url)[2]:
        if time.monotonic() > deadline:
            pytest.fail(f"the edit was never served:\n{served.log.read_text()}")
        time.sleep(0.2)
    # The version, which tells open pages to reload, moves once the build has finished.
    while (state := json.loads(served.get(VERSION_PATH)[2]))["version"] == version:
        if time.monotonic() > deadline:
            pytest.fail(f"the version never moved:\n{served.log.read_text()}")
        time.sleep(0.2)
    assert state["error"] == ""


def test_a_broken_edit_keeps_the_last_good_site_and_reports_the_error(served: Served) -> None:
    page, url = paper_page(served.project)
    good = page.read_text(encoding="utf-8")
    page.write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    deadline = time.monotonic() + DEADLINE
    while not json.loads(served.get(VERSION_PATH)[2])["error"]:
        if time.monotonic() > deadline:
            pytest.fail(f"the failed build was never reported:\n{served.log.read_text()}")
        time.sleep(0.2)
    assert EDITED_TITLE in served.get(url)[2]
    page.write_text(good, encoding="utf-8")
    while json.loads(served.get(VERSION_PATH)[2])["error"]:
        if time.monotonic() > deadline:
            pytest.fail(f"the fixed build never cleared the error:\n{served.log.read_text()}")
        time.sleep(0.2)


def wait_until_served(served: Served, path: str, text: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while text not in served.get(path)[2]:
        if time.monotonic() > deadline:
            pytest.fail(f"{text!r} was never served at {path}:\n{served.log.read_text()}")
        time.sleep(0.2)


def test_a_config_saved_by_rename_is_picked_up(served: Served) -> None:
    config = served.project / "sitegen.toml"
    text = config.read_text(encoding="utf-8")
    assert 'title = "Trending Papers"' in text
    fresh = config.with_name("sitegen.toml.new")  # editors save to a new file, then rename it
    fresh.write_text(text.replace('title = "Trending Papers"', 'title = "Renamed Site"'))
    os.replace(fresh, config)
    wait_until_served(served, "/repo/", "<title>Renamed Site</title>")


def test_a_templates_folder_created_while_serving_is_watched(served: Served) -> None:
    theme = REPO / "themes" / "default" / "templates" / "404.html"
    assert "Page not found" in theme.read_text(encoding="utf-8")
    override = served.project / "templates" / "404.html"
    override.parent.mkdir()
    override.write_text(theme.read_text(encoding="utf-8").replace("Page not found", "Lost Here"))
    wait_until_served(served, "/repo/404.html", "Lost Here")
    override.write_text(theme.read_text(encoding="utf-8").replace("Page not found", "Lost Again"))
    wait_until_served(served, "/repo/404.html", "Lost Again")


def test_inject_reload_goes_before_the_last_body_end() -> None:
    html = b"<p>a</p></BODY></html>"
    out = inject_reload(html, 7)
    assert out.startswith(b"<p>a</p><script>") and out.endswith(b"</script>\n</BODY></html>")
    assert b"const seen = 7;" in out
    assert inject_reload(b"<p>no body end</p>", 1).startswith(b"<p>no body end</p><script>")


def test_local_base_url_keeps_the_base_path() -> None:
    assert local_base_url("https://me.github.io/repo/", "127.0.0.1", 8000) == (
        "http://127.0.0.1:8000/repo/"
    )
    assert local_base_url("https://example.org/", "::1", 9) == "http://[::1]:9/"


def test_a_busy_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "sitegen", "serve", "--port", str(port)],
            cwd=seed_project(tmp_path / "p"),
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(choose another --port, or --port 0 for any free one)\n"
    )
