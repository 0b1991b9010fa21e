"""The parallel, cached build writes exactly the bytes of the uncached single-process build."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sitegen import build as build_module
from sitegen import cache, parallel, related, render, write
from sitegen.build import build
from sitegen.config import load_config
from sitegen.report import BuildReport

from .conftest import REPO, seed_project


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _build(root: Path, *, use_cache: bool, jobs: int) -> tuple[dict[str, bytes], BuildReport]:
    config = load_config(root=root, environ={})
    report = build(config, use_cache=use_cache, jobs=jobs)
    return _tree(config.output_dir), report


@pytest.fixture(scope="module")
def seed_with_content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed project after one build, so content/papers/ holds all 81 pages."""
    root = seed_project(tmp_path_factory.mktemp("equivalence") / "seed")
    build(load_config(root=root, environ={}), use_cache=False, jobs=1)
    shutil.rmtree(root / "_site")
    return root


def _copy(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The parallel paths taken on the seed, which has fewer papers than they need."""
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    return monkeypatch


@pytest.fixture(scope="module")
def serial(seed_with_content: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The seed's uncached single-process build: what every other build must equal."""
    root = _copy(seed_with_content, tmp_path_factory.mktemp("serial") / "site")
    return _build(root, use_cache=False, jobs=1)[0]


def test_parallel_cached_build_is_byte_identical(
    seed_with_content: Path,
    serial: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The seed has fewer papers than the pool's threshold: force the pool to run.
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    fast_root = _copy(seed_with_content, tmp_path / "fast")
    cold, cold_report = _build(fast_root, use_cache=True, jobs=2)
    assert (fast_root / cache.FOLDER / "markdown-block.pickle").is_file()
    # A marker without the inputs' digest: the warm build renders (from the cache) in full.
    (fast_root / "_site" / write.MARKER).write_bytes(write.MARKER_TEXT)
    warm, warm_report = _build(fast_root, use_cache=True, jobs=2)
    assert not warm_report.unchanged and "render+write" in warm_report.timings

    assert len(serial) > 81 * 1
    assert sorted(cold) == sorted(serial)
    for name, data in serial.items():
        assert cold[name] == data, f"cold parallel build differs in {name}"
        assert warm[name] == data, f"cached build differs in {name}"
    assert warm_report.changed == 0
    assert cold_report.papers == warm_report.papers == 81
    # The cold build's paper pages were keyed by the workers that rendered them, and the warm
    # build, keying them here, finds every one unchanged: carried over, not rendered.
    assert warm_report.carried == warm_report.pages_written > 81


def test_related_papers_before_the_views_give_the_same_site(
    seed_with_content: Path,
    serial: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A big site computes related papers first (in a forked process) instead of beside the
    # views; the seed is made to take that path.
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(build_module, "OVERLAP_MAX_PAPERS", 0)
    forks = _recording_forks(monkeypatch)
    forks_at: dict[str, int] = {}

    def counting(module: Any, name: str) -> None:
        function = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            forks_at.setdefault(name, len(forks))
            if name == "UnlinkedViews":
                forks_at["running"] = _running(forks[0][0])
            return function(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)

    counting(build_module.content, "load_site")
    counting(build_module.views, "UnlinkedViews")
    first, _ = _build(_copy(seed_with_content, tmp_path / "first"), use_cache=True, jobs=2)
    assert first == serial
    # The related papers' child, forked first of all, is done with before the views are made;
    # no child is forked between loading and the views.
    assert forks_at["UnlinkedViews"] == forks_at["load_site"]
    assert forks_at["running"] == 0


def test_a_big_site_makes_its_paper_folders_while_it_waits_for_the_related_papers(
    seed_with_content: Path,
    serial: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the views wait for the related papers (OVERLAP_MAX_PAPERS), the wait is spent
    making every paper's folder, which the render workers would make otherwise."""
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(build_module, "OVERLAP_MAX_PAPERS", 0)
    related_lists = build_module._related_lists

    def slow(given: build_module.RelatedInput) -> build_module.RelatedLists:
        time.sleep(1)  # in the related papers' child: time for 81 folders on any machine
        return related_lists(given)

    monkeypatch.setattr(build_module, "_related_lists", slow)
    main = os.getpid()
    made: list[str] = []  # by this process, not by the render workers
    shared_mkdir = write._shared_mkdir

    def noted(path: str) -> None:
        if os.getpid() == main:
            made.append(path.rpartition("/papers/")[2])
        shared_mkdir(path)

    monkeypatch.setattr(write, "_shared_mkdir", noted)
    made_before_views: list[str] = []
    unlinked_views = build_module.views.UnlinkedViews

    def counted(*args: Any, **kwargs: Any) -> Any:
        made_before_views.extend(made)
        return unlinked_views(*args, **kwargs)

    monkeypatch.setattr(build_module.views, "UnlinkedViews", counted)
    site, _ = _build(_copy(seed_with_content, tmp_path / "site"), use_cache=True, jobs=2)
    assert site == serial
    slugs = {name.split("/")[1] for name in serial if name.startswith("papers/")}
    assert len(slugs) == 81
    assert slugs <= set(made_before_views)


# Reads fields only linking sets: such a page must wait for the linked views. Through `default`
# and `is defined`, an AttributeError would pass unnoticed as undefined.
_READS_LINKED = "{{ paper.related | default([]) | length }} {{ paper.digest is defined }}"


@pytest.mark.parametrize(
    ("template", "before", "shows"),
    [
        ("", "", ""),
        ("index.html", "{% endblock %}", "{% set paper = papers[0] %}" + _READS_LINKED),
        # In the entry `cached` makes once for every list that shows the paper.
        ("_macros.html", '<p class="summary">', _READS_LINKED),
    ],
)
def test_list_pages_rendered_before_the_related_papers_are_the_same(
    seed_with_content: Path,
    tmp_path: Path,
    forking: pytest.MonkeyPatch,
    template: str,
    before: str,
    shows: str,
) -> None:
    """A cold build renders list pages while the related papers are computed: the same bytes,
    unless a page reads a paper's related papers or digest, which is rendered after them."""
    root = _copy(seed_with_content, tmp_path / "serial")
    if template:
        theirs = (REPO / "themes" / "default" / "templates" / template).read_text("utf-8")
        (root / "templates").mkdir()
        marked = theirs.replace(before, f"<aside>{shows}</aside>{before}", 1)
        assert marked != theirs
        (root / "templates" / template).write_text(marked, encoding="utf-8")
    fast_root = _copy(root, tmp_path / "fast")
    serial, _ = _build(root, use_cache=False, jobs=1)
    early: list[str] = []
    render_early = render.SiteRenderer.render_early

    def as_if_slow(self: render.SiteRenderer, jobs: Any, go_on: Any) -> Any:
        done = render_early(self, jobs, lambda: True)  # as if the related papers took long
        early.extend(done)
        return done

    forking.setattr(render.SiteRenderer, "render_early", as_if_slow)
    fast, _ = _build(fast_root, use_cache=True, jobs=2)
    assert fast == serial
    if template:
        assert "<aside>5 True</aside>" in serial["index.html"].decode()
    assert {"tags/index.html", "days/index.html", "404.html"} <= set(early)
    assert ("index.html" in early) is not bool(template)
    assert not any(path.startswith("papers/") for path in early)


def test_pages_and_feeds_written_while_the_related_papers_are_computed_are_the_same(
    seed_with_content: Path, serial: dict[str, bytes], tmp_path: Path, forking: pytest.MonkeyPatch
) -> None:
    """A cold build's main process writes the list pages and feeds it made early while it
    waits for the related papers: the same bytes, each written once."""
    rank = related.related_papers

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)  # in the forked process: every early page and feed is made meanwhile
        return rank(*args, **kwargs)

    forking.setattr(related, "related_papers", slow)
    written: list[str] = []

    def recorded(writer: write.PageWriter, name: str, data: bytes) -> bool:
        if os.getpid() == _MAIN_PID:
            written.append(name)
        return _write_page(writer, name, data)

    forking.setattr(write.PageWriter, "write", recorded)
    fast, report = _build(_copy(seed_with_content, tmp_path / "fast"), use_cache=True, jobs=2)
    assert fast == serial
    assert report.changed == len(serial) - 1  # all but the marker file
    assert {"index.html", "tags/index.html", "feed.xml", "feeds.opml"} <= set(written)
    assert any(name.startswith("tags/") and name.endswith("/rss.xml") for name in written)
    assert len(written) == len(set(written))


def _killed_after_one_page(writer: write.PageWriter, name: str, data: bytes) -> bool:
    changed = _write_page(writer, name, data)
    if os.getpid() != _MAIN_PID and name.endswith("/index.html"):
        os.kill(os.getpid(), signal.SIGKILL)  # a worker dies with its task half done
    return changed


_write_page = write.PageWriter.write


def test_pages_a_killed_worker_wrote_are_written_again(
    seed_with_content: Path, serial: dict[str, bytes], tmp_path: Path, forking: pytest.MonkeyPatch
) -> None:
    forking.setattr(parallel, "SMALL_RESULTS_CHUNK", 4)
    forking.setattr(write.PageWriter, "write", _killed_after_one_page)
    fast, report = _build(_copy(seed_with_content, tmp_path / "fast"), use_cache=True, jobs=2)
    assert fast == serial
    assert report.changed == len(serial) - 1  # all but the marker file


def _running(pid: int) -> int:
    """1 if the child has not been reaped yet (it may have exited), else 0; it is left as is."""
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return 0
    return 1


def test_no_cache_writes_no_cache_folder(seed_with_content: Path, tmp_path: Path) -> None:
    root = _copy(seed_with_content, tmp_path / "plain")
    _build(root, use_cache=False, jobs=2)
    assert not (root / cache.FOLDER).exists()


def test_no_change_rebuild_rewrites_no_file(seed_with_content: Path, tmp_path: Path) -> None:
    root = _copy(seed_with_content, tmp_path / "rebuild")
    _build(root, use_cache=True, jobs=2)
    site = root / "_site"
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    inodes = {p: p.stat().st_ino for p in before}
    # Forget the last build's digest so this one renders and writes in full (from the cache).
    marker = site / write.MARKER
    marker.write_bytes(write.MARKER_TEXT)
    before[marker] = marker.stat().st_mtime_ns
    _, report = _build(root, use_cache=True, jobs=2)
    assert not report.unchanged
    after = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    assert report.changed == 0
    del after[marker], before[marker], inodes[marker]  # the marker notes the digest again
    assert after == before
    # Carried over as the same inode (a hard link), not copied anew.
    assert {p: p.stat().st_ino for p in after} == inodes


def _costly(count: int = 3) -> list[str]:
    return [
        cache.memo("test-background", (str(i),), lambda i=i: f"value {i}") for i in range(count)
    ]


def _nothing_to_prepare() -> None:
    pass


def test_awaiting_returns_its_result_and_its_cache_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = cache.Cache()
    forks = _recording_forks(monkeypatch)
    with cache.using(store), parallel.awaiting(_costly, _nothing_to_prepare, jobs=2) as send:
        assert len(forks) == 1  # forked at once, before the argument exists
        result = send(3)
        assert result() == ["value 0", "value 1", "value 2"]
        assert result() is result()  # computed once
    assert store.misses == 0  # computed in the forked process
    # The entries came back from the forked process: the main process finds them cached.
    assert store.has("test-background", ("2",))
    with cache.using(store), parallel.awaiting(_costly, _nothing_to_prepare, jobs=1) as inline:
        assert inline(3)() == ["value 0", "value 1", "value 2"]
    assert len(forks) == 1
    assert store.misses == 0  # inline, every value was a hit


_PREPARED: list[int] = []


def _prepare() -> None:
    _PREPARED.append(os.getpid())


def _prepared_by(argument: str) -> tuple[str, list[int], int]:
    return argument, list(_PREPARED), os.getpid()


def test_awaiting_prepares_in_the_child_before_its_argument_arrives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forks = _recording_forks(monkeypatch)
    with parallel.awaiting(_prepared_by, _prepare, jobs=2) as send:
        time.sleep(0.2)  # the child prepares meanwhile, then waits
        argument, prepared, pid = send("the documents")()
    assert argument == "the documents"
    assert pid == forks[0][0] != os.getpid()
    assert prepared == [pid]  # once, in the child
    assert _PREPARED == []  # not here


def _dies_after_its_argument(argument: int) -> tuple[int, int]:
    if os.getpid() != _MAIN_PID:
        os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
    return argument + 1, os.getpid()


def test_awaiting_computes_here_what_a_killed_child_did_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with parallel.awaiting(_dies_after_its_argument, _nothing_to_prepare, jobs=2) as send:
        assert send(41)() == (42, os.getpid())


def test_awaiting_leaves_no_child_when_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    forks = _recording_forks(monkeypatch)
    with parallel.awaiting(_costly, _prepare, jobs=2):
        pass
    with pytest.raises(ChildProcessError):  # killed or ended, and reaped
        os.waitpid(forks[0][0], os.WNOHANG)


def _costly_and_one_more(count: int) -> list[str]:
    return [*_costly(count), cache.memo("test-background", (str(count),), lambda: "value 3")]


def test_entries_a_worker_only_found_are_kept_for_the_next_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rebuild's forked process finds every cached entry it needs but one: the main process
    # must keep all of them, not only the one the worker computed.
    folder = tmp_path / cache.FOLDER
    first = cache.Cache(folder)
    with cache.using(first):
        _costly()
    first.save()
    second = cache.Cache(folder)
    with (
        cache.using(second),
        parallel.awaiting(_costly_and_one_more, _nothing_to_prepare, jobs=2) as send,
    ):
        assert send(3)() == [f"value {i}" for i in range(4)]
    assert second.misses == 0  # all four were computed or found in the forked process
    second.save()
    third = cache.Cache(folder)
    assert [third.has("test-background", (str(i),)) for i in range(4)] == [True] * 4


def _failing(argument: str) -> None:
    raise ValueError(f"boom in the background with {argument}")


def test_awaiting_errors_reach_the_caller() -> None:
    # The child fails, and the main process then meets the error itself.
    with (
        parallel.awaiting(_failing, _nothing_to_prepare, jobs=2) as send,
        pytest.raises(ValueError, match="with this"),
    ):
        send("this")()


def test_tasks_of_small_results_are_halved_on_a_big_site() -> None:
    big = parallel.SMALL_RESULTS_HALVED_ABOVE
    assert parallel.small_results_chunk(big) == parallel.SMALL_RESULTS_CHUNK
    assert parallel.small_results_chunk(big + 1) == parallel.SMALL_RESULTS_CHUNK // 2


def _pid() -> int:
    return os.getpid()


def _pid_or_killed() -> int:
    if os.getpid() != _MAIN_PID:
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def test_both_runs_the_second_in_a_forked_process() -> None:
    here, there = parallel.both(_pid, _pid, jobs=2)
    assert here == os.getpid() != there
    assert parallel.both(_pid, _pid, jobs=1) == (os.getpid(), os.getpid())
    # A forked process that dies: the second runs here instead.
    assert parallel.both(_pid, _pid_or_killed, jobs=2) == (os.getpid(), os.getpid())


def _recording_forks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool, int]]:
    """(pid, forked from the main thread, threads alive) of each child the parallel module forks."""
    forks: list[tuple[int, bool, int]] = []
    fork = os.fork

    def recorded() -> int:
        main = threading.current_thread() is threading.main_thread()
        threads = threading.active_count()
        pid = fork()
        if pid:
            forks.append((pid, main, threads))
        return pid

    monkeypatch.setattr(os, "fork", recorded)
    return forks


def test_children_are_forked_from_the_main_thread_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # A child forked while another thread holds an import lock waits for it forever: a build
    # once hung so, when the pool replaced a worker from its helper thread.
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(parallel, "CHUNK", 3)
    forks = _recording_forks(monkeypatch)
    threads_before = threading.active_count()  # other tests may leave threads of their own
    assert list(parallel.map_ordered(_square, list(range(40)), jobs=2)) == [
        i * i for i in range(40)
    ]
    assert len(forks) >= 8  # one child per chunk of 3 (or fewer) items
    # No helper thread runs beside the forks (a pool starts three).
    assert all(main and threads == threads_before for _, main, threads in forks), forks


def _square(value: int) -> int:
    return value * value


def _dies_in_a_child(value: int) -> int:
    if os.getpid() != _MAIN_PID:
        os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
    return value + 1


_MAIN_PID = os.getpid()


def test_a_killed_child_only_means_the_main_process_does_its_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(parallel, "CHUNK", 4)
    assert list(parallel.map_ordered(_dies_in_a_child, list(range(20)), jobs=2)) == list(
        range(1, 21)
    )


def _first_is_slow(value: int) -> int:
    if value == 0:
        time.sleep(0.5)  # the next tasks finish meanwhile, and wait for the consumer
    return value


def test_finished_children_are_replaced_while_the_consumer_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Taking a result that is ready already starts the next task: the consumer's work on it
    (the write stage's) then overlaps the children's, and no core waits for it."""
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(parallel, "CHUNK", 1)
    forks = _recording_forks(monkeypatch)
    mapped = parallel.map_ordered(_first_is_slow, list(range(8)), jobs=2)
    started = []
    for value in range(8):
        assert next(mapped) == value
        started.append(len(forks))
        time.sleep(0.1)  # the consumer works; the running children finish meanwhile
    # Tasks 1 to 3 finished while task 0 ran, as many as may wait ahead (jobs * AHEAD). From
    # then on, each result taken starts the next task, finished children or not.
    window = 2 * parallel.AHEAD
    assert started == [min(value + window, 8) for value in range(8)]


def test_children_are_replaced_while_the_consumer_works_through_one_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A task's items are taken one by one (a render task's 2,500 pages, each consumed with a
    list page rendered beside it): tasks that finish meanwhile are replaced before the consumer
    reaches the next task's items, or a core waits until then."""
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(parallel, "CHUNK", 10)
    monkeypatch.setattr(parallel, "POLL_EVERY", 2)
    forks = _recording_forks(monkeypatch)
    mapped = parallel.map_ordered(_square, list(range(60)), jobs=2)
    for value in range(10):  # the first task's items
        assert next(mapped) == value * value
        time.sleep(0.05)  # the consumer works; the second task finishes meanwhile
    # Tasks 0 and 1 ran first; 2 and 3 replaced them, up to the results that may wait ahead.
    assert len(forks) == 2 * parallel.AHEAD
    assert list(mapped) == [value * value for value in range(10, 60)]
    assert len(forks) == 6


def test_no_child_outlives_a_map_the_consumer_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    monkeypatch.setattr(parallel, "CHUNK", 2)
    forks = _recording_forks(monkeypatch)
    mapped = parallel.map_ordered(_square, list(range(30)), jobs=2)
    assert [next(mapped) for _ in range(3)] == [0, 1, 4]
    assert any(forks)
    mapped.close()
    for pid, _, _ in forks:  # each was killed or had finished, and was reaped
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
