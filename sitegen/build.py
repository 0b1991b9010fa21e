"""Orchestrate a build: parse feeds, merge into content/, load the site, render, write."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import Protocol

from sitegen import (
    cache,
    content,
    feeds,
    guard,
    parallel,
    related,
    render,
    search,
    sources,
    urls,
    views,
    write,
)
from sitegen.config import Config
from sitegen.errors import BuildWarning, Location, ParseError, SitegenError
from sitegen.models import OutputFile, Paper
from sitegen.taxonomy import site_taxonomy

# GitHub Pages refuses to publish a site over 1 GB: warn while there is still room to act.
PAGES_LIMIT_BYTES = 1_000_000_000
SIZE_WARNING_SHARE = 0.8


class StageWatcher(Protocol):
    def start(self, stage: str) -> None: ...
    def finish(self, stage: str) -> None: ...


@dataclass
class BuildReport:
    """What a build did: counts, warnings and the time each stage took."""

    papers: int = 0
    pages_written: int = 0
    content_written: int = 0
    files: int = 0
    bytes: int = 0
    changed: int = 0
    unchanged: bool = False  # every input matched the last build: nothing was rendered or written
    warnings: list[BuildWarning] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # Told when each stage starts and ends (a progress display); not part of the report.
    watcher: StageWatcher | None = field(default=None, repr=False, compare=False)

    @property
    def bytes_per_paper(self) -> int:
        """The site's size over its papers: what each new day of papers will cost."""
        return self.bytes // self.papers if self.papers else 0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.watcher:
            self.watcher.start(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = time.perf_counter() - start
            if self.watcher:
                self.watcher.finish(name)


def size_warnings(total: int, papers: int) -> list[BuildWarning]:
    """A warning once the site passes 80% of GitHub Pages' size limit."""
    if total <= PAGES_LIMIT_BYTES * SIZE_WARNING_SHARE:
        return []
    per_paper = total // papers if papers else 0
    if total > PAGES_LIMIT_BYTES:
        room = "; GitHub Pages will refuse to publish it"
    elif per_paper:
        room = f"; about {(PAGES_LIMIT_BYTES - total) // per_paper} more papers fit"
    else:
        room = ""
    share = f"{total / 1e6:.0f} MB, {total / PAGES_LIMIT_BYTES:.0%} of GitHub Pages' 1 GB limit"
    return [BuildWarning(f"the site is {share} ({per_paper} bytes per paper){room}")]


def parse_seeds(config: Config, report: BuildReport) -> tuple[list[Paper], dict[str, int]]:
    """Every paper of every feed file, and how many papers each file gave."""
    papers: list[Paper] = []
    counts: dict[str, int] = {}
    for path in sources.feed_files(config.seeds_dir):
        source = config.relative(path)
        result = sources.parse_file(path, source, config.year)
        papers.extend(result.papers)
        counts[source] = len(result.papers)
        report.warnings.extend(result.warnings)
    return papers, counts


def read_pages(folder: Path, config: Config, pattern: str) -> dict[str, str]:
    """Content pages as {project-relative path: text}; bad encodings name the file."""
    pages: dict[str, str] = {}
    if not folder.is_dir():
        return pages
    for path in sorted(folder.glob(pattern)):
        if not path.is_file():
            continue
        rel = config.relative(path)
        data = path.read_bytes()
        try:
            pages[rel] = data.decode("utf-8-sig").replace("\r\n", "\n")
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"invalid UTF-8 at byte {exc.start + 1}",
                Location(rel, data[: exc.start].count(b"\n") + 1, exc.start + 1),
                "re-save the page as UTF-8",
            ) from None
    return pages


def build(
    config: Config,
    *,
    strict: bool = False,
    force: bool = False,
    on_stage: Callable[[str, float], None] | None = None,
    use_cache: bool = True,
    jobs: int | None = None,
    watcher: StageWatcher | None = None,
) -> BuildReport:
    """Run every stage in order; nothing is written until everything has rendered.

    Pure results (front matter, tags, Markdown) come from `.sitegen-cache/` unless `use_cache`
    is off, and are computed by `jobs` processes (default: one per core) when missing.
    """
    protected = [config.content_dir, config.seeds_dir, config.templates_dir, config.root / "themes"]
    # Refuse a dangerous target before anything, the lock file beside it included, is created.
    write.check_target(config.output_dir, root=config.root, protected=protected, force=force)
    store = cache.for_project(config.root, use_cache)
    # Held for the whole build: two builds of one site must not interleave their content/
    # merges either, not only their writes.
    with write.output_lock(config.output_dir), cache.using(store):
        # Hashed before the build reads anything: an input edited mid-build then differs from
        # the stored digest and forces the next build, never the other way round.
        read: dict[str, bytes] = {}
        inputs = inputs_digest(config, strict=strict, force=force, record=read)
        # --no-cache renders everything, but still notes the digest for the next build.
        report = _unchanged_report(config, inputs) if use_cache else None
        if report is None:
            report = _build(
                config,
                strict=strict,
                force=force,
                on_stage=on_stage,
                jobs=parallel.default_jobs() if jobs is None else jobs,
                watcher=watcher,
                inputs=inputs,
                read=read,
            )
        store.save()
    return report


