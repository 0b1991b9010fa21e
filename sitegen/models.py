"""The shared vocabulary passed between pipeline stages: frozen records, no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from sitegen.errors import BuildWarning

_ARXIV_NEW = re.compile(r"^(\d{4}\.\d{4,5})(v\d+)?$")
_ARXIV_OLD = re.compile(r"^([a-z][a-z.\-]*/\d{7})(v\d+)?$", re.IGNORECASE)
_LATEX_MACRO = re.compile(r"\\[A-Za-z]+\*?|[{}$]")
_SPACE = re.compile(r"\s+")


def normalise_arxiv_id(raw: str) -> str | None:
    """Return the arXiv id without its version (`2401.12345v2` -> `2401.12345`), or None."""
    text = raw.strip()
    for prefix in ("arXiv:", "arxiv:", "https://arxiv.org/abs/", "http://arxiv.org/abs/"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    for pattern in (_ARXIV_NEW, _ARXIV_OLD):
        match = pattern.match(text)
        if match:
            return match.group(1)
    return None


def normalise_title(title: str) -> str:
    """The title-based identity: LaTeX stripped, NFKC, case-folded, whitespace collapsed."""
    text = _LATEX_MACRO.sub(" ", title)
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", text).strip()


def paper_key(arxiv_id: str | None, title: str) -> str:
    """A paper's identity across feeds: its arXiv id when known, else its normalised title."""
    if arxiv_id:
        return f"arxiv:{arxiv_id}"
    return f"title:{normalise_title(title)}"


@dataclass(frozen=True)
class Paper:
    """One record read from one feed on one day (the parse stage's output)."""

    title: str
    abstract: str
    day: date
    source: str  # path of the feed file, relative to the project, POSIX separators
    line: int  # 1-based line of the title in the source
    rank: int  # 1-based position in that day's feed
    arxiv_id: str | None = None
    version: int | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    updated: date | None = None

    @property
    def key(self) -> str:
        return paper_key(self.arxiv_id, self.title)


@dataclass(frozen=True)
class ParseResult:
    """What one feed file gave: its papers in feed order, and what the parser had to skip."""

    papers: tuple[Paper, ...]
    warnings: tuple[BuildWarning, ...] = ()


@dataclass(frozen=True)
class Appearance:
    """One day a paper was listed, in which feed and at which position."""

    day: date
    source: str
    rank: int


@dataclass(frozen=True)
class PaperPage:
    """A paper as loaded from `content/papers/<slug>.md`, with its final tags."""

    key: str
    slug: str
    title: str
    body: str  # Markdown source of the abstract (a person may have edited it)
    appearances: tuple[Appearance, ...]  # sorted by day, then source
    tags: tuple[str, ...]  # tag slugs, sorted
    content_path: str
    arxiv_id: str | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    version: int | None = None  # the arXiv version shown
    revised: date | None = None  # when that version replaced an earlier one
    extra: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    # A digest of everything the page was loaded from (content.load_paper_page), which decides
    # every field above but `tags` (a tag only one paper has is dropped afterwards); "" if
    # made otherwise. A view is digested from it and the tags, far faster than from the fields.
    source_digest: str = field(default="", compare=False, repr=False)

    @property
    def first_day(self) -> date:
        return self.appearances[0].day

    @property
    def sort_key(self) -> tuple[int, int, str]:
        """Newest first, then by rank in that day's feed, then by slug: a total, stable order."""
        first = self.appearances[0]
        return (-first.day.toordinal(), first.rank, self.slug)


@dataclass(frozen=True)
class Page:
    """A hand-written page from `content/*.md`, served at `/<slug>/`."""

    slug: str
    title: str
    body: str
    content_path: str


@dataclass(frozen=True)
class Tag:
    """A topic with its papers, newest first."""

    slug: str
    label: str
    description: str
    papers: tuple[PaperPage, ...]


@dataclass(frozen=True)
class Day:
    """One feed day with its papers in feed order."""

    day: date
    papers: tuple[PaperPage, ...]

    @property
    def slug(self) -> str:
        return self.day.isoformat()


@dataclass(frozen=True)
class Site:
    """Everything the render stage needs, fully loaded and sorted before anything is rendered."""

    papers: tuple[PaperPage, ...]  # newest first
    tags: tuple[Tag, ...]  # by slug
    days: tuple[Day, ...]  # newest first
    pages: tuple[Page, ...] = ()
    # slug -> slugs of its most similar papers, best first; filled by the related stage
    related: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Carried:
    """A page the previous build published from the same inputs: its file is reused as it is."""

    size: int
    marked: bool  # holds the search index mark
    digest: bytes  # of its bytes if it is marked and the last build indexed it; else empty


@dataclass(frozen=True)
class Written:
    """A page its render worker wrote into the staging tree itself (write.PageWriter)."""

    size: int
    marked: bool  # holds the search index mark
    digest: bytes  # of its bytes, if it has no render key or is marked; else empty
    changed: bool  # False if it is a link to the published file, which held the same bytes


@dataclass(frozen=True)
class OutputFile:
    """One file of the built site: a path relative to the output folder, and its bytes."""

    path: str
    data: bytes  # empty when `carried` or `written`
    key: bytes | None = None  # a page's render key (see reuse.py)
    carried: Carried | None = None
    written: Written | None = None
