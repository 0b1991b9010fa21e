"""Parallel work across forked processes: the cache warm-up, and an ordered map.

Workers are forked, so they share the already-read page texts without copying them, run the
very same code the serial build runs against their copy of the cache, and send back the new
cache entries (and, for the map, the results). The warm-up lets the main process then build
every page in its usual order, finding each result ready: output is byte-identical to a serial
build, and a worker error only means the main process meets (and reports) it itself.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from multiprocessing.pool import AsyncResult
from typing import TypeVar

from sitegen import cache, content, markup, views
from sitegen.errors import SitegenError
from sitegen.taxonomy import Taxonomy

T = TypeVar("T")
R = TypeVar("R")
# Below this many items a pool costs more than it saves.
MIN_ITEMS = 200
# Items per task of map_ordered: enough to amortise a round trip, few enough to bound memory.
CHUNK = 250
TASKS_PER_WORKER = 4
_Entries = dict[str, dict[bytes, bytes]]

_work: tuple[Callable[[object], None], Sequence[object]] | None = None
_background: Callable[[], object] | None = None
_mapping: tuple[Callable[[object], object], Sequence[object]] | None = None


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _run_chunk(bounds: tuple[int, int]) -> _Entries:
    assert _work is not None
    task, items = _work
    # A worker may be forked from a stage that runs without the collector (build._settled);
    # it collects its own garbage, and the inherited heap is frozen, so it is never walked.
    gc.enable()
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


def _freeze() -> bool:
    """Freeze the heap before forking; True if it was not frozen already (by the build).

    The collector must not dirty (and so copy) every inherited page in a worker.
    """
    thaw = gc.get_freeze_count() == 0
    gc.freeze()
    return thaw


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
    thaw = _freeze()
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for entries in pool.imap_unordered(_run_chunk, bounds):
                cache.active().absorb(entries)
                received += sum(len(t) for t in entries.values())
    finally:
        if thaw:
            gc.unfreeze()
        _work = None
    return received


def warm_pages(pages: Mapping[str, str], taxonomy: Taxonomy, jobs: int) -> int:
    """Parse, tag and prerender (Markdown, plain text) every paper page not cached yet."""
    active = cache.active()
    todo = [(path, text) for path, text in pages.items() if not active.has("frontmatter", (text,))]
    renderer = markup.default_renderer()

    def task(item: tuple[str, str]) -> None:
        views.prerender(content.load_paper_page(item[0], item[1], taxonomy, {}), renderer)

    return prewarm(task, todo, jobs)


def _map_chunk(bounds: tuple[int, int]) -> tuple[list[object], _Entries]:
    assert _mapping is not None
    function, items = _mapping
    results = [function(item) for item in items[bounds[0] : bounds[1]]]
    return results, cache.active().take_new_entries()


def _collect(chunk: AsyncResult[tuple[list[object], _Entries]]) -> list[object]:
    results, entries = chunk.get()
    cache.active().absorb(entries)
    return results


def map_ordered(function: Callable[[T], R], items: Sequence[T], jobs: int) -> Iterator[R]:
    """`map(function, items)` across forked workers, yielding results in the items' order.

    Each worker uses its forked copy of whatever `function` holds (compiled templates, views),
    so nothing but the results crosses a pipe; chunks keep memory to a few chunks' results.
    What the workers add to the cache is sent back too, for the next build.
    """
    global _mapping
    if not _worth_forking(jobs, len(items)):
        yield from map(function, items)
        return
    bounds = _chunks(len(items), max(1, min(CHUNK, -(-len(items) // (jobs * 4)))))
    _mapping = (function, items)  # type: ignore[assignment]
    thaw = _freeze()
    try:
        # A worker is replaced after a few chunks: reading the inherited site touches (and so
        # copies) the memory pages it reads, and a fresh fork starts sharing them again.
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs, maxtasksperchild=TASKS_PER_WORKER) as pool:
            # A window of chunks in flight, not all of them: Pool.imap would queue every
            # finished chunk in this process while the consumer (the writer) catches up.
            pending: deque[AsyncResult[tuple[list[object], _Entries]]] = deque()
            for bound in bounds:
                pending.append(pool.apply_async(_map_chunk, (bound,)))
                if len(pending) > jobs * 2:
                    yield from _collect(pending.popleft())  # type: ignore[misc]
            while pending:
                yield from _collect(pending.popleft())  # type: ignore[misc]
    finally:
        if thaw:
            gc.unfreeze()
        _mapping = None


def _run_background() -> tuple[object, _Entries]:
    assert _background is not None
    gc.enable()  # see _run_chunk
    return _background(), cache.active().take_new_entries()


@contextmanager
def background(function: Callable[[], R], jobs: int, items: int) -> Iterator[Callable[[], R]]:
    """Run `function` in a forked process while the caller goes on; yield a getter for its result.

    Worth it for a costly `function` over `items` items that overlaps other work; otherwise
    the getter computes the result itself. What the process adds to the cache is taken back.
    """
    global _background
    if not _worth_forking(jobs, items):
        yield _once(function)
        return
    _background = function
    thaw = _freeze()
    try:
        pool = multiprocessing.get_context("fork").Pool(1)  # forks here
    finally:
        _background = None
        if thaw:
            gc.unfreeze()
    with pool:
        pending = pool.apply_async(_run_background)

        def result() -> R:
            value, entries = pending.get()
            cache.active().absorb(entries)
            return value  # type: ignore[return-value]

        yield _once(result)


def _once(function: Callable[[], R]) -> Callable[[], R]:
    """`function`, called at most once: later calls return the first call's result."""
    results: list[R] = []

    def call() -> R:
        if not results:
            results.append(function())
        return results[0]

    return call
