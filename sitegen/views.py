"""Read-only views of the Site for templates and feeds: URLs resolved, text rendered once."""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import TYPE_CHECKING

from markupsafe import Markup

from sitegen import cache, citation, markup, urls
from sitegen.config import Config
from sitegen.models import Day, PaperPage, Site, Tag

_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'{}]+")
_CODE_HOSTS = ("github.com", "gitlab.com", "huggingface.co", "bitbucket.org", "codeberg.org")


class NotLinked(Exception):
    """A paper view's `related` or `digest` was read before `UnlinkedViews.link` set them.

    Not an AttributeError: Jinja would take that for an undefined value and render on, where
    a page rendered early (render.render_early) must instead wait for the linked views.
    """


# The fields of a paper's view that `UnlinkedViews.link` sets.
LINKED_FIELDS = frozenset({"related", "_related", "digest", "_related_digest"})


class _ReadCount:
    __slots__ = ("reads",)

    def __init__(self) -> None:
        self.reads = 0


# How many times a paper view's `related` was read, in this process: a page whose render left
# the count as it was shows no related papers, and is keyed without them (render.py). Not a
# class attribute: setting one invalidates the class's attribute caches.
RELATED_READS = _ReadCount()


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
    # The related papers, most similar first (title and URL only): read as `related`, which
    # counts the reads. Not in what a view prints as or compares by, as those are not counted.
    _related: tuple[LinkView, ...] = field(default=(), repr=False, compare=False)
    version: int | None = None
    revised: DayLink | None = None  # the day a newer version replaced the first one seen
    # A hash of everything above but the related papers, from the inputs that decide it: two
    # views with one digest are equal but maybe for those, so a page listing this paper and
    # not its related papers can be keyed by it (reuse.py) without pickling it.
    digest: str = ""
    # `related_digest`'s, made by `link`: bytes, for the memory of a 100k-paper site's views.
    _related_digest: bytes = field(default=b"", repr=False, compare=False)
    # What gives the fields of a view made without its details (`_details`, `UnlinkedViews`).
    _details: Callable[[], dict[str, object]] | None = field(
        default=None, repr=False, compare=False
    )

    if not TYPE_CHECKING:  # to mypy, an attribute that is not a field stays an error

        def __getattr__(self, name: str) -> object:
            # Called only for a field not set: a view made without its details takes them now.
            # Dunder names are protocols (Jinja asks for `__html__`), never details.
            if name in LINKED_FIELDS:
                raise NotLinked(name)
            if name.startswith("__") or not _fill(self):
                raise AttributeError(name)
            return object.__getattribute__(self, name)

    @property
    def related(self) -> tuple[LinkView, ...]:
        try:
            # Read past __getattr__, so that an unlinked view's error names `related`.
            links: tuple[LinkView, ...] = object.__getattribute__(self, "_related")
        except AttributeError:
            raise NotLinked("related") from None
        RELATED_READS.reads += 1
        return links

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
class ViewField:
    """A page's context value that is a field of a paper's view, read when the page renders.

    A page key stands for it by the view's digest (reuse.py), so a page carried over never
    makes the details of its view (see `UnlinkedViews`).
    """

    view: PaperView
    name: str

    def value(self) -> object:
        return getattr(self.view, self.name)


@dataclass(frozen=True, slots=True)
class TagView:
    slug: str
    label: str
    description: str
    url: str
    count: int
    papers: tuple[PaperView, ...]


# What a tag's own page shows of it in the default theme: all but its papers, of which each
# page shows its share (render.py keeps track of a template that reads more).
TAG_OWN_FIELDS = frozenset(f.name for f in fields(TagView)) - {"papers"}


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


def _view_digest(paper: PaperPage, tag_labels: dict[str, str], settings: tuple[object, ...]) -> str:
    """A digest of the inputs that decide a paper's view before its links: the paper (by what
    it was loaded from, when known), the labels of its tags and the site settings it shows."""
    labels = tuple((t, tag_labels.get(t, t)) for t in paper.tags)
    if paper.source_digest:
        data = f"{paper.source_digest}\0{labels!r}\0{settings!r}".encode("utf-8", "surrogatepass")
    else:
        data = cache.pickled((paper, labels, settings))
    return cache.bytes_hash(data).hex()


