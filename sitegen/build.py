"""Orchestrate a build: parse feeds, merge into content/, load the site, render, write."""

from __future__ import annotations

import ctypes
import fnmatch
import gc
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from itertools import chain, takewhile
from pathlib import Path

from sitegen import (
    cache,
    content,
    feeds,
    frontmatter,
    guard,
    markup,
    parallel,
    render,
    reuse,
    search,
    shortcut,
    sources,
    urls,
    views,
    write,
)
from sitegen.config import Config
from sitegen.errors import BuildWarning, Location, ParseError, SitegenError
from sitegen.models import OutputFile, Paper
from sitegen.report import BuildReport, StageWatcher, size_warnings
from sitegen.taxonomy import site_taxonomy

# The related papers' process holds its own copy of the texts and the similarity model, and the
# views take about 10 KB a paper here: at 100k papers, both at once made the build's peak
# 2.03 GB instead of 1.72 (tree PSS). Above this many papers the related papers are computed
# before the views instead of beside them (at 100k that costs about 5 s of 95 s).
OVERLAP_MAX_PAPERS = 25_000


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


def read_pages(
    folder: Path, config: Config, pattern: str, known: dict[str, str] | None = None
) -> dict[str, str]:
    """Content pages as {project-relative path: text}; bad encodings name the file.

    A page whose text is in `known` (by file name, as `shortcut.inputs_digest` gives them) is
    taken from there, not read again.
    """
    pages: dict[str, str] = {}
    if not folder.is_dir():
        return pages
    # Names and strings rather than paths: a site has thousands of pages, and path objects
    # (globbing, relative_to) cost more than reading the files.
    prefix = config.relative(folder)
    prefix = "" if prefix == "." else f"{prefix}/"
    base = os.fspath(folder)
    with os.scandir(base) as entries:
        names = sorted(
            entry.name
            for entry in entries
            if fnmatch.fnmatchcase(entry.name, pattern) and entry.is_file()
        )
    for name in names:
        rel = prefix + name
        path = f"{base}/{name}"
        text = known.pop(path, None) if known else None
        if text is not None:
            pages[rel] = text
            continue
        data = cache.read_bytes(path)
        try:
            pages[rel] = frontmatter.decode_page(data)
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
    with write.output_lock(config.output_dir), cache.using(store), _long_lived_heap():
        jobs = parallel.default_jobs() if jobs is None else jobs
        # The related papers' process is forked first, while this one is small, and imports
        # numpy and scipy while this one hashes and reads the inputs on its own.
        with parallel.awaiting(_related_lists, _import_related, jobs) as find_related:
            # Hashed before the build reads anything: an input edited mid-build then differs
            # from the stored digest and forces the next build, never the other way round.
            read: dict[str, bytes] = {}
            # The content pages' texts the digest reads: the build's own reading of content/.
            # It then builds exactly what was hashed, and reads no page twice (at 10k papers,
            # 0.1 s of a cold build's single-core start).
            texts: dict[str, str] = {}
            inputs = shortcut.inputs_digest(
                config, strict=strict, force=force, record=read, texts=texts
            )
            # --no-cache renders everything, but still notes the digest for the next build.
            report = shortcut.unchanged_report(config, inputs) if use_cache else None
            if report is None:
                # Without a cache folder (--no-cache) every page is rendered and no key is
                # computed.
                ledger = reuse.Ledger(store.folder, config.output_dir) if store.folder else None
                with _spare_readied(config, ledger, jobs) as spare_ready:
                    report = _build(
                        config,
                        strict=strict,
                        force=force,
                        on_stage=on_stage,
                        jobs=jobs,
                        watcher=watcher,
                        inputs=inputs,
                        read=read,
                        texts=texts,
                        ledger=ledger,
                        spare_ready=spare_ready,
                        find_related=find_related,
                    )
        store.save()
    return report


# What the related papers are computed from: each paper's slug, title and body, the cache
# folder, which keeps the model for the next build, and the jobs (plain data: it crosses to
# another process).
RelatedInput = tuple[list[tuple[str, str, str]], Path | None, int]
RelatedLists = dict[str, tuple[str, ...]]


def _import_related() -> None:
    # Imported where the related papers are computed: numpy and scipy take 0.3 s to import,
    # which the process a rebuild waits for then does not spend.
    _one_blas_thread()
    from sitegen import related

    related.import_libraries()


