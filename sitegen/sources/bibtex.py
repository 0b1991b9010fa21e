"""BibTeX bibliographies through bibtexparser v2: macros resolved, LaTeX decoded to Unicode."""

from __future__ import annotations

import logging
import re
from datetime import date

from bibtexparser.entrypoint import parse_string
from bibtexparser.model import DuplicateBlockKeyBlock, Entry, Field, ParsingFailedBlock
from pylatexenc.latex2text import LatexNodes2Text  # type: ignore[import-untyped]

from sitegen.errors import BuildWarning, Location, ParseError
from sitegen.models import Paper, ParseResult, normalise_arxiv_id
from sitegen.sources.fields import MONTHS, DayRanks, clean_text

# An entry start on its own line: `@article{`, `@misc (`, also `@string{`.
_ENTRY_START = re.compile(r"^[ \t]*@[ \t]*[A-Za-z]+[ \t]*[{(]", re.MULTILINE)
_FIRST_CONTENT = re.compile(r"^[ \t]*([^\s%])", re.MULTILINE)
_BARE_PERCENT = re.compile(r"(?<!\\)%")
_YEAR = re.compile(r"\d{4}")
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_ARXIV_IN_TEXT = re.compile(
    r"arxiv[:\s]*(\d{4}\.\d{4,5}(?:v\d+)?|[a-z][a-z.\-]*/\d{7}(?:v\d+)?)", re.IGNORECASE
)
_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/([^\s?#]+?)(?:\.pdf)?$", re.IGNORECASE)
_VERSION = re.compile(r"v(\d+)$")
# Math stays as TeX source so the markup stage can render it; accents and text macros go.
_LATEX = LatexNodes2Text(math_mode="verbatim")
# The splitter logs every malformed block; parse() reports each one as a located BuildWarning
# instead, so the log line would only repeat it without sitegen's file name.
logging.getLogger("bibtexparser.splitter").setLevel(logging.ERROR)


def sniff(text: str, source: str) -> bool:
    """The first thing that is not blank or a `%` comment is an `@type{` entry start."""
    first = _FIRST_CONTENT.search(text)
    return first is not None and first.group(1) == "@" and bool(_ENTRY_START.search(text))


def decode_latex(value: str) -> str:
    """LaTeX to Unicode text (`{\\"u}` -> ü), whitespace collapsed."""
    # In a BibTeX value `%` is a literal percent sign, but pylatexenc would read it as a
    # comment and drop the rest of the line.
    escaped = _BARE_PERCENT.sub(r"\\%", value)
    try:
        text = _LATEX.latex_to_text(escaped)
    except Exception:  # pylatexenc is tolerant, but a decode failure must not lose the field
        text = value
    return clean_text(text)


def _split_top(value: str, separator: re.Pattern[str]) -> list[str]:
    """Split where `separator` matches outside braces (BibTeX's grouping rule)."""
    parts: list[str] = []
    depth = 0
    start = 0
    position = 0
    while position < len(value):
        char = value[position]
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            match = separator.match(value, position)
            if match and match.end() > position:
                parts.append(value[start:position])
                start = position = match.end()
                continue
        position += 1
    parts.append(value[start:])
    return parts


_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_COMMA = re.compile(r",\s*")
_HASH = re.compile(r"\s*#\s*")


def split_authors(value: str) -> tuple[str, ...]:
    """`Müller, Jörg and Smith, John and others` -> ("Jörg Müller", "John Smith")."""
    names: list[str] = []
    for raw in _split_top(value.strip(), _AND):
        parts = [part.strip() for part in _split_top(raw.strip(), _COMMA)]
        if len(parts) == 2:  # Last, First
            parts = [parts[1], parts[0]]
        elif len(parts) >= 3:  # Last, Jr, First
            parts = [parts[2], parts[0], parts[1]]
        name = decode_latex(" ".join(part for part in parts if part))
        if name and name.casefold() != "others":
            names.append(name)
    return tuple(names)


def _resolve(field: Field, strings: dict[str, str]) -> str:
    """A field's value with `macro # "text"` concatenations joined (bibtexparser leaves them)."""
    value = str(field.value)
    if field.enclosing != "no-enclosing" or "#" not in value:
        return value
    pieces: list[str] = []
    for part in _split_top(value, _HASH):
        part = part.strip()
        if len(part) >= 2 and part[0] + part[-1] in ("{}", '""'):
            pieces.append(part[1:-1])
        else:
            pieces.append(strings.get(part.casefold(), part))
    return "".join(pieces)


def _month(value: str) -> int | None:
    text = value.strip().strip("{}").strip().rstrip(".").casefold()
    if text.isdigit():
        number = int(text)
        return number if 1 <= number <= 12 else None
    return MONTHS.get(text) or MONTHS.get(text[:3])


def _day(fields: dict[str, str]) -> date | None:
    """From `date` (biblatex, `2024-01-22`), else `year` + `month` + `day`; missing parts are 1."""
    year = month = day = None
    found = _ISO_DATE.match(fields.get("date", "").strip())
    if found:
        year = int(found.group(1))
        month = int(found.group(2)) if found.group(2) else None
        day = int(found.group(3)) if found.group(3) else None
    else:
        year_match = _YEAR.search(fields.get("year", ""))
        if year_match is None:
            return None
        year = int(year_match.group())
        month = _month(fields.get("month", "")) if fields.get("month") else None
        day_text = fields.get("day", "").strip()
        day = int(day_text) if day_text.isdigit() else None
    try:
        return date(year, month or 1, day or 1)
    except ValueError:
        return None


def _arxiv(fields: dict[str, str]) -> tuple[str | None, int | None]:
    """The arXiv id and version from `eprint`, a Google Scholar style journal, or the URL."""
    candidates: list[str] = []
    prefix = (fields.get("archiveprefix") or fields.get("eprinttype") or "").strip().casefold()
    if fields.get("eprint") and prefix in ("arxiv", ""):
        candidates.append(fields["eprint"].strip().removeprefix("arXiv:").removeprefix("arxiv:"))
    for key in ("journal", "note", "howpublished"):
        found = _ARXIV_IN_TEXT.search(fields.get(key, ""))
        if found:
            candidates.append(found.group(1))
    url = _ARXIV_URL.search(fields.get("url", "").strip())
    if url:
        candidates.append(url.group(1))
    for candidate in candidates:
        arxiv_id = normalise_arxiv_id(candidate)
        if arxiv_id:
            version = _VERSION.search(candidate)
            return arxiv_id, int(version.group(1)) if version else None
    return None, None


def _links(fields: dict[str, str]) -> tuple[str, ...]:
    links = []
    if fields.get("url"):
        links.append(clean_text(fields["url"]))
    doi = clean_text(fields.get("doi", ""))
    if doi:
        links.append(doi if doi.startswith("http") else f"https://doi.org/{doi}")
    return tuple(dict.fromkeys(link for link in links if link))


def _line(start_line: int | None) -> int:
    """bibtexparser counts lines from 0; Location counts from 1 and uses 0 for unknown."""
    return start_line + 1 if start_line is not None else 0


def parse(text: str, source: str, year: int | None) -> ParseResult:
    try:
        library = parse_string(text)
    except Exception as exc:
        # bibtexparser reports bad blocks as failed blocks; anything it raises instead is a
        # bug on its side, which must still reach the user as a located ParseError.
        raise ParseError(f"BibTeX parser failed: {exc}", Location(source, 1)) from None
    warnings: list[BuildWarning] = []
    for block in library.failed_blocks:
        where = Location(source, _line(block.start_line))
        if isinstance(block, DuplicateBlockKeyBlock):
            warnings.append(BuildWarning(f"duplicate entry key {block.key!r}; skipped", where))
        elif isinstance(block, ParsingFailedBlock):
            reason = str(getattr(block.error, "abort_reason", "")).strip() or "syntax error"
            warnings.append(BuildWarning(f"malformed BibTeX entry ({reason}); skipped", where))
    strings = {string.key.casefold(): str(string.value) for string in library.strings}
    papers: list[Paper] = []
    ranks = DayRanks()
    for entry in library.entries:
        paper = _entry(entry, strings, source, ranks, warnings)
        if paper is not None:
            papers.append(paper)
    if not papers and not warnings:
        warnings.append(BuildWarning("no BibTeX entries found", Location(source)))
    warnings.sort(key=lambda warning: warning.location.line if warning.location else 0)
    return ParseResult(tuple(papers), tuple(warnings))


def _entry(
    entry: Entry,
    strings: dict[str, str],
    source: str,
    ranks: DayRanks,
    warnings: list[BuildWarning],
) -> Paper | None:
    entry_line = _line(entry.start_line)
    raw: dict[str, str] = {}
    title_line = entry_line
    for field in entry.fields:
        key = field.key.casefold()
        raw.setdefault(key, _resolve(field, strings))
        if key == "title":
            title_line = _line(field.start_line) or entry_line
    title = decode_latex(raw.get("title", ""))
    if not title:
        warnings.append(
            BuildWarning(f"entry {entry.key!r} has no title; skipped", Location(source, entry_line))
        )
        return None
    day = _day(raw)
    if day is None:
        warnings.append(
            BuildWarning(
                f"entry {entry.key!r} has no usable date (year/month or date); skipped",
                Location(source, entry_line),
            )
        )
        return None
    arxiv_id, version = _arxiv(raw)
    primary = clean_text(raw.get("primaryclass", ""))
    return Paper(
        title=title,
        abstract=decode_latex(raw.get("abstract", "")),
        day=day,
        source=source,
        line=title_line,
        rank=ranks.next(day),
        arxiv_id=arxiv_id,
        version=version,
        authors=split_authors(raw.get("author", "")),
        categories=(primary,) if primary else (),
        links=_links(raw),
    )
