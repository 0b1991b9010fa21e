"""Parallel work across forked processes: the cache warm-up, an ordered map, background tasks.

Workers are forked, so they share the already-read page texts without copying them, run the
very same code the serial build runs against their copy of the cache, and send back the new
cache entries (and their results). The warm-up lets the main process then build every page in
its usual order, finding each result ready: output is byte-identical to a serial build.

Every task runs in a child forked for it alone, from the main thread, and the child exits when
its result is written. `multiprocessing.Pool` was not fit for this: it replaces workers by forking
from a helper thread, and a child forked while the main thread held an import lock waits for
that lock forever (a build hung so, rendering); a worker killed by the system left its task
pending forever. Here a child that fails in any way (an error, a kill, a result that does not
pickle) only means the main process runs its task itself, and meets and reports any error
with its own file and line.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import select
import signal
import tempfile
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import partial
from multiprocessing.connection import wait
from typing import Generic, TypeVar

from sitegen import cache, content, markup, views
from sitegen.errors import SitegenError
from sitegen.taxonomy import Taxonomy

T = TypeVar("T")
R = TypeVar("R")
A = TypeVar("A")
# Below this many items a fork costs more than it saves.
MIN_ITEMS = 200
# Items per task of map_ordered: enough to amortise a fork, few enough that a child does not
# copy much of the inherited heap (reading an object writes its reference count, so a child
# copies every memory page it reads from) and that results in flight stay small.
CHUNK = 250
# Items per task when each result is small (pages a worker wrote itself, render.py): fewer
# children then fork, and fewer copy the memory pages they all read (the templates, the
# environment), and the main process copies fewer of its own pages after each fork. A 10k cold
# build took 0.3 s less with 1,250 than with CHUNK, and 0.16 s less again with 2,500 (four
# tasks); two tasks of 5,000 were no faster.
SMALL_RESULTS_CHUNK = 2500
# Above this many items, half that: a worker forked from a bigger heap copies more of it for
# each page it renders. At 100k papers, tasks of 2,500 raised the build's peak (tree PSS) from
# 1,747 MiB to 1,831, close to the 2 GB it must stay under.
SMALL_RESULTS_HALVED_ABOVE = 25_000
# map_ordered makes at least this many tasks per job where there are enough items: a job that
# finishes early takes another instead of waiting for the slowest.
TASKS_PER_JOB = 2
# Finished results map_ordered may hold, per job, while the consumer catches up.
AHEAD = 2
# While the consumer works through a task's items, finished children are replaced after every
# this many items: a poll costs microseconds, an item (a page) a millisecond or less.
POLL_EVERY = 50


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _can_fork(jobs: int) -> bool:
    """Several cores, and fork to inherit this process's state."""
    return jobs > 1 and "fork" in multiprocessing.get_all_start_methods()


def _worth_forking(jobs: int, count: int) -> bool:
    """Workers pay off with several cores and enough items, and need fork to inherit state."""
    return count >= MIN_ITEMS and _can_fork(jobs)


@contextmanager
def _frozen() -> Iterator[None]:
    """The heap frozen while children are forked, then thawed if it was not frozen before.

    A child's collector must not walk (and so copy) every inherited memory page; the build
    freezes its long-lived data itself, and then this leaves it frozen.
    """
    thaw = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        yield
    finally:
        if thaw:
            gc.unfreeze()


