"""End to end: the seed feed becomes a complete site whose every link resolves."""

from __future__ import annotations

import filecmp
import hashlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import pytest

from sitegen.build import build
from tests.conftest import REPO_BASE_URL, build_project, seed_project


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def links_of(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.links


def resolve(site: Path, base_url: str, page: Path, link: str) -> Path | None:
    """The file an internal link points at, or None for an external link."""
    base = urlsplit(base_url)
    parts = urlsplit(link)
    if parts.scheme in ("http", "https") and parts.netloc != base.netloc:
        return None
    if parts.scheme not in ("", "http", "https"):
        return None
    path = unquote(parts.path)
    if not path:
        return page
    if not path.startswith("/"):
        folder = "/" + page.parent.relative_to(site).as_posix() + "/"
        path = base.path + folder.lstrip("/") + path if folder != "//" else base.path + path
    assert path.startswith(base.path), f"{page}: {link} leaves the base path {base.path}"
    target = site / path[len(base.path) :]
    return target / "index.html" if path.endswith("/") else target


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_seed_site_has_every_page_type(seed_site: Path) -> None:
    papers = sorted(p.parent.name for p in (seed_site / "papers").glob("*/index.html"))
    assert len(papers) == 81
    assert len(set(papers)) == 81
    for required in (
        "index.html",
        "page/2/index.html",
        "tags/index.html",
        "days/index.html",
        "days/2025-03-11/index.html",
        "404.html",
        "sitemap.xml",
        "robots.txt",
        "feed.xml",
        "rss.xml",
        "feed.json",
        "static/style.css",
    ):
        assert (seed_site / required).is_file(), required
    tags = [p for p in (seed_site / "tags").iterdir() if p.is_dir()]
    assert tags, "the seed site has tag pages"


def test_home_is_newest_first_and_paginated(seed_site: Path) -> None:
    home = (seed_site / "index.html").read_text(encoding="utf-8")
    first = home.index("PUMA: Secure Inference of LLaMA-7B in Five Minutes")
    second = home.index("Phi-4-Mini Technical Report")
    assert first < second, "feed order (rank) breaks ties within one day"
    pages = sorted((seed_site / "page").glob("*/index.html"))
    assert len(pages) == 4  # 81 papers at 20 per page: 5 pages in all
    assert 'rel="next"' in home


@pytest.mark.parametrize("fixture", ["seed_site", "seed_site_repo"])
def test_every_internal_link_resolves(fixture: str, request: pytest.FixtureRequest) -> None:
    site: Path = request.getfixturevalue(fixture)
    base_url = REPO_BASE_URL if fixture == "seed_site_repo" else "http://localhost:8000/"
    checked = 0
    for page in html_pages(site):
        for link in links_of(page):
            target = resolve(site, base_url, page, link)
            if target is None:
                continue
            assert target.is_file(), f"{page.relative_to(site)}: {link} -> missing {target}"
            checked += 1
    assert checked > 1000


def test_sub_path_site_never_links_to_the_root(seed_site_repo: Path) -> None:
    for page in html_pages(seed_site_repo):
        for link in links_of(page):
            parts = urlsplit(link)
            if not parts.scheme and link.startswith("/"):
                assert link.startswith("/repo/"), f"{page}: {link}"
            if parts.netloc == "example.org":
                assert parts.path.startswith("/repo/"), f"{page}: {link}"


@pytest.mark.parametrize("name", ["feed.xml", "rss.xml"])
def test_feeds_parse_newest_first(seed_site: Path, name: str) -> None:
    parsed = feedparser.parse((seed_site / name).read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert len(parsed.entries) == 50
    assert parsed.entries[0].title == "PUMA: Secure Inference of LLaMA-7B in Five Minutes"
    dates = [e.published_parsed for e in parsed.entries]
    assert dates == sorted(dates, reverse=True)
    assert all(e.link.startswith("http://localhost:8000/papers/") for e in parsed.entries)


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    first = seed_project(tmp_path / "a")
    second = seed_project(tmp_path / "b")
    config_a, _ = build_project(first)
    config_b, _ = build_project(second)
    assert _tree_digest(config_a.output_dir) == _tree_digest(config_b.output_dir)
    assert _tree_digest(first / "content") == _tree_digest(second / "content")
    dirs = filecmp.dircmp(config_a.output_dir, config_b.output_dir)
    assert not dirs.diff_files


def test_rebuild_changes_nothing(tmp_path: Path) -> None:
    root = seed_project(tmp_path / "site")
    config, report = build_project(root)
    assert report.content_written == 81
    content_before = {p: p.stat().st_mtime_ns for p in (root / "content").rglob("*.md")}
    output_before = {p: p.stat().st_mtime_ns for p in config.output_dir.rglob("*")}
    _, again = build_project(root)
    assert again.unchanged, "the no-change shortcut: nothing rendered or written"
    # A full build (no shortcut, no cache) must rewrite nothing either: unchanged files are
    # carried over, so their mtimes stay.
    full = build(config, use_cache=False)
    assert not full.unchanged
    assert full.content_written == 0
    assert full.changed == 0
    assert {p: p.stat().st_mtime_ns for p in (root / "content").rglob("*.md")} == content_before
    after = {p: p.stat().st_mtime_ns for p in config.output_dir.rglob("*")}
    assert {p: t for p, t in after.items() if p.is_file()} == {
        p: t for p, t in output_before.items() if p.is_file()
    }


def test_a_site_without_papers_yet_builds_and_searches(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    (root / "content").mkdir()
    (root / "content" / "about.md").write_text("---\ntitle: About\n---\n\nA reading group.\n")
    config, report = build_project(root)
    assert report.papers == 0
    assert (config.output_dir / "about/index.html").is_file()
    assert (config.output_dir / "pagefind/pagefind.js").is_file()
    parsed = feedparser.parse((config.output_dir / "feed.xml").read_bytes())
    assert parsed.bozo == 0 and parsed.entries == []


def test_a_cjk_abstract_is_not_taken_for_a_title(tmp_path: Path) -> None:
    feed = "Mar 11\n\n大型语言模型的推理\n\n我们研究大型语言模型的推理能力，并提出一种新的训练方法，在多个数学和代码基准上取得了显著提升。实验表明该方法在不同规模的模型上都能稳定地提高准确率。\n"
    root = tmp_path / "cjk"
    (root / "seeds").mkdir(parents=True)
    (root / "seeds" / "2025-03-11.txt").write_text(feed, encoding="utf-8")
    config, report = build_project(root)
    assert report.papers == 1 and report.warnings == []
    assert len(list((config.output_dir / "papers").iterdir())) == 1