def inputs_digest(
    config: Config, *, strict: bool, force: bool, record: dict[str, bytes] | None = None
) -> str:
    """One hash of everything a build reads: if it matches the last build's, so would the output.

    Whole folders are hashed (every seed file, content page, template, static file and theme
    file), a superset of what the stages read, so no input can slip past it.
    """
    folders: list[tuple[Path, cache.Reading]] = [
        (config.seeds_dir, _seed_text),
        (config.content_dir, _page_text),
        *((folder, _file_bytes) for folder in (config.templates_dir, config.root / "static")),
        *((folder, _file_bytes) for folder in render.theme_dirs(config)),
    ]
    files = [config.taxonomy] if config.taxonomy else []
    # Paths relative to the project: the same site in another folder has the same digest.
    settings = repr(config).replace(f"'{config.root}", "'<project>")
    values = [settings, f"strict={strict} force={force}", cache.build_fingerprint()]
    return cache.digest_inputs(files, folders, values, config.root, record)


def _file_bytes(path: Path, data: bytes) -> bytes:
    return b"b" + data


def _seed_text(path: Path, data: bytes) -> bytes:
    """A feed as the parser reads it, so a BOM or CRLF copy of a feed digests alike."""
    try:
        return b"t" + sources.decode(data, path.name).encode("utf-8")
    except SitegenError:
        return b"b" + data  # the build will report it; any change to it still counts


def _page_text(path: Path, data: bytes) -> bytes:
    """A content page as `read_pages` reads it; other files there as they are."""
    if path.suffix != ".md":
        return b"b" + data
    try:
        return b"t" + data.decode("utf-8-sig").replace("\r\n", "\n").encode("utf-8")
    except UnicodeDecodeError:
        return b"b" + data


def _settled_digest(
    config: Config, *, strict: bool, force: bool, read: dict[str, bytes], writes: Mapping[str, str]
) -> str | None:
    """The inputs' digest after this build's content/ writes, if nothing else changed meanwhile.

    Every file must hold what the build read, or what it wrote: a page saved by a person while
    the build ran gives None, so the next build runs in full and sees it.
    """
    expected = dict(read)
    for rel, text in writes.items():
        expected[str(config.root / rel)] = cache.bytes_hash(b"t" + text.encode("utf-8"))
    now: dict[str, bytes] = {}
    digest = inputs_digest(config, strict=strict, force=force, record=now)
    return digest if now == expected else None


_NOTE_FIELDS = ("inputs", "papers", "files", "bytes", "pages")


def _note(inputs: str, report: BuildReport) -> bytes:
    values = (inputs, report.papers, report.files, report.bytes, report.pages_written)
    lines = [f"{k}: {v}\n" for k, v in zip(_NOTE_FIELDS, values, strict=True)]
    # Kept so that a skipped build repeats them, as a full one would.
    for warning in report.warnings:
        where = warning.location
        fields = [warning.message, *((where.file, where.line, where.offset) if where else ())]
        lines.append(f"warning: {json.dumps(fields, ensure_ascii=True)}\n")
    return "".join(lines).encode()


def _noted_warning(text: str) -> BuildWarning | None:
    try:
        fields = json.loads(text)
        if len(fields) == 1:
            return BuildWarning(str(fields[0]))
        message, file, line, offset = fields
        return BuildWarning(str(message), Location(str(file), int(line), int(offset)))
    except (ValueError, TypeError):
        return None


def _unchanged_report(config: Config, inputs: str) -> BuildReport | None:
    """The last build's report if its inputs hashed to `inputs` and its output is in place."""
    marker = write.read_marker(config.output_dir)
    if marker is None:
        return None
    noted: dict[str, str] = {}
    warnings: list[BuildWarning] = []
    for line in marker.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(": ")
        if key == "warning":
            warning = _noted_warning(value)
            if warning is None:
                return None
            warnings.append(warning)
        else:
            noted[key] = value
    if noted.get("inputs") != inputs or not all(k in noted for k in _NOTE_FIELDS):
        return None
    try:
        counts = [int(noted[k]) for k in _NOTE_FIELDS[1:]]
    except ValueError:
        return None
    papers, files, size, pages = counts
    write.tidy(config.output_dir)  # a build killed after its swap left its old tree beside it
    return BuildReport(
        papers=papers,
        files=files,
        bytes=size,
        pages_written=pages,
        unchanged=True,
        warnings=warnings,
    )


