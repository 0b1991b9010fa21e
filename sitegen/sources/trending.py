"""The trending-papers text dump: page chrome, date lines, then title and abstract paragraphs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sitegen.errors import BuildWarning, Location, ParseError
from sitegen.models import Paper, ParseResult, paper_key
from sitegen.sources.fields import MONTHS, DayRanks, clean_text

# `Mar 11`, `March 11, 2025`, and the per-record `Published on Mar 11` of some dumps.
_DATE_LINE = re.compile(
    r"^(?:(?:published|submitted)(?:\s+on)?\s+)?([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:,?\s+(\d{4}))?$",
    re.IGNORECASE,
)
# Navigation and sign-up text of the page, never a paper.
CHROME = frozenset(
    line.casefold()
    for line in (
        "new",
        "Get trending papers in your email inbox!",
        "Subscribe",
        "byAK and the research community",
        "Daily",
        "Weekly",
        "Monthly",
        "Trending Papers",
        "Submit",
        "Search",
        "Login",
        "Sign Up",
    )
)
# Titles are short and end without a full stop (seed titles are at most 129 characters);
# abstracts are prose: long, or at least a sentence that ends with one.
_TITLE_MAX = 250
_SENTENCE_MIN = 60


def sniff(text: str, source: str) -> bool:
    head = text.lstrip()[:1]
    return head not in ("<", "{", "[", "@")


def _is_date_line(line: str) -> bool:
    match = _DATE_LINE.match(line)
    return match is not None and match.group(1).casefold() in MONTHS


def parse_date_line(line: str, year: int | None, location: Location) -> date | None:
    """`Mar 11` or `March 11, 2025` -> a date; None if the line is not a date line."""
    match = _DATE_LINE.match(line.strip())
    if match is None or not _is_date_line(line.strip()):
        return None
    month = MONTHS[match.group(1).casefold()]
    day = int(match.group(2))
    explicit_year = int(match.group(3)) if match.group(3) else None
    chosen = explicit_year or year
    if chosen is None:
        raise ParseError(
            f"date line {line.strip()!r} has no year",
            location,
            "name the file YYYY-MM-DD.txt or set `year` in sitegen.toml",
        )
    try:
        return date(chosen, month, day)
    except ValueError:
        raise ParseError(f"{line.strip()!r} is not a valid date", location) from None


@dataclass(frozen=True)
class _Block:
    """A run of non-blank lines: a wrapped title or abstract is one block."""

    line: int  # 1-based line of its first line
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def _blocks(text: str) -> list[_Block]:
    """Blank-line separated blocks, with chrome and date lines split off into blocks of their own.

    Dumps that lost their blank lines glue a menu or a date line onto the next title; a
    block made only of such lines (`Daily`/`Weekly`/`Monthly` one per line) must not read as
    a title either.
    """
    blocks: list[_Block] = []
    start = 0
    lines: list[str] = []

    def flush() -> None:
        if lines:
            blocks.append(_Block(start, tuple(lines)))
            lines.clear()

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.casefold() in CHROME or _is_date_line(line):
            flush()
            blocks.append(_Block(number, (line,)))
            continue
        if not lines:
            start = number
        lines.append(line)
    flush()
    return blocks


# A CJK full stop ends a sentence too.
_STOPS = (".", "。", "．")


def _looks_like_abstract(block: str) -> bool:
    return len(block) > _TITLE_MAX or (len(block) >= _SENTENCE_MIN and block.endswith(_STOPS))


def parse(text: str, source: str, year: int | None) -> ParseResult:
    papers: list[Paper] = []
    warnings: list[BuildWarning] = []
    day: date | None = None
    pending: tuple[int, str] | None = None  # a title waiting for its abstract
    ranks = DayRanks()
    seen: dict[tuple[date, str], int] = {}  # (day, paper key) -> line of its first listing

    def warn(line: int, message: str) -> None:
        warnings.append(BuildWarning(message, Location(source, line)))

    def orphan_title(line: int, title: str) -> None:
        warn(line, f"title {title[:60]!r} has no abstract; skipped")

    for block in _blocks(text):
        line, content = block.line, clean_text(block.text)
        if not content or content.casefold() in CHROME:
            continue
        found = parse_date_line(content, year, Location(source, line))
        if found is not None:
            # A date right after a title is that record's own date (some dumps put one in
            # every record), so the title keeps waiting for its abstract.
            day = found
            continue
        if day is None:
            warn(line, f"text before any date line: {content[:60]!r}; skipped")
            continue
        if pending is None:
            if _looks_like_abstract(content):
                warn(line, f"abstract without a title: {content[:60]!r}; skipped")
            else:
                pending = (line, content)
            continue
        if not _looks_like_abstract(content):
            orphan_title(*pending)
            pending = (line, content)
            continue
        title_line, title = pending
        pending = None
        # One listing per day: a paper trending on two days of a multi-day file is two
        # appearances, but the same paper twice in one day is a copy-paste slip.
        identity = (day, paper_key(None, title))
        if identity in seen:
            warn(
                title_line,
                f"{title[:60]!r} is listed again on {day.isoformat()} "
                f"(first at line {seen[identity]}); duplicate skipped",
            )
            continue
        seen[identity] = title_line
        papers.append(
            Paper(
                title=title,
                abstract=content,
                day=day,
                source=source,
                line=title_line,
                rank=ranks.next(day),
            )
        )
    if pending:
        orphan_title(*pending)
    if not papers and not warnings:
        warnings.append(BuildWarning("no papers found in this feed", Location(source)))
    return ParseResult(tuple(papers), tuple(warnings))
