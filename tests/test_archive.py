"""Many days from mixed formats merge into one archive: one page per paper, every day listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sitegen import frontmatter
from sitegen.cli import main
from sitegen.errors import SitegenError
from tests.conftest import build_project, write_tree

# Day 1: the text dump, no ids. The RAG survey appears here under its title only.
TRENDING_DAY = """Jan 22

Retrieval-Augmented Generation for Long Documents: A Survey

Large language models (LLMs) struggle with documents that exceed their context window. We survey retrieval-augmented generation (RAG) methods.

Sparse Experts Route Tokens Cheaply

We show that a mixture of experts with a learned router matches a dense model at a third of the compute on language modelling benchmarks.
"""


def arxiv_api_day(version: int, updated: str, summary: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title type="html">ArXiv Query: id_list=2401.12345</title>
  <id>http://arxiv.org/api/abc</id>
  <updated>{updated}</updated>
  <entry>
    <id>http://arxiv.org/abs/2401.12345v{version}</id>
    <updated>{updated}</updated>
    <published>2024-01-23T08:59:59Z</published>
    <title>Retrieval-Augmented Generation for Long
  Documents: A Survey</title>
    <summary>{summary}</summary>
    <author><name>Alice Zhang</name></author>
    <author><name>Bob Müller</name></author>
    <link href="http://arxiv.org/abs/2401.12345v{version}" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/2401.12345v{version}" rel="related" type="application/pdf"/>
    <arxiv:primary_category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>
"""


HF_DAY = json.dumps(
    [
        {
            "paper": {
                "id": "2401.13000",
                "authors": [{"name": "Dana Lee"}],
                "publishedAt": "2024-01-23T10:00:00.000Z",
                "title": "Tiny Models, Big Context",
                "summary": "A 1B model with a long context window reads whole books and beats larger models on long-document question answering.",
                "upvotes": 7,
            },
            "publishedAt": "2024-01-24T02:00:00.000Z",
            "title": "Tiny Models, Big Context",
        },
        {
            "paper": {
                "id": "2401.12345",
                "authors": [{"name": "Alice Zhang"}, {"name": "Bob Müller"}],
                "publishedAt": "2024-01-22T18:59:59.000Z",
                "title": "Retrieval-Augmented Generation for Long Documents: A Survey",
                "summary": "Large language models (LLMs) struggle with documents that exceed their context window. We survey retrieval-augmented generation (RAG) methods.",
                "upvotes": 42,
            },
            "publishedAt": "2024-01-24T01:00:00.000Z",
            "title": "Retrieval-Augmented Generation for Long Documents: A Survey",
        },
    ],
    indent=1,
)

SURVEY_V1 = "Large language models (LLMs) struggle with documents that exceed their context window. We survey retrieval-augmented generation (RAG) methods."
SURVEY_V2 = SURVEY_V1 + " Version 2 compares 42 systems on 7 benchmarks."


def _pages(root: Path) -> dict[str, dict[str, object]]:
    pages = {}
    for path in sorted((root / "content/papers").glob("*.md")):
        meta, body = frontmatter.split(path.read_text(encoding="utf-8"), path.name)
        meta["body"] = body
        pages[path.stem] = meta
    return pages


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "site",
        {
            "seeds/2024-01-22.txt": TRENDING_DAY,
            "seeds/2024-01-23-arxiv_api.xml": arxiv_api_day(1, "2024-01-23T09:00:00Z", SURVEY_V1),
            "seeds/2024-01-24-hf_daily.json": HF_DAY,
        },
    )


def test_mixed_formats_give_one_page_per_paper(archive: Path) -> None:
    config, report = build_project(archive)
    pages = _pages(archive)
    assert sorted(pages) == [
        "retrieval-augmented-generation-for-long-documents-a-survey",
        "sparse-experts-route-tokens-cheaply",
        "tiny-models-big-context",
    ]
    survey = pages["retrieval-augmented-generation-for-long-documents-a-survey"]
    assert survey["arxiv_id"] == "2401.12345", "the richer feed gives the text dump's paper its id"
    assert survey["authors"] == ["Alice Zhang", "Bob Müller"]
    assert [str(a["date"]) for a in survey["appeared"]] == [  # type: ignore[attr-defined]
        "2024-01-22",
        "2024-01-23",
        "2024-01-24",
    ]
    html = (
        config.output_dir / "papers/retrieval-augmented-generation-for-long-documents-a-survey"
    ) / "index.html"
    text = html.read_text(encoding="utf-8")
    for day in ("2024-01-22", "2024-01-23", "2024-01-24"):
        assert f'href="/days/{day}/"' in text
    assert "https://arxiv.org/abs/2401.12345" in text
    days = (config.output_dir / "days/index.html").read_text(encoding="utf-8")
    assert days.count('href="/days/2024-') == 3
    middle = (config.output_dir / "days/2024-01-23/index.html").read_text(encoding="utf-8")
    assert 'href="/days/2024-01-22/"' in middle and 'href="/days/2024-01-24/"' in middle
    assert report.warnings == []


def test_a_new_version_updates_the_page_and_urls_stay(archive: Path) -> None:
    config, _ = build_project(archive)
    before = _pages(archive)
    write_tree(
        archive,
        {"seeds/2024-01-25-arxiv_api.xml": arxiv_api_day(2, "2024-01-25T08:00:00Z", SURVEY_V2)},
    )
    config, report = build_project(archive)
    after = _pages(archive)
    assert sorted(after) == sorted(before), "no second page, no changed slug"
    survey = after["retrieval-augmented-generation-for-long-documents-a-survey"]
    assert survey["version"] == 2
    assert str(survey["revised"]) == "2024-01-25"
    assert "Version 2 compares 42 systems" in str(survey["body"])
    page = (
        config.output_dir
        / "papers/retrieval-augmented-generation-for-long-documents-a-survey/index.html"
    ).read_text(encoding="utf-8")
    assert "revised" in page and "Version 2 compares 42 systems" in page
    assert report.warnings == []


def test_shrink_guard_refuses_an_empty_or_truncated_day(
    archive: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_project(archive)
    monkeypatch.chdir(archive)
    write_tree(archive, {"seeds/2024-01-26.txt": "Jan 26\n\nNothing today.\n"})
    assert main(["build"]) == 1
    error = capsys.readouterr().err
    assert "seeds/2024-01-26.txt: this feed has no papers" in error
    assert "--force" in error
    assert not (archive / "_site/days/2024-01-26").exists()

    assert main(["build", "--force"]) == 0, "--force accepts the day"
    (archive / "seeds/2024-01-26.txt").unlink()
    assert main(["build"]) == 0


def test_shrink_guard_compares_with_the_median_day(tmp_path: Path) -> None:
    papers = "".join(
        f"\nPaper Number {i} On Sparse Experts\n\nWe study routing in a mixture of experts model number {i} and report results on benchmarks.\n"
        for i in range(10)
    )
    root = write_tree(tmp_path / "site", {"seeds/2024-01-22.txt": "Jan 22\n" + papers})
    build_project(root)
    write_tree(root, {"seeds/2024-01-23.txt": "Jan 23\n" + papers.split("\nPaper Number 1 ")[0]})
    with pytest.raises(SitegenError, match=r"1 paper\(s\), under 20% of the median day \(10\)"):
        build_project(root)
