"""Scholarly metadata: BibTeX, JSON-LD, citation_* tags and social cards, read by real parsers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import bibtexparser
import extruct
import lxml.html
import pytest

from sitegen import citation

PAPER_SLUG = "introducing-visual-perception-token-into-multimodal-large-language-model"
PAPER_TITLE = "Introducing Visual Perception Token into Multimodal Large Language Model"


def _input(**changes: object) -> citation.CitationInput:
    fields: dict[str, object] = {
        "title": "Attention Is All You Need",
        "abstract": "The dominant sequence transduction models are based on RNNs.",
        "authors": ("Ashish Vaswani", "Noam Shazeer"),
        "day": date(2017, 6, 12),
        "url": "https://example.org/papers/attention/",
        "arxiv_id": "1706.03762",
        "keywords": ("Transformers",),
        "site_title": "Trending Papers",
    }
    fields.update(changes)
    return citation.CitationInput(**fields)  # type: ignore[arg-type]


def _citation_tags(page: Path) -> dict[str, list[str]]:
    tree = lxml.html.fromstring(page.read_bytes())
    tags: dict[str, list[str]] = {}
    for meta in tree.xpath("//head/meta[starts-with(@name, 'citation_')]"):
        tags.setdefault(meta.get("name"), []).append(meta.get("content"))
    return tags


def test_bibtex_parses_and_keeps_fields() -> None:
    entry_text = citation.bibtex(_input(title="50% of {Braces} & R_2 in #1"))
    library = bibtexparser.parse_string(entry_text)
    assert not library.failed_blocks
    (entry,) = library.entries
    assert entry.entry_type == "misc"
    assert entry.key == "vaswani2017braces"
    assert entry["author"] == "Ashish Vaswani and Noam Shazeer"
    assert entry["year"] == "2017"
    assert entry["eprint"] == "1706.03762"
    assert entry["title"] == r"{50\% of \{Braces\} \& R\_2 in \#1}"


def test_citation_key_without_authors_or_id() -> None:
    paper = _input(authors=(), arxiv_id=None, title="The Best of Both Worlds")
    assert citation.citation_key(paper) == "best2017"
    assert (
        citation.citation_key(_input(title="Attention Is All You Need")) == "vaswani2017attention"
    )
    entry = citation.bibtex(paper)
    assert "eprint" not in entry
    assert "url = {https://example.org/papers/attention/}" in entry


def test_json_ld_cannot_close_its_script_element() -> None:
    hostile = "</script><script>alert(1)</script> & <!-- more"
    text = citation.json_ld(_input(title=hostile, abstract=hostile))
    assert "<" not in text and ">" not in text and "&" not in text
    data = json.loads(text)
    assert data["name"] == hostile
    assert data["abstract"] == hostile
    assert data["@type"] == "ScholarlyArticle"
    assert data["identifier"]["value"] == "1706.03762"


def test_meta_tags_for_an_arxiv_paper() -> None:
    tags = citation.meta_tags(_input())
    names = [name for name, _ in tags]
    assert names.count("citation_author") == 2
    assert ("citation_publication_date", "2017/06/12") in tags
    assert ("citation_arxiv_id", "1706.03762") in tags
    assert ("citation_pdf_url", "https://arxiv.org/pdf/1706.03762") in tags
    assert "citation_arxiv_id" not in dict(citation.meta_tags(_input(arxiv_id=None)))


def test_zotero_style_reader_finds_the_paper(seed_site_repo: Path) -> None:
    """What Zotero and Google Scholar read: citation_* tags, JSON-LD and Open Graph."""
    page = seed_site_repo / "papers" / PAPER_SLUG / "index.html"
    url = f"https://example.org/repo/papers/{PAPER_SLUG}/"
    tags = _citation_tags(page)
    assert tags["citation_title"] == [PAPER_TITLE]
    assert tags["citation_publication_date"] == ["2025/03/11"]
    (abstract,) = tags["citation_abstract"]
    assert abstract.startswith("To utilize visual information, Multimodal Large Language Model")
    assert "23.6%" in abstract and "\\%" not in abstract
    assert tags["citation_abstract_html_url"] == [url]

    data = extruct.extract(
        page.read_text(encoding="utf-8"), base_url=url, syntaxes=["json-ld", "opengraph"]
    )
    (article,) = data["json-ld"]
    assert article["@type"] == "ScholarlyArticle"
    assert article["name"] == PAPER_TITLE
    assert article["datePublished"] == "2025-03-11"
    assert article["abstract"] == abstract
    assert article["url"] == url
    (og,) = data["opengraph"]
    props = dict(og["properties"])
    assert props["og:title"] == PAPER_TITLE
    assert props["og:type"] == "article"
    assert props["og:url"] == url


@pytest.mark.parametrize(
    "path",
    [
        "index.html",
        f"papers/{PAPER_SLUG}/index.html",
        "tags/index.html",
        "days/2025-03-11/index.html",
    ],
)
def test_every_page_has_canonical_social_and_feed_links(seed_site_repo: Path, path: str) -> None:
    tree = lxml.html.fromstring((seed_site_repo / path).read_bytes())
    canonical = tree.xpath("//link[@rel='canonical']/@href")
    expected = "https://example.org/repo/" + path.removesuffix("index.html")
    assert canonical == [expected]
    assert tree.xpath("//meta[@property='og:url']/@content") == [expected]
    assert tree.xpath("//meta[@name='description']/@content")[0].strip()
    assert tree.xpath("//meta[@name='twitter:card']/@content") == ["summary"]
    assert tree.xpath("//meta[@name='twitter:title']/@content")[0].strip()
    feeds = tree.xpath("//link[@rel='alternate']/@type")
    assert {"application/atom+xml", "application/rss+xml", "application/feed+json"} <= set(feeds)


def test_paper_page_links_days_tags_and_neighbours(seed_site: Path) -> None:
    tree = lxml.html.fromstring((seed_site / "papers" / PAPER_SLUG / "index.html").read_bytes())
    assert tree.xpath("//p[@class='meta']/a/@href") == ["/days/2025-03-11/"]
    assert tree.xpath("//ul[@class='tags']//a/@href")
    assert tree.xpath("//ul[@class='buttons']//a/@href") == [
        "https://github.com/yu-rp/VisualPerceptionToken"
    ]
    prev_url = tree.xpath("//nav[@class='day-nav']/a[@rel='prev']/@href")[0]
    prev_tree = lxml.html.fromstring((seed_site / prev_url.strip("/") / "index.html").read_bytes())
    assert prev_tree.xpath("//nav[@class='day-nav']/a[@rel='next']/@href") == [
        f"/papers/{PAPER_SLUG}/"
    ]


def test_day_neighbours_follow_the_feed_order(seed_site: Path) -> None:
    day = lxml.html.fromstring((seed_site / "days" / "2025-03-11" / "index.html").read_bytes())
    order = day.xpath("//ol[@class='papers']//h2/a/@href")
    assert len(order) == 81
    first = lxml.html.fromstring((seed_site / order[0].strip("/") / "index.html").read_bytes())
    assert not first.xpath("//nav[@class='day-nav']/a[@rel='prev']")
    assert first.xpath("//nav[@class='day-nav']/a[@rel='next']/@href") == [order[1]]
    last = lxml.html.fromstring((seed_site / order[-1].strip("/") / "index.html").read_bytes())
    assert not last.xpath("//nav[@class='day-nav']/a[@rel='next']")


def test_bibtex_keeps_title_math_as_tex() -> None:
    paper = _input(
        title="Scaling 𝒪(n^2) Attention with Ringo, 50% faster",
        title_source=r"Scaling $\mathcal{O}(n^2)$ Attention with $\textit{Ringo}$, 50\% faster",
    )
    library = bibtexparser.parse_string(citation.bibtex(paper))
    (entry,) = library.entries
    assert entry["title"] == r"{Scaling $\mathcal{O}(n^2)$ Attention with Ringo, 50\% faster}"


@pytest.mark.parametrize(
    "source", [r"Breaking $x}$ Parsers, note = {pwned", r"Sets $\left\{x\right.$ Done"]
)
def test_bibtex_falls_back_to_plain_text_for_unbalanced_math(source: str) -> None:
    entry_text = citation.bibtex(_input(title=source, title_source=source))
    library = bibtexparser.parse_string(entry_text)
    assert not library.failed_blocks
    (entry,) = library.entries
    assert entry["author"] == "Ashish Vaswani and Noam Shazeer"
    assert entry["eprint"] == "1706.03762"
    assert "pwned" not in entry.fields_dict.get("note", bibtexparser.model.Field("note", "")).value
