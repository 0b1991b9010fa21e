"""Markup: LaTeX text macros, `$...$` math to MathML with a TeX fallback, and plain text."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sitegen import markup, mathml

# (LaTeX as scraped, what the HTML must contain, what the plain text must be)
MACRO_CASES = {
    "percent": (r"by 23.6\% and 13.4\%", "by 23.6% and 13.4%", "by 23.6% and 13.4%"),
    "url": (
        r"development\url{https://execrepobench.github.io/}.",
        '<a href="https://execrepobench.github.io/">https://execrepobench.github.io/</a>.',
        "developmenthttps://execrepobench.github.io/.",
    ),
    "href": (
        r"see \href{https://a.org/x}{our site}",
        '<a href="https://a.org/x">our site</a>',
        "see our site",
    ),
    "textit": (r"a \textit{Refiner} step", "a <em>Refiner</em> step", "a Refiner step"),
    "emph": (r"\emph{not} this", "<em>not</em> this", "not this"),
    "textbf": (r"a \textbf{bold} claim", "a <strong>bold</strong> claim", "a bold claim"),
    "eg": (
        r"contexts (\eg text prompts)",
        "contexts (e.g. text prompts)",
        "contexts (e.g. text prompts)",
    ),
    "ie": (
        r"one model, \ie a single one",
        "one model, i.e. a single one",
        "one model, i.e. a single one",
    ),
    "textgreater": (
        r"(LLMs, e.g., \textgreater 13B)",
        "(LLMs, e.g., &gt; 13B)",
        "(LLMs, e.g., > 13B)",
    ),
    "textless": (r"models \textless 1B", "models &lt; 1B", "models < 1B"),
    "about": (
        r"with ~3x better throughput",
        "with ~3x better throughput",
        "with ~3x better throughput",
    ),
    "tie": (r"see Fig.~1", "see Fig. 1", "see Fig. 1"),
    "tex-quotes": (
        r"a theory, ``Weight Guide'' aimed",
        "a theory, “Weight Guide” aimed",
        "a theory, “Weight Guide” aimed",
    ),
    "en-dash": (
        r"a tradeoff -- fine-tuning",
        "a tradeoff – fine-tuning",
        "a tradeoff – fine-tuning",
    ),
    "text-only-math": (
        r"$\textit{Refiner}$: Restructure",
        "<em>Refiner</em>: Restructure",
        "Refiner: Restructure",
    ),
    "currency": ("costs $5 and $6 a month", "costs $5 and $6 a month", "costs $5 and $6 a month"),
}


@pytest.mark.parametrize("case", sorted(MACRO_CASES))
def test_latex_text_macros(case: str) -> None:
    source, want_html, want_plain = MACRO_CASES[case]
    rendered = markup.default_renderer().block(source)
    assert want_html in rendered
    assert markup.to_plain(source) == want_plain
    assert not re.search(r"\\[A-Za-z]", rendered)


def test_inline_math_becomes_mathml() -> None:
    rendered = markup.default_renderer().block(r"a rank $r \ll d$ and $x_i^2$ terms")
    assert rendered.count("<math ") == 2
    assert "<msubsup><mi>x</mi><mi>i</mi><mn>2</mn></msubsup>" in rendered
    assert "$" not in rendered
    assert markup.to_plain(r"a rank $r \ll d$ and $x_i^2$ terms") == "a rank r ≪ d and x_i^2 terms"


def test_markdown_does_not_eat_underscores_inside_math() -> None:
    rendered = markup.default_renderer().block(r"$a_1$ and $b_2$ with *emphasis*")
    assert "<em>emphasis</em>" in rendered
    assert "<msub><mi>a</mi><mn>1</mn></msub>" in rendered
    assert "<msub><mi>b</mi><mn>2</mn></msub>" in rendered


def test_math_in_a_title() -> None:
    title = r"Scaling $\mathcal{O}(n^2)$ attention"
    inline = markup.default_renderer().inline(title)
    assert inline.startswith('Scaling <span class="math inline"><math ')
    assert "<p>" not in inline
    assert markup.to_plain(title) == "Scaling 𝒪(n^2) attention"


def test_display_math_is_a_block() -> None:
    rendered = markup.default_renderer().block("Before\n\n$$\\sum_i x_i$$\n\nafter")
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in rendered


def test_unknown_macro_falls_back_to_escaped_tex_source() -> None:
    rendered = markup.default_renderer().block(r"a $\frobnicate{x} < y$ here")
    assert '<code class="tex">\\frobnicate{x} &lt; y</code>' in rendered
    assert "<math" not in rendered


def test_math_cannot_inject_markup() -> None:
    rendered = markup.default_renderer().block(r"$x<script>alert(1)</script>$ and $\text{<b>}$")
    assert "<script" not in rendered
    assert "<b>" not in rendered


def test_mathml_results_are_cached_per_input() -> None:
    mathml.to_mathml.cache_clear()
    first = mathml.to_mathml(r"\alpha + \beta")
    second = mathml.to_mathml(r"\alpha + \beta")
    assert first is second
    assert mathml.to_mathml.cache_info().hits == 1


def test_escaped_dollar_is_not_math() -> None:
    rendered = markup.default_renderer().block(r"pay \$x\$ now")
    assert "<math" not in rendered
    assert "$x$" in html.unescape(rendered)


class _VisibleText(HTMLParser):
    """The text a reader sees (and the text of title/description meta), without scripts and code."""

    SKIP = frozenset({"script", "style", "pre", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        names = dict(attrs)
        if tag == "meta" and (names.get("name") or names.get("property")) and names.get("content"):
            self.chunks.append(names["content"] or "")
        if tag in {"img", "a", "input"}:
            for key in ("alt", "title", "aria-label", "placeholder"):
                if names.get(key):
                    self.chunks.append(names[key] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


def test_no_built_page_shows_raw_macros_or_stray_dollars(seed_site: Path) -> None:
    """Every HTML page of the seed: no `\\macro` and no `$` anywhere a reader or a crawler looks.

    BibTeX in the Cite block (<pre>) is TeX source by design and is skipped.
    """
    pages = sorted(seed_site.rglob("*.html"))
    assert len(pages) > 81
    problems = []
    for page in pages:
        parser = _VisibleText()
        parser.feed(page.read_text(encoding="utf-8"))
        text = " ".join(parser.chunks)
        for match in re.finditer(r"\\[A-Za-z]+|\$", text):
            context = text[max(0, match.start() - 30) : match.end() + 30]
            problems.append(f"{page.relative_to(seed_site)}: …{context}…")
    assert problems == []


def test_refiner_title_is_italic_on_its_page(seed_site: Path) -> None:
    page = (
        seed_site
        / "papers"
        / "refiner-restructure-retrieval-content-efficiently-to-advance-question-answering"
        / "index.html"
    )
    text = page.read_text(encoding="utf-8")
    assert "<h1><em>Refiner</em>: Restructure" in text
    assert "<title>Refiner: Restructure" in text
