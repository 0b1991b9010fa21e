"""Every page of the hostile corpus in Chromium: no dialog, no injected script, no off-site request."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.browser.support import chromium, serve_built
from tests.test_hostile import CORPUS

# Runs before any page script: records every way a payload could announce itself.
CANARY = """
window.__hostile = [];
for (const name of ["alert", "confirm", "prompt", "print", "open"]) {
  window[name] = (...args) => { window.__hostile.push(name + ":" + String(args[0])); };
}
"""


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The hostile corpus built for, and served at, http://127.0.0.1:<free port>/repo/."""
    root = tmp_path_factory.mktemp("hostile-browser") / "site"
    shutil.copytree(CORPUS, root)
    with serve_built(root, "/repo/") as served:
        yield served


@pytest.fixture(scope="module")
def hostile_browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def _pages(out: Path) -> list[str]:
    return sorted(
        p.relative_to(out).as_posix().removesuffix("index.html")
        for p in out.rglob("*.html")
        if p.name != "404.html" or p.parent == out
    )


def test_every_hostile_page_loads_without_running_injected_code(
    hostile_server: tuple[str, Path], hostile_browser: Browser
) -> None:
    base, out = hostile_server
    paths = _pages(out)
    assert len(paths) > 30
    context = hostile_browser.new_context()
    context.add_init_script(CANARY)
    off_site: list[str] = []
    dialogs: list[str] = []
    errors: list[str] = []

    def gate(route: Route) -> None:
        url = route.request.url
        if url.startswith(base):
            route.continue_()
        else:
            off_site.append(url)
            route.abort()

    context.route("**/*", gate)
    page: Page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    fired: dict[str, list[str]] = {}
    for path in paths:
        response = page.goto(base + path, wait_until="load")
        assert response is not None and response.ok, path
        # Hover everything once: handlers such as onmouseover would fire now if they existed.
        page.evaluate(
            "for (const el of document.querySelectorAll('body *')) "
            "el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))"
        )
        calls = page.evaluate("window.__hostile")
        if calls:
            fired[path] = calls
        # The visible title carries the payload as text, so escaping is what kept it inert.
        assert page.title()
    context.close()
    assert fired == {}, fired
    assert dialogs == [], dialogs
    assert off_site == [], off_site
    assert errors == [], errors


def test_hostile_titles_read_as_text_in_the_browser(
    hostile_server: tuple[str, Path], hostile_browser: Browser
) -> None:
    base, _ = hostile_server
    page = hostile_browser.new_page()
    try:
        page.goto(base + "papers/script-alert-title-script-attention-is-not-all-you-need/")
        heading = page.locator("h1").first.inner_text()
        assert heading == '<script>alert("title")</script> Attention Is Not All You Need'
        page.goto(base + "papers/7-7-and-for-x-in-range-3-loop-endfor-template-papers/")
        assert "{{ 7*7 }}" in page.locator("h1").first.inner_text()
        # Refused link schemes are never clickable links.
        page.goto(base + "papers/img-src-x-onerror-alert-1-robust-vision-models/")
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        assert hrefs and not [
            h for h in hrefs if h.split(":", 1)[0] in ("javascript", "vbscript", "data")
        ]
        assert page.locator("img").count() == 0
    finally:
        page.close()
