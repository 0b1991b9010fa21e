"""Hugging Face daily-papers JSON: a list of records wrapping a `paper`, ranked by position."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from sitegen.errors import BuildWarning, Location, ParseError
from sitegen.models import Paper, ParseResult, normalise_arxiv_id
from sitegen.sources.fields import DayRanks, clean_text, utc_day

_WHITESPACE = " \t\n\r"


def sniff(text: str, source: str) -> bool:
    return text.lstrip()[:1] in ("[", "{")


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _records(text: str, source: str) -> Iterator[tuple[int, Any]]:
    """Each top-level array element with the line where it starts.

    `json.loads` would give no positions; decoding element by element keeps a line for every
    paper and warning.
    """
    decoder = json.JSONDecoder()
    position = len(text) - len(text.lstrip(_WHITESPACE))
    if text[position : position + 1] != "[":
        raise ParseError(
            "expected a JSON list of daily papers",
            Location(source, _line(text, position)),
            "save the response of /api/daily_papers as it comes",
        )
    position += 1
    expect_value = True
    first = True
    while True:
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
        if position >= len(text):
            raise ParseError("unterminated JSON list", Location(source, _line(text, position)))
        char = text[position]
        if char == "]" and (first or not expect_value):
            position += 1
            break
        if char == "," and not expect_value:
            position += 1
            expect_value = True
            continue
        if not expect_value:
            raise ParseError(
                f"expected ',' or ']' in the JSON list, found {char!r}",
                Location(source, _line(text, position), position + 1),
            )
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise ParseError(
                f"malformed JSON: {exc.msg}",
                Location(source, exc.lineno, exc.pos + 1),
                f"column {exc.colno}",
            ) from None
        except RecursionError:
            raise ParseError(
                "JSON nested too deeply", Location(source, _line(text, position), position + 1)
            ) from None
        yield _line(text, position), value
        position = end
        expect_value = first = False
    rest = text[position:].strip(_WHITESPACE)
    if rest:
        raise ParseError(
            "unexpected text after the JSON list",
            Location(source, _line(text, position + text[position:].index(rest[0]))),
        )


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return clean_text(value) if isinstance(value, str) else ""


def _day(record: Mapping[str, Any], paper: Mapping[str, Any]) -> date | None:
    # The record's own publishedAt is when the paper was featured that day; the paper's is
    # its arXiv date, which can be weeks earlier.
    for holder, key in (
        (record, "publishedAt"),
        (paper, "submittedOnDailyAt"),
        (paper, "publishedAt"),
    ):
        stamp = holder.get(key)
        if isinstance(stamp, str) and (day := utc_day(stamp)):
            return day
    return None


def parse(text: str, source: str, year: int | None) -> ParseResult:
    papers: list[Paper] = []
    warnings: list[BuildWarning] = []
    ranks = DayRanks()
    for line, record in _records(text, source):
        where = Location(source, line)
        if not isinstance(record, dict):
            warnings.append(
                BuildWarning(f"list item is {type(record).__name__}, not an object; skipped", where)
            )
            continue
        inner = record.get("paper")
        paper: dict[str, Any] = inner if isinstance(inner, dict) else record
        title = _text(paper, "title") or _text(record, "title")
        if not title:
            warnings.append(BuildWarning("record has no title; skipped", where))
            continue
        day = _day(record, paper)
        if day is None:
            warnings.append(
                BuildWarning(f"record {title[:60]!r} has no valid publishedAt; skipped", where)
            )
            continue
        raw_id = paper.get("id")
        paper_id = clean_text(raw_id) if isinstance(raw_id, str) else ""
        arxiv_id = normalise_arxiv_id(paper_id) if paper_id else None
        authors_raw = paper.get("authors")
        authors = tuple(
            name
            for author in (authors_raw if isinstance(authors_raw, list) else [])
            if isinstance(author, dict) and (name := _text(author, "name"))
        )
        papers.append(
            Paper(
                title=title,
                abstract=_text(paper, "summary") or _text(record, "summary"),
                day=day,
                source=source,
                line=line,
                rank=ranks.next(day),
                arxiv_id=arxiv_id,
                authors=authors,
                links=(f"https://huggingface.co/papers/{paper_id}",) if arxiv_id else (),
            )
        )
    if not papers and not warnings:
        warnings.append(BuildWarning("no papers in this daily-papers list", Location(source)))
    return ParseResult(tuple(papers), tuple(warnings))
