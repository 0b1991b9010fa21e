"""QuickLinkify gives linkify-it's own answers, and the Markdown stage gives the same HTML."""

from __future__ import annotations

import pytest
from linkify_it import LinkifyIt
from markdown_it import MarkdownIt

from sitegen import markup
from sitegen.autolink import QuickLinkify
from sitegen.sources import parse_file
from tests.conftest import SEED

# Texts at each edge of the checks: where a schema name may start (the text's start, after a
# space, punctuation or a full-width bar; not after a letter or `_`), overlapping names, case
# variants (ſ and the Kelvin sign match s and k case-blind), fuzzy hosts, IPs and e-mails.
EDGES = [
    "",
    "@",
    "//",
    "https://a.b",
    "HTTPS://A.COM and HtTp://b.org",
    "httpſ://a.com",
    "x\u212a//y",
    "a///b",
    "a//b",
    "_//x",
    "x_https://a.com",
    "(https://a.com)",
    "＜https://a.b",
    "｜//x",
    "\x00//x",
    "\u3000https://x.y",
    "é http://x.y",
    "éhttp://x.y",
    "é_http://x.y",
    "ΚΑΛΗ http://x",
    "file:x ftp:x mailto:a MAILTO:b",
    "xmailto:a",
    "-mailto:a",
    "mail me@x.org",
    "see github.com/a for code",
    "version 1.2.3. again",
    "from 192.168.0.1 on",
    "www.x",
    "localhost:8080",
    "a.рф b",
    "a.de, b",
    "e.g. the i.e. model vs. al.",
    "x.\u212aw",
]


def _seed_abstracts() -> list[str]:
    return [paper.abstract for paper in parse_file(SEED, "seeds/2025-03-11.txt").papers]


def _pieces(text: str) -> list[str]:
    """The text, and the runs markdown-it asks about: between links, and word by word."""
    return [text, *text.split("https://"), *text.split("http://"), *text.split(" ")]


def test_the_quick_checks_are_in_use() -> None:
    # They stand aside if a linkify-it release builds its patterns differently.
    assert QuickLinkify()._quick() is not None


@pytest.mark.parametrize("text", EDGES)
def test_edge_texts_get_linkify_its_answers(text: str) -> None:
    quick, stock = QuickLinkify(), LinkifyIt()
    for piece in _pieces(text):
        assert quick.pretest(piece) == stock.pretest(piece), piece
        assert quick.test(piece) == stock.test(piece), piece


def test_seed_abstracts_get_linkify_its_answers() -> None:
    quick, stock = QuickLinkify(), LinkifyIt()
    abstracts = _seed_abstracts()
    assert sum("://" in text for text in abstracts) >= 10  # the seed has real URLs to check
    for text in abstracts:
        for piece in _pieces(text):
            assert quick.pretest(piece) == stock.pretest(piece), piece
            assert quick.test(piece) == stock.test(piece), piece


def test_an_added_schema_is_checked_too() -> None:
    quick, stock = QuickLinkify(), LinkifyIt()
    for linkify in (quick, stock):
        linkify.add("git:", "http:")
    assert quick._quick() is not None
    for text in ["see git://host/repo", "xgit://host", "see GIT://host", "no link here"]:
        assert quick.pretest(text) == stock.pretest(text), text
        assert quick.test(text) == stock.test(text), text


def test_markdown_html_is_the_same_as_with_linkify_it() -> None:
    stock = MarkdownIt("js-default", {"linkify": True}).enable("linkify")
    quick = MarkdownIt("js-default", {"linkify": True}).enable("linkify")
    quick.linkify = QuickLinkify()
    texts = [*EDGES, *_seed_abstracts()]
    linked = 0
    for text in texts:
        html = quick.render(text)
        assert html == stock.render(text), text
        linked += "<a href=" in html
    assert linked >= 20


def test_the_markdown_stage_links_with_quick_checks() -> None:
    renderer = markup.Renderer()
    assert isinstance(renderer._linking.linkify, QuickLinkify)
    html = renderer.block("Code: https://github.com/a/b. Contact me@x.org or see www.x.org.")
    assert '<a href="https://github.com/a/b">https://github.com/a/b</a>' in html
    assert '<a href="mailto:me@x.org">me@x.org</a>' in html
    assert '<a href="http://www.x.org">www.x.org</a>' in html
