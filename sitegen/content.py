"""Merge and load stages: feed papers into `content/papers/*.md`, and `content/` into a Site."""

from __future__ import annotations

import functools
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from types import MappingProxyType
from typing import Any

from sitegen import cache, frontmatter, markup, urls
from sitegen.errors import BuildWarning, Location, ParseError, SitegenError
from sitegen.models import (
    Appearance,
    Day,
    Page,
    Paper,
    PaperPage,
    Site,
    Tag,
    normalise_arxiv_id,
    normalise_title,
    paper_key,
)
from sitegen.taxonomy import Taxonomy, auto_tags

PAPERS_DIR = "papers"

# Keys sitegen writes; every other key in a page belongs to a person and is never touched.
DIGEST_KEY = "digest"
UPSTREAM_KEY = "upstream"


def _split(text: str, path: str) -> tuple[dict[str, Any], str]:
    """Front matter and body; a pure function of the text, so the build's cache keeps it."""
    return cache.memo("frontmatter", (text,), lambda: frontmatter.split(text, path))


def _auto_tags(taxonomy: Taxonomy, title: str, body: str) -> tuple[str, ...]:
    key = (taxonomy.digest, title, body)
    return cache.memo("tags", key, lambda: auto_tags(taxonomy, title, body))


@dataclass(frozen=True)
class MergedPaper:
    """All records of one paper across feeds, reduced to the freshest text and every appearance."""

    key: str
    title: str
    abstract: str
    appearances: tuple[Appearance, ...]
    arxiv_id: str | None
    version: int | None
    revised: date | None  # when the newest version was first seen, if there was an older one
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    links: tuple[str, ...]


@dataclass(frozen=True)
class MergeResult:
    """Page texts to write (path relative to content/ -> text) and what the merge noticed."""

    writes: Mapping[str, str]
    pages: Mapping[str, str]  # every paper page after the merge, path -> text
    warnings: tuple[BuildWarning, ...] = ()
    appearances: Mapping[str, tuple[Appearance, ...]] = field(default_factory=dict)
    known_sources: frozenset[str] = frozenset()  # feed files that earlier builds merged
    # The front matter and body of every page the merge read and left as it was, for
    # load_site: each page is then split once, not twice.
    parsed: Mapping[str, tuple[dict[str, Any], str]] = field(default_factory=dict)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _upstream(paper: MergedPaper) -> str:
    return _digest(paper.title + "\x00" + paper.abstract)


def group_papers(papers: Iterable[Paper]) -> list[MergedPaper]:
    """One MergedPaper per identity, in order of first appearance (day, source, rank)."""
    ordered = sorted(papers, key=lambda p: (p.day, p.source, p.rank))
    # A text dump has no arXiv id; a richer feed of the same title gives the paper its id.
    id_by_title: dict[str, str] = {}
    for paper in ordered:
        if paper.arxiv_id:
            id_by_title.setdefault(normalise_title(paper.title), paper_key(paper.arxiv_id, ""))
    groups: dict[str, list[Paper]] = {}
    for paper in ordered:
        key = paper.key
        if not paper.arxiv_id:
            key = id_by_title.get(normalise_title(paper.title), key)
        groups.setdefault(key, []).append(paper)
    return [_reduce(key, records) for key, records in groups.items()]


def _reduce(key: str, records: list[Paper]) -> MergedPaper:
    # The newest version wins, then the latest sighting; richer sources fill in the rest.
    best = max(records, key=lambda p: (p.version or 0, p.updated or p.day, p.day))
    seen: dict[tuple[date, str], Appearance] = {}
    for paper in records:
        seen.setdefault((paper.day, paper.source), Appearance(paper.day, paper.source, paper.rank))

    def first_nonempty(attr: str) -> tuple[str, ...]:
        for paper in [best, *records]:
            value: tuple[str, ...] = getattr(paper, attr)
            if value:
                return value
        return ()

    # A version newer than the first one seen means the paper was revised: show when.
    versions = {p.version for p in records if p.version}
    revised = None
    if best.version and len(versions) > 1:
        revised = min(p.updated or p.day for p in records if p.version == best.version)
    links: list[str] = []
    for paper in [best, *records]:
        links.extend(link for link in paper.links if link not in links)
    return MergedPaper(
        key=key,
        title=markup.clean_text(best.title),
        abstract=markup.clean_text(best.abstract),
        appearances=tuple(sorted(seen.values(), key=lambda a: (a.day, a.source))),
        arxiv_id=next((p.arxiv_id for p in [best, *records] if p.arxiv_id), None),
        version=best.version,
        revised=revised,
        authors=tuple(markup.clean_text(a) for a in first_nonempty("authors")),
        categories=tuple(markup.clean_text(c) for c in first_nonempty("categories")),
        links=tuple(links),
    )


