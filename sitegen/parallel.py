"""Parallel warm-up: compute the cache's pure results for many papers across processes.

Workers are forked, so they share the already-read page texts without copying them, run the
very same code the serial build runs (front matter, tags, Markdown, plain text) against an
empty cache, and send back only the new cache entries. The main process then builds every
page in its usual order, finding each result ready: output is byte-identical to a serial
build, and a worker error only means the main process meets (and reports) it itself.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

from sitegen import cache, content, markup, urls, views
from sitegen.config import Config
from sitegen.errors import SitegenError
from sitegen.models import PaperPage
from sitegen.taxonomy import Taxonomy

T = TypeVar("T")
R = TypeVar("R")
# Below this many items a pool costs more than it saves.
MIN_ITEMS = 200

_work: tuple[Callable[[object], None], Sequence[object]] | None = None
_mapping: tuple[Callable[[object], object], Sequence[object]] | None = None


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _run_chunk(bounds: tuple[int, int]) -> dict[str, dict[bytes, bytes]]:
    assert _work is not None
    task, items = _work
    # The forked copy of the main process's cache: what it already holds is not recomputed.
    for item in items[bounds[0] : bounds[1]]:
        try:
            task(item)
        except SitegenError:
            continue  # the main process reports it with its own file and line
    return cache.active().take_new_entries()


def _worth_forking(jobs: int, count: int) -> bool:
    """Workers pay off with several cores and enough items, and need fork to inherit state."""
    return jobs > 1 and count >= MIN_ITEMS and "fork" in multiprocessing.get_all_start_methods()


def _chunks(count: int, step: int) -> list[tuple[int, int]]:
    """`[start, end)` bounds covering `count` items, `step` at a time."""
    return [(i, min(i + step, count)) for i in range(0, count, step)]


def prewarm(task: Callable[[T], None], items: Sequence[T], jobs: int) -> int:
    """Run `task` on every item in `jobs` forked workers, filling the active cache.

    Items whose results are already cached cost the workers a lookup only if the caller
    filtered them out; returns the number of entries received.
    """
    global _work
    if not _worth_forking(jobs, len(items)):
        return 0
    # Several chunks per worker keep both cores busy to the end.
    bounds = _chunks(len(items), -(-len(items) // (jobs * 4)))
    _work = (task, items)  # type: ignore[assignment]
    received = 0
    gc.freeze()  # the collector must not dirty (and so copy) every inherited page in a worker
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for entries in pool.imap_unordered(_run_chunk, bounds):
                cache.active().absorb(entries)
                received += sum(len(t) for t in entries.values())
    finally:
        gc.unfreeze()
        _work = None
    return received


def warm_pages(pages: Mapping[str, str], taxonomy: Taxonomy, jobs: int) -> int:
    """Parse and tag every paper page not cached yet, across cores."""
    active = cache.active()
    todo = [(path, text) for path, text in pages.items() if not active.has("frontmatter", (text,))]

    def task(item: tuple[str, str]) -> None:
        content.load_paper_page(item[0], item[1], taxonomy, {})

    return prewarm(task, todo, jobs)


def warm_views(
    papers: Sequence[PaperPage],
    config: Config,
    url_map: urls.UrlMap,
    tag_labels: dict[str, str],
    jobs: int,
) -> int:
    """Compute every paper's view (Markdown, plain text, citations) not cached yet, across cores."""
    renderer = markup.default_renderer()

    def task(paper: PaperPage) -> None:
        views.paper_view(paper, config, url_map, renderer, tag_labels)

    todo = [p for p in papers if not views.view_is_cached(p, config, url_map, tag_labels)]
    return prewarm(task, todo, jobs)


def _map_chunk(bounds: tuple[int, int]) -> list[object]:
    assert _mapping is not None
    function, items = _mapping
    return [function(item) for item in items[bounds[0] : bounds[1]]]


def map_ordered(function: Callable[[T], R], items: Sequence[T], jobs: int) -> Iterator[R]:
    """`map(function, items)` across forked workers, yielding results in the items' order.

    Each worker uses its forked copy of whatever `function` holds (compiled templates, views),
    so nothing but the results crosses a pipe; chunks keep memory to a few chunks' results.
    """
    global _mapping
    if not _worth_forking(jobs, len(items)):
        yield from map(function, items)
        return
    bounds = _chunks(len(items), max(1, min(250, -(-len(items) // (jobs * 4)))))
    _mapping = (function, items)  # type: ignore[assignment]
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for results in pool.imap(_map_chunk, bounds):
                yield from results  # type: ignore[misc]
    finally:
        gc.unfreeze()
        _mapping = None
