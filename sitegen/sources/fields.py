"""Cleaning of raw feed fields shared by the parsers: text, dates and per-day ranks."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
# XML 1.0 refuses these code points, and feeds and sitemaps are XML: drop them at the door.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_SPACE = re.compile(r"\s+")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def clean_text(text: str) -> str:
    """Whitespace collapsed to single spaces, XML-illegal characters removed."""
    return _SPACE.sub(" ", _XML_ILLEGAL.sub("", text)).strip()


def utc_day(stamp: str) -> date | None:
    """The UTC day of an ISO 8601 timestamp (`2024-01-22T18:59:59-05:00`, `...Z`), or None."""
    text = stamp.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        # Some feeds give a bare or oddly suffixed day; its calendar date is still the best answer.
        match = _ISO_DAY.match(text)
        if not match:
            return None
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return None
    if moment.tzinfo is None:
        return moment.date()  # design rule: dates are UTC, so a naive stamp is read as UTC
    try:
        return moment.astimezone(timezone.utc).date()
    except OverflowError:  # year 1 or 9999 shifted past the calendar's edge
        return moment.date()


class DayRanks:
    """Hands out 1-based positions within each day, in the order papers are seen."""

    def __init__(self) -> None:
        self._last: dict[date, int] = {}

    def next(self, day: date) -> int:
        rank = self._last.get(day, 0) + 1
        self._last[day] = rank
        return rank
