"""Feeds: Atom and RSS through feedgen, JSON Feed 1.1 through json, site-wide and per tag."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta, timezone

from feedgen.feed import FeedGenerator

from sitegen import markup, urls
from sitegen.config import Config
from sitegen.models import OutputFile
from sitegen.views import PaperView, SiteViews

_RELATIVE_HREF = re.compile(r'(href|src)="/')


def entry_time(view: PaperView, index_in_day: int) -> datetime:
    """A paper's published time: its first day at midnight UTC, minus its rank in seconds.

    Feed days have no time of day; spacing papers of one day by a second keeps the order that
    readers sort by (newest first) equal to the feed's own order.
    """
    day: date = view.first_day.day
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc) - timedelta(seconds=index_in_day)


def _dated(papers: Sequence[PaperView]) -> list[tuple[PaperView, datetime]]:
    result = []
    previous: date | None = None
    position = 0
    for view in papers:
        position = position + 1 if view.first_day.day == previous else 0
        previous = view.first_day.day
        result.append((view, entry_time(view, position)))
    return result


def absolute_html(html: str, origin: str) -> str:
    """Feed readers resolve relative links against the wrong base: make every link absolute."""
    return _RELATIVE_HREF.sub(lambda m: f'{m.group(1)}="{origin}/', html)


def _generator(
    config: Config, title: str, subtitle: str, home: str, self_url: str, updated: datetime
) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(home)
    fg.title(title)
    fg.subtitle(subtitle or title)
    fg.author({"name": config.author})
    fg.language(config.language)
    fg.generator("sitegen")
    # feedgen's RSS <link> is the last link added: self first, the home page last.
    fg.link(href=self_url, rel="self")
    fg.link(href=home, rel="alternate")
    fg.updated(updated)
    fg.lastBuildDate(updated)
    return fg


def _xml_feeds(
    config: Config,
    papers: Sequence[PaperView],
    title: str,
    subtitle: str,
    home: str,
    atom_url: str,
    rss_url: str,
    origin: str,
) -> tuple[bytes, bytes]:
    dated = _dated(papers)
    # An empty feed still needs a stable date: the epoch, never the build time.
    newest = dated[0][1] if dated else datetime(1970, 1, 1, tzinfo=timezone.utc)
    outputs = []
    for self_url in (atom_url, rss_url):
        fg = _generator(config, title, subtitle, home, self_url, newest)
        for view, when in dated:
            entry = fg.add_entry(order="append")
            entry.id(view.absolute_url)
            entry.guid(view.absolute_url, permalink=True)
            entry.title(view.title)
            entry.link(href=view.absolute_url)
            entry.published(when)
            entry.updated(when)
            entry.summary(absolute_html(str(view.abstract_html), origin), type="html")
            for tag in view.tags:
                entry.category(term=tag.label, label=tag.label)
            for author in view.authors:
                entry.author({"name": author})
        outputs.append(
            fg.atom_str(pretty=True) if self_url == atom_url else fg.rss_str(pretty=True)
        )
    return outputs[0], outputs[1]


def json_feed(
    config: Config,
    papers: Sequence[PaperView],
    title: str,
    home: str,
    feed_url: str,
    origin: str,
) -> bytes:
    items = []
    for view, when in _dated(papers):
        item: dict[str, object] = {
            "id": view.absolute_url,
            "url": view.absolute_url,
            "title": view.title,
            "content_html": absolute_html(str(view.abstract_html), origin),
            "summary": view.summary,
            "date_published": when.isoformat(),
            "tags": [t.label for t in view.tags],
        }
        if view.authors:
            item["authors"] = [{"name": a} for a in view.authors]
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": home,
        "feed_url": feed_url,
        "description": config.description,
        "language": config.language,
        "authors": [{"name": config.author}],
        "items": items,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def render_feeds(views: SiteViews, config: Config, url_map: urls.UrlMap) -> Iterator[OutputFile]:
    """`feed.xml`, `rss.xml`, `feed.json` for the site and under every `tags/<tag>/`."""
    limit = config.feed_limit
    origin = url_map.origin
    groups = [
        ("", config.title, config.description, url_map.absolute("index.html"), views.papers[:limit])
    ]
    for tag in views.tags:
        groups.append(
            (
                f"tags/{tag.slug}/",
                f"{config.title}: {tag.label}",
                tag.description or f"Papers tagged {tag.label}.",
                url_map.absolute(urls.tag_path(tag.slug)),
                tag.papers[:limit],
            )
        )
    for prefix, title, subtitle, home, papers in groups:
        atom_url = url_map.absolute(prefix + "feed.xml")
        rss_url = url_map.absolute(prefix + "rss.xml")
        atom, rss = _xml_feeds(
            config, papers, markup.to_plain(title), subtitle, home, atom_url, rss_url, origin
        )
        yield OutputFile(prefix + "feed.xml", atom)
        yield OutputFile(prefix + "rss.xml", rss)
        yield OutputFile(
            prefix + "feed.json",
            json_feed(config, papers, title, home, url_map.absolute(prefix + "feed.json"), origin),
        )
