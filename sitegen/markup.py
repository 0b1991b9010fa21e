"""Markup stage: scraped Markdown/LaTeX to safe HTML, and to plain text for titles and feeds."""

from __future__ import annotations

import html
import re
import string
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core.linkify import HTTP_RE, MAILTO_RE, TEST_MAILTO_RE
from markdown_it.rules_inline.linkify import SCHEME_RE
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.dollarmath import dollarmath_plugin

from sitegen import autolink, cache, mathml

# C0 and C1 controls, lone surrogates and non-characters (XML refuses them, UTF-8 cannot hold
# surrogates), bidi controls and zero-width or invisible characters (they can disguise text and
# URLs); tab and newline stay.
_UNSAFE_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\ufffe\uffff]"
)

# Zero-argument text macros scraped abstracts carry, and what a reader should see.
_WORD_MACROS = {
    "eg": "e.g.",
    "ie": "i.e.",
    "etal": "et al.",
    "etc": "etc.",
    "vs": "vs.",
    "textgreater": ">",
    "textless": "<",
    "textasciitilde": "~",
    "textbackslash": "\\",
    "ldots": "…",
    "dots": "…",
    "textemdash": "—",
    "textendash": "–",
    "LaTeX": "LaTeX",
    "TeX": "TeX",
}
_ESCAPED_CHARS = {"%": "%", "&": "&", "#": "#", "_": "_", "$": "$", "{": "{", "}": "}"}
_ARG = r"\{([^{}]*)\}"
_URL_MACRO = re.compile(r"\\url" + _ARG)
_HREF_MACRO = re.compile(r"\\href" + _ARG + _ARG)
_STYLE_MACRO = re.compile(
    r"\\(textit|emph|textsl|textbf|texttt|textsc|textrm|text|mathrm|mbox)" + _ARG
)
_WORD_MACRO = re.compile(r"\\(" + "|".join(sorted(_WORD_MACROS, key=len, reverse=True)) + r")\b\s?")
_ESCAPED = re.compile(r"\\([%&#_${}])")
# `$\textit{Refiner}$`: math delimiters around nothing but a text macro are a typesetting
# habit, not math.
_TEXT_ONLY_MATH = re.compile(r"\$(\\(?:textit|emph|textbf|texttt|text|mathrm)\{[^{}$]*\})\$")
# A LaTeX tie between words (`Fig.~1`) is a space; elsewhere `~` means "about" and stays.
_TIE = re.compile(r"(?<=[A-Za-z.])~(?=[A-Za-z0-9])")
# TeX quotes (``like this'') and a spaced en dash (`a -- b`); Markdown would read `` as code.
_TEX_QUOTES = re.compile(r"``(.+?)''")
_EN_DASH = re.compile(r"(?<=\s)--(?=\s)")
# A `$...$` span as mdit-py-plugins' dollarmath reads it with allow_space=False and
# allow_digits=False, so that `$5 and $6` stays currency: text macros inside math are TeX, not
# prose, and are left to the MathML converter.
_MATH = re.compile(r"(?<![\\\d$])\$(?![\s$])((?:\\.|[^\\$])+?)(?<!\s)\$(?![\d$])")

_STYLE_MARKDOWN = {"textit": "*", "emph": "*", "textsl": "*", "textbf": "**", "texttt": "`"}


def clean_text(text: str) -> str:
    """Remove characters that are never legitimate in a title or abstract."""
    if text.isascii() and text.isprintable():
        return text  # none of them is printable ASCII: the common case, at a tenth of the cost
    return _UNSAFE_CHARS.sub("", text)


def _may_hold_latex(text: str) -> bool:
    """Whether any pattern of `_convert_latex` can match: each needs one of these. Most
    abstracts have none, and a substring search is far cheaper than eight regex passes."""
    return "\\" in text or "$" in text or "~" in text or "``" in text or "--" in text


def _convert_latex(
    text: str,
    style: Callable[[str, str], str],
    link: Callable[[str, str], str],
    math: Callable[[str], str],
) -> str:
    if not _may_hold_latex(text):
        return text
    if "$" not in text:  # as below, without the math: `$` is in every match of both
        return _convert_prose(text, style, link)
    text = _TEXT_ONLY_MATH.sub(r"\1", text)
    parts = _MATH.split(text)  # even indexes: prose; odd indexes: the TeX inside `$...$`
    return "".join(
        math(part) if i % 2 else _convert_prose(part, style, link) for i, part in enumerate(parts)
    )


