"""Render stage: views + Jinja2 theme -> HTML pages, sitemap, robots.txt and static files."""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
import jinja2.compiler
from markupsafe import Markup, escape

try:  # escape's core, as markupsafe itself imports it
    from markupsafe._speedups import _escape_inner
except ImportError:  # a markupsafe built without its C extension
    from markupsafe._native import _escape_inner

from sitegen import cache, markup, parallel, reuse, urls
from sitegen import feeds as feeds_module
from sitegen.config import Config
from sitegen.errors import ConfigError
from sitegen.models import OutputFile, Site, Written
from sitegen.search import BUNDLE_DIR, INDEXED_MARK, SEARCH_PAGE
from sitegen.views import RELATED_READS, TAG_OWN_FIELDS, PaperView, SiteViews, TagView, ViewField
from sitegen.write import PageWriter

PACKAGE_THEMES = Path(__file__).parent / "themes"
PAPER_TEMPLATE = "paper.html"
COMPILED_TEMPLATES = "templates"  # a folder in the cache folder
# Results `cached` keeps: every list entry of a 10,000-paper site, and a bound for a bigger one
# (all of a 100k site's took 190 MB; there, a paper's lists are far apart, so few were reused).
CACHED_CALLS = 20_000
REPO_THEMES = Path(__file__).parent.parent / "themes"


@dataclass(frozen=True)
class FeedLink:
    title: str
    url: str  # absolute
    mime: str


@dataclass(frozen=True)
class Pager:
    number: int
    total: int
    prev_url: str | None
    next_url: str | None


@dataclass(frozen=True)
class SiteInfo:
    title: str
    description: str
    author: str
    language: str
    base_url: str
    home_url: str
    tags_url: str
    days_url: str
    feeds_url: str
    feeds: tuple[FeedLink, ...]
    search_url: str = ""
    search_bundle_url: str = ""  # the Pagefind folder, base-path absolute, ends with "/"


def theme_dirs(config: Config) -> list[Path]:
    """Where a theme is looked up: the project's `themes/`, then the installed package's."""
    found = []
    for name in dict.fromkeys([config.theme, "default"]):
        for base in (config.root / "themes", PACKAGE_THEMES, REPO_THEMES):
            if (base / name / "templates").is_dir():
                found.append(base / name)
                break
        else:
            if name == config.theme:
                raise ConfigError(f"theme {name!r} not found", hint="check `theme` in sitegen.toml")
    return found


def template_dirs(config: Config) -> list[Path]:
    """The folders templates load from, first match wins: the site's, its theme's, the default's."""
    return [config.templates_dir, *(d / "templates" for d in theme_dirs(config))]


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Compiled templates, kept in the cache folder; one that cannot be written is not kept.

    Jinja compares a kept template's checksum with its source's; the code of sitegen is in the
    checksum too, since it decides the environment's options that compiling depends on.
    """

    def get_source_checksum(self, source: str) -> str:
        return super().get_source_checksum(f"{cache.build_fingerprint()}\0{source}")

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _escape_output(value: object) -> Markup:
    """`markupsafe.escape` for what a template prints, with the same result, for less cost on
    the two kinds of value a page prints most (about a hundred a page): `escape` wraps its
    result with `Markup(...)`, whose `__new__` is Python, and wraps Markup again. A str took
    207 ns instead of 443, a Markup 49 instead of 556.
    """
    kind = type(value)
    if kind is str:
        return _new_str(Markup, _escape_inner(value))  # type: ignore[arg-type]
    if kind is Markup:
        return value  # type: ignore[return-value]
    return escape(value)


_new_str = str.__new__


class _CodeGenerator(jinja2.compiler.CodeGenerator):
    """Jinja's code generator, but output is escaped by `_escape_output`: `escape` took a sixth
    of the time Jinja spends on a paper page. Reached as the environment's attribute, since a
    template module's own names are Jinja's."""

    def _output_child_pre(
        self,
        node: jinja2.nodes.Expr,
        frame: jinja2.compiler.Frame,
        finalize: Any,
    ) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("environment.escape_output(")
        if finalize.src is not None:
            self.write(finalize.src)


class _Environment(jinja2.Environment):
    """Jinja's environment with each template's globals in a plain dict.

    Jinja layers a template's globals over the environment's in a ChainMap, so that changes to
    the environment's show through; every render then copies and lists that ChainMap in
    Python, as does every `{% from ... import %}`: 50 us of a paper page's 300. sitegen sets its
    globals before it loads a template, and never after (as Jinja asks).
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}

    code_generator_class = _CodeGenerator
    escape_output = staticmethod(_escape_output)


