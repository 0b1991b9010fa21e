"""Property tests: arbitrary text never crashes a reader, and content pages round-trip."""

from __future__ import annotations

import json
import re
import string
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it.rules_inline.linkify import SCHEME_RE
from slugify import slugify

from sitegen import citation, content, frontmatter, markup, sources
from sitegen.errors import SitegenError
from sitegen.models import Appearance, ParseResult
from sitegen.taxonomy import Taxonomy, load_taxonomy
from tests.conftest import REPO

SOURCE = "seeds/2025-03-11.txt"
TAXONOMY = load_taxonomy()
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no example folder left in the repo
    suppress_health_check=[HealthCheck.too_slow],
)

# Pieces of every input format, so that generated text reaches past the first syntax check.
FRAGMENTS = [
    "\n",
    "\n\n",
    "Mar 11",
    "March 11, 2025",
    "Published on Mar 12",
    "new",
    "Subscribe",
    "A Title Of A Paper",
    "An abstract sentence that is long enough to count as prose in a dump.",
    '<?xml version="1.0"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    "<entry>",
    "</entry>",
    "<title>",
    "</title>",
    "<summary>",
    "</summary>",
    "<id>http://arxiv.org/abs/2401.12345v2</id>",
    "<published>2025-03-11T00:00:00Z</published>",
    '<rss version="2.0"><channel>',
    "<item>",
    "</item>",
    "<![CDATA[",
    "]]>",
    "&amp;",
    "&#0;",
    "&bogus;",
    "[",
    "]",
    "{",
    "}",
    '{"paper": {"id": "2401.12345", "title": "T", "summary": "S", "authors": [{"name": 1}]}, ',
    '"publishedAt": "2025-03-11T10:00:00.000Z"',
    '"publishedAt": "9999-99-99"',
    '"title": null',
    ",",
    ":",
    '"',
    "@misc{key,",
    "@article{",
    "title={A {Nested} Title},",
    "author={A. Person and B. Person},",
    "year={2025},",
    "eprint={2401.12345},",
    "month={dec},",
    "@string{x = {y}}",
    "%",
    "\\",
    "\\url{",
    "$",
    "\x00",
    "\x07",
    "\u202e",
    "\ud800",
    "\ufeff",
    "\r\n",
]
shaped_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=40
).map("".join)
any_text = st.one_of(st.text(max_size=400), shaped_text)


def check_result(result: ParseResult) -> None:
    assert isinstance(result, ParseResult)
    for paper in result.papers:
        assert isinstance(paper.title, str) and isinstance(paper.day, date)


def check_error(exc: SitegenError) -> None:
    assert exc.location is not None, f"error without a location: {exc}"
    assert exc.location.file
    assert "\n" not in str(exc).strip()


@pytest.mark.parametrize("fmt", sources.FORMATS, ids=lambda f: f.name)
@SETTINGS
@given(text=any_text, year=st.one_of(st.none(), st.integers(1900, 2200)))
def test_every_parser_returns_papers_or_a_located_error(
    fmt: sources.Format, text: str, year: int | None
) -> None:
    try:
        fmt.sniff(text, SOURCE)
        check_result(fmt.parse(text, SOURCE, year))
    except SitegenError as exc:
        check_error(exc)


@SETTINGS
@given(
    data=st.one_of(
        st.binary(max_size=300), shaped_text.map(lambda t: t.encode("utf-8", "surrogatepass"))
    )
)
def test_any_bytes_in_seeds_give_papers_or_a_located_error(data: bytes) -> None:
    try:
        check_result(sources.parse_text(sources.decode(data, SOURCE), SOURCE, 2025))
    except SitegenError as exc:
        check_error(exc)


YAML_FRAGMENTS = [
    "---\n",
    "title: ",
    "date: ",
    "2025-03-11",
    "2025-13-45",
    "slug: ",
    "tags: ",
    "authors: ",
    "appeared: ",
    "- date: 2025-03-11\n",
    "  rank: x\n",
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "!!python/object:os.system ",
    "!!binary ",
    "? ",
    ": ",
    "'",
    '"',
    "\n",
    "  ",
    "\t",
    "#",
    "|",
    ">",
    "%YAML 1.1\n",
    "1e999",
    "null",
    "~",
]
front_matter_text = st.lists(
    st.one_of(st.sampled_from(YAML_FRAGMENTS), st.text(max_size=8)), max_size=30
).map(lambda parts: "---\n" + "".join(parts))
page_text = st.one_of(st.text(max_size=300), front_matter_text)