def _convert_prose(
    text: str, style: Callable[[str, str], str], link: Callable[[str, str], str]
) -> str:
    # Each pattern runs only if the text holds a string every match of it holds: an abstract
    # has one or two of them, and seven regex passes cost a fifth of its Markdown time.
    if "``" in text:
        text = _TEX_QUOTES.sub("\u201c\\1\u201d", text)
    if "--" in text:
        text = _EN_DASH.sub("\u2013", text)
    if "\\" in text:
        text = _HREF_MACRO.sub(lambda m: link(m.group(1), m.group(2)), text)
        text = _URL_MACRO.sub(lambda m: link(m.group(1), m.group(1)), text)
        text = _STYLE_MACRO.sub(lambda m: style(m.group(1), m.group(2)), text)
        text = _WORD_MACRO.sub(
            lambda m: _WORD_MACROS[m.group(1)] + (" " if m.group(0).endswith(" ") else ""), text
        )
    if "~" in text:
        text = _TIE.sub(" ", text)
    return text


def _markdown_style(name: str, inner: str) -> str:
    mark = _STYLE_MARKDOWN.get(name, "")
    return f"{mark}{inner}{mark}" if inner.strip() else inner


def _markdown_link(url: str, label: str) -> str:
    return f"<{url}>" if url == label else f"[{label}]({url})"


def latex_to_markdown(text: str) -> str:
    """Turn the LaTeX text macros of scraped abstracts into the Markdown they mean."""
    if not _may_hold_latex(text):
        return text
    text = _convert_latex(text, _markdown_style, _markdown_link, lambda tex: f"${tex}$")
    if "\\" not in text:
        return text
    # Markdown keeps `\%` as `%` already; a backslash-escaped `_` or `#` must stay escaped.
    return _ESCAPED.sub(lambda m: "\\" + m.group(1) if m.group(1) in "_#{}$" else m.group(1), text)


def split_math(text: str) -> list[str]:
    """Prose and the TeX inside `$...$` alternately: even indexes prose, odd indexes math."""
    return _MATH.split(_TEXT_ONLY_MATH.sub(r"\1", text))


# Characters that no conversion here, Markdown inline syntax or TeX touches: a text made only
# of these (most titles) is its own plain text, and its own inline HTML but for `"`. In ASCII:
# letters, digits, the space and this punctuation; `-` is safe alone (`--` is an en dash), `_`
# is not (emphasis). Beyond ASCII, every printable character: Markdown's syntax and the TeX
# conversions are all ASCII, markdown-it escapes only `&<>"`, and isprintable() refuses each
# character `clean_text` removes and every white space but the ASCII one, which to_plain folds.
# Deleting the allowed ASCII from a text's ASCII bytes leaves nothing if it is inert: 15 times
# faster than a regex search over an abstract.
_INERT_ASCII = (string.ascii_letters + string.digits + " ,.:;?!'\"()/+=%@-").encode("ascii")


# The cache tables of the conversions below.
_PLAIN, _BLOCK, _INLINE = "plain", "markdown-block", "markdown-inline"
NAMESPACES = (_PLAIN, _BLOCK, _INLINE)


def is_inert(text: str) -> bool:
    """True if `text` needs no conversion: to_plain() gives it back, inline() escapes `"`."""
    if text != text.strip() or "  " in text or "--" in text:
        return False
    return _made_of(text, _INERT_ASCII)


def _made_of(text: str, allowed: bytes) -> bool:
    """True if `text` is printable and each of its ASCII characters is in `allowed`."""
    if text.isascii():
        return not text.encode("ascii").translate(None, allowed)
    return text.isprintable() and not text.encode("ascii", "ignore").translate(None, allowed)


# What opens a block other than a paragraph in a line of inert text (`is_inert`): a list item,
# `1. `, `2) `, `- ` or `+ `. (A thematic break needs `---`, which is not inert.)
_BLOCK_START = re.compile(r"(?:\d{1,9}[.)]|[-+])(?: |$)")


def _inert_html(text: str) -> str:
    """An inert text (`is_inert`) as markdown-it renders it: only `"` is left to escape."""
    return text.replace('"', "&quot;")