class _Tally:
    """Counts and the digest of the HTML pages, taken as the outputs stream to the write stage."""

    def __init__(self) -> None:
        self.files = self.bytes = self.pages = 0
        self.html = cache.FilesDigest()
        self.marked: list[str] = []  # pages for the search index

    def watch(self, outputs: Iterable[OutputFile]) -> Iterator[OutputFile]:
        for output in outputs:
            self.files += 1
            self.bytes += len(output.data)
            if output.path.endswith(".html"):
                self.pages += 1
                self.html.add(output.path, output.data)
                if search.INDEXED_MARK in output.data:
                    self.marked.append(output.path)
            yield output


def _fail_if_strict(report: BuildReport, strict: bool) -> None:
    if strict and report.warnings:
        raise SitegenError(
            f"{len(report.warnings)} warning(s) with --strict; first: {report.warnings[0]}"
        )


def _build(
    config: Config,
    *,
    strict: bool,
    force: bool,
    on_stage: Callable[[str, float], None] | None,
    jobs: int,
    watcher: StageWatcher | None,
    inputs: str,
    read: dict[str, bytes],
) -> BuildReport:
    report = BuildReport(watcher=watcher)
    taxonomy = site_taxonomy(config.taxonomy, config.tags)

    with report.stage("parse"):
        papers, counts = parse_seeds(config, report)
    with report.stage("merge"):
        existing = read_pages(config.content_dir / content.PAPERS_DIR, config, "*.md")
        with report.stage("warm"):  # fills the cache in parallel; the stages below then hit it
            parallel.warm_papers(existing, taxonomy, config, urls.UrlMap(config.base_url), jobs)
        prefix = config.relative(config.content_dir)
        merged = content.merge(papers, existing, taxonomy, prefix)
        report.warnings.extend(merged.warnings)
        if not force:
            new_sources = set(counts) - merged.known_sources
            guard.check_new_feeds(counts, new_sources, config.min_day_share)
    _fail_if_strict(report, strict)  # early: no point rendering a build that will be refused
    with report.stage("load"):
        other_pages = read_pages(config.content_dir, config, "*.md")
        site = content.load_site(merged.pages, other_pages, taxonomy, merged.appearances)
        report.papers = len(site.papers)
    with report.stage("related"):
        site = replace(site, related=related.related_papers(related.documents(site.papers)))
    url_map = urls.UrlMap(config.base_url)
    site_views = views.build_views(site, config, url_map)
    # Pages stream from the renderer into the write stage's staging folder: only a chunk of
    # pages is in memory at a time, and the search index is built from the written folder.
    tally = _Tally()
    outputs = tally.watch(
        chain(
            render.render_pages(site, site_views, config, url_map, jobs),
            feeds.render_feeds(site_views, config, url_map),
            render.static_files(config),
        )
    )

    def finalize(staging: Path) -> list[OutputFile]:
        bundle: list[OutputFile] = []
        if config.search:
            with report.stage("search"):
                # A pure function of the pages: an unchanged site reuses the cached index.
                bundle = cache.memo(
                    "search",
                    (tally.html.hexdigest(),),
                    lambda: search.index_site(staging, tally.marked),
                )
        tally.files += len(bundle)
        tally.bytes += sum(len(o.data) for o in bundle)
        report.warnings.extend(size_warnings(tally.bytes, report.papers))
        _fail_if_strict(report, strict)
        # content/ before the swap: it is the source of truth, and a refused write must not
        # publish a site whose pages exist nowhere else.
        with report.stage("content"):
            for path in write.write_content(merged.writes, config.root, read=existing):
                report.warnings.append(
                    BuildWarning("changed while the build ran; kept your version", Location(path))
                )
        report.content_written = len(merged.writes)
        report.files, report.bytes, report.pages_written = tally.files, tally.bytes, tally.pages
        return bundle

    def note() -> bytes:
        settled: str | None = inputs
        if merged.writes:
            settled = _settled_digest(
                config, strict=strict, force=force, read=read, writes=merged.writes
            )
        return _note(settled, report) if settled else b""

    with report.stage("render+write"):
        written = write.write_site(outputs, config.output_dir, finalize=finalize, note=note)
    report.files, report.bytes, report.changed = written.files, written.bytes, written.changed
    if on_stage:
        for name, seconds in report.timings.items():
            on_stage(name, seconds)
    return report
