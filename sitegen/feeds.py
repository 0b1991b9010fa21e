"""Feeds: Atom and RSS through feedgen, JSON Feed 1.1 through json, site-wide and per tag.

Entry ids are the papers' absolute URLs. A paper's slug is written into `content/` once and
never recomputed, so its URL (and id) survives rebuilds, re-imports, edits and every config
change except `base_url`, which the feed spec allows to move ids. A URL id also lets RSS mark
its `guid` as a permalink and lets readers that ignore ids still de-duplicate by link.
"""

from __future__ import annotations

import html
import json
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from sitegen import cache, markup, opml, reuse, urls
from sitegen.config import Config
from sitegen.models import OutputFile
from sitegen.views import PaperView, SiteViews

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

ATOM, RSS, JSON = "feed.xml", "rss.xml", "feed.json"
# Characters XML 1.0 refuses (C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF); lxml raises
# on them, so scraped text is cleaned here whatever the earlier stages let through.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINK_ATTR = re.compile(r'\b(href|src)="([^"]*)"')
# Feed days have no time of day. Each paper is placed this many seconds minus its position in
# its day's feed after midnight UTC, so a reader sorting by date keeps the feed's order, and no
# entry is dated on the day before or far into the day (readers hide "future" items).
_DAY_SPREAD = 3600
_SLUG = operator.attrgetter("slug")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def xml_text(text: str) -> str:
    """Remove the characters an XML document may not contain."""
    return _XML_ILLEGAL.sub("", text)


def entry_time(day: date, position: int) -> datetime:
    """A paper's publication time: its first day, later the higher it ranked (0 = top)."""
    offset = max(_DAY_SPREAD - 1 - position, 0)
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc) + timedelta(seconds=offset)


def absolute_html(fragment: str, page_url: str) -> str:
    """Feed readers resolve relative links against the wrong base: make every link absolute.

    Relative links in an abstract were written for the paper's page, so they resolve against it.
    """

    def fix(match: re.Match[str]) -> str:
        value = html.unescape(match.group(2))
        if not urlsplit(value).scheme:
            value = urljoin(page_url, value)
        return f'{match.group(1)}="{html.escape(value, quote=True)}"'

    return _LINK_ATTR.sub(fix, fragment)


@dataclass(frozen=True)
class Entry:
    """One paper as every feed format shows it: plain title, absolute links, UTC times."""

    id: str
    url: str
    title: str
    content_html: str
    summary: str
    published: datetime
    updated: datetime
    categories: tuple[tuple[str, str], ...]  # (tag slug, label)
    authors: tuple[str, ...]

    @property
    def permalink(self) -> bool:
        return self.id.startswith(("https://", "http://"))


@reuse.key_by_digest
@dataclass(frozen=True)
class Channel:
    """One feed, served in three formats: the whole site or one tag."""

    slug: str  # "" for the whole site, else the tag slug
    label: str  # the site's title or the tag's label
    title: str
    description: str
    page_url: str  # the HTML page the feed follows, base-path absolute
    home_url: str  # the same, absolute
    atom_url: str
    rss_url: str
    json_url: str
    total: int  # papers in the channel, before the limit
    # The papers of its entries, newest first, at most `feed_limit`, each with its place in its
    # first day's feed; and what makes a paper's entry. The entries are made when first read:
    # a rebuild reads those of the few feeds that changed, and each entry costs the details
    # of its paper's view (views.py).
    listed: tuple[tuple[PaperView, int], ...] = field(repr=False, compare=False)
    make_entry: Callable[[PaperView, int], Entry] = field(repr=False, compare=False)
    # Of all the fields above, set by `channels` from the papers' view digests: it stands for
    # the channel in the keys of its feeds and of the feeds page.
    digest: str = field(default="", repr=False)

    @cached_property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self.make_entry(view, position) for view, position in self.listed)

    @property
    def prefix(self) -> str:
        return "" if not self.slug else urls.tag_feed_path(self.slug, "")

    @property
    def updated(self) -> datetime:
        """The newest entry's date: a feed that did not change keeps its date."""
        return max(
            (entry_time(view.first_day.day, position) for view, position in self.listed),
            default=EPOCH,
        )