def _details(
    paper: PaperPage,
    config: Config,
    url_map: urls.UrlMap,
    renderer: markup.Renderer,
    tag_labels: dict[str, str],
) -> dict[str, object]:
    """The fields of a paper's view that cost the most, by name: the rest are made by `_view`.
    Its Markdown and plain text come from the cache."""
    plain_body = markup.to_plain(paper.body)
    plain_title = markup.to_plain(paper.title)
    cite = citation.CitationInput(
        title=plain_title,
        abstract=plain_body,
        authors=paper.authors,
        day=paper.first_day,
        url=url_map.absolute(urls.paper_path(paper.slug)),
        arxiv_id=paper.arxiv_id,
        keywords=tuple(tag_labels.get(t, t) for t in paper.tags),
        site_title=config.title,
        title_source=paper.title,
    )
    return {
        "title_html": Markup(renderer.inline(paper.title)),
        "abstract_html": Markup(renderer.block(paper.body)),
        "summary": markup.shorten(plain_body, config.summary_chars),
        "description": markup.shorten(plain_body, 160),
        "tags": tuple(
            LinkView(tag_labels.get(t, t), url_map.url(urls.tag_path(t))) for t in paper.tags
        ),
        "links": found_links(paper),
        "arxiv_id": paper.arxiv_id,
        "authors": paper.authors,
        "abstract": plain_body,
        "arxiv_url": citation.arxiv_abs_url(paper.arxiv_id) if paper.arxiv_id else None,
        "pdf_url": citation.arxiv_pdf_url(paper.arxiv_id) if paper.arxiv_id else None,
        "cite": cite,
        "version": paper.version,
        "revised": _day_link(paper.revised, url_map) if paper.revised else None,
    }


def _view(
    paper: PaperPage,
    link: LinkView,
    url_map: urls.UrlMap,
    neighbours: tuple[LinkView | None, LinkView | None],
    details: Callable[[], dict[str, object]],
) -> PaperView:
    """A paper's view with its cheap fields set but `related` and `digest` (set by
    `UnlinkedViews.link`); `details` gives the rest on first use."""
    view = object.__new__(PaperView)
    # Listed by two feeds on one day is still one day.
    days = tuple(_day_link(d, url_map) for d in dict.fromkeys(a.day for a in paper.appearances))
    for name, value in (
        ("slug", paper.slug),
        ("title", link.label),
        ("url", link.url),
        ("absolute_url", url_map.absolute(urls.paper_path(paper.slug))),
        ("first_day", days[0]),
        ("days", days),
        ("prev_in_day", neighbours[0]),
        ("next_in_day", neighbours[1]),
        ("_details", details),
    ):
        object.__setattr__(view, name, value)
    return view


def _fill(view: PaperView) -> bool:
    """Set the details of a view made without them; False if it has them already."""
    details = object.__getattribute__(view, "_details")
    if details is None:
        return False
    for name, value in details().items():
        object.__setattr__(view, name, value)
    object.__setattr__(view, "_details", None)
    return True


def _neighbours(site: Site) -> dict[str, tuple[str | None, str | None]]:
    """Each paper's neighbours on the first day it was listed, in that day's feed order."""
    found: dict[str, tuple[str | None, str | None]] = {}
    for day in site.days:
        own = [p.slug for p in day.papers if p.first_day == day.day]
        for i, slug in enumerate(own):
            found[slug] = (own[i - 1] if i > 0 else None, own[i + 1] if i + 1 < len(own) else None)
    return found


def prerender(paper: PaperPage, renderer: markup.Renderer) -> None:
    """Fill the cache with a paper's costly text conversions, as `_details` will ask for them.

    Parallel workers run this ahead of the serial `UnlinkedViews`: a view itself is cheap to
    build once its Markdown and plain text are cached, and costly to send between processes.
    """
    markup.to_plain(paper.body)
    markup.to_plain(paper.title)
    renderer.inline(paper.title)
    renderer.block(paper.body)


def view_digests(site: Site, config: Config, url_map: urls.UrlMap) -> dict[str, str]:
    """Each paper's digest of what decides its view but its links, by slug. A view's digest
    stands for the view in page keys (reuse.py)."""
    labels = {t.slug: t.label for t in site.tags}
    settings = (config.title, config.summary_chars, url_map.base_url)
    return {p.slug: _view_digest(p, labels, settings) for p in site.papers}