@SETTINGS
@given(text=page_text)
def test_front_matter_reader_returns_a_mapping_or_a_located_error(text: str) -> None:
    try:
        meta, body = frontmatter.split(text, "content/papers/x.md")
    except SitegenError as exc:
        check_error(exc)
        return
    assert isinstance(meta, dict) and isinstance(body, str)


def _load(text: str, taxonomy: Taxonomy) -> None:
    try:
        paper = content.load_paper_page("content/papers/x.md", text, taxonomy, {})
        assert paper.appearances and paper.title
        page = content.load_page("content/x.md", text)
        assert page.title
    except SitegenError as exc:
        check_error(exc)


@SETTINGS
@given(text=page_text)
def test_content_loader_returns_pages_or_a_located_error(text: str) -> None:
    _load(text, TAXONOMY)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        st.dates().map(str),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
# Every key sitegen gives meaning to, plus one a person might add.
KEYS = [*sorted(content.STRUCTURAL_KEYS), "reading_group"]


@SETTINGS
@given(
    meta=st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8), body=st.text(max_size=80)
)
def test_content_loader_survives_any_front_matter_values(
    meta: dict[str, object], body: str
) -> None:
    # JSON is valid YAML: every combination of key and value type reaches the loader.
    _load(f"---\n{json.dumps(meta)}\n---\n{body}", TAXONOMY)


# --- round trip ------------------------------------------------------------------------------

line_text = (
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
        min_size=1,
        max_size=60,
    )
    .map(markup.clean_text)
    .filter(lambda t: t.strip() == t and t != "")
)
body_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=300
).map(lambda t: markup.clean_text(t).strip())
arxiv_ids = st.one_of(
    st.none(),
    st.from_regex(r"\A2[0-9]{3}\.[0-9]{5}\Z"),
    st.from_regex(r"\A(cond-mat|hep-th|math)/0[0-9]{6}\Z"),
)
appearances = st.lists(
    st.builds(
        Appearance,
        day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
        source=st.sampled_from(["seeds/2025-03-11.txt", "seeds/a b.json", "seeds/ü.bib"]),
        rank=st.integers(1, 500),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda a: (a.day, a.source),
).map(lambda items: tuple(sorted(items, key=lambda a: (a.day, a.source))))


@st.composite
def merged_papers(draw: st.DrawFn) -> content.MergedPaper:
    arxiv_id = draw(arxiv_ids)
    title = draw(line_text)
    return content.MergedPaper(
        key=f"arxiv:{arxiv_id}" if arxiv_id else f"title:{title.casefold()}",
        title=title,
        abstract=draw(body_text),
        appearances=draw(appearances),
        arxiv_id=arxiv_id,
        version=draw(st.one_of(st.none(), st.integers(1, 30))),
        revised=draw(st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2100, 12, 31)))),
        authors=tuple(draw(st.lists(line_text, max_size=4))),
        categories=tuple(draw(st.lists(st.sampled_from(["cs.CL", "cs.LG", "hep-th"]), max_size=2))),
        links=tuple(draw(st.lists(st.just("https://github.com/a/b"), max_size=1))),
    )


EMPTY_TAXONOMY = Taxonomy(rules=())


@SETTINGS
@given(paper=merged_papers())
def test_every_paper_written_to_content_reads_back_equal(paper: content.MergedPaper) -> None:
    text = content.render_page(paper, "some-slug", ())
    meta, body = frontmatter.split(text, "content/papers/some-slug.md")
    assert content.is_pristine(meta, body)
    loaded = content.load_paper_page("content/papers/some-slug.md", text, EMPTY_TAXONOMY, {})
    assert loaded.title == paper.title
    assert loaded.body.rstrip("\n") == paper.abstract
    assert loaded.appearances == paper.appearances
    assert loaded.arxiv_id == paper.arxiv_id
    assert loaded.key == paper.key
    assert loaded.authors == paper.authors
    assert loaded.categories == paper.categories
    assert loaded.links == paper.links
    assert loaded.revised == paper.revised
    assert loaded.slug == "some-slug"


