"""Check a built site: links and assets resolve under the base path, feeds, sitemap, orphans."""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit
from xml.etree import ElementTree

import feedparser

from sitegen.write import MARKER

NOT_FOUND_PAGE = "404.html"
SITEMAP = "sitemap.xml"
# The feeds sitegen writes, site-wide and per tag; other XML (a theme's static file) is not one.
XML_FEED_NAMES = frozenset({"feed.xml", "rss.xml"})
JSON_FEED_NAME = "feed.json"
# Attributes whose value is one URL; `srcset` is a list and handled apart.
_URL_ATTRS = frozenset({"href", "src", "poster", "data", "action", "formaction", "cite"})
# <meta> whose content is a URL (Open Graph, Twitter cards).
_URL_METAS = frozenset({"og:url", "og:image", "og:audio", "og:video", "twitter:image"})
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
# Continuation pages of a paginated list (`page/2/`) may stay out of the sitemap: crawlers reach
# them through the list's own links, and Hugo leaves them out too.
_PAGINATION = re.compile(r"(?:^|/)page/[0-9]+/index\.html$")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the site, on the page (output-relative path) where it is."""

    page: str
    message: str

    def __str__(self) -> str:
        return f"{self.page}: {self.message}"


@dataclass
class _Html:
    links: list[tuple[str, str]] = field(default_factory=list)  # (what, url)
    ids: set[str] = field(default_factory=set)
    noindex: bool = False
    base: str | None = None  # <base href>, against which the page's links resolve


class _LinkParser(HTMLParser):
    """Collects every URL an HTML page points at, and the ids a fragment may target."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = _Html()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        for name in ("id", "name") if tag == "a" else ("id",):
            if values.get(name):
                self.page.ids.add(values[name])
        if tag == "base" and "href" in values and self.page.base is None:
            self.page.base = values["href"]
        if tag == "meta":
            key = values.get("property") or values.get("name") or ""
            if key.lower() in _URL_METAS and values.get("content"):
                self.page.links.append((key, values["content"]))
            if key.lower() == "robots" and "noindex" in values.get("content", "").lower():
                self.page.noindex = True
            return
        for name, value in values.items():
            if name in _URL_ATTRS:
                self.page.links.append((f"<{tag} {name}>", value))
            elif name in ("srcset", "imagesrcset"):
                for candidate in value.split(","):
                    if candidate.strip():
                        self.page.links.append((f"<{tag} {name}>", candidate.split()[0]))


@dataclass
class _Site:
    root: Path
    base_url: str
    files: set[str]
    html: dict[str, _Html] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        self.scheme, self.netloc, self.base_path = parts.scheme, parts.netloc, parts.path

    def url_of(self, rel: str) -> str:
        """The absolute URL a file is served at (pretty URLs for `index.html`)."""
        tail = (
            rel[: -len("index.html")] if rel == "index.html" or rel.endswith("/index.html") else rel
        )
        return f"{self.scheme}://{self.netloc}{self.base_path}{quote(tail)}"

    def report(self, page: str, message: str) -> None:
        self.problems.append(Problem(page, message))

    def resolve(self, page: str, raw: str, base: str | None = None) -> tuple[str, str] | None:
        """The output file and fragment an internal URL points at; None for external URLs.

        Reports links that leave the base path or point at nothing.
        """
        url = raw.strip()
        if not url:
            self.report(page, "empty link")
            return None
        absolute = urljoin(base or self.url_of(page), url)
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != self.netloc.lower():
            return None
        if parts.scheme != self.scheme:
            self.report(page, f"link {url!r} uses {parts.scheme}: but the site is {self.scheme}:")
        path = parts.path or "/"
        if not path.startswith(self.base_path):
            self.report(page, f"link {url!r} leaves the base path {self.base_path}")
            return None
        rel = unquote(path[len(self.base_path) :])
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        elif rel not in self.files and f"{rel}/index.html" in self.files:
            rel += "/index.html"  # GitHub Pages redirects a folder URL to its slash form
        if rel not in self.files or any(p in ("", ".", "..") for p in rel.split("/")):
            self.report(page, f"broken link {url!r}: no file {rel}")
            return None
        return rel, unquote(parts.fragment)


def _read_html(site: _Site, rel: str) -> None:
    parser = _LinkParser()
    parser.feed((site.root / rel).read_text(encoding="utf-8", errors="replace"))
    parser.close()
    site.html[rel] = parser.page


def _check_html_links(site: _Site) -> dict[str, set[str]]:
    """Check every link of every page; returns the page-to-page link graph."""
    graph: dict[str, set[str]] = {}
    for rel, page in sorted(site.html.items()):
        targets: set[str] = set()
        base = urljoin(site.url_of(rel), page.base) if page.base else None
        for _what, url in page.links:
            found = site.resolve(rel, url, base)
            if found is None:
                continue
            target, fragment = found
            if target.endswith(".html"):
                targets.add(target)
                if fragment and fragment not in site.html[target].ids:
                    site.report(rel, f"link {url!r}: no id {fragment!r} on {target}")
        graph[rel] = targets
    return graph