def _one_blas_thread() -> None:
    """Ask numpy's BLAS, before numpy is imported, for no threads of its own.

    The related papers use no BLAS (scipy's sparse product is its own code), but OpenBLAS
    starts a thread per core at import, which spins while it waits for work: a 10k build's
    processes then took 6.13 CPU-seconds of user time instead of 6.00. A user's own setting
    is kept.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _related_lists(given: RelatedInput) -> RelatedLists:
    _one_blas_thread()  # with one job, numpy is first imported here
    from sitegen import related

    texts, folder, jobs = given
    memory = folder / related.MODEL_FILE if folder is not None else None
    docs = [related.Document(*text) for text in texts]
    return dict(related.related_papers(docs, memory=memory, jobs=jobs))


# The spare tree's inventory, when a process beside the build took it (write.spare_inventory).
SpareReady = Callable[[], Mapping[str, bool] | None]


@contextmanager
def _spare_readied(
    config: Config, ledger: reuse.Ledger | None, jobs: int
) -> Iterator[SpareReady | None]:
    """Ready the spare tree the staging tree starts from in a process beside the build: copy
    the published tree to it (write.make_spare) when the last build left none, else walk it
    (write.spare_inventory). Yield a wait for its inventory, which is None where the process
    found none; where a fork is not worth it, `parallel.beside` makes none and the wait
    returns None at once: the staging tree then looks for itself, and no copy is made.
    None instead of a wait: there is nothing to ready.

    Only for a site the ledger describes: a build that renders everything anew would only
    have the copy's every file to delete.
    """
    spare = ledger.spare_tree() if ledger is not None else None
    if spare is None or ledger is None or not ledger.records or not config.output_dir.is_dir():
        yield None
        return
    if os.path.lexists(spare):
        # The walk took 0.13 s of a 10k rebuild, in this process, once the views were made.
        with parallel.beside(
            lambda: write.spare_inventory(spare), jobs, len(ledger.records)
        ) as ready:
            yield ready
        return
    try:
        with parallel.beside(
            lambda: write.make_spare(config.output_dir, spare), jobs, len(ledger.records)
        ) as ready:
            yield ready
    finally:  # a failed build stopped the copy
        write.drop_partial_spare(spare)


@contextmanager
def _long_lived_heap() -> Iterator[None]:
    """Thaw what `_settled` froze when the build ends, so a long-lived caller (`serve`) can
    still free the site."""
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def _settled() -> Iterator[None]:
    """Run a stage that builds the site's long-lived data without the collector, then freeze it.

    Pages, views and matrices live until the build ends, and every full collection walks every
    object alive, again and again as the site's data grows. These stages make no cyclic garbage
    worth finding; frozen objects are never walked again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()


