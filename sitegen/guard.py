"""Shrink guard: refuse a new day's feed that is empty or far smaller than a usual day."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from sitegen.errors import Location, SitegenError


def median_day(counts: Sequence[int]) -> float | None:
    """The median number of papers in a day's feed, or None without any earlier day."""
    usable = [c for c in counts if c > 0]
    return statistics.median(usable) if usable else None


def check_day_size(source: str, count: int, earlier: Sequence[int], share: float) -> None:
    """Raise when a new feed has no papers, or fewer than `share` of the median earlier day.

    One broken upstream day (a login page saved as the feed, a truncated download) must not
    publish an empty or one-item site; `--force` accepts it.
    """
    if count == 0:
        raise SitegenError(
            "this feed has no papers; refusing to publish an empty day",
            Location(source),
            "delete or re-download it, or pass --force to accept it",
        )
    median = median_day(earlier)
    if median is not None and count < share * median:
        raise SitegenError(
            f"this feed has {count} paper(s), under {share:.0%} of the median day "
            f"({median:g}); it looks truncated",
            Location(source),
            "check the download, or pass --force to accept it (`min_day_share` sets the share)",
        )


def check_new_feeds(counts: Mapping[str, int], new_sources: set[str], share: float) -> None:
    """Check every feed not seen by an earlier build against the feeds that were."""
    earlier = [count for source, count in counts.items() if source not in new_sources]
    for source in sorted(new_sources):
        check_day_size(source, counts[source], earlier, share)
