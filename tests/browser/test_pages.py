"""The built seed site in a real browser: clean loads, no off-site requests, layout, schemes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

# A paper with code links and neighbours on its day, and a tag with several papers.
PAPER = "papers/introducing-visual-perception-token-into-multimodal-large-language-model/"
PAGES = {
    "home": "",
    "home-page-2": "page/2/",
    "paper": PAPER,
    "math-title-paper": "papers/refiner-restructure-retrieval-content-efficiently-to-advance-question-answering/",
    "tags": "tags/",
    "tag": "tags/multilingual/",
    "days": "days/",
    "day": "days/2025-03-11/",
    "feeds": "feeds/",
    "search": "search/",
}


def _luminance(css_color: str) -> float:
    """Relative luminance of an `rgb(r, g, b)` colour, 0 (black) to 1 (white)."""
    values = css_color[css_color.index("(") + 1 : css_color.index(")")].split(",")
    r, g, b = (int(float(v)) / 255 for v in values[:3])

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


class Visit:
    """One page load with everything the page asked for and complained about."""

    def __init__(self, page: Page, site_url: str) -> None:
        self.page = page
        self.site_url = site_url
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self.failures: list[str] = []
        page.on(
            "console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on(
            "response",
            lambda r: self.failures.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )

    def open(self, path: str) -> None:
        response = self.page.goto(self.site_url + path, wait_until="load")
        assert response is not None and response.ok, f"{path}: {response and response.status}"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_loads_clean_and_stays_on_site(
    context: BrowserContext, served_site: tuple[str, Path], name: str
) -> None:
    site_url, _ = served_site
    visit = Visit(context.new_page(), site_url)
    visit.open(PAGES[name])
    assert visit.console_errors == []
    assert visit.failures == []
    off_site = [u for u in visit.requests if not u.startswith(site_url)]
    assert off_site == []
    # Every page asks for its stylesheet and icon, and the stylesheet applies.
    assert any(u.endswith("/static/style.css") for u in visit.requests)
    assert visit.page.locator("main#main").count() == 1
    assert visit.page.locator("h1").count() == 1


def test_missing_page_serves_404_with_working_links(
    context: BrowserContext, served_site: tuple[str, Path]
) -> None:
    site_url, _ = served_site
    page = context.new_page()
    response = page.goto(site_url + "no/such/page/")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    home = page.locator("main a").first.get_attribute("href")
    assert home is not None and home.startswith("/repo/")
    assert page.evaluate("getComputedStyle(document.body).display") == "flex"  # CSS loaded


@pytest.mark.parametrize("name", sorted(PAGES))
def test_no_horizontal_scroll_at_360px(
    browser: Browser, served_site: tuple[str, Path], name: str
) -> None:
    site_url, _ = served_site
    ctx = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = ctx.new_page()
        page.goto(site_url + PAGES[name])
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{name} is {width}px wide at a 360px viewport"
    finally:
        ctx.close()


@pytest.mark.parametrize(("scheme", "dark"), [("dark", True), ("light", False)])
def test_colour_scheme_follows_the_browser(
    browser: Browser, served_site: tuple[str, Path], scheme: str, dark: bool
) -> None:
    site_url, _ = served_site
    ctx = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
    try:
        page = ctx.new_page()
        page.goto(site_url + PAPER)
        background = _luminance(page.evaluate("getComputedStyle(document.body).backgroundColor"))
        text = _luminance(page.evaluate("getComputedStyle(document.body).color"))
        assert (background < 0.1) is dark
        assert (text > 0.5) is dark
        # WCAG AA for body text: contrast ratio at least 4.5.
        light, darker = max(background, text), min(background, text)
        assert (light + 0.05) / (darker + 0.05) >= 4.5
    finally:
        ctx.close()


def test_skip_link_is_first_focus_and_visible(
    context: BrowserContext, served_site: tuple[str, Path]
) -> None:
    site_url, _ = served_site
    page = context.new_page()
    page.goto(site_url)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_paper_page_reads_without_javascript(
    browser: Browser, served_site: tuple[str, Path]
) -> None:
    site_url, _ = served_site
    ctx = browser.new_context(java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(site_url + PAPER)
        assert page.locator(".abstract p").first.is_visible()
        assert "@misc{" in page.locator("#bibtex").inner_text()
        assert not page.locator("button.copy").is_visible()  # no dead button without JS
        assert page.locator(".buttons a", has_text="Code (GitHub)").is_visible()
    finally:
        ctx.close()


def test_copy_button_copies_the_bibtex(browser: Browser, served_site: tuple[str, Path]) -> None:
    site_url, _ = served_site
    ctx = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = ctx.new_page()
        page.goto(site_url + PAPER)
        button = page.locator("button.copy")
        assert button.is_visible()
        button.click()
        page.locator(".copy-status", has_text="copied").wait_for()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == page.locator("#bibtex").inner_text()
    finally:
        ctx.close()


def test_day_neighbours_link_both_ways(
    context: BrowserContext, served_site: tuple[str, Path]
) -> None:
    site_url, _ = served_site
    page = context.new_page()
    page.goto(site_url + PAPER)
    next_link = page.locator(".day-nav a[rel=next]")
    title = page.locator("h1").inner_text()
    next_link.click()
    page.wait_for_load_state()
    back = page.locator(".day-nav a[rel=prev] .ttl").inner_text()
    assert back == title


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", ["home", "paper"])
def test_screenshots(
    browser: Browser,
    served_site: tuple[str, Path],
    screenshot_dir: Path,
    name: str,
    width: int,
    scheme: str,
) -> None:
    """Screenshots for a person to look at, in test-artifacts/screenshots/."""
    site_url, _ = served_site
    ctx = browser.new_context(
        viewport={"width": width, "height": 900},
        color_scheme=scheme,  # type: ignore[arg-type]
        device_scale_factor=1,
    )
    try:
        page = ctx.new_page()
        page.goto(site_url + PAGES[name])
        path = screenshot_dir / f"{name}-{width}-{scheme}.png"
        page.screenshot(path=str(path), full_page=True)
        page.screenshot(path=str(path.with_name(path.stem + "-top.png")))  # what loads first
        assert path.stat().st_size > 1000
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        ctx.close()


def test_math_renders_as_mathml_in_the_browser(
    context: BrowserContext, served_math_site: tuple[str, Path], screenshot_dir: Path
) -> None:
    site_url, _ = served_math_site
    visit = Visit(context.new_page(), site_url)
    visit.open("")
    link = visit.page.locator("ol.papers h2 a").first
    assert link.locator("math").count() == 2
    link.click()
    visit.page.wait_for_load_state()
    page = visit.page
    # Chromium lays MathML out natively: each formula has a real box, no script involved.
    boxes = page.locator("main math").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert len(boxes) >= 6 and all(w > 0 for w in boxes)
    assert page.locator("h1 em", has_text="Ringo").count() == 1
    # The reading text; the Cite block is BibTeX, which keeps the title's math as TeX.
    text = page.locator(".paper-header").inner_text() + page.locator(".abstract").inner_text()
    assert "$5 and $6" in text  # currency, not math
    assert "\\frobnicate{x}" in page.locator("code.tex").inner_text()  # the escaped fallback
    assert "\\mathcal" not in text and "\\log" not in text and "\\url" not in text
    assert "$\\mathcal{O}(n^2)$" in page.locator("#bibtex").inner_text()
    title = page.title()
    assert title.startswith("Scaling 𝒪(n^2) Attention to 10^6 Tokens with Ringo")
    assert visit.console_errors == [] and visit.failures == []
    page.screenshot(path=str(screenshot_dir / "math-paper-1280-light-top.png"))
