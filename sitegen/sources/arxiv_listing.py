"""arXiv daily listing feeds per category (rss.arxiv.org RSS 2.0): the day's announcements."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date
from email.utils import parsedate_to_datetime

from sitegen.errors import BuildWarning, Location
from sitegen.models import Paper, ParseResult, normalise_arxiv_id
from sitegen.sources.fields import DayRanks, clean_text
from sitegen.sources.xmldoc import DC, XmlDoc, child_text, head, parse_xml

# `arXiv:2401.12345v1 Announce Type: new Abstract: ...` (whitespace already collapsed)
_DESCRIPTION = re.compile(
    r"^arXiv:(?P<id>\S+?)(?:v(?P<version>\d+))?\s+Announce Type:\s*(?P<type>[\w-]+)\s*"
    r"(?:Abstract:\s*)?(?P<abstract>.*)$",
    re.DOTALL,
)
_GUID = re.compile(r"^oai:arXiv\.org:(?P<id>\S+?)(?:v(?P<version>\d+))?$")


def sniff(text: str, source: str) -> bool:
    start = head(text)
    return (
        start.startswith("<")
        and "<rss" in start
        and ("http://arxiv.org/schemas/atom" in start or "arxiv.org" in start)
    )


def parse(text: str, source: str, year: int | None) -> ParseResult:
    doc = parse_xml(text, source)
    channel = doc.root.find("channel")
    if doc.root.tag != "rss" or channel is None:
        where = Location(source, doc.line(doc.root))
        return ParseResult((), (BuildWarning("not an RSS 2.0 feed with a <channel>", where),))
    channel_day = _rfc822_day(child_text(channel, "pubDate")) or _rfc822_day(
        child_text(channel, "lastBuildDate")
    )
    papers: list[Paper] = []
    warnings: list[BuildWarning] = []
    ranks = DayRanks()
    for item in channel.iter("item"):
        paper = _item(item, doc, source, channel_day, ranks, warnings)
        if paper is not None:
            papers.append(paper)
    if not papers and not warnings:
        # arXiv publishes nothing on weekends and holidays: an empty listing is normal, but say so.
        warnings.append(BuildWarning("no items in this arXiv listing", Location(source)))
    return ParseResult(tuple(papers), tuple(warnings))


def _item(
    item: ET.Element,
    doc: XmlDoc,
    source: str,
    channel_day: date | None,
    ranks: DayRanks,
    warnings: list[BuildWarning],
) -> Paper | None:
    title_element = item.find("title")
    line = doc.line(title_element if title_element is not None else item) or doc.line(item)
    where = Location(source, line)
    title = child_text(item, "title")
    description = child_text(item, "description")
    found = _DESCRIPTION.match(description)
    guid = _GUID.match(child_text(item, "guid"))
    raw_id = found.group("id") if found else guid.group("id") if guid else ""
    version = found.group("version") if found else guid.group("version") if guid else None
    arxiv_id = normalise_arxiv_id(raw_id)
    if arxiv_id is None:
        link = child_text(item, "link")
        arxiv_id = normalise_arxiv_id(link.replace("https://arxiv.org/abs/", "").strip("/"))
    if not title:
        warnings.append(BuildWarning("item has no title; skipped", where))
        return None
    day = _rfc822_day(child_text(item, "pubDate")) or channel_day
    if day is None:
        warnings.append(BuildWarning(f"item {title[:60]!r} has no date; skipped", where))
        return None
    abstract = found.group("abstract") if found else description
    creators = child_text(item, f"{DC}creator")
    links = tuple(dict.fromkeys(link for link in (child_text(item, "link"),) if link))
    if arxiv_id and version:
        links += (f"https://arxiv.org/pdf/{arxiv_id}v{version}",)
    return Paper(
        title=title,
        abstract=clean_text(abstract),
        day=day,
        source=source,
        line=line,
        rank=ranks.next(day),
        arxiv_id=arxiv_id,
        version=int(version) if version else None,
        authors=_authors(creators),
        categories=tuple(
            dict.fromkeys(
                c for element in item.iter("category") if (c := clean_text(element.text or ""))
            )
        ),
        links=links,
    )


def _authors(creators: str) -> tuple[str, ...]:
    """`A. Smith, B. Jones and C. Wu` -> each name; arXiv separates names with commas."""
    names: list[str] = []
    for part in creators.split(","):
        name = part.strip()
        if name.startswith("and "):
            name = name[4:].strip()
        names.extend(n.strip() for n in name.split(" and ") if n.strip())
    return tuple(names)


def _rfc822_day(text: str) -> date | None:
    """The UTC day of an RSS date (`Mon, 22 Jan 2024 00:00:00 -0500`), or None."""
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        return moment.date()
    try:
        return moment.astimezone(UTC).date()
    except OverflowError:
        return moment.date()