def make_environment(config: Config) -> jinja2.Environment:
    """Site templates override the chosen theme, which overrides the default theme.

    `default/base.html` always names the default theme's file, so an override can extend it.
    """
    search = template_dirs(config)
    loader = jinja2.ChoiceLoader(
        [
            jinja2.PrefixLoader({"default": jinja2.FileSystemLoader(search[-1])}),
            jinja2.FileSystemLoader([str(p) for p in search if p.is_dir()]),
        ]
    )
    folder = cache.active().folder
    env = _Environment(
        loader=loader,
        # Compiling the templates took 40 ms of every build. Jinja checks each file against the
        # source's checksum, so an edited template is compiled again.
        bytecode_cache=(_CompiledTemplates(str(folder / COMPILED_TEMPLATES)) if folder else None),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # One environment serves one build, whose templates do not change while it renders:
        # Jinja need not stat each template file again on every use (three for each page).
        auto_reload=False,
    )
    return env


# Each feed format's file name (from feeds.py), what readers call it, and its media type.
_FEED_FORMATS = (
    (feeds_module.ATOM, "Atom", "application/atom+xml"),
    (feeds_module.RSS, "RSS", "application/rss+xml"),
    (feeds_module.JSON, "JSON Feed", "application/feed+json"),
)


def feed_links(url_map: urls.UrlMap, label: str, prefix: str = "") -> tuple[FeedLink, ...]:
    """Autodiscovery links to the three feeds under `prefix` (`""` or `tags/<slug>/`)."""
    return tuple(
        FeedLink(f"{label} ({name})", url_map.absolute(prefix + file), mime)
        for file, name, mime in _FEED_FORMATS
    )


def _pages(
    items: Sequence[PaperView], per_page: int
) -> Iterator[tuple[int, int, Sequence[PaperView]]]:
    total = max(1, math.ceil(len(items) / per_page))
    for number in range(1, total + 1):
        yield number, total, items[(number - 1) * per_page : number * per_page]


