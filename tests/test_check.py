"""`sitegen check`: the seed site passes at / and /repo/; each kind of breakage names its page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sitegen.check import Problem, check_site
from sitegen.cli import main
from sitegen.report import PAGES_LIMIT_BYTES, size_warnings
from tests.conftest import REPO_BASE_URL, write_tree

ROOT_BASE_URL = "http://localhost:8000/"


def messages(problems: list[Problem], page: str) -> list[str]:
    return [p.message for p in problems if p.page == page]


@pytest.fixture
def repo_copy(seed_site_repo: Path, tmp_path: Path) -> Path:
    """A private copy of the /repo/ seed site for a test to break."""
    return Path(shutil.copytree(seed_site_repo, tmp_path / "site"))


def first_paper(site: Path) -> str:
    return sorted(p.relative_to(site).as_posix() for p in site.glob("papers/*/index.html"))[0]


def tiny_site(root: Path, extra: dict[str, str] | None = None) -> Path:
    """A two-page site at http://localhost:8000/ that passes; `extra` adds or replaces files."""
    files = {
        "index.html": '<link rel="stylesheet" href="/s.css"><a href="a/">A</a><p id="top"></p>',
        "a/index.html": '<a href="/#top">home</a>',
        "s.css": "body { background: url('bg.png') }",
        "bg.png": "png",
        "sitemap.xml": (
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            "<url><loc>http://localhost:8000/</loc></url>"
            "<url><loc>http://localhost:8000/a/</loc></url></urlset>"
        ),
        **(extra or {}),
    }
    return write_tree(root, files)


# The acceptance cases: the real seed site.


def test_seed_site_passes_at_the_root(seed_site: Path) -> None:
    assert check_site(seed_site, ROOT_BASE_URL) == []


def test_seed_site_passes_under_a_project_path(seed_site_repo: Path) -> None:
    assert check_site(seed_site_repo, REPO_BASE_URL) == []


def test_a_broken_link_names_its_page(repo_copy: Path) -> None:
    page = first_paper(repo_copy)
    html = (repo_copy / page).read_text(encoding="utf-8")
    assert 'href="/repo/days/"' in html
    (repo_copy / page).write_text(html.replace('href="/repo/days/"', 'href="/repo/dayz/"', 1))
    problems = check_site(repo_copy, REPO_BASE_URL)
    assert problems == [Problem(page, "broken link '/repo/dayz/': no file dayz/index.html")]


def test_a_deleted_stylesheet_is_reported_on_every_page(repo_copy: Path) -> None:
    (repo_copy / "static" / "style.css").unlink()
    problems = check_site(repo_copy, REPO_BASE_URL)
    pages = {p.page for p in problems}
    assert "index.html" in pages and first_paper(repo_copy) in pages
    assert all("static/style.css" in p.message for p in problems)