def render_page(paper: MergedPaper, slug: str, tags: tuple[str, ...]) -> str:
    """The generated text of a paper page, with a digest that reveals later hand edits."""
    meta: dict[str, Any] = {
        "title": paper.title,
        "slug": slug,
        "key": paper.key,
        "date": paper.appearances[0].day,
        "source": paper.appearances[0].source,
        "appeared": [
            {"date": a.day, "source": a.source, "rank": a.rank} for a in paper.appearances
        ],
        "tags": list(tags),
    }
    if paper.arxiv_id:
        meta["arxiv_id"] = paper.arxiv_id
    if paper.version:
        meta["version"] = paper.version
    if paper.revised:
        meta["revised"] = paper.revised
    if paper.authors:
        meta["authors"] = list(paper.authors)
    if paper.categories:
        meta["categories"] = list(paper.categories)
    if paper.links:
        meta["links"] = list(paper.links)
    meta[UPSTREAM_KEY] = _upstream(paper)
    text = frontmatter.dump(meta, paper.abstract)
    meta[DIGEST_KEY] = _digest(text)
    return frontmatter.dump(meta, paper.abstract)


def _generated_page(paper: MergedPaper, slug: str, taxonomy: Taxonomy) -> str:
    """The page sitegen writes for a paper, tagged now; pure, so cached across builds."""

    def compute() -> str:
        tags = _auto_tags(taxonomy, markup.to_plain(paper.title), paper.abstract)
        return render_page(paper, slug, tags)

    return cache.memo("page", (repr(paper), slug, taxonomy.digest), compute)


def is_pristine(meta: Mapping[str, Any], body: str) -> bool:
    """True when the page is exactly as sitegen last wrote it (no person has edited it)."""
    stored = meta.get(DIGEST_KEY)
    if not isinstance(stored, str):
        return False
    without = {k: v for k, v in meta.items() if k != DIGEST_KEY}
    return _digest(frontmatter.dump(without, body)) == stored


@dataclass
class _ExistingPage:
    path: str
    meta: dict[str, Any]
    body: str


def _read_existing(pages: Mapping[str, str]) -> list[_ExistingPage]:
    existing = []
    for path, text in sorted(pages.items()):
        meta, body = _split(text, path)
        existing.append(_ExistingPage(path, meta, body))
    return existing


def merge(
    papers: Iterable[Paper],
    existing_pages: Mapping[str, str],
    taxonomy: Taxonomy,
    content_prefix: str = "content",
) -> MergeResult:
    """Decide the new text of every paper page; pages a person edited are never rewritten.

    `existing_pages` maps paths like `content/papers/x.md` to their current text.
    """
    merged = group_papers(papers)
    existing = _read_existing(existing_pages)
    by_key: dict[str, _ExistingPage] = {}
    by_title = _TitleIndex(existing)
    taken: set[str] = set(urls.RESERVED_SLUGS)
    known_sources: set[str] = set()
    for old in existing:
        key = old.meta.get("key")
        if isinstance(key, str):
            by_key.setdefault(key, old)
        slug = old.meta.get("slug")
        if isinstance(slug, str):
            taken.add(slug)
        taken.add(old.path.rsplit("/", 1)[-1].removesuffix(".md"))
        known_sources.update(_sources_of(old.meta))

    pages = dict(existing_pages)
    writes: dict[str, str] = {}
    warnings: list[BuildWarning] = []
    appearances: dict[str, tuple[Appearance, ...]] = {}
    claimed: set[str] = set()
    for paper in merged:
        page = _existing_page_of(paper, by_key, by_title, claimed)
        if page is None:
            plain_title = markup.to_plain(paper.title)
            slug = urls.unique_slug(urls.slug_for_title(plain_title, paper.arxiv_id or ""), taken)
            taken.add(slug)
            path = f"{content_prefix}/{PAPERS_DIR}/{slug}.md"
        else:
            path = page.path
            slug_value = page.meta.get("slug")
            slug = slug_value if isinstance(slug_value, str) else path.rsplit("/", 1)[-1][:-3]
            claimed.add(path)
            text = _generated_page(paper, slug, taxonomy)
            if text == existing_pages.get(path):
                continue  # exactly what sitegen would write, so untouched and up to date
            if not is_pristine(page.meta, page.body):
                appearances[_page_key(page.meta, paper.key)] = paper.appearances
                if page.meta.get(UPSTREAM_KEY, _upstream(paper)) != _upstream(paper):
                    warnings.append(
                        BuildWarning(
                            "the feed's title or abstract changed, but this page was edited by "
                            "hand; kept your version (delete the `upstream` line to silence)",
                            Location(path),
                        )
                    )
                continue
        claimed.add(path)
        text = _generated_page(paper, slug, taxonomy)
        if pages.get(path) != text:
            writes[path] = text
            pages[path] = text
    return MergeResult(
        MappingProxyType(writes),
        MappingProxyType(pages),
        tuple(warnings),
        MappingProxyType(appearances),
        frozenset(known_sources),
        {old.path: (old.meta, old.body) for old in existing if old.path not in writes},
    )