# Beyond ASCII, any printable character is inert: letters, marks, numbers, punctuation and
# symbols (dashes, curly quotes, math signs); white space and format characters are not.
_UNICODE_INERT = st.characters(categories=("L", "M", "N", "P", "S"), min_codepoint=0x80)
_NEAR_INERT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(" ,.:;?!'\"()/+=%@-") + list("_*$\\~`[]<>&#{}\n\t")),
        st.sampled_from(["\u00a0", "\u2009", "\u3000", "\u200b", "\u2028", "\ufeff", "\x85"]),
        _UNICODE_INERT,
    ),
    max_size=40,
)


_INERT = st.text(
    alphabet=st.one_of(st.sampled_from(list(" ,.:;?!'\"()/+=%@-")), _UNICODE_INERT),
    max_size=40,
)


@SETTINGS
@given(st.one_of(_INERT, _NEAR_INERT))
def test_inert_text_skips_the_converters_with_the_same_result(text: str) -> None:
    """Titles made of letters, digits and plain punctuation bypass Markdown and TeX handling."""
    renderer = markup.default_renderer()
    if markup.is_inert(text):
        assert renderer.inline(text) == renderer._inline(text)
        assert markup.to_plain(text) == markup._to_plain(text)


def test_the_inert_characters_are_the_plain_ascii_ones_and_the_printable_others() -> None:
    allowed = set(string.ascii_letters + string.digits + " ,.:;?!'\"()/+=%@-")
    wrong = [
        char
        for char in map(chr, range(sys.maxunicode + 1))
        if markup.is_inert(f"a{char}b")
        != (char in allowed if char.isascii() else char.isprintable())
    ]
    assert wrong == []


def test_a_printable_character_is_neither_removed_nor_white_space() -> None:
    """Why a printable text is its own plain text: `clean_text` removes none of its characters,
    and to_plain folds none of them as white space (but the ASCII space)."""
    printable = [char for char in map(chr, range(sys.maxunicode + 1)) if char.isprintable()]
    assert [char for char in printable if markup._UNSAFE_CHARS.match(char)] == []
    assert [char for char in printable if char.isspace()] == [" "]


# Paragraphs as a page's body holds them: blank lines between, maybe line breaks around.
_PARAGRAPHS = st.tuples(
    st.sampled_from(["", "\n", "\n\n"]),
    st.lists(
        st.tuples(
            st.sampled_from(
                ["", "1. ", "2) ", "12.", "- ", "+ ", "-", "+", "3.5 ", "www.", "a://"]
            ),
            st.one_of(_INERT, _NEAR_INERT),
        ).map("".join),
        min_size=1,
        max_size=4,
    ).map("\n\n".join),
    st.sampled_from(["", "\n", "\n\n", "\n\n\n"]),
).map("".join)


@SETTINGS
@given(_PARAGRAPHS)
def test_plain_paragraphs_render_as_markdown_does(text: str) -> None:
    """Abstracts of inert one-line paragraphs bypass markdown-it with the same HTML, and the
    plain-text converter with the same text."""
    renderer = markup.Renderer()
    source = markup.latex_to_markdown(markup.clean_text(text))
    expected = renderer._parser(source).render(source)
    html = markup.plain_paragraphs(text)
    if html is not None:
        assert html == expected
    assert renderer._block(text) == expected  # its own fast paths, after the TeX
    assert markup.to_plain(text) == markup._to_plain(text)


