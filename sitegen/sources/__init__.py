"""Parse stage: read every feed file into papers, picking the format by sniffing its content."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sitegen.errors import Location, ParseError
from sitegen.models import ParseResult
from sitegen.sources import arxiv_api, arxiv_listing, bibtex, hf_daily, trending

_DATED_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class Format:
    """One input format: a cheap content sniffer and its parser."""

    name: str
    sniff: Callable[[str, str], bool]
    parse: Callable[[str, str, int | None], ParseResult]


# Order matters: the first format whose sniffer accepts the text wins; the plain-text dump
# accepts almost anything, so it comes last.
FORMATS: tuple[Format, ...] = (
    Format("arxiv_api", arxiv_api.sniff, arxiv_api.parse),
    Format("arxiv_listing", arxiv_listing.sniff, arxiv_listing.parse),
    Format("hf_daily", hf_daily.sniff, hf_daily.parse),
    Format("bibtex", bibtex.sniff, bibtex.parse),
    Format("trending", trending.sniff, trending.parse),
)


# Other files in seeds/ (a README, notes) are not feeds.
FEED_SUFFIXES = (".txt", ".xml", ".atom", ".rss", ".json", ".bib")


def feed_files(folder: Path) -> list[Path]:
    """The feed files of a seeds folder, in name order (which is day order for dated names)."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in FEED_SUFFIXES and not p.name.startswith(".")
    )


def year_from_name(path: str) -> int | None:
    """`seeds/2025-03-11.txt` -> 2025; a name without a date gives None."""
    match = _DATED_NAME.search(Path(path).name)
    return int(match.group(1)) if match else None


def decode(data: bytes, source: str) -> str:
    """UTF-8 (with or without a byte-order mark) to text with `\\n` line endings."""
    if b"\x00" in data[:8192]:
        offset = data.index(b"\x00") + 1
        raise ParseError(
            "looks like a binary file, not a feed",
            Location(source, offset=offset),
            "remove it from seeds/ or replace it with a text export",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(
            f"invalid UTF-8 at byte {exc.start + 1}",
            Location(source, line=line, offset=exc.start + 1),
            "re-save the file as UTF-8",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect(text: str, source: str) -> Format:
    for fmt in FORMATS:
        if fmt.sniff(text, source):
            return fmt
    raise ParseError(
        "unrecognised feed format",
        Location(source, line=1),
        "supported: " + ", ".join(f.name for f in FORMATS),
    )


def parse_text(text: str, source: str, default_year: int | None = None) -> ParseResult:
    """Parse one feed's text; a yearless date takes the year from the name, else the default."""
    if not text.strip():
        raise ParseError("empty feed file", Location(source), "delete it or re-export the feed")
    year = year_from_name(source) or default_year
    return detect(text, source).parse(text, source, year)


def parse_file(path: Path, source: str, default_year: int | None = None) -> ParseResult:
    return parse_text(decode(path.read_bytes(), source), source, default_year)