class _TitleIndex:
    """Existing pages by normalised title, the first of each; made when first asked, since
    nearly every paper is found by its key (and normalising 10,000 titles takes 50 ms)."""

    def __init__(self, pages: Iterable[_ExistingPage]) -> None:
        self._pages = pages
        self._index: dict[str, _ExistingPage] | None = None

    def get(self, title: str) -> _ExistingPage | None:
        if self._index is None:
            self._index = {}
            for page in self._pages:
                own = page.meta.get("title")
                if isinstance(own, str):
                    self._index.setdefault(normalise_title(own), page)
        return self._index.get(title)


def _existing_page_of(
    paper: MergedPaper,
    by_key: Mapping[str, _ExistingPage],
    by_title: _TitleIndex,
    claimed: set[str],
) -> _ExistingPage | None:
    """The page that already holds this paper, if any.

    A title identifies a paper only while one side has no arXiv id: two different ids with the
    same title are two papers, and one page never takes a second paper's text.
    """
    page = by_key.get(paper.key)
    if page is None:
        candidate = by_title.get(normalise_title(paper.title))
        candidate_key = candidate.meta.get("key") if candidate else None
        if candidate is not None and (
            paper.key.startswith("title:")
            or not isinstance(candidate_key, str)
            or candidate_key.startswith("title:")
        ):
            page = candidate
    if page is None or page.path in claimed:
        return None
    return page


def _sources_of(meta: Mapping[str, Any]) -> set[str]:
    found = {meta["source"]} if isinstance(meta.get("source"), str) else set()
    appeared = meta.get("appeared")
    if isinstance(appeared, list):
        found.update(a["source"] for a in appeared if isinstance(a, dict) and "source" in a)
    return {s for s in found if isinstance(s, str)}


def _page_key(meta: Mapping[str, Any], fallback: str) -> str:
    key = meta.get("key")
    return key if isinstance(key, str) else fallback


_JUST_STRINGS = frozenset({str})


def _str_tuple(meta: Mapping[str, Any], name: str, path: str) -> tuple[str, ...]:
    value = meta.get(name, [])
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if type(value) is list and _JUST_STRINGS.issuperset(map(type, value)):
        return tuple(map(markup.clean_text, value))  # as below, in C: 50,000 calls at 10k
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise ParseError(f"front matter `{name}` must be a list of strings", Location(path))
    # Hand-typed values are as untrusted as scraped ones: no controls or bidi tricks.
    return tuple(markup.clean_text(str(v)) for v in value)


def _as_date(value: object, path: str, name: str) -> date:
    # YAML reads `2025-03-12 10:00` as a datetime, which is also a date but cannot be compared
    # with one: keep its UTC day.
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ParseError(f"front matter `{name}` must be a date like 2025-03-11", Location(path))


def _appearances(meta: Mapping[str, Any], path: str) -> list[Appearance]:
    found: list[Appearance] = []
    raw = meta.get("appeared")
    if isinstance(raw, list):
        for item in raw:
            if not isinstance(item, dict) or "date" not in item:
                raise ParseError("front matter `appeared` entries need a `date`", Location(path))
            rank = item.get("rank", 1)
            found.append(
                Appearance(
                    _as_date(item["date"], path, "appeared.date"),
                    str(item.get("source", "")),
                    rank if isinstance(rank, int) and not isinstance(rank, bool) else 1,
                )
            )
    elif raw is not None:
        raise ParseError("front matter `appeared` must be a list", Location(path))
    if not found and "date" in meta:
        found.append(
            Appearance(_as_date(meta["date"], path, "date"), str(meta.get("source", "")), 1)
        )
    return found


