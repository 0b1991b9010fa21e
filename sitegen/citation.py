"""Scholarly metadata for a paper: a BibTeX entry, JSON-LD and Google Scholar meta tags."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from slugify import slugify

from sitegen import markup

# Words a citation key should not be built from (`the-...` keys are what people rename first).
_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "on",
        "in",
        "for",
        "to",
        "and",
        "with",
        "via",
        "from",
        "by",
        "towards",
        "toward",
        "is",
        "are",
        "do",
        "does",
        "can",
    ]
)
_BIBTEX_SPECIAL = re.compile(r"([\\{}%&#_$^~])")
_BIBTEX_ESCAPES = {"\\": r"\textbackslash{}", "^": r"\^{}", "~": r"\~{}"}
# `</script>` (or `<!--`) inside a JSON-LD string would end the script element early.
_JSON_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


@dataclass(frozen=True, slots=True)
class CitationInput:
    """What the metadata is made from: plain-text fields only, no markup."""

    title: str
    abstract: str
    authors: Sequence[str]
    day: date  # the first day the paper was listed
    url: str  # absolute URL of the paper page
    arxiv_id: str | None
    keywords: Sequence[str]
    site_title: str
    title_source: str = ""  # the title as scraped, so BibTeX keeps its `$...$` math as TeX


def arxiv_abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def arxiv_pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"


def _family_name(author: str) -> str:
    name = author.strip()
    if "," in name:  # "Family, Given" as BibTeX and arXiv write it
        return name.split(",", 1)[0]
    return name.split()[-1] if name.split() else ""


@functools.lru_cache(maxsize=4096)
def _author_slug(author: str) -> str:
    # Authors recur across an archive's papers: slugify each name once.
    return slugify(_family_name(author), separator="")


@functools.lru_cache(maxsize=65536)
def _word_slug(word: str) -> tuple[str, ...]:
    return tuple(slugify(word, separator=" ").split())


def _first_title_word(title: str) -> str:
    """The first word of the title's slug that is neither a stop word nor a number.

    Slugified a word at a time, up to that word: nothing in slugify joins text across a space
    (it becomes a separator; an entity, a quote or `1,000` holds none), so the words come out as
    from the whole title, and words recur across an archive's titles. Split on spaces only:
    slugify may drop other white space (U+0085), joining what it separated.
    """
    for word in title.split(" "):
        for part in _word_slug(word):
            if part not in _STOP_WORDS and not part.isdigit():
                return part
    return ""


def citation_key(paper: CitationInput) -> str:
    """`vaswani2017attention`: first author's family name, year, first significant title word."""
    first_word = _first_title_word(paper.title)
    author = _author_slug(paper.authors[0]) if paper.authors else ""
    # Without an author the title word leads, as in `attention2017`.
    key = f"{author}{paper.day.year}{first_word}" if author else f"{first_word}{paper.day.year}"
    if not author and not first_word:
        key = f"paper{paper.day.year}" + (
            paper.arxiv_id.replace("/", "").replace(".", "") if paper.arxiv_id else ""
        )
    return key


def _bibtex_escape(text: str) -> str:
    return _BIBTEX_SPECIAL.sub(lambda m: _BIBTEX_ESCAPES.get(m.group(1), "\\" + m.group(1)), text)


def _braces_balance(tex: str) -> bool:
    # BibTeX counts every brace, escaped ones (`\{`) included.
    depth = 0
    for char in tex:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _bibtex_title(paper: CitationInput) -> str:
    """The plain title escaped for BibTeX, with any `$...$` math kept as the TeX it was."""
    parts = markup.split_math(paper.title_source)
    if len(parts) == 1:
        return _bibtex_escape(paper.title)
    out = []
    for i, part in enumerate(parts):
        if i % 2 and _braces_balance(part):
            out.append(f"${part}$")
            continue
        if i % 2:
            # Unbalanced braces would end the BibTeX field early and swallow the rest of the
            # entry (`$x}$, note = {...`): fall back to the formula's plain text.
            part = markup.to_plain(f"${part}$")
        plain = markup.to_plain(part)  # to_plain trims: keep the spaces around the formulas
        lead = " " if part[:1].isspace() and plain else ""
        trail = " " if part[-1:].isspace() and plain else ""
        out.append(lead + _bibtex_escape(plain) + trail)
    return "".join(out).strip()


def bibtex(paper: CitationInput) -> str:
    """A `@misc` entry as arXiv's own export writes it; the title is braced to keep its case."""
    fields: list[tuple[str, str]] = [("title", "{" + _bibtex_title(paper) + "}")]
    if paper.authors:
        fields.append(("author", " and ".join(_bibtex_escape(a) for a in paper.authors)))
    fields.append(("year", str(paper.day.year)))
    if paper.arxiv_id:
        fields += [
            ("eprint", paper.arxiv_id),
            ("archivePrefix", "arXiv"),
            ("url", arxiv_abs_url(paper.arxiv_id)),
        ]
    else:
        fields.append(("url", paper.url))
    fields.append(("note", f"Listed on {paper.site_title}, {paper.day.isoformat()}"))
    lines = [f"@misc{{{citation_key(paper)},"]
    lines += [f"  {name} = {{{value}}}," for name, value in fields]
    lines[-1] = lines[-1].rstrip(",")
    lines.append("}")
    return "\n".join(lines)


def json_ld(paper: CitationInput) -> str:
    """A schema.org ScholarlyArticle as JSON that is safe inside a `<script>` element."""
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "ScholarlyArticle",
        "headline": paper.title[:110],
        "name": paper.title,
        "abstract": paper.abstract,
        "datePublished": paper.day.isoformat(),
        "url": paper.url,
        "mainEntityOfPage": paper.url,
    }
    if paper.authors:
        data["author"] = [{"@type": "Person", "name": a} for a in paper.authors]
    if paper.keywords:
        data["keywords"] = list(paper.keywords)
    if paper.arxiv_id:
        data["identifier"] = {
            "@type": "PropertyValue",
            "propertyID": "arXiv",
            "value": paper.arxiv_id,
        }
        data["sameAs"] = arxiv_abs_url(paper.arxiv_id)
    # One line: with `indent` the json module falls back to its pure-Python encoder, which
    # cost a tenth of a large build's time.
    text = json.dumps(data, ensure_ascii=False)
    # Three scans in C: a regex calls back into Python for each match, and str.translate looks
    # up every character of the text in a dict.
    for char, escaped in _JSON_HTML_ESCAPES.items():
        text = text.replace(char, escaped)
    return text


def meta_tags(paper: CitationInput) -> tuple[tuple[str, str], ...]:
    """Google Scholar / Zotero `citation_*` tags as (name, content) pairs, in the usual order."""
    tags: list[tuple[str, str]] = [("citation_title", paper.title)]
    tags += [("citation_author", a) for a in paper.authors]
    # strftime("%Y/%m/%d") as glibc writes it (the year unpadded), at a tenth of its cost.
    day = f"{paper.day.year}/{paper.day.month:02d}/{paper.day.day:02d}"
    tags.append(("citation_publication_date", day))
    tags.append(("citation_online_date", day))
    if paper.abstract:
        tags.append(("citation_abstract", paper.abstract))
    tags.append(("citation_abstract_html_url", paper.url))
    if paper.arxiv_id:
        tags += [
            ("citation_arxiv_id", paper.arxiv_id),
            ("citation_pdf_url", arxiv_pdf_url(paper.arxiv_id)),
        ]
    tags += [("citation_keywords", k) for k in paper.keywords]
    return tuple(tags)
