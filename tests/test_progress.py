"""The build's progress bar: only on a terminal outside CI, and only for builds over a second."""

from __future__ import annotations

import io
import threading

import pytest

from sitegen import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_wanted_only_on_a_terminal_outside_ci() -> None:
    assert progress.wanted(_Terminal(), {"TERM": "xterm"})
    assert not progress.wanted(_Terminal(), {"TERM": "xterm", "CI": "true"})
    assert not progress.wanted(_Terminal(), {"TERM": "dumb"})
    assert not progress.wanted(io.StringIO(), {"TERM": "xterm"})


def test_disabled_progress_writes_nothing() -> None:
    out = _Terminal()
    with progress.StageProgress(out, enabled=False) as watcher:
        watcher.start("render")
        watcher.finish("render")
    assert out.getvalue() == ""


def test_fast_build_shows_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    # "Fast" is anything under the delay: a long one keeps a stalled machine from failing this.
    monkeypatch.setattr(progress, "DELAY_SECONDS", 3600.0)
    out = _Terminal()
    with progress.StageProgress(out, enabled=True) as watcher:
        watcher.start("load")
        watcher.finish("load")
    assert out.getvalue() == ""


def test_slow_build_names_the_running_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    out = _Terminal()
    with progress.StageProgress(out, enabled=True) as watcher:
        watcher.start("parse")
        watcher.finish("parse")
        watcher.start("render")
        # Wait for the timer thread to put the bar up; no wall-clock assertion involved.
        for thread in threading.enumerate():
            if isinstance(thread, threading.Timer):
                thread.join()
        watcher.finish("render")
    shown = out.getvalue()
    assert "sitegen build" in shown
    assert "render · 2 stages done" in shown  # the state when the bar is taken down