STRUCTURAL_KEYS = frozenset(
    {
        "title",
        "slug",
        "key",
        "date",
        "source",
        "appeared",
        "tags",
        "remove_tags",
        "arxiv_id",
        "version",
        "revised",
        "authors",
        "categories",
        "links",
        DIGEST_KEY,
        UPSTREAM_KEY,
    }
)


def load_paper_page(
    path: str,
    text: str,
    taxonomy: Taxonomy,
    seen: Mapping[str, tuple[Appearance, ...]],
    split: tuple[dict[str, Any], str] | None = None,
) -> PaperPage:
    """A paper page; `split` is its text's front matter and body if already parsed."""
    meta, body, title, slug = _paper_source(path, text, split)
    raw_arxiv = meta.get("arxiv_id")
    arxiv_id = normalise_arxiv_id(str(raw_arxiv)) if raw_arxiv else None
    key = meta.get("key")
    key = key if isinstance(key, str) else paper_key(arxiv_id, title)
    found = {(a.day, a.source): a for a in _appearances(meta, path)}
    merged = seen.get(key, ())
    for appearance in merged:
        found.setdefault((appearance.day, appearance.source), appearance)
    if not found:
        raise ParseError("paper page needs a `date`", Location(path), "add `date: YYYY-MM-DD`")
    tags = {_tag_slug(t, path) for t in _str_tuple(meta, "tags", path)}
    # A page sitegen wrote lists its tags itself: while untouched, the merge has just refreshed
    # them from the taxonomy; once edited, the list is the person's, who may drop an auto tag.
    # Only a page written by hand from scratch is tagged here.
    if DIGEST_KEY not in meta:
        tags.update(_auto_tags(taxonomy, markup.to_plain(title), body))
    tags.difference_update(_tag_slug(t, path) for t in _str_tuple(meta, "remove_tags", path))
    extra = {k: v for k, v in meta.items() if k not in STRUCTURAL_KEYS}
    return PaperPage(
        key=key,
        slug=slug,
        title=_clean_title(title),
        body=body,
        appearances=tuple(sorted(found.values(), key=lambda a: (a.day, a.source))),
        tags=tuple(sorted(tags)),
        content_path=path,
        arxiv_id=arxiv_id,
        authors=_str_tuple(meta, "authors", path),
        categories=_str_tuple(meta, "categories", path),
        links=_str_tuple(meta, "links", path),
        version=_int_or_none(meta, "version", path),
        revised=_as_date(meta["revised"], path, "revised") if meta.get("revised") else None,
        extra=MappingProxyType(extra),
        source_digest=_source_digest(path, text, merged, taxonomy),
    )


def _source_digest(path: str, text: str, merged: tuple[Appearance, ...], taxonomy: Taxonomy) -> str:
    """A digest of a paper page's inputs: its path and text, the appearances merged in from
    the feeds, and the taxonomy (which tags a page written by hand)."""
    appeared = repr([(a.day.toordinal(), a.source, a.rank) for a in merged])
    data = f"{path}\0{taxonomy.digest}\0{appeared}\0{text}"
    return cache.bytes_hash(data.encode("utf-8", "surrogatepass")).hex()


def _int_or_none(meta: Mapping[str, Any], name: str, path: str) -> int | None:
    value = meta.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ParseError(f"front matter `{name}` must be a positive number", Location(path))
    return value


def _tag_slug(tag: str, path: str) -> str:
    slug = _slug_of_tag(tag)
    if not tag.strip() or slug.startswith("p-"):
        raise ParseError(f"tag {tag!r} has no letters or digits", Location(path), "fix `tags:`")
    return slug


@functools.lru_cache(maxsize=4096)
def _slug_of_tag(tag: str) -> str:
    # A site has a few dozen tags over thousands of pages: slugify each once.
    return urls.slug_for_title(tag, "")


def _paper_source(
    path: str, text: str, split: tuple[dict[str, Any], str] | None
) -> tuple[dict[str, Any], str, str, str]:
    """A paper page's front matter, body, title (as written) and slug."""
    meta, body = split if split is not None else _split(text, path)
    title, slug = _title_and_slug(meta, path, "paper page")
    return meta, body, title, slug


def _clean_title(title: str) -> str:
    return markup.clean_text(title).strip()


def related_documents(
    paper_pages: Mapping[str, str], parsed: Mapping[str, tuple[dict[str, Any], str]]
) -> list[tuple[str, str, str]]:
    """Each paper's slug, title and body, as `load_site` loads them from the same pages: what
    the related papers are computed from, so that they can start before the site is loaded.

    A page whose title or slug `load_site` will refuse is left out: the build stops there, on
    the first error in page order, as it would without this.
    """
    documents = []
    for path, text in paper_pages.items():
        try:
            _, body, title, slug = _paper_source(path, text, parsed.get(path))
        except ParseError:
            continue
        documents.append((slug, _clean_title(title), body))
    return documents