# Inert words and links of each shape markdown-it's two linkify rules tell apart: schemes in any
# case, after a letter, digit or punctuation, with a scheme-like run longer than the window
# `_scheme_before` looks at, with trailing punctuation, fuzzy hosts, IPs and e-mail addresses,
# `://` with no scheme or no host, and letters only case-blind matching takes for ASCII.
_LINK_WORDS = st.sampled_from(
    [
        "https://github.com/a/b",
        "HTTPS://X.ORG/A",
        "hTtP://x.org/a.",
        "http://x.org/a,",
        "(https://x.org/a)",
        "(see https://x.org/a(b))",
        '"https://x.org/q?a=1+2%20"',
        "https://x.org/a?b=c;d!e'f",
        "ftp://files.x.org/pub",
        "//x.org/path",
        "mailto:me@x.org",
        "me@x.org",
        "www.x.org/a",
        "x.org",
        "github.com/a/b",
        "localhost:8080/a",
        "http://localhost:8000",
        "192.168.0.1",
        "1http://x.org",
        "xhttps://x.org",
        "see:https://x.org",
        "a.b+c-d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.https://x.org",
        "a.b+c-d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z://x.org",
        "http://",
        "://x.org",
        "https://-",
        "https://x.org/https://y.org",
        "http\u212a://x.org",
        "\u212ahttp://x.org",
        "éhttps://x.org",
        "https://例え.jp/パス",
        "javascript:alert(1)",
        "data:text/html,x",
        "e.g.",
        "vs.",
        "1.2.3.",
        # TeX that converts to inert text (an en dash, curly quotes, `%`, a space), or not.
        "--",
        "``quoted''",
        "50\\%",
        "Fig.~1",
        "\\textit{x}",
        "$x$",
        "“curly”",
        "naïve",
        "≈",
        "\u00a0",
    ]
)