def _paragraphs(text: str) -> list[str]:
    """`text` split at its blank lines, for the fast paths, which take one-line paragraphs.

    Line breaks before the first and after the last count for nothing, in Markdown as in plain
    text: a page's body ends with one, and refusing it kept every abstract off the fast paths.
    """
    return text.strip("\n").split("\n\n")


def _inert_paragraphs(text: str) -> list[str] | None:
    """The paragraphs of `text` if each is one inert line (`is_inert`), else None."""
    lines = _paragraphs(text)
    # is_inert refuses a line break: each paragraph is one line.
    return lines if all(line and is_inert(line) for line in lines) else None


# Beyond the inert characters, four that markdown-it only escapes where they open none of its
# syntax (`_escaped_lines`): `&` but an entity, `<` but an autolink, `>` but a block quote, `~`
# but a strikethrough or a fence. 1,112 of the 10k benchmark's abstracts and 124 of its titles
# hold one of them and nothing else a parser must read.
_ESCAPABLE_ASCII = _INERT_ASCII + b"&<>~"
_ENTITY_OR_AUTOLINK = re.compile(r"&(?:#|[A-Za-z][A-Za-z0-9]*;)|<[^<>\s]*>")


def _is_escaped_text(source: str) -> bool:
    """True if markdown-it renders the one-line `source` (TeX converted: `latex_to_markdown`)
    as its characters escaped (`escapeHtml`).

    Its characters are inert (`is_inert`) or `&<>~`, which must open nothing: no entity,
    autolink, block quote, strikethrough or fence (raw HTML is off). The check is broad: `&x;`
    is refused though only named entities are read, `<a>` though it names no scheme. Unlike
    `is_inert`, `--` and a run of spaces are allowed: TeX is converted already, and markdown-it
    (typographer off) keeps both; a line that opens with `--` may be a thematic break.
    """
    if source != source.strip() or source.startswith((">", "--")) or "~~" in source:
        return False
    if not _made_of(source, _ESCAPABLE_ASCII):
        return False
    # Searched only where it can match: a pattern tried at each character of an abstract cost
    # more than the parse it spares.
    return not (("&" in source or "<" in source) and _ENTITY_OR_AUTOLINK.search(source))


def _escaped_lines(text: str) -> list[str] | None:
    """The lines of `text` if it is one-line paragraphs markdown-it only escapes
    (`_is_escaped_text`), each opening no block but a paragraph; else None."""
    return _paragraph_lines(text, _is_escaped_text)


def _paragraph_lines(text: str, plain: Callable[[str], bool]) -> list[str] | None:
    """The lines of `text` if it is one-line paragraphs (`_paragraphs`), each `plain` and
    opening no block but a paragraph; else None."""
    lines = _paragraphs(text)
    if all(line and plain(line) and not _BLOCK_START.match(line) for line in lines):
        return lines
    return None


def _has_url(text: str) -> bool:
    """Whether `text` gets the linkifying parser (`Renderer._parser`)."""
    return "://" in text or "www." in text


def _inert_lines(text: str) -> list[str] | None:
    """The lines of `text` if it is inert one-line paragraphs (`_inert_paragraphs`) that open no
    block but a paragraph; else None."""
    return _paragraph_lines(text, is_inert)


def plain_paragraphs(text: str) -> str | None:
    """The HTML of `text` as Markdown, if it is inert one-line paragraphs (most abstracts); else
    None. Each is `<p>` and the line with `"` escaped, exactly what markdown-it makes of it."""
    if _has_url(text):
        return None
    lines = _inert_lines(text)
    return None if lines is None else _paragraphs_html(lines)


def _paragraphs_html(lines: list[str], escape: Callable[[str], str] = _inert_html) -> str:
    """Lines that open no block but a paragraph, with no URL, as HTML: inert lines
    (`_inert_lines`) by default, whose only character to escape is `"`; lines markdown-it only
    escapes (`_escaped_lines`) with `escapeHtml`."""
    return "".join(f"<p>{escape(line)}</p>\n" for line in lines)