class SiteRenderer:
    """Holds the compiled templates and shared context for one build.

    With a `ledger`, a page whose render key matches the one the previous build published is
    carried over instead of rendered.
    """

    def __init__(
        self, config: Config, url_map: urls.UrlMap, ledger: reuse.Ledger | None = None
    ) -> None:
        self.config = config
        self.url_map = url_map
        self.ledger = ledger
        self.env = make_environment(config)
        self.info = SiteInfo(
            title=config.title,
            description=config.description,
            author=config.author,
            language=config.language,
            base_url=config.base_url,
            home_url=url_map.url(urls.home_path()),
            tags_url=url_map.url(urls.tags_index_path()),
            days_url=url_map.url(urls.days_index_path()),
            feeds_url=url_map.url(urls.feeds_page_path()),
            feeds=feed_links(url_map, config.title),
            # Empty when search is off: the theme then shows no search box.
            search_url=url_map.url(SEARCH_PAGE) if config.search else "",
            search_bundle_url=url_map.url(f"{BUNDLE_DIR}/"),
        )
        # What `cached` returned, by the ids of the macro and its arguments, which are kept
        # with it so that no other object takes one of their ids meanwhile, and how many
        # related papers the call read (views.RELATED_READS).
        self._calls: OrderedDict[tuple[int, ...], tuple[object, Any, int]] = OrderedDict()
        self.env.globals.update(
            site=self.info,
            static=lambda name: url_map.url(urls.static_path(name)),
            cached=self.cached,
        )
        # `static` is a function of the base URL, hence the URL in the salt.
        salt = reuse.template_salt(template_dirs(config), (self.info, url_map.base_url))
        self.keys = reuse.PageKeys(salt) if ledger is not None else None

    def cached(self, macro: Callable[..., Any], *args: Any) -> Any:
        """`macro(*args)`, called once per build for the same macro and objects, as Hugo's
        `partialCached`: for what many pages repeat, such as a paper's entry in every list
        that shows it (a third of a cold build's list rendering).

        The objects a page is given (views) stay as they are for the whole build, so one call
        holds for all. A call that fails (views.NotLinked, in `render_early`) keeps nothing.
        At most CACHED_CALLS results are kept, the latest. A call that read related papers
        counts as reading them again whenever its result is used.
        """
        key = (id(macro), *map(id, args))
        found = self._calls.get(key)
        if found is None:
            if len(self._calls) >= CACHED_CALLS:
                # The oldest. A plain dict finds its first key past every one deleted before
                # it: 300,000 calls took 2.3 s so, 0.12 s with an OrderedDict.
                self._calls.popitem(last=False)
            reads = RELATED_READS.reads
            result = macro(*args)
            found = self._calls[key] = ((macro, args), result, RELATED_READS.reads - reads)
        else:
            RELATED_READS.reads += found[2]
        return found[1]

    def context(self, job: PageJob) -> dict[str, Any]:
        """What the job's template is given: the job's context, the defaults, the page's URLs."""
        context = dict(job.context)
        context.setdefault("feeds", self.info.feeds)
        context.setdefault("description", self.config.description)
        context.setdefault("pager", None)
        context["canonical"] = self.url_map.absolute(job.out_path)
        context["url"] = self.url_map.url(job.out_path)
        return context

    def plan(self, job: PageJob) -> PageJob | OutputFile:
        """The job with its full context and kinds of key, or the carried-over page if it
        needs no render.

        A page is published under the narrowest kind of key its render allows (`render`).
        A shallow key leaves out the tags' papers: without it, a change to one paper renders
        every page of each of its tags again, dozens for a big tag. A key without related
        papers leaves out the paper views' related papers: a small edit changes those of
        hundreds of papers, which most list pages do not show.
        """
        context = self.context(job)
        if self.keys is None or self.ledger is None:
            return PageJob(job.template, job.out_path, context)
        # A paper page shows its related papers: not worth a key that leaves them out.
        kinds = _KINDS_OF[
            any(type(value) is TagView for value in context.values()),
            job.template != PAPER_TEMPLATE,
        ]
        keys: list[bytes | None] = [None] * len(kinds)
        # Without a record, no key can match: the one the render needs is made then, by the
        # process that renders the page (a cold build's paper pages: in the workers, not here
        # before they start).
        if job.out_path in self.ledger.records:
            for index, kind in enumerate(kinds):
                key = self.keys.key(
                    job.template, context, shallow=kind.shallow, related=kind.related
                )
                keys[index] = key
                reused = self.ledger.reused(job.out_path, key)
                if reused is not None:
                    return reused
        return PageJob(job.template, job.out_path, context, kinds, tuple(keys))

    def render(self, job: PageJob, early: Rendered | None = None) -> OutputFile:
        """A planned job's page, under the first of its kinds of key that leaves out nothing
        the render read; `early` is the page as `render_early` made it, if it did."""
        if early is None:
            watch = any(kind.shallow for kind in job.kinds)
            early = self._html(job.template, job.context, watch=watch)
        key = None
        for kind, made in zip(job.kinds, job.keys, strict=True):
            if (early.read_tag and kind.shallow) or (early.read_related and not kind.related):
                continue
            key = made
            if key is None and self.keys is not None:
                key = self.keys.key(
                    job.template, job.context, shallow=kind.shallow, related=kind.related
                )
            break
        return OutputFile(job.out_path, early.data, key, written=early.written)

    def render_early(
        self, jobs: Iterable[PageJob], go_on: Callable[[], bool]
    ) -> dict[str, Rendered]:
        """The list pages of `jobs` rendered while `go_on()`, before the paper views are
        linked, by output path: for a cold build to use the time it waits for the related
        papers. A page whose template reads a paper's related papers or digest
        (views.NotLinked), or that fails in any way, is left for `render` to make in turn.
        """
        done: dict[str, Rendered] = {}
        for job in jobs:
            if not go_on():
                break
            if job.template == PAPER_TEMPLATE:
                continue
            try:
                # Tags are watched whether or not the page gets a shallow key: `plan` decides.
                done[job.out_path] = self._html(job.template, self.context(job), watch=True)
            except Exception:  # rendered again in turn, which reports it
                continue
        return done

    def _html(self, template: str, context: Mapping[str, Any], *, watch: bool) -> Rendered:
        """The page's bytes, whether it read related papers and, if `watch`, whether it read
        more of a tag's view than the tag's own fields."""
        related_reads = RELATED_READS.reads
        read: list[str] = []
        values = {
            name: value.value() if type(value) is ViewField else value
            for name, value in context.items()
        }
        if watch:
            values = {
                name: _WatchedTag(value, read) if type(value) is TagView else value
                for name, value in values.items()
            }
        html = self.env.get_template(template).render(**values)
        return Rendered(html.encode("utf-8"), bool(read), RELATED_READS.reads != related_reads)

    def paginated(
        self, template: str, items: Sequence[PaperView], path_of: Any, **context: Any
    ) -> Iterator[PageJob]:
        for number, total, chunk in _pages(items, self.config.per_page):
            pager = Pager(
                number,
                total,
                self.url_map.url(path_of(number - 1)) if number > 1 else None,
                self.url_map.url(path_of(number + 1)) if number < total else None,
            )
            yield PageJob(template, path_of(number), dict(context, papers=chunk, pager=pager))