class UnlinkedViews:
    """Every view the templates and feeds use, before the paper views link to related papers.

    Each paper view's URLs, days, plain title and day neighbours are made here; its
    details (Markdown, plain text, citation: `_details`) here too, or when first read if
    `lazy`. A rebuild that carries most pages over reads the details of the pages it renders
    and of the feeds' entries only; making all of them took a third of such a build.

    Until `link` gives them their related papers and digests, reading a view's `related` or
    `digest` raises `NotLinked`. The rest is enough for the feeds and for most list pages,
    which can so be made while the related papers are computed elsewhere.
    """

    def __init__(self, site: Site, config: Config, url_map: urls.UrlMap, *, lazy: bool) -> None:
        renderer = markup.default_renderer()
        labels = {t.slug: t.label for t in site.tags}

        def details_of(paper: PaperPage) -> Callable[[], dict[str, object]]:
            return lambda: _details(paper, config, url_map, renderer, labels)

        # What a link to each paper shows: one object, shared by every view linking to it.
        self._targets = {
            p.slug: LinkView(markup.to_plain(p.title), url_map.url(urls.paper_path(p.slug)))
            for p in site.papers
        }
        self._neighbours = neighbours = _neighbours(site)
        by_slug: dict[str, PaperView] = {}
        for paper in site.papers:
            prev_slug, next_slug = neighbours.get(paper.slug, (None, None))
            links = (
                self._targets[prev_slug] if prev_slug else None,
                self._targets[next_slug] if next_slug else None,
            )
            target = self._targets[paper.slug]
            view = by_slug[paper.slug] = _view(paper, target, url_map, links, details_of(paper))
            if not lazy:
                # Here, not in each render worker that reads it: a worker's copy of the memory.
                _fill(view)
        self.views = _site_views(site, by_slug, url_map)

    def link(self, related: Mapping[str, tuple[str, ...]], digests: Mapping[str, str]) -> SiteViews:
        """The views, each now with its related papers (most similar first) and its digest
        (which leaves them out: see `related_digest`); `digests` are the site's
        `view_digests`."""
        framed = {slug: _framed(link) for slug, link in self._targets.items()}
        framed[""] = "-"  # no neighbour
        for view in self.views.papers:
            slugs = related.get(view.slug, ())
            links = tuple(map(self._targets.__getitem__, slugs))
            digest = digests[view.slug]
            prev_slug, next_slug = self._neighbours.get(view.slug, (None, None))
            if prev_slug or next_slug:
                data = f"{digest}{framed[prev_slug or '']}{framed[next_slug or '']}"
                digest = cache.bytes_hash(data.encode("utf-8", "surrogatepass")).hex()
            # Views are set up once, here, before anything reads these fields.
            object.__setattr__(view, "_related", links)
            object.__setattr__(view, "digest", digest)
            with_links = _with_links(digest, map(framed.__getitem__, slugs)) if links else b""
            object.__setattr__(view, "_related_digest", with_links)
        return self.views


def related_digest(view: PaperView) -> str:
    """The digest of a linked view with its related papers: what stands for it in the key of
    a page that reads them."""
    known: bytes = object.__getattribute__(view, "_related_digest")
    if known:
        return known.hex()
    # Not through `related`: this is no page reading them.
    links: tuple[LinkView, ...] = object.__getattribute__(view, "_related")
    # A view made whole, not by `UnlinkedViews` (as tests make them).
    return _with_links(view.digest, map(_framed, links)).hex() if links else view.digest


def _with_links(digest: str, framed_links: Iterable[str]) -> bytes:
    """`digest` with the related papers' links, each as `_framed` gives it."""
    data = digest + "".join(framed_links)
    return cache.bytes_hash(data.encode("utf-8", "surrogatepass"))


def _framed(link: LinkView) -> str:
    """What a link shows, framed by its lengths: joined, two links cannot run into each other."""
    return f"{len(link.label)}\0{link.label}{len(link.url)}\0{link.url}"


def _site_views(site: Site, by_slug: dict[str, PaperView], url_map: urls.UrlMap) -> SiteViews:
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
