"""Search in a real browser: the seed site built for /repo/, served under /repo/, with Pagefind UI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import serve

# (query typed by a reader, slug prefix of the paper that must come first)
QUERIES = [
    ("PUMA secure inference", "puma-secure-inference"),
    ("DeepSeekMoE expert specialization", "deepseekmoe"),
    ("ZeRO memory optimizations trillion", "zero-memory-optimizations"),
    ("Orca-Math grade school math", "orca-math"),
    ("machine unlearning six-way evaluation", "muse-machine-unlearning"),
    ("OpenVLA vision-language-action", "openvla"),
    ("StarCoder stack v2", "starcoder-2"),
]


@pytest.fixture(scope="module")
def served_repo(seed_site_repo: Path) -> Iterator[str]:
    """The /repo/ build served at http://127.0.0.1:PORT/repo/ as GitHub Pages would."""
    with serve(seed_site_repo, "/repo/") as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def _search(page: Any, base: str, query: str) -> Any:
    page.goto(base + "search/")
    box = page.locator(".pagefind-ui__search-input")
    box.fill(query)
    results = page.locator(".pagefind-ui__result")
    results.first.wait_for()
    return results


def _result_count(page: Any) -> int:
    message = page.locator(".pagefind-ui__message")
    message.wait_for()
    match = re.match(r"(\d+) results?", message.inner_text())
    assert match, message.inner_text()
    return int(match.group(1))


@pytest.mark.parametrize(("query", "slug_prefix"), QUERIES)
def test_expected_paper_comes_first(
    page: Any, served_repo: str, query: str, slug_prefix: str
) -> None:
    results = _search(page, served_repo, query)
    first = results.first
    href = first.locator(".pagefind-ui__result-link").get_attribute("href")
    assert href.startswith("/repo/papers/" + slug_prefix), (query, href)
    # Title, date and tags shown in the result, with a snippet of the abstract.
    assert first.locator(".pagefind-ui__result-title").inner_text().strip()
    tags = first.locator(".pagefind-ui__result-tag").all_inner_texts()
    assert any("2025" in t for t in tags), tags
    assert first.locator(".pagefind-ui__result-excerpt").inner_text().strip()
    # The result link works under the sub-path.
    first.locator(".pagefind-ui__result-link").click()
    page.wait_for_url(re.compile(r".*/repo/papers/" + re.escape(slug_prefix)))
    assert page.locator("h1").first.inner_text()


def test_tag_filter_narrows_results(page: Any, served_repo: str) -> None:
    _search(page, served_repo, "language models")
    before = _result_count(page)
    tag_filter = page.locator(".pagefind-ui__filter-checkbox[value='Mixture of experts']")
    if not tag_filter.is_visible():
        page.locator(".pagefind-ui__filter-name", has_text="tag").click()
    tag_filter.check()
    page.wait_for_function(
        "n => { const m = document.querySelector('.pagefind-ui__message');"
        " return m && !m.textContent.startsWith(n + ' result'); }",
        arg=before,
    )
    after = _result_count(page)
    assert 0 < after < before
    for link in page.locator(".pagefind-ui__result-link").all():
        href = link.get_attribute("href")
        paper = page.context.new_page()
        paper.goto(served_repo.removesuffix("/repo/") + href)
        assert "Mixture of experts" in paper.locator(".paper-header").inner_text()
        paper.close()


def test_day_filter_is_offered(page: Any, served_repo: str) -> None:
    _search(page, served_repo, "language")
    names = page.locator(".pagefind-ui__filter-name").all_inner_texts()
    assert any(n.strip().lower() == "day" for n in names), names


def test_header_form_searches_from_any_page(page: Any, served_repo: str) -> None:
    page.goto(served_repo + "tags/")
    assert page.locator(".site-search-link").is_hidden()
    field = page.locator(".site-search input[name=q]")
    field.fill("PUMA secure inference")
    field.press("Enter")
    page.wait_for_url(re.compile(r".*/repo/search/\?q=PUMA"))
    page.locator(".pagefind-ui__result").first.wait_for()
    href = page.locator(".pagefind-ui__result-link").first.get_attribute("href")
    assert href.startswith("/repo/papers/puma-secure-inference")


def test_without_javascript_the_search_box_links_to_tags(browser: Any, served_repo: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(served_repo)
        link = page.locator(".site-search-link")
        assert link.is_visible()
        assert link.get_attribute("href") == "/repo/tags/"
        assert page.locator(".site-search").is_hidden()
        page.goto(served_repo + "search/")
        assert "tags" in page.locator("#search").inner_text().lower()
    finally:
        context.close()


def test_search_stays_on_the_site(page: Any, served_repo: str) -> None:
    """Offline: every request the search page makes goes to the site itself."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _search(page, served_repo, "quantization")
    assert requests
    assert all(u.startswith(served_repo) for u in requests), requests
