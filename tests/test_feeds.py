"""Feeds of the built seed site read with a real client (feedparser) and checked against the specs."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest

from sitegen.feeds import absolute_html, entry_time, xml_text
from sitegen.frontmatter import split
from tests.conftest import REPO_BASE_URL, build_project, seed_project

ROOT_BASE_URL = "http://localhost:8000/"
ATOM_NS = "{http://www.w3.org/2005/Atom}"
SITES = {"seed_site": ROOT_BASE_URL, "seed_site_repo": REPO_BASE_URL}
SEED_PAPERS = 81
FEED_LIMIT = 50
_ATTR_URL = re.compile(r'\b(?:href|src)="([^"]*)"')

Make = Callable[[Mapping[str, str | bytes]], Path]


def channels(site: Path) -> list[str]:
    """Output-path prefixes of every feed: "" for the site, then `tags/<slug>/`."""
    tags = sorted(p.parent.name for p in (site / "tags").glob("*/feed.xml"))
    return ["", *(f"tags/{slug}/" for slug in tags)]


def tag_counts(site: Path) -> dict[str, int]:
    """Papers per tag, counted from content/ (the source), not from the feeds under test."""
    counts: dict[str, int] = {}
    for page in (site.parent / "content" / "papers").glob("*.md"):
        meta, _ = split(page.read_text(encoding="utf-8"), page.name)
        for tag in meta.get("tags") or []:
            counts[tag] = counts.get(tag, 0) + 1
    return counts


def expected_count(site: Path, prefix: str) -> int:
    if not prefix:
        return min(SEED_PAPERS, FEED_LIMIT)
    return min(tag_counts(site)[prefix.split("/")[1]], FEED_LIMIT)


def under_base(url: str, base_url: str) -> bool:
    return url.startswith(base_url) and urlsplit(url).scheme in ("http", "https")


@pytest.fixture(params=sorted(SITES))
def built(request: pytest.FixtureRequest) -> tuple[Path, str]:
    site: Path = request.getfixturevalue(request.param)
    return site, SITES[request.param]


def test_the_seed_site_has_a_feed_per_tag(built: tuple[Path, str]) -> None:
    site, _ = built
    found = channels(site)
    assert len(found) == 1 + len(tag_counts(site))
    for prefix in found:
        for name in ("feed.xml", "rss.xml", "feed.json"):
            assert (site / prefix / name).is_file(), prefix + name


@pytest.mark.parametrize("name", ["feed.xml", "rss.xml"])
def test_every_xml_feed_parses_with_complete_absolute_entries(
    built: tuple[Path, str], name: str
) -> None:
    site, base_url = built
    checked = 0
    for prefix in channels(site):
        parsed = feedparser.parse((site / prefix / name).read_bytes())
        where = prefix + name
        assert parsed.bozo == 0, (where, parsed.get("bozo_exception"))
        assert len(parsed.entries) == expected_count(site, prefix), where
        assert under_base(parsed.feed.link, base_url)
        for link in parsed.feed.links:
            assert under_base(link.href, base_url), (where, link.href)
        for entry in parsed.entries:
            assert entry.id and entry.title and entry.summary, (where, entry)
            assert entry.published_parsed and entry.updated_parsed
            assert under_base(entry.id, base_url) and under_base(entry.link, base_url)
            assert entry.link.startswith(base_url + "papers/")
            for url in _ATTR_URL.findall(entry.summary):
                assert urlsplit(url).scheme in ("http", "https"), (where, url)
            checked += 1
        dates = [e.published_parsed for e in parsed.entries]
        assert dates == sorted(dates, reverse=True), f"{where} is not newest first"
        assert len(set(dates)) == len(dates), f"{where}: readers would have to guess the order"
    assert checked > FEED_LIMIT * 2


def test_atom_feeds_have_the_rfc_4287_required_elements(built: tuple[Path, str]) -> None:
    site, base_url = built
    for prefix in channels(site):
        feed = ET.parse(site / prefix / "feed.xml").getroot()
        assert feed.tag == f"{ATOM_NS}feed"
        assert feed.findtext(f"{ATOM_NS}id")
        assert feed.findtext(f"{ATOM_NS}title")
        assert feed.findtext(f"{ATOM_NS}author/{ATOM_NS}name")
        self_links = [
            link.get("href") for link in feed.findall(f"{ATOM_NS}link") if link.get("rel") == "self"
        ]
        assert self_links == [base_url + prefix + "feed.xml"]
        entries = feed.findall(f"{ATOM_NS}entry")
        updated = [e.findtext(f"{ATOM_NS}updated") or "" for e in entries]
        # The feed changes only when its newest entry does: never the build time.
        assert feed.findtext(f"{ATOM_NS}updated") == max(updated)
        for entry in entries:
            assert entry.findtext(f"{ATOM_NS}id") and entry.findtext(f"{ATOM_NS}title")
            assert entry.findtext(f"{ATOM_NS}updated")
            links = entry.findall(f"{ATOM_NS}link")
            assert [link.get("rel", "alternate") for link in links] == ["alternate"]
            assert links[0].get("href") == entry.findtext(f"{ATOM_NS}id")
            categories = entry.findall(f"{ATOM_NS}category")
            assert categories and all(c.get("term") and c.get("label") for c in categories)
            if prefix:
                slug = prefix.split("/")[1]
                assert slug in {c.get("term") for c in categories}


def test_rss_guids_are_permalinks_only_when_they_are_urls(built: tuple[Path, str]) -> None:
    site, base_url = built
    for prefix in channels(site):
        channel = ET.parse(site / prefix / "rss.xml").getroot().find("channel")
        assert channel is not None
        self_link = channel.find(f"{ATOM_NS}link[@rel='self']")
        assert self_link is not None and self_link.get("href") == base_url + prefix + "rss.xml"
        assert channel.findtext("link") == base_url + prefix
        for item in channel.findall("item"):
            guid = item.find("guid")
            assert guid is not None and guid.text
            is_url = guid.text.startswith(("http://", "https://"))
            assert guid.get("isPermaLink") == ("true" if is_url else "false")
            assert item.findtext("link") == guid.text
            assert item.findall("category")


def test_json_feeds_carry_the_json_feed_1_1_fields(built: tuple[Path, str]) -> None:
    site, base_url = built
    for prefix in channels(site):
        document = json.loads((site / prefix / "feed.json").read_text(encoding="utf-8"))
        assert document["version"] == "https://jsonfeed.org/version/1.1"
        assert document["title"]
        assert document["home_page_url"] == base_url + prefix
        assert document["feed_url"] == base_url + prefix + "feed.json"
        items = document["items"]
        assert len(items) == expected_count(site, prefix)
        atom = feedparser.parse((site / prefix / "feed.xml").read_bytes())
        assert [i["id"] for i in items] == [e.id for e in atom.entries]
        for item in items:
            assert isinstance(item["id"], str) and under_base(item["id"], base_url)
            assert under_base(item["url"], base_url)
            assert item["content_html"] and item["title"]
            assert datetime.fromisoformat(item["date_published"]).utcoffset() is not None
        assert document["items"] == sorted(
            items, key=lambda i: str(i["date_published"]), reverse=True
        )


def test_all_three_formats_give_the_same_entries(seed_site: Path) -> None:
    for prefix in channels(seed_site):
        atom = feedparser.parse((seed_site / prefix / "feed.xml").read_bytes())
        rss = feedparser.parse((seed_site / prefix / "rss.xml").read_bytes())
        assert [e.id for e in atom.entries] == [e.id for e in rss.entries]
        assert [e.title for e in atom.entries] == [e.title for e in rss.entries]
        assert [e.published_parsed for e in atom.entries] == [
            e.published_parsed for e in rss.entries
        ]


def test_site_feed_order_is_the_seed_order(seed_site: Path) -> None:
    """One day: the feed's rank decides, so the first entries are the seed's first papers."""
    atom = feedparser.parse((seed_site / "feed.xml").read_bytes())
    titles = [e.title for e in atom.entries]
    assert titles[0] == "PUMA: Secure Inference of LLaMA-7B in Five Minutes"
    assert titles[1].startswith("Phi-4-Mini Technical Report")
    assert titles[2].startswith("Dynamics of Instruction Tuning")
    # Dated the day they were listed (UTC), never the build day.
    assert {e.published[:10] for e in atom.entries} == {"2025-03-11"}
    assert atom.feed.updated == "2025-03-11T00:59:59+00:00"


def test_titles_are_plain_text_with_latex_turned_into_unicode(seed_site: Path) -> None:
    atom = feedparser.parse((seed_site / "feed.xml").read_bytes())
    everything = [e.title for e in atom.entries]
    for prefix in channels(seed_site)[1:]:
        everything += [e.title for e in feedparser.parse(seed_site / prefix / "feed.xml").entries]
    assert not [t for t in everything if "\\" in t or "$" in t or "<" in t]
    assert any(t.startswith("Refiner: Restructure Retrieval Content") for t in everything)


def test_abstracts_are_escaped_html_with_absolute_links(seed_site: Path) -> None:
    raw = (seed_site / "feed.xml").read_text(encoding="utf-8")
    assert "&lt;p&gt;" in raw, "the summary is HTML, escaped inside the XML"
    linked = []
    for prefix in channels(seed_site):
        for entry in feedparser.parse((seed_site / prefix / "feed.xml").read_bytes()).entries:
            linked += _ATTR_URL.findall(entry.summary)
            assert "\\url" not in entry.summary and "\\%" not in entry.summary
    assert linked, "the seed's \\url{...} abstracts become links"
    assert all(url.startswith("https://") for url in linked)


def test_every_page_advertises_feeds_and_tag_pages_their_own_first(seed_site: Path) -> None:
    alternate = re.compile(r'<link rel="alternate" type="([^"]+)" title="[^"]*" href="([^"]+)">')
    for page in seed_site.rglob("*.html"):
        found = alternate.findall(page.read_text(encoding="utf-8"))
        assert (
            "application/atom+xml",
            ROOT_BASE_URL + "feed.xml",
        ) in found, page
    for prefix in channels(seed_site)[1:]:
        found = alternate.findall((seed_site / prefix / "index.html").read_text(encoding="utf-8"))
        assert [url for _, url in found[:3]] == [
            ROOT_BASE_URL + prefix + name for name in ("feed.xml", "rss.xml", "feed.json")
        ]
        assert [mime for mime, _ in found[:3]] == [
            "application/atom+xml",
            "application/rss+xml",
            "application/feed+json",
        ]


def test_the_feeds_page_lists_every_feed(built: tuple[Path, str]) -> None:
    site, base_url = built
    page = (site / "feeds" / "index.html").read_text(encoding="utf-8")
    hrefs = set(_ATTR_URL.findall(page))
    for prefix in channels(site):
        for name in ("feed.xml", "rss.xml", "feed.json"):
            url = base_url + prefix + name
            assert url in hrefs and f"<code>{url}</code>" in page, url
    assert base_url + "feeds.opml" in hrefs
    home = (site / "index.html").read_text(encoding="utf-8")
    assert f'href="{urlsplit(base_url).path}feeds/"' in home, "the site nav links the feeds page"


def test_opml_lists_every_feed_and_parses(built: tuple[Path, str]) -> None:
    site, base_url = built
    root = ET.parse(site / "feeds.opml").getroot()
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title")
    assert root.findtext("head/dateModified") == "Tue, 11 Mar 2025 00:59:59 GMT"
    outlines = [o for o in root.iter("outline") if o.get("xmlUrl")]
    urls = [o.get("xmlUrl") or "" for o in outlines]
    # One outline per feed: an importing reader subscribes to each, once.
    assert urls == [base_url + prefix + "feed.xml" for prefix in channels(site)]
    for outline, prefix in zip(outlines, channels(site), strict=True):
        assert outline.get("type") == "rss" and outline.get("text")
        assert outline.get("htmlUrl") == base_url + prefix
        assert (site / prefix / "feed.xml").is_file()


def test_feed_limit_and_rank_order(make_project: Make) -> None:
    root = make_project(
        {
            "sitegen.toml": 'title = "T"\nbase_url = "https://example.org/x/"\nfeed_limit = 3\n',
            "seeds/2025-03-11.txt": _trending("Mar 11", ["Alpha paper", "Beta paper"]),
            "seeds/2025-03-12.txt": _trending("Mar 12", ["Gamma paper", "Delta paper"]),
        }
    )
    config, _ = build_project(root)
    parsed = feedparser.parse((config.output_dir / "feed.xml").read_bytes())
    assert parsed.bozo == 0
    assert [e.title for e in parsed.entries] == ["Gamma paper", "Delta paper", "Alpha paper"]
    document = json.loads((config.output_dir / "feed.json").read_bytes())
    assert [i["title"] for i in document["items"]] == ["Gamma paper", "Delta paper", "Alpha paper"]
    assert parsed.feed.updated == "2025-03-12T00:59:59+00:00"


def test_control_characters_and_cdata_ends_never_break_a_feed(make_project: Make) -> None:
    """Every C0 control (JSON can carry NUL) in titles, abstracts and names, and `]]>`."""
    controls = "".join(chr(c) for c in range(0x20))
    record = {
        "id": "2503.00001",
        "authors": [{"name": f"Ann{controls}Lee"}, {"name": "\x00\x01"}],
        "publishedAt": "2025-03-11T10:00:00.000Z",
        "submittedOnDailyAt": "2025-03-11T10:00:00.000Z",
        "title": f"Nasty{controls} title ]]> with <b>tags</b> & more\x7f\ufffe",
        "summary": f"Start{controls} middle ]]> and <script>alert(1)</script> & see "
        "\\url{https://example.com/x}. End\x00.",
    }
    text_controls = "".join(
        chr(c) for c in range(1, 0x20) if chr(c) not in "\n\r\x0b\x0c\x1c\x1d\x1e"
    )
    root = make_project(
        {
            "sitegen.toml": 'base_url = "https://example.org/"\n',
            "seeds/2025-03-11.json": json.dumps([record]),
            "seeds/2025-03-12.txt": _trending("Mar 12", [f"Text{text_controls} feed ]]> title"]),
        }
    )
    config, _ = build_project(root)
    for name in ("feed.xml", "rss.xml"):
        data = (config.output_dir / name).read_bytes()
        assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", data), name
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert [e.title for e in parsed.entries] == [
            "Text feed ]]> title",
            "Nasty title ]]> with <b>tags</b> & more",
        ]
        nasty = parsed.entries[1]
        assert "]]&gt;" in nasty.summary and "Start middle" in nasty.summary
        assert "<script>" not in nasty.summary and "&lt;script&gt;" in nasty.summary
        assert 'href="https://example.com/x"' in nasty.summary
    atom = feedparser.parse((config.output_dir / "feed.xml").read_bytes())
    assert [a.name for a in atom.entries[1].authors] == ["Ann Lee"]
    document = json.loads((config.output_dir / "feed.json").read_bytes())
    for item in document["items"]:
        dumped = json.dumps(item, ensure_ascii=False)
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", json.loads(dumped)["title"])
        assert not re.search("[\x00-\x1f]", item["content_html"].replace("\n", ""))
        assert "<script>" not in item["content_html"]


def test_entry_time_keeps_the_day_and_the_rank_order() -> None:
    day = datetime(2025, 3, 11, tzinfo=timezone.utc).date()
    first, second, far = entry_time(day, 0), entry_time(day, 1), entry_time(day, 100_000)
    assert first > second >= far
    assert {first.date(), second.date(), far.date()} == {day}
    assert first.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ('<a href="/x/y">', '<a href="https://ex.org/x/y">'),
        ('<a href="y/">', '<a href="https://ex.org/repo/papers/p/y/">'),
        ('<a href="#frag">', '<a href="https://ex.org/repo/papers/p/#frag">'),
        ('<a href="//cdn.example/x">', '<a href="https://cdn.example/x">'),
        ('<a href="https://a.b/c?d=1&amp;e=2">', '<a href="https://a.b/c?d=1&amp;e=2">'),
        ('<img src="../f.png" alt="">', '<img src="https://ex.org/repo/papers/f.png" alt="">'),
        ('<a href="mailto:a@b.c">', '<a href="mailto:a@b.c">'),
    ],
)
def test_absolute_html(fragment: str, expected: str) -> None:
    assert absolute_html(fragment, "https://ex.org/repo/papers/p/") == expected


def test_xml_text_removes_only_what_xml_refuses() -> None:
    assert xml_text("a\x00b\x1fc\td\ne\rf\ufffeg\U0001f600") == "abc\td\ne\rfg\U0001f600"


def _trending(day_line: str, titles: list[str]) -> str:
    parts = [day_line, ""]
    for title in titles:
        abstract = f"The abstract of {title.lower()}, long enough to read as one in the feed."
        parts += [title, "", abstract, ""]
    return "\n".join(parts)


def test_two_builds_give_byte_identical_feeds_dated_only_from_the_data(
    seed_site: Path, tmp_path: Path
) -> None:
    config, _ = build_project(seed_project(tmp_path / "again"))
    names = ["feeds.opml"] + [
        prefix + name
        for prefix in channels(seed_site)
        for name in ("feed.xml", "rss.xml", "feed.json")
    ]
    for name in names:
        assert (config.output_dir / name).read_bytes() == (seed_site / name).read_bytes(), name
    dated = re.compile(
        r"<(updated|published|pubDate|lastBuildDate)>([^<]*)<|\"date_\w+\": \"([^\"]*)\""
    )
    stamps = set()
    for name in names:
        for match in dated.finditer((seed_site / name).read_text(encoding="utf-8")):
            stamps.add(match.group(2) or match.group(3))
    # feedgen stamps the build time wherever a date is left unset: every date must be 11 March.
    assert stamps and all(s.startswith(("2025-03-11T00:", "Tue, 11 Mar 2025 00:")) for s in stamps)
