"""arXiv export API query results (Atom): one paper per entry, dated by its first publication."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sitegen.errors import BuildWarning, Location
from sitegen.models import Paper, ParseResult, normalise_arxiv_id
from sitegen.sources.fields import DayRanks, clean_text, utc_day
from sitegen.sources.xmldoc import ARXIV, ATOM, XmlDoc, child_text, head, parse_xml

_ID = re.compile(
    r"^https?://(?:export\.)?arxiv\.org/abs/"
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z.\-]*/\d{7})(?:v(?P<version>\d+))?$",
    re.IGNORECASE,
)
_API_MARKERS = ("arxiv.org/api", "a9.com/-/spec/opensearch", "arxiv.org/abs/")


def sniff(text: str, source: str) -> bool:
    start = head(text)
    return (
        start.startswith("<")
        and "<feed" in start
        and "http://www.w3.org/2005/Atom" in start
        and "rss.arxiv.org" not in start  # the listing feed is Atom too, with its own module
        and any(marker in start for marker in _API_MARKERS)
    )


def parse(text: str, source: str, year: int | None) -> ParseResult:
    doc = parse_xml(text, source)
    if doc.root.tag != f"{ATOM}feed":
        return ParseResult(
            (),
            (
                BuildWarning(
                    f"root element is {doc.root.tag!r}, not an Atom feed",
                    Location(source, doc.line(doc.root)),
                ),
            ),
        )
    papers: list[Paper] = []
    warnings: list[BuildWarning] = []
    ranks = DayRanks()
    for entry in doc.root.iter(f"{ATOM}entry"):
        paper = _entry(entry, doc, source, ranks, warnings)
        if paper is not None:
            papers.append(paper)
    if not papers and not warnings:
        warnings.append(BuildWarning("no entries in this arXiv API response", Location(source)))
    return ParseResult(tuple(papers), tuple(warnings))


def _entry(
    entry: ET.Element, doc: XmlDoc, source: str, ranks: DayRanks, warnings: list[BuildWarning]
) -> Paper | None:
    title_element = entry.find(f"{ATOM}title")
    line = doc.line(title_element if title_element is not None else entry) or doc.line(entry)
    where = Location(source, line)
    raw_id = child_text(entry, f"{ATOM}id")
    title = child_text(entry, f"{ATOM}title")
    summary = child_text(entry, f"{ATOM}summary")
    if "arxiv.org/api/errors" in raw_id:
        # The API reports a bad query as a single entry titled "Error" rather than an HTTP error.
        warnings.append(BuildWarning(f"arXiv API error: {summary or title}", where))
        return None
    match = _ID.match(raw_id)
    if not match:
        warnings.append(
            BuildWarning(f"entry id {raw_id[:80]!r} is not an arXiv id; skipped", where)
        )
        return None
    if not title:
        warnings.append(BuildWarning(f"entry {raw_id} has no title; skipped", where))
        return None
    published = utc_day(child_text(entry, f"{ATOM}published"))
    if published is None:
        warnings.append(
            BuildWarning(f"entry {raw_id} has no valid <published> date; skipped", where)
        )
        return None
    updated_text = child_text(entry, f"{ATOM}updated")
    updated = utc_day(updated_text) if updated_text else None
    version = match.group("version")
    authors = tuple(
        name
        for author in entry.iter(f"{ATOM}author")
        if (name := child_text(author, f"{ATOM}name"))
    )
    categories = _unique(
        [
            clean_text(element.get("term", ""))
            for element in (
                *entry.iter(f"{ARXIV}primary_category"),
                *entry.iter(f"{ATOM}category"),
            )
        ]
    )
    links = _unique(_links(entry))
    return Paper(
        title=title,
        abstract=summary,
        day=published,
        source=source,
        line=line,
        rank=ranks.next(published),
        arxiv_id=normalise_arxiv_id(match.group("id")),
        version=int(version) if version else None,
        authors=authors,
        categories=categories,
        links=links,
        updated=updated,
    )


def _links(entry: ET.Element) -> list[str]:
    """The PDF first (the reader's usual next click), then the others in document order."""
    pdf: list[str] = []
    other: list[str] = []
    for link in entry.iter(f"{ATOM}link"):
        href = clean_text(link.get("href", ""))
        if not href:
            continue
        is_pdf = link.get("title") == "pdf" or link.get("type") == "application/pdf"
        (pdf if is_pdf else other).append(href)
    return pdf + other


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))