def _positions(views: SiteViews) -> dict[tuple[date, str], int]:
    """Each paper's 0-based position in the feed of each day it was listed."""
    return {
        (day.day.day, paper.slug): index
        for day in views.days
        for index, paper in enumerate(day.papers)
    }


def _entry(view: PaperView, position: int, tag_slugs: dict[str, str]) -> Entry:
    when = entry_time(view.first_day.day, position)
    return Entry(
        id=view.absolute_url,
        url=view.absolute_url,
        title=xml_text(view.title),
        content_html=xml_text(absolute_html(str(view.abstract_html), view.absolute_url)),
        summary=xml_text(view.summary),
        # The data holds no edit dates: a paper listed again on a later day is not changed,
        # and readers must not show it as updated.
        published=when,
        updated=when,
        categories=tuple((tag_slugs.get(t.url, t.label), xml_text(t.label)) for t in view.tags),
        authors=tuple(a for a in (xml_text(a).strip() for a in view.authors) if a),
    )


def channels(
    views: SiteViews, config: Config, url_map: urls.UrlMap, digests: Mapping[str, str]
) -> tuple[Channel, ...]:
    """The site feed, then one feed per tag (by slug), entries newest first; `digests` are
    the papers' `views.view_digests`, which decide their entries."""
    positions = _positions(views)
    tag_slugs = {t.url: t.slug for t in views.tags}
    made: dict[str, Entry] = {}

    def make_entry(view: PaperView, position: int) -> Entry:
        # A paper is in the site's feed and its tags' feeds: made once.
        entry = made.get(view.slug)
        if entry is None:
            entry = made[view.slug] = _entry(view, position, tag_slugs)
        return entry

    # Newest day first, then rank in that day's feed, then slug: a total order that a rebuild
    # cannot shuffle. Ranked once for the site: a tag's feed then sorts its papers' places.
    ranked = sorted(
        views.papers,
        key=lambda p: (
            -p.first_day.day.toordinal(),
            positions.get((p.first_day.day, p.slug), _DAY_SPREAD),
            p.slug,
        ),
    )
    place = {view.slug: index for index, view in enumerate(ranked)}

    def listed(papers: Sequence[PaperView]) -> tuple[tuple[PaperView, int], ...]:
        result = []
        for index in sorted(map(place.__getitem__, map(_SLUG, papers)))[: config.feed_limit]:
            view = ranked[index]
            result.append((view, positions.get((view.first_day.day, view.slug), _DAY_SPREAD)))
        return tuple(result)

    site_title = markup.to_plain(config.title)
    found = [
        Channel(
            slug="",
            label=xml_text(site_title),
            title=xml_text(site_title),
            description=xml_text(markup.to_plain(config.description) or site_title),
            page_url=url_map.url(urls.home_path()),
            home_url=url_map.absolute(urls.home_path()),
            atom_url=url_map.absolute(ATOM),
            rss_url=url_map.absolute(RSS),
            json_url=url_map.absolute(JSON),
            total=len(views.papers),
            listed=listed(views.papers),
            make_entry=make_entry,
        )
    ]
    for tag in views.tags:
        found.append(
            Channel(
                slug=tag.slug,
                label=xml_text(markup.to_plain(tag.label)),
                title=xml_text(f"{site_title}: {markup.to_plain(tag.label)}"),
                description=xml_text(
                    markup.to_plain(tag.description) or f"Papers tagged {tag.label}."
                ),
                page_url=url_map.url(urls.tag_path(tag.slug)),
                home_url=url_map.absolute(urls.tag_path(tag.slug)),
                atom_url=url_map.absolute(urls.tag_feed_path(tag.slug, ATOM)),
                rss_url=url_map.absolute(urls.tag_feed_path(tag.slug, RSS)),
                json_url=url_map.absolute(urls.tag_feed_path(tag.slug, JSON)),
                total=len(tag.papers),
                listed=listed(tag.papers),
                make_entry=make_entry,
            )
        )
    # An entry is decided by its paper's view and its place in the day's feed; the view by
    # the inputs its digest is made from, and the same code (value_key, in render_feeds).
    return tuple(
        replace(
            c,
            digest=_digest(
                (
                    [getattr(c, name) for name in _CHANNEL_OWN_FIELDS],
                    [(digests[view.slug], position) for view, position in c.listed],
                )
            ),
        )
        for c in found
    )