def _paragraphs_of(words: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One to three one-line paragraphs of these words and inert text, single-spaced."""
    line = st.lists(st.one_of(words, _INERT), min_size=1, max_size=8).map(
        lambda found: " ".join(" ".join(found).split())
    )
    return st.lists(line, min_size=1, max_size=3).map("\n\n".join)


_LINKED_PARAGRAPHS = _paragraphs_of(_LINK_WORDS)


@SETTINGS
@given(_LINKED_PARAGRAPHS)
def test_inert_paragraphs_with_links_render_as_markdown_it_does(text: str) -> None:
    """Abstracts of inert one-line paragraphs with URLs skip markdown-it's inline parse
    (`_linked_line`) with the same HTML."""
    renderer = markup.Renderer()
    source = markup.latex_to_markdown(markup.clean_text(text))
    assert renderer._block(text) == renderer._parser(source).render(source)


def test_the_link_fast_path_is_taken_and_links(monkeypatch: pytest.MonkeyPatch) -> None:
    renderer = markup.Renderer()
    pages = sorted((REPO / "content" / "papers").glob("*.md"))
    bodies = [frontmatter.split(p.read_text(encoding="utf-8"), p.name)[1] for p in pages]
    linked = [b for b in bodies if markup._has_url(b) and markup._inert_lines(b) is not None]
    assert len(linked) > 10
    for body in linked:
        html = renderer._block(body)
        assert html == renderer._linking.render(body)
        assert '<a href="http' in html

    # The fast path renders these: markdown-it is not asked.
    def unused(source: str) -> str:
        raise AssertionError(source)

    monkeypatch.setattr(renderer._linking, "render", unused)
    for body in linked:
        renderer._block(body)
    assert renderer._block("code at https://x.org/a.") == (
        '<p>code at <a href="https://x.org/a">https://x.org/a</a>.</p>\n'
    )
    with pytest.raises(AssertionError):
        renderer._block("a [link](https://x.org)")


# Words with `&<>~` that markdown-it only escapes, and the ones that open its syntax: entities
# (named, unknown, numeric), autolinks (a scheme, an e-mail address, neither), block quotes,
# strikethroughs, tilde fences, thematic breaks and list markers, each alone or inside a word.
_ESCAPABLE_WORDS = st.sampled_from(
    [
        "R&D",
        "AT&T;",
        "&",
        "&amp;",
        "&AMP;",
        "&copy;",
        "&nope;",
        "&#35;",
        "&#x41;",
        "&#;",
        "a<b",
        "<5%",
        "< 5",
        "p<0.05",
        "x>y",
        ">",
        ">=",
        "<a>",
        "<x@y.org>",
        "<1@y.org>",
        "<https://x.org>",
        "<http:>",
        "<>",
        "~",
        "~5%",
        "~~",
        "~~x~~",
        "~~~",
        "--",
        "---",
        "-",
        "a--b",
        "1.",
        "2)",
        '"q"',
        "https://x.org/?a=1&b=2",
        "x.org",
        "me@x.org",
        "naïve",
    ]
)


@SETTINGS
@given(_paragraphs_of(_ESCAPABLE_WORDS))
@example("R&D costs > 5% of ~10 units--or more")
@example("-- -")
@example("> quoted")
@example("see <x@y.org> & https://x.org")
@example("see <https://x.org and x>https://y.org/a&b")
@example("a<https://x.org/b>c")
@example("R&D  costs >  5%")
def test_text_with_ampersands_and_angle_brackets_renders_as_markdown_it_does(text: str) -> None:
    """Abstracts and titles whose only syntax characters are `&<>~` as text skip markdown-it
    (`_escaped_lines`, `_is_escaped_text`) with the same HTML; the rest go to it."""
    renderer = markup.Renderer()
    source = markup.latex_to_markdown(markup.clean_text(text))
    assert renderer._block(text) == renderer._parser(source).render(source)
    for line in text.split("\n\n"):
        inline_source = markup.latex_to_markdown(markup.clean_text(line))
        assert renderer._inline(line) == renderer._plain.renderInline(inline_source)


def test_the_escaping_fast_path_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    renderer = markup.Renderer()

    def unused(source: str) -> str:
        raise AssertionError(source)

    for parser in (renderer._plain, renderer._linking):
        monkeypatch.setattr(parser, "render", unused)
    monkeypatch.setattr(renderer._plain, "renderInline", unused)
    assert renderer._block("R&D costs > 5% of ~10 units--or more.\n\nAT&T <5 p<0.05\n") == (
        "<p>R&amp;D costs &gt; 5% of ~10 units--or more.</p>\n<p>AT&amp;T &lt;5 p&lt;0.05</p>\n"
    )
    assert renderer._block("Q&A at https://x.org/a.") == (
        '<p>Q&amp;A at <a href="https://x.org/a">https://x.org/a</a>.</p>\n'
    )
    assert renderer._inline("Q&A: > 90% ~ cheaper") == "Q&amp;A: &gt; 90% ~ cheaper"
    for syntax in ("&amp; more", "see <https://x.org>", "~~gone~~", "> quoted", "-- -"):
        with pytest.raises(AssertionError):
            renderer._block(syntax)


# Runs of scheme characters (the Kelvin sign and long s are letters to a case-blind match) as
# long as `_scheme_before`'s window or longer, between other characters.
_SCHEME_RUNS = st.lists(
    st.one_of(
        st.text(alphabet=st.sampled_from(list("aZ1.+-\u212a\u017f")), max_size=50),
        st.text(alphabet=st.sampled_from(list(": /é_")), max_size=2),
    ),
    max_size=6,
).map("".join)


@SETTINGS
@given(_SCHEME_RUNS, st.integers(0, 120), st.integers(0, 120))
@example("x" * 40 + ":", 0, 40)
@example("1" + "x" * 40, 0, 41)
@example(" " + "x" * 31, 0, 32)
def test_the_scheme_before_a_colon_is_markdown_its(text: str, start: int, end: int) -> None:
    start, end = min(start, end, len(text)), min(max(start, end), len(text))
    found = SCHEME_RE.search(text[start:end])
    assert markup._scheme_before(text, start, end) == (found.group(1) if found else None)


def test_seed_abstracts_render_as_markdown_it_renders_them() -> None:
    """Every fast path of `_block` (inert, inert with URLs, inert once its TeX is converted)
    against markdown-it itself, on the seed site's abstracts."""
    renderer = markup.Renderer()
    pages = sorted((REPO / "content" / "papers").glob("*.md"))
    bodies = [frontmatter.split(p.read_text(encoding="utf-8"), p.name)[1] for p in pages]
    after_tex = 0
    for body in bodies:
        source = markup.latex_to_markdown(markup.clean_text(body))
        assert renderer._block(body) == renderer._parser(source).render(source)
        after_tex += source != body and markup._inert_lines(source) is not None
    assert after_tex >= 5


def test_seed_abstracts_render_alike_on_both_paths() -> None:
    """The bodies as the build has them (frontmatter.split), ending with a line break."""
    renderer = markup.default_renderer()
    pages = sorted((REPO / "content" / "papers").glob("*.md"))
    bodies = [frontmatter.split(p.read_text(encoding="utf-8"), p.name)[1] for p in pages]
    assert len(bodies) == 81
    assert all(body.endswith("\n") for body in bodies)
    assert sum(markup.plain_paragraphs(b) is not None for b in bodies) > 20
    assert sum(markup._inert_paragraphs(b) is not None for b in bodies) > 20
    for body in bodies:
        assert renderer.block(body) == renderer._block(body)
        assert markup.to_plain(body) == markup._to_plain(body)


def test_seed_titles_render_alike_on_both_paths() -> None:
    renderer = markup.default_renderer()
    titles = [
        line.removeprefix("title: ").strip("'")
        for page in (REPO / "content" / "papers").glob("*.md")
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith("title: ")
    ]
    assert len(titles) == 81
    assert sum(markup.is_inert(t) for t in titles) > 40  # the fast path is the common one
    for title in titles:
        assert renderer.inline(title) == renderer._inline(title)
        assert markup.to_plain(title) == markup._to_plain(title)


_TITLE_PIECES = st.one_of(
    st.sampled_from(
        [chr(c) for c in range(0x3100) if chr(c).isspace()]
        + ["&amp;", "&#32;", "&#x41;", "&#133;", "1,000", "don't", "\u00a8", "the", "3", " "]
    ),
    st.characters(blacklist_categories=("Cs",)),
)


@SETTINGS
@given(st.lists(_TITLE_PIECES, max_size=12).map("".join))
def test_the_citation_key_word_is_the_whole_titles_first(title: str) -> None:
    """Slugifying a title a word at a time finds the word slugifying it whole would."""
    words = [
        word
        for word in slugify(title, separator=" ").split()
        if word not in citation._STOP_WORDS and not word.isdigit()
    ]
    assert citation._first_title_word(title) == (words[0] if words else "")


# --- the front matter fast path ---------------------------------------------------------------

# Scalars that PyYAML reads as something else than they look, or only with care, and text.
_TRICKY_SCALARS = st.one_of(
    st.sampled_from(
        [
            "yes",
            "No",
            "on",
            "OFF",
            "null",
            "~",
            "0",
            "007",
            "1_000",
            "12:30",
            "0x1F",
            "1e3",
            ".5",
            "-3",
            "2025-03-11",
            "2025-3-11",
            "2025-02-30",
            "2025-03-11 10:00",
            "a: b",
            "a #b",
            "C#",
            "a:",
            "a'b",
            "it''s",
            "'",
            "-",
            "- a",
            "? a",
            "[a]",
            "{a: 1}",
            "&a",
            "*a",
            "!x",
            "|",
            ">",
            "%",
            "@x",
            "`x",
            "a\tb",
            "a\x85b",
            "a\u2028b",
            "\ufeffa",
            " a",
            "a ",
            "ü",
            "ªa",
            "Ⅻ",
            "Ωmega: x",
            "",
        ]
    ),
    st.text(max_size=12),
)
_SIMPLE_VALUES = st.recursive(
    st.one_of(
        _TRICKY_SCALARS,
        st.integers(-5, 10**6),
        st.dates(min_value=date(1, 1, 1)),
        st.booleans(),
        st.none(),
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["date", "source", "rank", "on", "x y"]), inner, max_size=3
        )
    ),
    max_leaves=10,
)