class Rendered(NamedTuple):
    """A page's bytes, and whether its templates read a tag's papers (`_WatchedTag`) or a
    paper's related papers (views.RELATED_READS)."""

    data: bytes  # empty once written
    read_tag: bool
    read_related: bool
    written: Written | None = None  # set once `write_early` put the page in the staging tree


class KeyKind(NamedTuple):
    """What a page's key leaves out (reuse.PageKeys.key)."""

    shallow: bool  # the papers of a tag's view: a render that read its own fields only
    related: bool  # with the related papers of the paper views: a render that read them


# The narrowest first: a page is published under the first its render allows.
KEY_KINDS = tuple(
    KeyKind(shallow, related) for shallow in (True, False) for related in (False, True)
)
# The kinds a page can have, by whether it has a tag's view, and may leave related papers out.
_KINDS_OF = {
    (tagged, unrelated): tuple(
        kind for kind in KEY_KINDS if (tagged or not kind.shallow) and (unrelated or kind.related)
    )
    for tagged in (False, True)
    for unrelated in (False, True)
}


@dataclass(frozen=True)
class PageJob:
    """One page to render: its template, where it goes, and what the template is given."""

    template: str
    out_path: str
    context: dict[str, Any]
    # Set by SiteRenderer.plan: the kinds of key the page can have, the narrowest first (none
    # if the build keeps no keys), and the key of each it made, else None. Tuples, not a
    # dict: a 100k-paper site holds 100,000 jobs while it renders.
    kinds: tuple[KeyKind, ...] = ()
    keys: tuple[bytes | None, ...] = ()


class _WatchedTag:
    """A tag's view as a template sees it, noting in `read` any use beyond the tag's own
    fields: its papers, or the whole view (printed, compared), on which the page then depends.
    """

    __slots__ = ("_read", "_view")

    def __init__(self, view: TagView, read: list[str]) -> None:
        object.__setattr__(self, "_view", view)
        object.__setattr__(self, "_read", read)

    def __getattribute__(self, name: str) -> Any:
        view = object.__getattribute__(self, "_view")
        if name not in TAG_OWN_FIELDS:
            object.__getattribute__(self, "_read").append(name)
        return getattr(view, name)

    def _whole(self) -> TagView:
        object.__getattribute__(self, "_read").append("*")
        view: TagView = object.__getattribute__(self, "_view")
        return view

    def __str__(self) -> str:
        return str(_WatchedTag._whole(self))

    def __repr__(self) -> str:
        return repr(_WatchedTag._whole(self))

    def __eq__(self, other: object) -> bool:
        if type(other) is _WatchedTag:
            other = _WatchedTag._whole(other)
        return _WatchedTag._whole(self) == other

    def __hash__(self) -> int:
        return hash(_WatchedTag._whole(self))