# What a channel holds of its own, besides its papers.
_CHANNEL_OWN_FIELDS = tuple(
    f.name for f in fields(Channel) if f.name not in ("listed", "make_entry", "digest")
)


def _digest(value: object) -> str:
    return cache.bytes_hash(cache.pickled(value)).hex()


def _generator(channel: Channel, config: Config, self_url: str, tags_url: str) -> FeedGenerator:
    # Imported here: a rebuild that changes no feed never needs it (15 ms to import).
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id(channel.home_url)
    fg.title(channel.title)
    fg.subtitle(channel.description)
    fg.author({"name": xml_text(config.author).strip() or channel.title})
    fg.language(config.language)
    fg.generator("sitegen")
    # feedgen's RSS <link> is the last link added: self first, the home page last.
    fg.link(href=self_url, rel="self")
    fg.link(href=channel.home_url, rel="alternate")
    # feedgen stamps the feed and every entry with the current time unless told otherwise.
    fg.updated(channel.updated)
    fg.lastBuildDate(channel.updated)
    fg.pubDate(channel.updated)
    for item in channel.entries:
        entry = fg.add_entry(order="append")
        entry.id(item.id)
        entry.guid(item.id, permalink=item.permalink)
        entry.title(item.title)
        # One link only: feedgen drops rel/type on entry links, and a bare link is "alternate".
        entry.link(href=item.url)
        entry.published(item.published)
        entry.updated(item.updated)
        entry.summary(item.content_html, type="html")
        for slug, label in item.categories:
            entry.category(term=slug, label=label, scheme=tags_url)
        for name in item.authors:
            entry.author({"name": name})
    return fg


def atom_feed(channel: Channel, config: Config, tags_url: str) -> bytes:
    data: bytes = _generator(channel, config, channel.atom_url, tags_url).atom_str(pretty=True)
    return data


def rss_feed(channel: Channel, config: Config, tags_url: str) -> bytes:
    data: bytes = _generator(channel, config, channel.rss_url, tags_url).rss_str(pretty=True)
    return data


def json_feed(channel: Channel, config: Config) -> bytes:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""
    items = []
    for entry in channel.entries:
        item: dict[str, object] = {
            "id": entry.id,
            "url": entry.url,
            "title": entry.title,
            "content_html": entry.content_html,
            "summary": entry.summary,
            "date_published": entry.published.isoformat(),
            "date_modified": entry.updated.isoformat(),
            "tags": [label for _, label in entry.categories],
        }
        if entry.authors:
            item["authors"] = [{"name": name} for name in entry.authors]
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": channel.title,
        "home_page_url": channel.home_url,
        "feed_url": channel.json_url,
        "description": channel.description,
        "language": config.language,
        "authors": [{"name": xml_text(config.author).strip() or channel.title}],
        "items": items,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def render_feeds(
    found: Sequence[Channel],
    config: Config,
    url_map: urls.UrlMap,
    ledger: reuse.Ledger | None = None,
) -> Iterator[OutputFile]:
    """`feed.xml`, `rss.xml`, `feed.json` for the site and under every `tags/<tag>/`, and OPML.

    With a `ledger`, a feed made from the same channel as the one the last build published is
    carried over, as pages are: after a one-paper edit only the few feeds that list it change.
    """
    tags_url = url_map.absolute(urls.tags_index_path())
    for channel in found:
        # Everything a channel's feeds are made from (the author and language come from the
        # config), hashed once for its three formats; its digest stands for its fifty abstracts.
        inputs = (channel.digest or channel, config.author, config.language, tags_url)
        made_from = reuse.value_key("feed", inputs) if ledger is not None else b""
        for name in (ATOM, RSS, JSON):
            path = channel.prefix + name
            if ledger is None:
                yield OutputFile(path, _feed(name, channel, config, tags_url))
                continue
            key = reuse.value_key("feed format", (name, made_from))
            reused = ledger.reused(path, key)
            yield reused or OutputFile(path, _feed(name, channel, config, tags_url), key)
    yield opml.render_opml(found, xml_text(config.author), config.language)


def _feed(name: str, channel: Channel, config: Config, tags_url: str) -> bytes:
    if name == ATOM:
        return atom_feed(channel, config, tags_url)
    if name == RSS:
        return rss_feed(channel, config, tags_url)
    return json_feed(channel, config)
