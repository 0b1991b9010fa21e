"""Read-only views of the Site for templates and feeds: URLs resolved, text rendered once."""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date

from markupsafe import Markup

from sitegen import citation, markup, urls
from sitegen.config import Config
from sitegen.models import Day, PaperPage, Site, Tag

_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'{}]+")
_CODE_HOSTS = ("github.com", "gitlab.com", "huggingface.co", "bitbucket.org", "codeberg.org")


@dataclass(frozen=True, slots=True)
class LinkView:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class DayLink:
    day: date
    label: str  # e.g. "11 Mar 2025"
    url: str


@dataclass(frozen=True, slots=True)
class PaperView:
    slug: str
    title_html: Markup  # inline HTML, safe
    title: str  # plain text
    url: str
    absolute_url: str
    abstract_html: Markup  # rendered Markdown, safe
    summary: str  # plain text, shortened
    description: str  # plain text for meta tags
    first_day: DayLink
    days: tuple[DayLink, ...]
    tags: tuple[LinkView, ...]
    links: tuple[LinkView, ...]  # code and project links found in the abstract or the feed
    arxiv_id: str | None
    authors: tuple[str, ...]
    abstract: str = ""  # the whole abstract as plain text, for citation_abstract and JSON-LD
    arxiv_url: str | None = None
    pdf_url: str | None = None
    # What bibtex, json_ld and citation_meta are made from: they are made when a page shows
    # them (in a render worker), as each repeats the abstract; held by every view they took a
    # third of a 100k build's memory.
    cite: citation.CitationInput | None = None
    prev_in_day: LinkView | None = None  # the neighbours in the first day's feed order
    next_in_day: LinkView | None = None
    related: tuple[LinkView, ...] = ()  # most similar papers first (title and URL only)
    version: int | None = None
    revised: DayLink | None = None  # the day a newer version replaced the first one seen
    # A hash of everything above, from the inputs that decide it: two views with one digest are
    # equal, so a page listing this paper can be keyed by it (reuse.py) without pickling it.
    digest: str = ""

    @property
    def bibtex(self) -> str:
        return citation.bibtex(self.cite) if self.cite else ""

    @property
    def json_ld(self) -> Markup:
        """Schema.org JSON-LD with <, > and & escaped: safe inside <script>."""
        return Markup(citation.json_ld(self.cite)) if self.cite else Markup()

    @property
    def citation_meta(self) -> tuple[tuple[str, str], ...]:
        """(name, content) of the citation_* meta tags."""
        return citation.meta_tags(self.cite) if self.cite else ()


@dataclass(frozen=True, slots=True)
class TagView:
    slug: str
    label: str
    description: str
    url: str
    count: int
    papers: tuple[PaperView, ...]


@dataclass(frozen=True, slots=True)
class DayView:
    day: DayLink
    papers: tuple[PaperView, ...]


@dataclass(frozen=True, slots=True)
class SiteViews:
    papers: tuple[PaperView, ...]  # newest first
    tags: tuple[TagView, ...]
    days: tuple[DayView, ...]  # newest first


def day_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


# One link object per day and URL map: every paper of the day shares it (a label costs a
# strftime). Kept with the map, so that a long-lived `serve` frees each build's links with it.
_DAY_LINKS: weakref.WeakKeyDictionary[urls.UrlMap, dict[date, DayLink]] = (
    weakref.WeakKeyDictionary()
)


def _day_link(day: date, url_map: urls.UrlMap) -> DayLink:
    links = _DAY_LINKS.setdefault(url_map, {})
    link = links.get(day)
    if link is None:
        link = links[day] = DayLink(day, day_label(day), url_map.url(urls.day_path(day)))
    return link


def clean_url(raw: str) -> str:
    """Strip the sentence punctuation and TeX braces that scraped URLs end with."""
    url = raw
    while url and url[-1] in ".,;:)}]'\"":
        if url[-1] == ")" and url.count("(") > url.count(")") - 1:
            break
        url = url[:-1]
    return url


def _link_label(url: str) -> str:
    host = url.split("/")[2] if url.count("/") >= 2 else url
    host = host.removeprefix("www.")
    if host == "github.com":
        return "Code (GitHub)"
    if host in _CODE_HOSTS:
        return f"Code ({host})"
    return f"Project page ({host})"


def found_links(paper: PaperPage) -> tuple[LinkView, ...]:
    seen: list[str] = []
    for raw in (*paper.links, *_URL_IN_TEXT.findall(paper.body)):
        url = clean_url(raw)
        if url.startswith(("http://", "https://")) and url not in seen and "arxiv.org" not in url:
            seen.append(url)
    return tuple(LinkView(_link_label(url), url) for url in seen)


def paper_view(
    paper: PaperPage,
    config: Config,
    url_map: urls.UrlMap,
    renderer: markup.Renderer,
    tag_labels: dict[str, str],
) -> PaperView:
    """The view of one paper, before its links to neighbours and related papers are added.

    Its Markdown and plain text come from the cache. Its digest hashes the inputs that decide
    the view (a dataclass's repr names every field unambiguously), not the view itself.
    """
    digest = _digest(*_view_key(paper, config, url_map, tag_labels))
    return _paper_view(paper, config, url_map, renderer, tag_labels, digest)