def _linked_line(md: MarkdownIt, linkify: autolink.QuickLinkify, line: str) -> str:
    """An inert line (`is_inert`), or one markdown-it only escapes (`_is_escaped_text`), as `md`
    (linkify on, with `linkify` as its linkify-it) renders it inside its paragraph.

    In such a line no inline rule but linkify can match: the others each need a character an
    inert text does not hold, or a sequence `_is_escaped_text` refuses. So this is markdown-it's
    two linkify rules, with their own patterns and linkify-it's own matching: the inline rule at
    each `://` (a URL whose scheme ends the text since the last link), then the core rule on
    each run of text between the links. A fifth of the 10k benchmark's abstracts are such
    lines, and markdown-it's char-by-char inline parse of them took 300 µs each, against 170 µs
    here.
    """
    tested = linkify.pretest(line)  # the core rule looks at a paragraph only if it passes
    parts: list[str] = []
    start = 0  # the text since the last link, as markdown-it's `state.pending`
    at = 0
    while (colon := line.find("://", at)) != -1:
        at = colon + 1
        scheme = _scheme_before(line, start, colon)
        if scheme is None:
            continue
        begin = colon - len(scheme)
        link = linkify.match_at_start(line[begin:])
        if not link:
            continue
        url: str = link.url.rstrip("*")
        href = md.normalizeLink(url)
        if not md.validateLink(href):
            continue
        parts.append(
            _fuzzy_linked(md, linkify, line[start:begin])
            if tested
            else escapeHtml(line[start:begin])
        )
        parts.append(f'<a href="{escapeHtml(href)}">{escapeHtml(md.normalizeLinkText(url))}</a>')
        start = at = begin + len(url)
    parts.append(_fuzzy_linked(md, linkify, line[start:]) if tested else escapeHtml(line[start:]))
    return "".join(parts)


# The characters of a URL scheme, as in markdown-it's SCHEME_RE.
_SCHEME_CHARS = re.compile(r"[a-z0-9.+-]*", re.IGNORECASE)
_SCHEME_TAIL = 32


def _scheme_before(line: str, start: int, end: int) -> str | None:
    """What markdown-it's SCHEME_RE finds in `line[start:end]`: the scheme that ends it.

    It is the run of scheme characters that ends the text, if the run opens with a letter.
    That run is known from the text's last `_SCHEME_TAIL` characters unless they are all in it:
    the pattern's search, tried at each position of a whole abstract, cost 40 µs a URL.
    """
    tail = line[max(start, end - _SCHEME_TAIL) : end]
    if end - start > _SCHEME_TAIL and _SCHEME_CHARS.fullmatch(tail):
        tail = line[start:end]
    found = SCHEME_RE.search(tail)
    return None if found is None else found.group(1)


def _fuzzy_linked(md: MarkdownIt, linkify: autolink.QuickLinkify, text: str) -> str:
    """A run of text between links as markdown-it's core linkify rule renders it: the links
    linkify-it finds in it (fuzzy ones too: `example.org`, e-mail addresses) made links."""
    if not linkify.test(text):
        return escapeHtml(text)
    parts: list[str] = []
    last = 0
    for link in linkify.match(text) or []:
        href = md.normalizeLink(link.url)
        if not md.validateLink(href):
            continue
        label: str = link.text
        if not link.schema:
            label = HTTP_RE.sub("", md.normalizeLinkText("http://" + label))
        elif link.schema == "mailto:" and TEST_MAILTO_RE.search(label):
            label = MAILTO_RE.sub("", md.normalizeLinkText("mailto:" + label))
        else:
            label = md.normalizeLinkText(label)
        if link.index > last:
            parts.append(escapeHtml(text[last : link.index]))
        parts.append(f'<a href="{escapeHtml(href)}">{escapeHtml(label)}</a>')
        last = link.last_index
    if last < len(text):
        parts.append(escapeHtml(text[last:]))
    return "".join(parts)


def to_plain(text: str) -> str:
    """Unicode plain text without markup, for <title>, meta tags, slugs and feed titles."""
    if is_inert(text):
        return text
    lines = _inert_paragraphs(text)
    if lines is not None:
        # What _to_plain makes of the line breaks between them. Not cached: made again, it
        # costs less than a lookup, and a 100k-paper site's abstracts would hold 200 MB.
        return " ".join(lines)
    return cache.memo(_PLAIN, (text,), lambda: _to_plain(text))