def _title_and_slug(meta: Mapping[str, Any], path: str, kind: str) -> tuple[str, str]:
    """A page's title and its slug (from front matter, else the file name), both validated."""
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ParseError(f"{kind} needs a `title`", Location(path, 2), "add `title: ...`")
    slug = meta.get("slug", path.rsplit("/", 1)[-1].removesuffix(".md"))
    problem = urls.slug_problem(slug)
    if problem or not isinstance(slug, str):
        raise ParseError(f"bad slug {slug!r}: {problem}", Location(path), "fix `slug:`")
    return title, slug


def load_page(path: str, text: str) -> Page:
    meta, body = _split(text, path)
    title, slug = _title_and_slug(meta, path, "page")
    return Page(slug=slug, title=_clean_title(title), body=body, content_path=path)


def check_collisions(papers: Iterable[PaperPage], pages: Iterable[Page]) -> None:
    """Two sources that would write the same URL fail the build, naming every source."""
    owners: dict[str, list[str]] = defaultdict(list)
    for paper in papers:
        owners[urls.paper_path(paper.slug)].append(paper.content_path)
    for page in pages:
        owners[urls.page_path(page.slug)].append(page.content_path)
    clashes = {path: srcs for path, srcs in owners.items() if len(srcs) > 1}
    if clashes:
        detail = "; ".join(
            f"/{p.removesuffix('index.html')} from {', '.join(s)}"
            for p, s in sorted(clashes.items())
        )
        raise SitegenError(f"URL collision: {detail}", hint="give each page its own `slug:`")


def _without_thin_tags(papers: list[PaperPage], taxonomy: Taxonomy) -> list[PaperPage]:
    """Drop taxonomy topics that only one paper has, unless the taxonomy says `keep`.

    A topic page and feed for a single paper is noise; tags people invent are theirs and stay.
    """
    counts = Counter(tag for paper in papers for tag in paper.tags)
    thin = {
        slug
        for slug, count in counts.items()
        if count < 2 and (rule := taxonomy.get(slug)) is not None and not rule.keep
    }
    if not thin:
        return papers
    return [
        replace(p, tags=tuple(t for t in p.tags if t not in thin)) if thin & set(p.tags) else p
        for p in papers
    ]


def load_site(
    paper_pages: Mapping[str, str],
    other_pages: Mapping[str, str],
    taxonomy: Taxonomy,
    seen: Mapping[str, tuple[Appearance, ...]],
    parsed: Mapping[str, tuple[dict[str, Any], str]] | None = None,
) -> Site:
    """Build the complete, sorted Site before anything is rendered.

    `parsed` holds the front matter and body of pages already split (MergeResult.parsed).
    """
    split = parsed or {}
    papers = [
        load_paper_page(path, text, taxonomy, seen, split.get(path))
        for path, text in paper_pages.items()
    ]
    pages = sorted((load_page(p, t) for p, t in other_pages.items()), key=lambda p: p.slug)
    check_collisions(papers, pages)
    papers = _without_thin_tags(papers, taxonomy)
    papers.sort(key=lambda p: p.sort_key)
    by_tag: dict[str, list[PaperPage]] = defaultdict(list)
    by_day: dict[date, dict[str, tuple[int, PaperPage]]] = defaultdict(dict)
    for paper in papers:
        for tag in paper.tags:
            by_tag[tag].append(paper)
        for appearance in paper.appearances:
            # Listed in two feeds on one day: one entry, at its best rank.
            known = by_day[appearance.day].get(paper.slug)
            if known is None or appearance.rank < known[0]:
                by_day[appearance.day][paper.slug] = (appearance.rank, paper)
    tags = []
    for slug in sorted(by_tag):
        rule = taxonomy.get(slug)
        tags.append(
            Tag(
                slug=slug,
                label=rule.label if rule else slug.replace("-", " "),
                description=rule.description if rule else "",
                papers=tuple(by_tag[slug]),
            )
        )
    days = [
        Day(day, tuple(p for _, p in sorted(entries.values(), key=lambda e: (e[0], e[1].slug))))
        for day, entries in sorted(by_day.items(), reverse=True)
    ]
    return Site(papers=tuple(papers), tags=tuple(tags), days=tuple(days), pages=tuple(pages))
