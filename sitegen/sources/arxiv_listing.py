"""arXiv daily listings per category (rss.arxiv.org, RSS 2.0 or Atom): the day's announcements."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, timezone
from email.utils import parsedate_to_datetime

from sitegen.errors import BuildWarning, Location
from sitegen.models import Paper, ParseResult, normalise_arxiv_id
from sitegen.sources.fields import DayRanks, clean_text, utc_day
from sitegen.sources.xmldoc import ATOM, DC, XmlDoc, child_text, head, parse_xml

# `arXiv:2401.12345v1 Announce Type: new Abstract: ...` (whitespace already collapsed)
_DESCRIPTION = re.compile(
    r"^arXiv:(?P<id>\S+?)(?:v(?P<version>\d+))?\s+Announce Type:\s*(?P<type>[\w-]+)\s*"
    r"(?:Abstract:\s*)?(?P<abstract>.*)$",
    re.DOTALL,
)
_GUID = re.compile(r"^oai:arXiv\.org:(?P<id>\S+?)(?:v(?P<version>\d+))?$")


def sniff(text: str, source: str) -> bool:
    start = head(text)
    if not start.startswith("<"):
        return False
    if "<rss" in start:
        return "arxiv.org" in start
    # The Atom flavour of the same listing; the export API's Atom has no rss.arxiv.org in it.
    return "<feed" in start and ("rss.arxiv.org" in start or "announce_type" in start)


@dataclass(frozen=True)
class _Record:
    """The fields of one listing item, whichever of the RSS or Atom shapes it came in."""

    line: int
    title: str
    description: str
    guid: str
    link: str
    day: date | None
    authors: tuple[str, ...]
    categories: tuple[str, ...]


def parse(text: str, source: str, year: int | None) -> ParseResult:
    doc = parse_xml(text, source)
    channel = doc.root.find("channel")
    if doc.root.tag == "rss" and channel is not None:
        records = _rss_records(doc, channel)
    elif doc.root.tag == f"{ATOM}feed":
        records = _atom_records(doc)
    else:
        where = Location(source, doc.line(doc.root))
        message = f"root element {doc.root.tag!r} is neither RSS 2.0 nor Atom"
        return ParseResult((), (BuildWarning(message, where),))
    papers: list[Paper] = []
    warnings: list[BuildWarning] = []
    ranks = DayRanks()
    for record in records:
        paper = _paper(record, source, ranks, warnings)
        if paper is not None:
            papers.append(paper)
    if not papers and not warnings:
        # arXiv publishes nothing on weekends and holidays: an empty listing is normal, but say so.
        warnings.append(BuildWarning("no items in this arXiv listing", Location(source)))
    return ParseResult(tuple(papers), tuple(warnings))


def _line(doc: XmlDoc, item: ET.Element, title_tag: str) -> int:
    title = item.find(title_tag)
    return doc.line(title if title is not None else item) or doc.line(item)


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def _rss_records(doc: XmlDoc, channel: ET.Element) -> list[_Record]:
    channel_day = _rfc822_day(child_text(channel, "pubDate")) or _rfc822_day(
        child_text(channel, "lastBuildDate")
    )
    return [
        _Record(
            line=_line(doc, item, "title"),
            title=child_text(item, "title"),
            description=child_text(item, "description"),
            guid=child_text(item, "guid"),
            link=child_text(item, "link"),
            day=_rfc822_day(child_text(item, "pubDate")) or channel_day,
            authors=_authors(child_text(item, f"{DC}creator")),
            categories=_unique([clean_text(c.text or "") for c in item.iter("category")]),
        )
        for item in channel.iter("item")
    ]


def _atom_records(doc: XmlDoc) -> list[_Record]:
    feed_day = utc_day(child_text(doc.root, f"{ATOM}updated"))
    records = []
    for entry in doc.root.iter(f"{ATOM}entry"):
        links = [
            clean_text(link.get("href", ""))
            for link in entry.iter(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        names = [child_text(author, f"{ATOM}name") for author in entry.iter(f"{ATOM}author")]
        stamp = child_text(entry, f"{ATOM}published") or child_text(entry, f"{ATOM}updated")
        records.append(
            _Record(
                line=_line(doc, entry, f"{ATOM}title"),
                title=child_text(entry, f"{ATOM}title"),
                description=child_text(entry, f"{ATOM}summary"),
                guid=child_text(entry, f"{ATOM}id"),
                link=links[0] if links else "",
                day=(utc_day(stamp) if stamp else None) or feed_day,
                authors=_unique(names) or _authors(child_text(entry, f"{DC}creator")),
                categories=_unique(
                    [clean_text(c.get("term", "")) for c in entry.iter(f"{ATOM}category")]
                ),
            )
        )
    return records


def _paper(
    record: _Record, source: str, ranks: DayRanks, warnings: list[BuildWarning]
) -> Paper | None:
    where = Location(source, record.line)
    found = _DESCRIPTION.match(record.description)
    guid = _GUID.match(record.guid)
    raw_id = found.group("id") if found else guid.group("id") if guid else ""
    version = found.group("version") if found else guid.group("version") if guid else None
    arxiv_id = normalise_arxiv_id(raw_id) or normalise_arxiv_id(
        re.sub(r"^https?://arxiv\.org/abs/", "", record.link).strip("/")
    )
    if not record.title:
        warnings.append(BuildWarning("item has no title; skipped", where))
        return None
    if record.day is None:
        warnings.append(BuildWarning(f"item {record.title[:60]!r} has no date; skipped", where))
        return None
    links: tuple[str, ...] = (record.link,) if record.link else ()
    if arxiv_id and version:
        links += (f"https://arxiv.org/pdf/{arxiv_id}v{version}",)
    return Paper(
        title=record.title,
        abstract=clean_text(found.group("abstract") if found else record.description),
        day=record.day,
        source=source,
        line=record.line,
        rank=ranks.next(record.day),
        arxiv_id=arxiv_id,
        version=int(version) if version else None,
        authors=record.authors,
        categories=record.categories,
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
        return moment.astimezone(timezone.utc).date()
    except OverflowError:
        return moment.date()