def _to_plain(text: str) -> str:
    text = _convert_latex(
        clean_text(text),
        lambda _name, inner: inner,
        lambda url, label: label,
        lambda tex: "\0" + mathml.to_text(tex) + "\0",  # kept apart from the prose unescaping
    )
    parts = text.split("\0")
    text = "".join(
        part if i % 2 else _ESCAPED.sub(lambda m: _ESCAPED_CHARS[m.group(1)], part)
        for i, part in enumerate(parts)
    )
    # Each run of white space as one space, ends trimmed: what `\s+` to " " and strip() give
    # (str.split and re's \s agree on every code point), at a fifth of the cost.
    return " ".join(text.split())


def _render_math(tex: str, options: dict[str, Any]) -> str:
    return mathml.to_mathml(tex, bool(options.get("display_mode")))


def _with_math(md: MarkdownIt) -> MarkdownIt:
    """`$...$` to MathML; `$5 and $6` stays currency (PITFALLS: allow_digits=False)."""
    return md.use(
        dollarmath_plugin,
        allow_labels=False,
        allow_space=False,
        allow_digits=False,
        allow_blank_lines=False,
        renderer=_render_math,
    )


def _render_image(
    self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """Only same-site images load: a remote or `data:` image in scraped text would make every
    reader's browser fetch (and report to) whatever the feed chose, so it becomes a link."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    remote = src.startswith("//") or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", src) is not None
    if not remote:
        return RendererHTML.image(self, tokens, idx, options, env)
    alt = escapeHtml(self.renderInlineAsText(token.children, options, env))
    if src.lower().startswith(("http://", "https://")):
        return f'<a href="{escapeHtml(src)}">{alt or escapeHtml(src)}</a>'
    return alt


def _local_images(md: MarkdownIt) -> MarkdownIt:
    md.add_render_rule("image", _render_image)
    return md


class Renderer:
    """One Markdown parser pair for the whole build: linkify only where a text has a URL."""

    def __init__(self) -> None:
        # js-default: raw HTML off and javascript:/vbscript:/data: links refused.
        self._plain = _local_images(_with_math(MarkdownIt("js-default")))
        self._linking = _local_images(
            _with_math(MarkdownIt("js-default", {"linkify": True}).enable("linkify"))
        )
        self._linkify = self._linking.linkify = autolink.QuickLinkify()

    def _parser(self, text: str) -> MarkdownIt:
        return self._linking if _has_url(text) else self._plain

    def block(self, text: str) -> str:
        """A body of Markdown (an abstract, a page) to HTML."""
        html = plain_paragraphs(text)
        if html is not None:
            return html  # not cached, as in to_plain
        return cache.memo(_BLOCK, (text,), lambda: self._block(text))

    def _block(self, text: str) -> str:
        source = latex_to_markdown(clean_text(text))
        # Inert once its TeX is converted (`\%`, ``quotes'', `--`), maybe with URLs, or inert but
        # for `&<>~` as text (an inert line is such a line too, and escapeHtml then escapes its
        # `"` only): markdown-it took 120 us an abstract without URLs, this 25.
        lines = _escaped_lines(source)
        if lines is not None:
            if not _has_url(source):
                return _paragraphs_html(lines, escapeHtml)
            return "".join(
                f"<p>{_linked_line(self._linking, self._linkify, line)}</p>\n" for line in lines
            )
        html: str = self._parser(source).render(source)
        return html

    def inline(self, text: str) -> str:
        """A one-line text (a title) to inline HTML without a wrapping paragraph."""
        if is_inert(text):
            return _inert_html(text)
        return cache.memo(_INLINE, (text,), lambda: self._inline(text))

    def _inline(self, text: str) -> str:
        source = latex_to_markdown(clean_text(text))
        if _is_escaped_text(source):  # inline: no block can open, but the check is shared
            return escapeHtml(source)
        html: str = self._plain.renderInline(source)
        return html


@lru_cache(maxsize=1)
def default_renderer() -> Renderer:
    return Renderer()


def summary(text: str, limit: int) -> str:
    """The first `limit` characters of the plain text, cut on a word boundary."""
    return shorten(to_plain(text), limit)


def shorten(plain: str, limit: int) -> str:
    """Plain text cut to `limit` characters on a word boundary, with an ellipsis if cut."""
    if len(plain) <= limit:
        return plain
    cut = plain[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"


def escape(text: str) -> str:
    return html.escape(text, quote=True)
