"""Golden tests for every feed format: fixture files next to their expected papers and warnings.

Regenerate the expected files after an intended change with `SITEGEN_REGEN=1 pytest
tests/test_sources.py`, then review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.errors import ParseError
from sitegen.models import Paper, ParseResult
from sitegen.sources import FORMATS, decode, detect, parse_file

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SEED = ROOT / "seeds" / "2025-03-11.txt"
REGEN = os.environ.get("SITEGEN_REGEN") == "1"
EXPECTED_SUFFIX = ".expected.json"


@dataclasses.dataclass(frozen=True)
class Case:
    """One input file, the format it must be sniffed as, and where its expected result lives."""

    name: str  # `<format>/<case>`, the pytest id
    fmt: str
    path: Path
    expected: Path


def _cases() -> list[Case]:
    cases = []
    for fmt in FORMATS:
        folder = FIXTURES / fmt.name
        for path in sorted(folder.glob("*")):
            if path.name.endswith(EXPECTED_SUFFIX) or path.name.startswith("."):
                continue
            stem = path.name.split(".")[0]
            expected = folder / f"{stem}{EXPECTED_SUFFIX}"
            cases.append(Case(f"{fmt.name}/{stem}", fmt.name, path, expected))
    # The real seed is a golden case too; it is read in place rather than copied.
    seed_expected = FIXTURES / "trending" / f"seed{EXPECTED_SUFFIX}"
    cases.append(Case("trending/seed", "trending", SEED, seed_expected))
    return cases


CASES = _cases()


def _source(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _paper_json(paper: Paper) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for field in dataclasses.fields(paper):
        value = getattr(paper, field.name)
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        record[field.name] = value
    return record


def _result_json(case: Case) -> dict[str, Any]:
    source = _source(case.path)
    data = case.path.read_bytes()
    result: dict[str, Any] = {"format": detect(decode(data, source), source).name}
    try:
        parsed: ParseResult = parse_file(case.path, source)
    except ParseError as exc:
        assert exc.location is not None and exc.location.file == source
        assert exc.location.line or exc.location.offset, "a ParseError must say where"
        result["error"] = str(exc)
        return result
    result["papers"] = [_paper_json(paper) for paper in parsed.papers]
    result["warnings"] = [str(warning) for warning in parsed.warnings]
    return result


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_golden(case: Case) -> None:
    actual = _result_json(case)
    if REGEN:
        text = json.dumps(actual, indent=2, ensure_ascii=False) + "\n"
        case.expected.write_text(text, encoding="utf-8")
    assert case.expected.exists(), f"no {case.expected.name}: run with SITEGEN_REGEN=1"
    expected = json.loads(case.expected.read_text(encoding="utf-8"))
    assert actual == expected


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@pytest.mark.parametrize("extension", ["txt", "xml", "json", "bib", "atom", ""])
def test_sniffing_ignores_the_extension(case: Case, extension: str) -> None:
    text = decode(case.path.read_bytes(), "feed")
    name = f"seeds/2025-01-01.{extension}" if extension else "seeds/2025-01-01"
    assert detect(text, name).name == case.fmt


def test_every_format_has_golden_cases() -> None:
    for fmt in FORMATS:
        names = [case.name for case in CASES if case.fmt == fmt.name]
        assert len(names) >= 3, f"{fmt.name} needs golden cases"
    orphans = [
        path.name
        for fmt in FORMATS
        for path in (FIXTURES / fmt.name).glob(f"*{EXPECTED_SUFFIX}")
        if not any(case.expected == path for case in CASES)
    ]
    assert orphans == []


def test_seed_gives_81_papers_equal_to_the_source_text() -> None:
    result = parse_file(SEED, "seeds/2025-03-11.txt")
    assert len(result.papers) == 81
    assert result.warnings == ()
    lines = SEED.read_text(encoding="utf-8").split("\n")
    for rank, paper in enumerate(result.papers, start=1):
        assert paper.rank == rank
        assert paper.day == date(2025, 3, 11)
        assert lines[paper.line - 1] == paper.title
        assert lines[paper.line + 1] == paper.abstract


def test_crlf_and_bom_give_the_same_papers_as_plain_text(tmp_path: Path) -> None:
    plain = SEED.read_bytes().replace(b"\r\n", b"\n")
    dos = tmp_path / "2025-03-11.txt"
    dos.write_bytes(b"\xef\xbb\xbf" + plain.replace(b"\n", b"\r\n"))
    ours = parse_file(dos, "seeds/2025-03-11.txt")
    theirs = parse_file(SEED, "seeds/2025-03-11.txt")
    assert ours == theirs


def test_every_parser_raises_only_parse_error_on_arbitrary_text() -> None:
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(text=st.text(), index=st.integers(min_value=0, max_value=len(FORMATS) - 1))
    def check(text: str, index: int) -> None:
        fmt = FORMATS[index]
        try:
            fmt.parse(text, "feed", 2025)
        except ParseError as exc:
            assert exc.location is not None

    check()


def _mutations() -> st.SearchStrategy[tuple[str, str]]:
    """Real fixtures cut, spliced and sprinkled with junk: much closer to real breakage."""
    texts = [decode(case.path.read_bytes(), "feed") for case in CASES if case.path != SEED]
    return st.tuples(
        st.sampled_from(texts),
        st.integers(min_value=0, max_value=4000),
        st.integers(min_value=0, max_value=4000),
        st.text(max_size=20),
    ).map(lambda t: (t[0], t[0][: t[1]] + t[3] + t[0][t[1] + t[2] % 40 :]))


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(sample=_mutations())
def test_damaged_fixtures_raise_only_parse_error(sample: tuple[str, str]) -> None:
    _, text = sample
    for fmt in FORMATS:
        try:
            result = fmt.parse(text, "feed", 2025)
        except ParseError as exc:
            assert exc.location is not None and exc.location.file == "feed"
            continue
        for paper in result.papers:
            assert paper.title and paper.rank >= 1