def _check_css(site: _Site) -> None:
    for rel in sorted(f for f in site.files if f.endswith(".css")):
        text = (site.root / rel).read_text(encoding="utf-8", errors="replace")
        for match in _CSS_URL.finditer(text):
            url = match.group(2) or match.group(4)
            if not url.startswith("data:"):
                site.resolve(rel, url)


def _check_orphans(site: _Site, graph: dict[str, set[str]]) -> None:
    home = "index.html"
    if home not in site.files:
        site.report(home, "missing: the site has no home page")
        return
    seen, queue = {home}, deque([home])
    while queue:
        for target in sorted(graph.get(queue.popleft(), ())):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    for rel in sorted(site.html):
        if rel not in seen and rel != NOT_FOUND_PAGE:
            site.report(rel, "orphaned: no chain of links reaches it from the home page")


def _self_link(site: _Site, rel: str, href: str | None) -> None:
    expected = site.url_of(rel)
    if not href:
        site.report(rel, f"feed has no self link (expected {expected})")
    elif href != expected:
        site.report(rel, f"feed self link {href!r} is not its location {expected!r}")


def _check_xml_feed(site: _Site, rel: str) -> None:
    parsed = feedparser.parse((site.root / rel).read_bytes())
    if parsed.get("bozo"):
        site.report(rel, f"invalid feed: {parsed.get('bozo_exception')}")
        return
    if not parsed.get("version"):
        site.report(rel, "not an Atom or RSS feed")
        return
    links = parsed.feed.get("links", [])
    _self_link(site, rel, next((lk.get("href") for lk in links if lk.get("rel") == "self"), None))
    for entry in parsed.entries:
        if entry.get("link"):
            site.resolve(rel, entry["link"])


def _check_json_feed(site: _Site, rel: str) -> None:
    try:
        feed = json.loads((site.root / rel).read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        site.report(rel, f"invalid JSON Feed: {exc}")
        return
    if not isinstance(feed, dict) or not str(feed.get("version", "")).startswith(
        "https://jsonfeed.org/version/1"
    ):
        site.report(rel, "invalid JSON Feed: no https://jsonfeed.org/version/1.x version")
        return
    if not isinstance(feed.get("title"), str) or not isinstance(feed.get("items"), list):
        site.report(rel, "invalid JSON Feed: `title` must be a string and `items` a list")
        return
    _self_link(site, rel, feed.get("feed_url"))
    for n, item in enumerate(feed["items"], 1):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            site.report(rel, f"invalid JSON Feed: item {n} has no string `id`")
        elif isinstance(item.get("url"), str):
            site.resolve(rel, item["url"])


def _check_feeds(site: _Site) -> None:
    for rel in sorted(site.files):
        name = rel.rsplit("/", 1)[-1]
        if name == JSON_FEED_NAME:
            _check_json_feed(site, rel)
        elif name in XML_FEED_NAMES:
            _check_xml_feed(site, rel)


def _check_sitemap(site: _Site) -> None:
    if SITEMAP not in site.files:
        site.report(SITEMAP, "missing")
        return
    try:
        tree = ElementTree.parse(site.root / SITEMAP)
    except ElementTree.ParseError as exc:
        site.report(SITEMAP, f"invalid XML: {exc}")
        return
    listed: set[str] = set()
    for loc in tree.getroot().iter(f"{_SITEMAP_NS}loc"):
        url = (loc.text or "").strip()
        if not url.startswith(f"{site.scheme}://{site.netloc}{site.base_path}"):
            site.report(SITEMAP, f"{url!r} is not an absolute URL under {site.base_url}")
            continue
        found = site.resolve(SITEMAP, url)
        if found is not None:
            listed.add(found[0])
    for rel in sorted(site.html):
        exempt = rel == NOT_FOUND_PAGE or site.html[rel].noindex or _PAGINATION.search(rel)
        if rel not in listed and not exempt:
            site.report(rel, f"not listed in {SITEMAP}")
    if "robots.txt" in site.files:
        robots = (site.root / "robots.txt").read_text(encoding="utf-8", errors="replace")
        for line in robots.splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "sitemap":
                site.resolve("robots.txt", value.strip())


def _output_files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name != MARKER and not p.name.startswith(".sitegen-")
    }


def check_site(root: Path, base_url: str) -> list[Problem]:
    """Every problem in the built site at `root`, made for `base_url`, sorted by page."""
    site = _Site(root, base_url, _output_files(root))
    for rel in sorted(site.files):
        if rel.endswith(".html"):
            _read_html(site, rel)
    graph = _check_html_links(site)
    _check_css(site)
    _check_orphans(site, graph)
    _check_feeds(site)
    _check_sitemap(site)
    return sorted(set(site.problems))