@SETTINGS
@given(
    st.one_of(
        st.lists(st.sampled_from([*map(chr, range(0x80)), "\n", "a: b\n"])).map("".join),
        st.text(alphabet=st.characters(max_codepoint=0x3000, blacklist_categories=("Cs",))),
    )
)
def test_unusual_characters_are_found_alike_on_both_paths(raw: str) -> None:
    assert frontmatter._is_unusual(raw) == (frontmatter._UNUSUAL.search(raw) is not None)


def test_unusual_characters_are_found_alike_for_every_character() -> None:
    found = [
        char
        for char in map(chr, range(sys.maxunicode + 1))
        if frontmatter._is_unusual(char + "\n") != (frontmatter._UNUSUAL.search(char) is not None)
    ]
    assert found == []


def test_a_repeated_line_reads_alike_and_its_empty_values_are_each_pages_own() -> None:
    """Lines are read once (`_line` is cached); the list or mapping `[]` and `{}` give is not
    shared between the pages that hold them, nor is an item's mapping."""
    first = frontmatter._plain_mapping("tags: []\nextra: {}\nappeared:\n- rank: 1\n")
    second = frontmatter._plain_mapping("tags: []\nextra: {}\nappeared:\n- rank: 1\n")
    assert first == second == {"tags": [], "extra": {}, "appeared": [{"rank": 1}]}
    assert first is not None and second is not None
    first["tags"].append("x")
    first["extra"]["y"] = 1
    first["appeared"][0]["day"] = 2
    assert second == {"tags": [], "extra": {}, "appeared": [{"rank": 1}]}
    # A line cached in one place is still refused where it cannot stand.
    assert frontmatter._plain_mapping("  rank: 1\n") is None
    assert frontmatter._plain_mapping("- rank: 1\n") is None