def _digest(*parts: str) -> str:
    # One encode and one update: per part, they cost more than hashing the text.
    framed = "".join([f"{len(part)}\0{part}" for part in parts])
    return hashlib.blake2b(framed.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _view_key(
    paper: PaperPage, config: Config, url_map: urls.UrlMap, tag_labels: dict[str, str]
) -> tuple[str, str, str]:
    labels = tuple((t, tag_labels.get(t, t)) for t in paper.tags)
    settings = (config.title, config.summary_chars, url_map.base_url)
    return repr(paper), repr(labels), repr(settings)


def _paper_view(
    paper: PaperPage,
    config: Config,
    url_map: urls.UrlMap,
    renderer: markup.Renderer,
    tag_labels: dict[str, str],
    digest: str,
) -> PaperView:
    path = urls.paper_path(paper.slug)
    absolute = url_map.absolute(path)
    # Listed by two feeds on one day is still one day.
    days = tuple(_day_link(d, url_map) for d in dict.fromkeys(a.day for a in paper.appearances))
    plain_body = markup.to_plain(paper.body)
    plain_title = markup.to_plain(paper.title)
    cite = citation.CitationInput(
        title=plain_title,
        abstract=plain_body,
        authors=paper.authors,
        day=paper.first_day,
        url=absolute,
        arxiv_id=paper.arxiv_id,
        keywords=tuple(tag_labels.get(t, t) for t in paper.tags),
        site_title=config.title,
        title_source=paper.title,
    )
    return PaperView(
        slug=paper.slug,
        title_html=Markup(renderer.inline(paper.title)),
        title=plain_title,
        url=url_map.url(path),
        absolute_url=absolute,
        abstract_html=Markup(renderer.block(paper.body)),
        summary=markup.shorten(plain_body, config.summary_chars),
        description=markup.shorten(plain_body, 160),
        first_day=days[0],
        days=days,
        tags=tuple(
            LinkView(tag_labels.get(t, t), url_map.url(urls.tag_path(t))) for t in paper.tags
        ),
        links=found_links(paper),
        arxiv_id=paper.arxiv_id,
        authors=paper.authors,
        abstract=plain_body,
        arxiv_url=citation.arxiv_abs_url(paper.arxiv_id) if paper.arxiv_id else None,
        pdf_url=citation.arxiv_pdf_url(paper.arxiv_id) if paper.arxiv_id else None,
        cite=cite,
        version=paper.version,
        revised=_day_link(paper.revised, url_map) if paper.revised else None,
        digest=digest,
    )


def _linked(
    by_slug: dict[str, PaperView], site: Site, related_slugs: Mapping[str, tuple[str, ...]]
) -> None:
    """Link each paper to its neighbours on the first day it was listed and to its related
    papers, by title and URL (a LinkView, never a PaperView), in one copy of its view."""
    neighbours: dict[str, tuple[LinkView | None, LinkView | None]] = {}
    for day in site.days:
        own = [p.slug for p in day.papers if p.first_day == day.day]
        for i, slug in enumerate(own):
            prev_slug = own[i - 1] if i > 0 else None
            next_slug = own[i + 1] if i + 1 < len(own) else None
            neighbours[slug] = (_neighbour(by_slug, prev_slug), _neighbour(by_slug, next_slug))
    for slug, view in by_slug.items():
        prev_in_day, next_in_day = neighbours.get(slug, (None, None))
        others = related_slugs.get(slug, ())
        related = tuple(LinkView(by_slug[o].title, by_slug[o].url) for o in others)
        if prev_in_day is None and next_in_day is None and not related:
            continue
        by_slug[slug] = replace(
            view,
            prev_in_day=prev_in_day,
            next_in_day=next_in_day,
            related=related,
            digest=_digest(view.digest, *_link_parts(prev_in_day, next_in_day, related)),
        )


def _link_parts(
    prev_in_day: LinkView | None, next_in_day: LinkView | None, related: tuple[LinkView, ...]
) -> Iterator[str]:
    """The links added to a view, as the parts of its digest (each framed by `_digest`)."""
    for link in (prev_in_day, next_in_day):
        yield "-" if link is None else "+"
        if link is not None:
            yield from (link.label, link.url)
    yield str(len(related))
    for link in related:
        yield from (link.label, link.url)


def _neighbour(by_slug: dict[str, PaperView], slug: str | None) -> LinkView | None:
    if slug is None:
        return None
    return LinkView(by_slug[slug].title, by_slug[slug].url)


def prerender(paper: PaperPage, renderer: markup.Renderer) -> None:
    """Fill the cache with a paper's costly text conversions, as `paper_view` will ask for them.

    Parallel workers run this ahead of the serial `build_views`: a view itself is cheap to
    build once its Markdown and plain text are cached, and costly to send between processes.
    """
    markup.to_plain(paper.body)
    markup.to_plain(paper.title)
    renderer.inline(paper.title)
    renderer.block(paper.body)


def build_views(
    site: Site,
    config: Config,
    url_map: urls.UrlMap,
    related: Callable[[], Mapping[str, tuple[str, ...]]] | None = None,
) -> SiteViews:
    """Every view the templates and feeds use.

    The related papers are `site.related`, or what `related()` returns: it is called once the
    paper views are built, so a caller can compute them meanwhile in another process.
    """
    renderer = markup.default_renderer()
    labels = {t.slug: t.label for t in site.tags}
    by_slug = {p.slug: paper_view(p, config, url_map, renderer, labels) for p in site.papers}
    _linked(by_slug, site, site.related if related is None else related())

    def tag_view(tag: Tag) -> TagView:
        return TagView(
            slug=tag.slug,
            label=tag.label,
            description=tag.description,
            url=url_map.url(urls.tag_path(tag.slug)),
            count=len(tag.papers),
            papers=tuple(by_slug[p.slug] for p in tag.papers),
        )

    def day_view(day: Day) -> DayView:
        return DayView(_day_link(day.day, url_map), tuple(by_slug[p.slug] for p in day.papers))

    return SiteViews(
        papers=tuple(by_slug[p.slug] for p in site.papers),
        tags=tuple(tag_view(t) for t in site.tags),
        days=tuple(day_view(d) for d in site.days),
    )
