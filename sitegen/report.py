"""The build report: what a build did, stage by stage, and the site-size budget."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sitegen.errors import BuildWarning

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
    carried: int = 0  # pages whose inputs were unchanged: reused from the last build, not rendered
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