def render_pages(
    r: SiteRenderer,
    site: Site,
    views: SiteViews,
    pages: Sequence[PageJob],
    jobs: int = 1,
    early: Mapping[str, Rendered] | None = None,
    writer: PageWriter | None = None,
    beside: Iterable[OutputFile] = (),
) -> Iterator[OutputFile]:
    """Every HTML page of `pages` (from `page_jobs`), plus sitemap and robots.txt, rendered in
    `jobs` processes; `early` holds pages `render_early` has made already.

    Pages unchanged since the build the renderer's ledger describes are carried over, not
    rendered. With a `writer`, each paper page is written by the process that renders it, and
    comes as `OutputFile.written`. The outputs of `beside` (the feeds) are made here after the
    list pages, while the workers render: after them, the workers would wait.
    """
    early = early or {}
    render = r.render if writer is None else partial(_write_rendered, r, writer)
    # Keys are checked here, so only the pages to render are rendered: after a small edit they
    # are few enough to need no fork at all. Only paper pages go to the workers: each reads
    # its own paper's view, so a worker copies (by touching reference counts) a share of the
    # views, not all of them as a list page would. List pages, then the feeds, are made here
    # meanwhile, one after each paper page, so the outputs come in a fixed order whatever the
    # timing.
    papers = [r.plan(job) for job in pages if job.template == PAPER_TEMPLATE]
    lists = [r.plan(job) for job in pages if job.template != PAPER_TEMPLATE]
    todo = [p for p in papers if isinstance(p, PageJob)]
    # The first page is rendered here: it compiles the templates a paper page uses once, before
    # the workers are forked, instead of once in each.
    first = (render(job) for job in todo[:1])
    chunk = None if writer is None else parallel.small_results_chunk(len(todo))
    rendered = chain(first, parallel.map_ordered(render, todo[1:], jobs, chunk))
    here = chain(
        (
            r.render(listing, early.get(listing.out_path))
            if isinstance(listing, PageJob)
            else listing
            for listing in lists
        ),
        beside,
    )
    for paper in papers:
        yield next(rendered) if isinstance(paper, PageJob) else paper
        output = next(here, None)
        if output is not None:
            yield output
    yield from here
    yield sitemap(site, views, r.url_map)
    yield OutputFile(
        "robots.txt",
        f"User-agent: *\nAllow: /\n\nSitemap: {r.url_map.absolute('sitemap.xml')}\n".encode(),
    )


def _write_rendered(r: SiteRenderer, writer: PageWriter, job: PageJob) -> OutputFile:
    """The job's page rendered and written by `writer`: in a render worker, its bytes then
    cross no pipe, and the writing is shared among the workers, not left to one process."""
    page = r.render(job)
    written = _written(r, writer, page.path, page.data, keyed=page.key is not None)
    return OutputFile(page.path, b"", page.key, written=written)


def _written(
    r: SiteRenderer, writer: PageWriter, path: str, data: bytes, *, keyed: bool
) -> Written:
    """`data` written at `path` by `writer`, and what the build's tally takes for its bytes
    (build._Tally): their digest if the output has no render key, or is a page to index."""
    changed = writer.write(path, data)
    marked = INDEXED_MARK in data
    needed = not keyed or (r.config.search and marked)
    digest = cache.bytes_hash(data) if needed else b""
    return Written(len(data), marked, digest, changed)


def write_early(
    r: SiteRenderer,
    writer: PageWriter,
    pages: MutableMapping[str, Rendered],
    feeds: list[OutputFile],
    go_on: Callable[[], bool],
) -> None:
    """Write the list pages `render_early` made, then the feeds made so far, into the staging
    tree while `go_on()`; each is then held without its bytes.

    For a cold build's main process once it has made all it can before the related papers are
    in: the files it creates now, it would otherwise create while the workers render, taking a
    share of the cores they need.
    """
    # The keys come later (`render`), but whether a page gets one is known now: it does when
    # the renderer has keys at all.
    keyed = r.keys is not None
    for path, page in pages.items():
        if not go_on():
            return
        if page.written is None:
            written = _written(r, writer, path, page.data, keyed=keyed)
            pages[path] = page._replace(data=b"", written=written)
    for index, output in enumerate(feeds):
        if not go_on():
            return
        if output.carried is None and output.written is None:
            written = _written(r, writer, output.path, output.data, keyed=output.key is not None)
            feeds[index] = replace(output, data=b"", written=written)


