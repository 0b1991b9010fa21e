"""`sitegen import`: store a downloaded feed in seeds/ under a dated name, after checking it."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sitegen import guard, sources
from sitegen.config import Config
from sitegen.errors import Location, SitegenError

# File extension per format, so the stored feed opens in the right editor mode.
_EXTENSIONS = {
    "trending": ".txt",
    "arxiv_api": ".xml",
    "arxiv_listing": ".xml",
    "hf_daily": ".json",
    "bibtex": ".bib",
}


@dataclass(frozen=True)
class ImportResult:
    path: Path
    papers: int
    day: date
    created: bool  # False when an identical file was already there


def seed_name(day: date, fmt: str) -> str:
    """`2025-03-11.txt` for the trending dump (as the seed is named), else `<day>-<fmt>.<ext>`."""
    suffix = _EXTENSIONS.get(fmt, ".txt")
    return f"{day.isoformat()}{suffix}" if fmt == "trending" else f"{day}-{fmt}{suffix}"


def feed_day(days: list[date]) -> date:
    """The day a feed is for: the day most of its papers carry, the latest on a tie."""
    counts = Counter(days)
    return max(counts, key=lambda d: (counts[d], d))


def import_feed(
    data: bytes, label: str, config: Config, *, day: date | None = None, force: bool = False
) -> ImportResult:
    """Parse `data` (named `label` in messages), then write it to seeds/ if it is sound."""
    text = sources.decode(data, label)
    # A yearless feed takes the year from --date, as it would from a dated file name.
    year = day.year if day else config.year
    result = sources.parse_text(text, label, year)
    fmt = sources.detect(text, label).name
    if not result.papers and not force:
        guard.check_day_size(label, 0, [], config.min_day_share)
    chosen = day or (feed_day([p.day for p in result.papers]) if result.papers else None)
    if chosen is None:
        raise SitegenError(
            "cannot tell which day this feed is for", Location(label), "pass --date YYYY-MM-DD"
        )
    target = config.seeds_dir / seed_name(chosen, fmt)
    if target.is_symlink():
        raise SitegenError(f"{config.relative(target)} is a symbolic link; refusing to write")
    if target.exists():
        if target.read_bytes() == data:
            return ImportResult(target, len(result.papers), chosen, created=False)
        if not force:
            raise SitegenError(
                f"{config.relative(target)} already holds a different {fmt} feed for {chosen}",
                Location(label),
                "pass --force to replace it",
            )
    if not force:
        earlier = _earlier_counts(config, exclude=target)
        guard.check_day_size(label, len(result.papers), earlier, config.min_day_share)
    config.seeds_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return ImportResult(target, len(result.papers), chosen, created=True)


def _earlier_counts(config: Config, exclude: Path) -> list[int]:
    """Papers per feed file already in seeds/ (files that do not parse are left out)."""
    counts = []
    for path in sources.feed_files(config.seeds_dir):
        if path == exclude:
            continue
        try:
            counts.append(len(sources.parse_file(path, path.name, config.year).papers))
        except SitegenError:
            continue
    return counts