def _return_freed_memory() -> None:
    """Hand the free pages inside the C heap back to the system, where the allocator can.

    glibc keeps what a process frees for reuse, so the page texts and front matter dropped
    after loading (a quarter of a 100k build's memory) would still count, in this process and
    as a share of each forked one. A no-op where there is no `malloc_trim` (macOS, musl).
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return
    trim(0)


class _Tally:
    """Counts and the digest of the HTML pages, taken as the outputs stream to the write stage."""

    def __init__(self, search: bool) -> None:
        self.files = self.bytes = self.pages = self.carried = 0
        self.search = search
        self.html = cache.FilesDigest()
        self.indexed = cache.FilesDigest()  # the marked pages' bytes, when search is on
        self.marked: list[str] = []  # pages for the search index
        # page -> (render key, marked, digest of its bytes if marked and search is on)
        self.keyed: dict[str, tuple[bytes, bool, bytes]] = {}
        self.kept: set[str] = set()  # outputs carried over from the last build

    def search_key(self) -> str:
        """What the search index is a function of: the marked pages, or every page if none is
        (search.index_site). A change to other pages (a new list page) keeps the index."""
        return (self.indexed if self.marked else self.html).hexdigest()

    def watch(self, outputs: Iterable[OutputFile]) -> Iterator[OutputFile]:
        for output in outputs:
            self.files += 1
            digest = b""
            if output.carried is not None:
                self.kept.add(output.path)
                self.bytes += output.carried.size
                marked, digest = output.carried.marked, output.carried.digest
            elif output.written is not None:
                self.bytes += output.written.size
                marked, digest = output.written.marked, output.written.digest
            else:
                self.bytes += len(output.data)
                marked = search.INDEXED_MARK in output.data
            if output.path.endswith(".html"):
                self.pages += 1
                self.carried += output.carried is not None  # pages; feeds are carried too
                # A render key, or else a digest, stands for the page's bytes: a carried or
                # written page has no bytes here.
                if output.key is None and not digest:
                    digest = cache.bytes_hash(output.data)
                self.html.add(output.path, output.key or digest)
                if marked:
                    self.marked.append(output.path)
                    if self.search:
                        # By content, not key: a template change that leaves the indexed
                        # pages as they were keeps the index.
                        if not digest and output.carried is None:
                            digest = cache.bytes_hash(output.data)
                        # A carried page indexed by no earlier build: its key, so the index
                        # is rebuilt (its bytes are on disk, not here).
                        self.indexed.add(output.path, digest or b"key " + (output.key or b""))
            if output.key is not None:
                self.keyed[output.path] = (output.key, marked, digest)
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
    texts: dict[str, str],
    ledger: reuse.Ledger | None,
    spare_ready: SpareReady | None,
    find_related: Callable[[RelatedInput], parallel.Later[RelatedLists]],
) -> BuildReport:
    report = BuildReport(watcher=watcher)
    taxonomy = site_taxonomy(config.taxonomy, config.tags)

    with report.stage("parse"):
        papers, counts = parse_seeds(config, report)
    with report.stage("merge"), _settled():
        existing = read_pages(config.content_dir / content.PAPERS_DIR, config, "*.md", texts)
        with report.stage("warm"):  # fills the cache in parallel; the stages below then hit it
            parallel.warm_pages(existing, taxonomy, jobs)
        prefix = config.relative(config.content_dir)
        merged = content.merge(papers, existing, taxonomy, prefix)
        # Only the pages about to be rewritten need their text until the end (to notice an edit
        # saved meanwhile); the others would hold a second copy of content/ in memory.
        read_texts = {path: existing[path] for path in merged.writes if path in existing}
        del existing
        report.warnings.extend(merged.warnings)
        if not force:
            new_sources = set(counts) - merged.known_sources
            guard.check_new_feeds(counts, new_sources, config.min_day_share)
    _fail_if_strict(report, strict)  # early: no point rendering a build that will be refused
    folder = cache.active().folder
    # The related papers' process needs each paper's slug, title and body only: sent now, it
    # computes while this process loads the site. It is the longest task of a rebuild, whose
    # views and feeds then wait for it.
    found = find_related((content.related_documents(merged.pages, merged.parsed), folder, jobs))
    with report.stage("load"), _settled():
        other_pages = read_pages(config.content_dir, config, "*.md", texts)
        texts.clear()  # pages in folders the build does not read
        site = content.load_site(
            merged.pages, other_pages, taxonomy, merged.appearances, merged.parsed
        )
        report.papers = len(site.papers)
        merged = replace(merged, pages={}, parsed={})  # loaded: not needed again
    cache.active().release("frontmatter")  # nor their parsed front matter
    _return_freed_memory()
    url_map = urls.UrlMap(config.base_url)
    # Related papers (another process) and views and feeds (this one) need only the loaded
    # site: they run side by side, and the views take the related lists when they are done.
    # On a big site the views wait for the related papers (see OVERLAP_MAX_PAPERS).
    overlap = len(site.papers) <= OVERLAP_MAX_PAPERS

    spare = ledger.spare_tree() if ledger is not None else None
    lazy = ledger is not None and bool(ledger.records)
    with ExitStack() as stack:  # the staging tree

        def staging_tree() -> write._Staging:
            # The staging tree starts from the spare, and takes its inventory if it is known.
            inventory = spare_ready() if spare_ready is not None else None
            return stack.enter_context(write.staging_tree(config.output_dir, spare, inventory))

        folders = (urls.paper_path(p.slug).rpartition("/")[0] for p in site.papers)
        with report.stage("related+views"):
            with _settled():
                # While the spare is readied beside this process (copied on the first rebuild
                # after a cold build: 1.5 s at 10k papers on ext4; else walked), the tree is
                # entered only once the views and feeds, which need none, are made. Otherwise
                # at once: a tree that starts empty gets its paper folders while the related
                # papers are computed.
                tree = None if spare_ready is not None else staging_tree()
                if not overlap:
                    if tree is not None:
                        # The wait below is spent on them: at 100k papers, 100,000 `mkdir`s
                        # (2.5 s on ext4) the render workers would make otherwise.
                        tree.folders(takewhile(lambda _: found.running(), folders))
                    # Still in the other process: computed here, its garbage would leave free
                    # slots all over this process's heap, and each render worker that allocates
                    # into them copies the memory page they sit in (a 100k build took 300 s
                    # instead of 90 s).
                    found()
                # A rebuild makes each paper's details only for the pages it renders (views.py),
                # so it leaves the other papers' cached Markdown unread: kept for the next build.
                if lazy:
                    cache.active().retain(*markup.NAMESPACES)
                unlinked = views.UnlinkedViews(site, config, url_map, lazy=lazy)
                digests = views.view_digests(site, config, url_map)
                # The feeds, and the /feeds/ page: they show no related papers.
                channels = feeds.channels(unlinked.views, config, url_map, digests)
            renderer = render.SiteRenderer(config, url_map, ledger)
            pages = list(render.page_jobs(renderer, site, unlinked.views, channels))
            if not lazy:
                # Every view holds its details, and every page its text: nothing converts text
                # again. Saved now, the tables leave the memory every render worker is forked
                # from (at 100k papers, 120 MB of the largest process's 1.8 GB).
                for namespace in markup.NAMESPACES:
                    cache.active().release(namespace)
                _return_freed_memory()
            if tree is not None:  # those not made yet (all, where the views overlap)
                tree.folders(takewhile(lambda _: found.running(), folders))
            early = {} if lazy else renderer.render_early(pages, found.running)
            # Then the feeds, as many as there is time for: they show no related papers either.
            feed_outputs = feeds.render_feeds(channels, config, url_map, ledger)
            made_feeds: list[OutputFile] = []
            while found.running() and (made := next(feed_outputs, None)) is not None:
                made_feeds.append(made)
            # Then written, as far as there is time: a PageWriter only for a tree that started
            # empty (a cold build's).
            writer = tree.writer() if tree is not None else None
            if writer is not None:
                render.write_early(renderer, writer, early, made_feeds, found.running)
            lists = found()
            site_views = unlinked.link(lists, digests)
        if tree is None:
            tree = staging_tree()
            writer = tree.writer()
        site = replace(site, related=lists)
        # Pages stream from the renderer into the write stage's staging folder: only a chunk of
        # pages is in memory at a time, and the search index is built from the written folder.
        tally = _Tally(config.search)
        outputs = tally.watch(
            chain(
                render.render_pages(
                    renderer,
                    site,
                    site_views,
                    pages,
                    jobs,
                    early,
                    writer,
                    beside=chain(made_feeds, feed_outputs),
                ),
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
                        (tally.search_key(),),
                        lambda: search.index_site(staging, tally.marked),
                    )
            tally.files += len(bundle)
            tally.bytes += sum(len(o.data) for o in bundle)
            report.warnings.extend(size_warnings(tally.bytes, report.papers))
            _fail_if_strict(report, strict)
            # content/ before the swap: it is the source of truth, and a refused write must not
            # publish a site whose pages exist nowhere else.
            with report.stage("content"):
                for path in write.write_content(merged.writes, config.root, read=read_texts):
                    kept = "changed while the build ran; kept your version"
                    report.warnings.append(BuildWarning(kept, Location(path)))
            report.content_written = len(merged.writes)
            report.files, report.bytes, report.pages_written = tally.files, tally.bytes, tally.pages
            report.carried = tally.carried
            return bundle

        def note() -> bytes:
            settled: str | None = inputs
            if merged.writes:
                settled = shortcut.settled_digest(
                    config, strict=strict, force=force, read=read, writes=merged.writes
                )
            return shortcut.note(settled, report) if settled else b""

        with report.stage("render+write"):
            written = write.write_site(outputs, tree, finalize=finalize, note=note)
        report.files, report.bytes, report.changed = written.files, written.bytes, written.changed
    if ledger is not None:
        ledger.save(tally.keyed, carried=tally.kept)
    if on_stage:
        for name, seconds in report.timings.items():
            on_stage(name, seconds)
    return report