def page_jobs(
    r: SiteRenderer, site: Site, views: SiteViews, channels: Sequence[feeds_module.Channel]
) -> Iterator[PageJob]:
    """Every HTML page, in a fixed order: home pages, papers, tags, days, feeds, the rest."""
    config, url_map = r.config, r.url_map
    yield from r.paginated("index.html", views.papers, urls.home_path, title=config.title)
    for view in views.papers:
        yield PageJob(
            PAPER_TEMPLATE,
            urls.paper_path(view.slug),
            {"paper": view, "title": view.title, "description": ViewField(view, "description")},
        )
    yield PageJob("tags.html", urls.tags_index_path(), {"tags": views.tags, "title": "Tags"})
    for tag in views.tags:
        feeds = feed_links(url_map, tag.label, urls.tag_feed_path(tag.slug, "")) + r.info.feeds
        yield from r.paginated(
            "tag.html",
            tag.papers,
            lambda n, s=tag.slug: urls.tag_path(s, n),
            tag=tag,
            title=f"Tag: {tag.label}",
            feeds=feeds,
            description=tag.description or f"Papers tagged {tag.label}.",
        )
    yield PageJob("days.html", urls.days_index_path(), {"days": views.days, "title": "Days"})
    yield PageJob(
        "feeds.html",
        urls.feeds_page_path(),
        {
            "title": "Feeds",
            "channels": channels,
            "opml_url": url_map.absolute(urls.opml_path()),
            "feed_limit": config.feed_limit,
        },
    )
    for index, day in enumerate(views.days):
        newer = views.days[index - 1].day if index > 0 else None
        older = views.days[index + 1].day if index + 1 < len(views.days) else None
        yield PageJob(
            "day.html",
            urls.day_path(day.day.day),
            {
                "day": day,
                "newer": newer,
                "older": older,
                "title": f"Papers of {day.day.label}",
                "papers": day.papers,
            },
        )
    renderer = markup.default_renderer()
    for page in site.pages:
        yield PageJob(
            "page.html",
            urls.page_path(page.slug),
            {"title": markup.to_plain(page.title), "body": Markup(renderer.block(page.body))},
        )
    if config.search:
        yield PageJob("search.html", SEARCH_PAGE, {"title": "Search"})
    yield PageJob("404.html", "404.html", {"title": "Page not found"})


def sitemap(site: Site, views: SiteViews, url_map: urls.UrlMap) -> OutputFile:
    """Pages a search engine should index, with the date each last changed."""
    entries: list[tuple[str, str | None]] = [(url_map.absolute(urls.home_path()), None)]
    if views.papers:
        entries[0] = (entries[0][0], views.papers[0].first_day.day.isoformat())
    entries.extend((p.absolute_url, p.days[-1].day.isoformat()) for p in views.papers)
    entries.append((url_map.absolute(urls.tags_index_path()), None))
    entries.extend((url_map.absolute(urls.tag_path(t.slug)), None) for t in views.tags)
    entries.append((url_map.absolute(urls.days_index_path()), None))
    entries.append((url_map.absolute(urls.feeds_page_path()), None))
    entries.extend(
        (url_map.absolute(urls.day_path(d.day.day)), d.day.day.isoformat()) for d in views.days
    )
    entries.extend((url_map.absolute(urls.page_path(p.slug)), None) for p in site.pages)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for loc, lastmod in entries:
        mod = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        lines.append(f"  <url><loc>{markup.escape(loc)}</loc>{mod}</url>")
    lines.append("</urlset>\n")
    return OutputFile("sitemap.xml", "\n".join(lines).encode("utf-8"))


def static_files(config: Config) -> Iterator[OutputFile]:
    """Theme static folders (default first, so the chosen theme's files win), then the site's."""
    folders = [d / "static" for d in reversed(theme_dirs(config))] + [config.root / "static"]
    chosen: dict[str, Path] = {}
    for folder in folders:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    chosen[path.relative_to(folder).as_posix()] = path
    for name, path in sorted(chosen.items()):
        yield OutputFile(urls.static_path(name), path.read_bytes())
