"""TeX math from `$...$` spans to MathML at build time, with an escaped-source fallback."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pylatexenc.latex2text import LatexNodes2Text  # type: ignore[import-untyped]

# latex2mathml copies a macro it does not know into the output as text (`<mi>\foo</mi>`)
# instead of failing, so the output is checked for a surviving backslash command.
_UNKNOWN_MACRO = re.compile(r"\\[A-Za-z]+")
_SPACE = re.compile(r"\s+")
_MACRO_SPACE = re.compile(r"(\\[A-Za-z]+) ")


def fallback(tex: str) -> str:
    """The escaped TeX source, shown as code: readable, never a broken page."""
    return f'<code class="tex">{html.escape(tex.strip(), quote=True)}</code>'


@lru_cache(maxsize=4096)
def to_mathml(tex: str, display: bool = False) -> str:
    """MathML for one TeX formula; the same formula is converted once per process."""
    # Imported here: most builds convert no formula at all (a rebuild takes them from the
    # cache), and the converter takes 20 ms to import.
    from latex2mathml.converter import convert

    source = tex.strip()
    if not source:
        return ""
    try:
        out: str = convert(source, display="block" if display else "inline")
    except Exception:  # a converter bug on odd input must cost one formula, not the build
        return fallback(source)
    if _UNKNOWN_MACRO.search(out):
        return fallback(source)
    return out


@lru_cache(maxsize=1)
def _text_converter() -> LatexNodes2Text:
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text")


@lru_cache(maxsize=4096)
def to_text(tex: str) -> str:
    """Unicode plain text for one formula (`\\alpha \\leq 2` -> `α ≤ 2`), for titles and feeds."""
    # pylatexenc reads a bare `%` as a comment and drops the rest: escape it first.
    source = re.sub(r"(?<!\\)%", r"\\%", tex)
    # pylatexenc swallows the space after a macro (`n\log n` -> `nlogn`); keep it.
    source = _MACRO_SPACE.sub(r"\1{} ", source)
    try:
        text: str = _text_converter().latex_to_text(source)
    except Exception:  # pylatexenc is tolerant; keep the source rather than lose the formula
        text = tex
    return _SPACE.sub(" ", text).strip()