@pytest.mark.parametrize("feed", ["feed.xml", "rss.xml"])
def test_an_invalid_xml_feed_is_reported(repo_copy: Path, feed: str) -> None:
    data = (repo_copy / feed).read_bytes()
    (repo_copy / feed).write_bytes(data[: len(data) // 2])
    problems = check_site(repo_copy, REPO_BASE_URL)
    assert [p.page for p in problems] == [feed]
    assert problems[0].message.startswith("invalid feed:")


def test_an_invalid_json_feed_is_reported(repo_copy: Path) -> None:
    tag_feed = sorted(repo_copy.glob("tags/*/feed.json"))[0].relative_to(repo_copy).as_posix()
    (repo_copy / tag_feed).write_text('{"version": "https://jsonfeed.org/version/1.1", "items": ')
    problems = check_site(repo_copy, REPO_BASE_URL)
    assert [p.page for p in problems] == [tag_feed]
    assert problems[0].message.startswith("invalid JSON Feed:")


def test_cli_prints_page_and_problem_and_fails(
    repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo_copy / "feed.xml").write_text("<feed>")
    assert main(["check", str(repo_copy), "--base-url", REPO_BASE_URL]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("feed.xml: invalid feed:")


def test_cli_passes_a_good_site(seed_site_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(seed_site_repo), "--base-url", REPO_BASE_URL]) == 0
    assert "no problems" in capsys.readouterr().out


def test_a_site_checked_for_the_wrong_base_url_fails(seed_site_repo: Path) -> None:
    problems = check_site(seed_site_repo, "https://example.org/other/")
    assert "feed.xml" in {p.page for p in problems}
    assert any("leaves the base path /other/" in p.message for p in problems)


# Each rule on a tiny site, so the input is visible in the test.


def test_tiny_site_passes(tmp_path: Path) -> None:
    assert check_site(tiny_site(tmp_path), ROOT_BASE_URL) == []


def test_links_leaving_the_base_path_are_reported(tmp_path: Path) -> None:
    sub = "https://example.org/repo/"
    files = {
        "index.html": (
            '<a href="a/">A</a><link rel=stylesheet href="/repo/s.css">'
            '<a href="/">root</a><a href="https://example.org/elsewhere/">same host</a>'
            '<a href="https://other.org/">external is fine</a><a href="mailto:x@y.z">mail</a>'
        ),
        "a/index.html": '<a href="../">up</a>',
        "sitemap.xml": (
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{sub}</loc></url><url><loc>{sub}a/</loc></url></urlset>"
        ),
    }
    site = write_tree(tmp_path / "repo", {**files, "s.css": "", "bg.png": ""})
    assert messages(check_site(site, sub), "index.html") == [
        "link '/' leaves the base path /repo/",
        "link 'https://example.org/elsewhere/' leaves the base path /repo/",
    ]


def test_fragments_queries_and_percent_encoding(tmp_path: Path) -> None:
    site = tiny_site(
        tmp_path,
        {
            "a/index.html": (
                '<a href="/?page=2#top">ok</a> <a href="/#gone">gone</a> '
                '<img src="/pics/a%20b.png" srcset="/pics/a%20b.png 1x, /pics/missing.png 2x">'
                '<a href="/a">folder without slash</a>'
            ),
            "pics/a b.png": "png",
        },
    )
    assert messages(check_site(site, ROOT_BASE_URL), "a/index.html") == [
        "broken link '/pics/missing.png': no file pics/missing.png",
        "link '/#gone': no id 'gone' on index.html",
    ]


def test_css_urls_are_checked(tmp_path: Path) -> None:
    site = tiny_site(tmp_path)
    (site / "bg.png").unlink()
    assert check_site(site, ROOT_BASE_URL) == [
        Problem("s.css", "broken link 'bg.png': no file bg.png")
    ]


def test_orphans_and_sitemap_gaps(tmp_path: Path) -> None:
    site = tiny_site(
        tmp_path,
        {
            "lost/index.html": "<p>nobody links here</p>",
            "404.html": '<a href="/">home</a>',
            "hidden/index.html": '<meta name="robots" content="noindex">',
        },
    )
    sitemap = (site / "sitemap.xml").read_text()
    sitemap = sitemap.replace(
        "</urlset>", "<url><loc>http://localhost:8000/b/</loc></url></urlset>"
    )
    (site / "sitemap.xml").write_text(sitemap)
    assert check_site(site, ROOT_BASE_URL) == [
        Problem("hidden/index.html", "orphaned: no chain of links reaches it from the home page"),
        Problem("lost/index.html", "not listed in sitemap.xml"),
        Problem("lost/index.html", "orphaned: no chain of links reaches it from the home page"),
        Problem("sitemap.xml", "broken link 'http://localhost:8000/b/': no file b/index.html"),
    ]


def test_feed_self_links_must_match_their_location(tmp_path: Path) -> None:
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<id>urn:x</id><title>t</title><updated>2025-03-11T00:00:00Z</updated>"
        '<link rel="self" href="http://localhost:8000/feed.xml"/></feed>'
    )
    site = tiny_site(
        tmp_path,
        {
            "feed.xml": atom,
            "tags/x/feed.xml": atom,
            "feed.json": '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}',
        },
    )
    assert check_site(site, ROOT_BASE_URL) == [
        Problem("feed.json", "feed has no self link (expected http://localhost:8000/feed.json)"),
        Problem(
            "tags/x/feed.xml",
            "feed self link 'http://localhost:8000/feed.xml' is not its location "
            "'http://localhost:8000/tags/x/feed.xml'",
        ),
    ]


# The size budget the build reports.


def test_size_budget_warns_past_80_percent_of_the_pages_limit() -> None:
    assert size_warnings(PAGES_LIMIT_BYTES * 8 // 10, 1000) == []
    (warning,) = size_warnings(900_000_000, 1000)
    assert "900 MB, 90% of GitHub Pages' 1 GB limit (900000 bytes per paper)" in str(warning)
    assert "about 111 more papers fit" in str(warning)
    (over,) = size_warnings(1_200_000_000, 1000)
    assert "refuse to publish" in str(over)


def test_build_states_size_and_bytes_per_paper(
    seed_site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = seed_site.parent
    code = main(["build", "--config", str(project / "sitegen.toml"), "--out", str(tmp_path / "o")])
    assert code == 0
    out = capsys.readouterr().out
    assert " MB, " in out and " bytes per paper" in out


def test_strict_refuses_an_oversized_site_before_publishing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sitegen import report as report_module
    from sitegen.errors import SitegenError
    from tests.conftest import build_project, seed_project

    monkeypatch.setattr(report_module, "PAGES_LIMIT_BYTES", 100_000)
    root = seed_project(tmp_path / "site")
    with pytest.raises(SitegenError, match="GitHub Pages' 1 GB limit"):
        build_project(root, strict=True)
    assert not (root / "_site").exists()
    assert not (root / "content").exists()


def test_other_xml_files_are_not_taken_for_feeds(seed_site: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(seed_site, site)
    (site / "static" / "browserconfig.xml").write_text(
        "<browserconfig><msapplication/></browserconfig>"
    )
    assert check_site(site, "http://localhost:8000/") == []
