"""Build progress on a terminal: a transient rich bar naming the running stage, after a second."""

from __future__ import annotations

import os
import threading
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

DELAY_SECONDS = 1.0


def wanted(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Only for a person watching a terminal: never in CI or when output is piped or logged."""
    env = os.environ if environ is None else environ
    return stream.isatty() and not env.get("CI") and env.get("TERM") != "dumb"


class StageProgress:
    """Shows `stage · n stages done` once a build has run for DELAY_SECONDS; else nothing."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.enabled = enabled
        self._done = 0
        self._current = "starting"
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._stream = stream

    def __enter__(self) -> StageProgress:
        if self.enabled:
            self._timer = threading.Timer(DELAY_SECONDS, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            if self._progress is not None:
                self._progress.stop()
            self._progress = None

    def _description(self) -> str:
        return f"{self._current} · {self._done} stage{'s' if self._done != 1 else ''} done"

    def _show(self) -> None:
        with self._lock:
            if self._progress is not None or self._timer is None:
                return
            # Imported here: most builds (CI, pipes, quick ones) never show a bar.
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]sitegen build[/] {task.description}"),
                TimeElapsedColumn(),
                console=Console(file=self._stream),
                transient=True,
            )
            self._task = self._progress.add_task(self._description(), total=None)
            self._progress.start()

    def _refresh(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=self._description())

    def start(self, stage: str) -> None:
        with self._lock:
            self._current = stage
            self._refresh()

    def finish(self, stage: str) -> None:
        with self._lock:
            self._done += 1
            self._refresh()