class _Forked(Generic[R]):
    """`task()` running in a child forked for it; `result()` waits for it.

    The child writes its result to an unlinked temporary file and exits at once: through a
    pipe it would stay alive, holding all its memory, until the main process read the result
    (after the views, for the related papers, which made a 100k build's peak).
    """

    def __init__(self, task: Callable[[], R]) -> None:
        self.task = task
        self.fallback = task  # what result() runs here if the child fails
        self.payload = tempfile.TemporaryFile()  # noqa: SIM115 (closed by result() or kill())
        # Readable (at end of file) once the child has exited, however it ended.
        self.done, finished = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: it never returns into the caller's code
            code = 1
            try:
                os.close(self.done)
                # Forked from a stage that may run without the collector (build._settled): the
                # child collects its own garbage; the inherited heap is frozen, never walked.
                gc.enable()
                cache.active().start_worker()
                value = task()
                result = (value, cache.active().take_new_entries(), cache.active().take_hits())
                pickle.dump(result, self.payload, protocol=pickle.HIGHEST_PROTOCOL)
                self.payload.flush()
                code = 0
            finally:
                os._exit(code)
        os.close(finished)
        self.pid = pid
        self.reaped = False

    def result(self) -> R:
        """The child's result, its cache entries absorbed; the task run here if it failed."""
        assert not self.reaped, "result() is taken once"
        try:
            failed = self._reap() != 0  # it raised, was killed, or its result did not pickle
            if not failed:
                self.payload.seek(0)
                value, entries, hits = pickle.load(self.payload)
        except (OSError, EOFError, pickle.UnpicklingError):  # the temporary file let it down
            failed = True
        finally:
            self.payload.close()
        if failed:
            return self.fallback()
        cache.active().absorb(entries, hits)
        return value  # type: ignore[no-any-return]

    def running(self) -> bool:
        return not self.reaped and not select.select([self.done], [], [], 0)[0]

    def kill(self) -> None:
        with suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._reap()
        self.payload.close()

    def _reap(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        os.close(self.done)
        self.reaped = True
        return os.waitstatus_to_exitcode(status)


def _in_order(tasks: Sequence[Callable[[], Sequence[R]]], jobs: int) -> Iterator[R]:
    """The items of each task's result, in the tasks' order, `jobs` children at a time, one
    child per task.

    Results that finish early are kept until their turn, at most `AHEAD` per job; children are
    forked only while the caller asks for items, so a slow consumer holds few in memory.
    """
    running: dict[int, _Forked[Sequence[R]]] = {}
    finished: dict[int, Sequence[R]] = {}
    started = 0

    def start(index: int) -> None:
        nonlocal started
        while started < len(tasks) and len(running) < jobs and started - index < jobs * AHEAD:
            running[started] = _Forked(tasks[started])
            started += 1

    def collect(timeout: float | None) -> None:
        ready = set(wait([child.done for child in running.values()], timeout=timeout))
        for number in [n for n, c in running.items() if c.done in ready]:
            finished[number] = running.pop(number).result()

    try:
        with _frozen():
            for index in range(len(tasks)):
                start(index)
                while index not in finished:
                    collect(None)
                    start(index)
                for count, item in enumerate(finished.pop(index), 1):
                    yield item
                    # Children that finished while the consumer worked are replaced now, not
                    # when it next waits: a consumer as busy as the children (the list pages
                    # rendered beside the paper pages' workers) would otherwise leave a core
                    # idle. At 10k papers, the last of four render tasks started 0.65 s late.
                    if running and count % POLL_EVERY == 0:
                        collect(0)
                        start(index)
                if running:
                    collect(0)
    finally:  # the consumer stopped early, or a task raised: no child outlives the map
        for child in running.values():
            child.kill()


def _chunks(count: int, step: int) -> list[tuple[int, int]]:
    """`[start, end)` bounds covering `count` items, `step` at a time."""
    return [(i, min(i + step, count)) for i in range(0, count, step)]


def prewarm(task: Callable[[T], None], items: Sequence[T], jobs: int) -> None:
    """Run `task` on every item in `jobs` forked workers, filling the active cache.

    Items whose results are already cached cost the workers a lookup only: callers filter
    them out first.
    """
    if not _worth_forking(jobs, len(items)):
        return

    def run(bounds: tuple[int, int]) -> tuple[()]:
        for item in items[bounds[0] : bounds[1]]:
            try:
                task(item)
            except SitegenError:
                continue  # the main process reports it with its own file and line
        return ()  # the results are in the cache

    # Several chunks per worker keep both cores busy to the end.
    bounds = _chunks(len(items), -(-len(items) // (jobs * 4)))
    for _ in _in_order([partial(run, b) for b in bounds], jobs):
        pass


def warm_pages(pages: Mapping[str, str], taxonomy: Taxonomy, jobs: int) -> None:
    """Parse, tag and prerender (Markdown, plain text) every paper page not cached yet."""
    active = cache.active()
    todo = [(path, text) for path, text in pages.items() if not active.has("frontmatter", (text,))]
    renderer = markup.default_renderer()

    def task(item: tuple[str, str]) -> None:
        views.prerender(content.load_paper_page(item[0], item[1], taxonomy, {}), renderer)

    prewarm(task, todo, jobs)


def small_results_chunk(count: int) -> int:
    """Items per task of `map_ordered` for `count` items whose results are small."""
    halved = count > SMALL_RESULTS_HALVED_ABOVE
    return SMALL_RESULTS_CHUNK // 2 if halved else SMALL_RESULTS_CHUNK


def map_ordered(
    function: Callable[[T], R], items: Sequence[T], jobs: int, chunk: int | None = None
) -> Generator[R, None, None]:
    """`map(function, items)` across forked workers, yielding results in the items' order.

    Each worker uses its forked copy of whatever `function` holds (compiled templates, views),
    so nothing but the results crosses a pipe; chunks (of at most `chunk` items, CHUNK by
    default) keep memory to a few chunks' results. What the workers add to the cache is sent
    back too, for the next build.
    """
    if not _worth_forking(jobs, len(items)):
        yield from map(function, items)
        return
    step = max(1, min(chunk or CHUNK, -(-len(items) // (jobs * TASKS_PER_JOB))))

    def run(bounds: tuple[int, int]) -> list[R]:
        return [function(item) for item in items[bounds[0] : bounds[1]]]

    yield from _in_order([partial(run, b) for b in _chunks(len(items), step)], jobs)


class Later(Generic[R]):
    """A result on its way: calling it gives the result (once computed, always the same)."""

    def __init__(self, compute: Callable[[], R], child: _Forked[R] | None = None) -> None:
        self._get = _once(compute)
        self._child = child

    def __call__(self) -> R:
        return self._get()

    def running(self) -> bool:
        """True while a forked process still computes it: calling now would wait for it."""
        return self._child is not None and self._child.running()


@contextmanager
def awaiting(
    function: Callable[[A], R], prepare: Callable[[], object], jobs: int
) -> Iterator[Callable[[A], Later[R]]]:
    """A process for `function(argument)` forked now, before `argument` exists: it runs
    `prepare()` at once (imports, say), then waits. Yield `send`: `send(argument)` gives it
    the argument and returns its result to come.

    What `prepare` costs is then paid while this process works alone on other things, instead
    of on the way to the result. The child is forked while this process is small, so it shares
    none of what is built meanwhile; the argument reaches it pickled. With one job, or without
    fork, `send` returns the result computed here when first asked for.
    """
    if not _can_fork(jobs):
        yield lambda argument: Later(partial(function, argument))
        return
    waiting = _Awaiting(function, prepare)
    try:
        yield waiting.send
    finally:
        waiting.close()


class _Awaiting(Generic[A, R]):
    """The forked process of `awaiting`: the argument goes through an unlinked temporary file,
    and one byte on a pipe tells the child it is there (end of file: it never will be)."""

    def __init__(self, function: Callable[[A], R], prepare: Callable[[], object]) -> None:
        self.function = function
        self.sent = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        go, self.ready = os.pipe()
        self.open = True

        def task() -> R:
            os.close(self.ready)
            prepare()
            with os.fdopen(go, "rb") as told:
                if told.read(1) != b"1":
                    raise EOFError("the build went on without this process")
            self.sent.seek(0)
            return function(pickle.load(self.sent))

        with _frozen():
            self.child: _Forked[R] = _Forked(task)
        os.close(go)

    def send(self, argument: A) -> Later[R]:
        assert self.open, "send() is called once"
        # Should the child fail from here on, result() computes the result here.
        self.child.fallback = partial(self.function, argument)
        try:
            pickle.dump(argument, self.sent, protocol=pickle.HIGHEST_PROTOCOL)
            self.sent.flush()
            os.write(self.ready, b"1")
        except OSError:  # the child is gone, or the file failed: result() finds it failed
            pass
        self._close_pipe()
        return Later(self.child.result, self.child)

    def _close_pipe(self) -> None:
        if self.open:
            self.open = False
            os.close(self.ready)

    def close(self) -> None:
        self._close_pipe()  # not sent: the child stops waiting and exits
        self.sent.close()
        if not self.child.reaped:  # the caller left without the result
            self.child.kill()


def both(here: Callable[[], R], there: Callable[[], T], jobs: int) -> tuple[R, T]:
    """`here()` in this process while `there()` runs in a forked one: both results.

    With one job, or without fork, they run here in turn; so does `there()` if its process
    fails.
    """
    if not _can_fork(jobs):
        return here(), there()
    with _in_child(there) as child:
        mine = here()
        return mine, child.result()


@contextmanager
def beside(function: Callable[[], R], jobs: int, items: int) -> Iterator[Callable[[], R | None]]:
    """Run `function` in a forked process while the caller goes on; yield a wait for its result.

    For work that pays off only beside other work: where a fork is not worth it, `function` is
    not run at all and the getter returns None. What the process adds to the cache is taken
    back."""
    if not _worth_forking(jobs, items):
        yield lambda: None
        return
    with _in_child(function) as child:
        yield _once(child.result)


@contextmanager
def _in_child(function: Callable[[], R]) -> Iterator[_Forked[R]]:
    with _frozen():
        child = _Forked(function)
    try:
        yield child
    finally:
        if not child.reaped:  # the caller left without the result
            child.kill()


def _once(function: Callable[[], R]) -> Callable[[], R]:
    """`function`, called at most once: later calls return the first call's result."""
    results: list[R] = []

    def call() -> R:
        if not results:
            results.append(function())
        return results[0]

    return call