def test_white_space_runs_become_one_space_in_plain_text() -> None:
    """`_to_plain` collapses white space with str.split: the characters re's `\\s` matches."""
    space = re.compile(r"\s")
    differ = [
        char
        for char in map(chr, range(sys.maxunicode + 1))
        if char.isspace() != (space.fullmatch(char) is not None)
    ]
    assert differ == []
    assert markup._to_plain(" a \u2028\t b\u3000\n") == "a b"


def _read_alike(raw: str) -> None:
    """The fast path reads `raw` exactly as PyYAML does, or leaves it to PyYAML."""
    fast = frontmatter._plain_mapping(raw)
    if fast is None:
        return
    expected = yaml.load(raw, Loader=frontmatter._Loader)
    assert fast == expected and type(fast) is type(expected)
    assert repr(fast) == repr(expected)  # dates stay dates, ints ints, order kept


@SETTINGS
@given(meta=st.dictionaries(st.sampled_from([*KEYS, "on", "Null", "x-y"]), _SIMPLE_VALUES))
def test_front_matter_as_sitegen_writes_it_reads_as_pyyaml_reads_it(meta: dict[str, Any]) -> None:
    text = frontmatter.dump(meta, "body")
    _read_alike(text[len("---\n") : text.index("\n---\n") + 1])


@SETTINGS
@given(parts=st.lists(st.one_of(st.sampled_from(YAML_FRAGMENTS), _TRICKY_SCALARS), max_size=30))
def test_any_front_matter_reads_as_pyyaml_reads_it(parts: list[str]) -> None:
    raw = "".join(parts)
    # Text PyYAML refuses must be declined: accepted, it fails the load in _read_alike.
    _read_alike(raw if raw.endswith("\n") else raw + "\n")


def test_every_page_of_the_seed_site_takes_the_fast_path(settled_seed: Path) -> None:
    pages = sorted((settled_seed / "content/papers").glob("*.md"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        raw = text[len("---\n") : text.index("\n---\n") + 1]
        assert frontmatter._plain_mapping(raw) is not None, page.name
        _read_alike(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "title: a #b\n",  # a comment
        "title: C#\n",
        "title: yes\n",
        "on: x\n",
        "x: 1_000\n",
        "x: 12:30\n",  # sexagesimal: 750
        "x: 0o17\n",
        "x: 017\n",
        "x: 2025-3-11\n",
        "x: 2025-03-11\n",
        "x: 7bbf47a6dfa4c6a0\n",
        "x: 1e3\n",
        "x: ~\n",
        "x: =\n",
        "x: <<\n",
        "title: a\n  b\n",  # one scalar over two lines
        "tags:\n- a\n  b\n",
        "tags:\n  - a\n",
        "tags:\n- a: 1\n  b: 2\n- c\n",
        "tags:\n- a: 1\n  a: 2\n",
        "tags:\n\nx: 1\n",
        "tags:\nx: 1\n",
        "x: 'a''b'\n",
        "x: 'a'b'\n",
        "x: 'a: b'\n",
        "x: ''\n",
        "x: []\n",
        "x: {}\n",
        "x:  a\n",
        "x: a\ny: b\nx: c\n",
        "x: ünï: y\n",
        "x: ünï\n",
    ],
)
def test_tricky_front_matter_reads_as_pyyaml_reads_it(raw: str) -> None:
    try:
        yaml.load(raw, Loader=frontmatter._Loader)
    except yaml.YAMLError:
        assert frontmatter._plain_mapping(raw) is None
        return
    _read_alike(raw)
