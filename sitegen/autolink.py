"""Autolinks for the Markdown stage: linkify-it, with its yes/no questions answered cheaply.

markdown-it asks linkify-it's `pretest` of each paragraph that holds a URL, and its `test` of
each run of text between the links it has already made. linkify-it answers both with patterns
that open with a class of every Unicode space and punctuation character, tried (case-blind) at
every position of the text. For the 2,471 abstracts with a URL of the 10k benchmark corpus,
rendered one by one, that was 1.7 of 2.4 CPU-seconds (1 ms an abstract); with these checks the
Markdown takes 1.06 s.

`QuickLinkify` answers from facts those patterns imply, with linkify-it's own pattern sources
and flags, so each answer is the one linkify-it gives:
- a schema match needs a schema name (`https:`, `//`, ...) somewhere, after the start of the
  text or after one of the prefix characters the pattern allows;
- a fuzzy link needs a match of `host_fuzzy_test`, a short pattern that opens with literals;
- a fuzzy e-mail address needs an `@`.
Anything else (finding the links themselves) is linkify-it's own code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from linkify_it import LinkifyIt

# linkify-it's escaping of a schema name in its patterns.
_SCHEMA_NAME_SPECIALS = re.compile(r"([.?*+^$[\]\\(){}|-])")


@dataclass(frozen=True)
class _Checks:
    names: tuple[str, ...]  # the schema names, lowercased ASCII
    schema_names: re.Pattern[str]  # zero-width: matches at every position a schema name starts
    prefix: re.Pattern[str]  # one character that may come before a schema name
    host: re.Pattern[str]  # linkify-it's host_fuzzy_test

    @classmethod
    def of(cls, patterns: dict[str, str], names: list[str]) -> _Checks | None:
        """The checks for linkify-it's compiled `patterns` and schema `names`, or None if the
        patterns are not built the way these checks assume (another version of linkify-it):
        then linkify-it answers."""
        prefix = "(?!_)(?:[><\uff5c]|" + patterns["src_ZPCc"] + ")"
        alternatives = "|".join(_SCHEMA_NAME_SPECIALS.sub(r"\\\1", name) for name in names)
        schema_test = "(^|" + prefix + ")(" + alternatives + ")"
        pretest = "(" + schema_test + ")|(" + patterns["host_fuzzy_test"] + ")|@"
        if patterns["schema_test"] != schema_test or patterns["pretest"] != pretest:
            return None
        if not all(name.isascii() for name in names):
            return None
        return cls(
            names=tuple(name.lower() for name in names),
            schema_names=re.compile("(?=(?:" + alternatives + "))", re.IGNORECASE),
            prefix=re.compile(prefix, re.IGNORECASE),
            host=re.compile(patterns["host_fuzzy_test"], re.IGNORECASE),
        )

    def may_name_schema(self, text: str) -> bool:
        """False if no schema name is in `text`, case-blind as the patterns are."""
        if text.isascii():
            # Between ASCII texts case-blind matching is equality once lowercased, and this is
            # ten times faster than a case-blind regex.
            lowered = text.lower()
            return any(name in lowered for name in self.names)
        return self.schema_names.search(text) is not None

    def schema_test(self, text: str) -> bool:
        """Whether linkify-it's `schema_test` pattern matches somewhere in `text`."""
        # No position at all where no name is: asking may_name_schema first scanned twice.
        return any(
            at == 0 or self.prefix.match(text, at - 1) is not None
            for at in self._schema_name_starts(text)
        )

    def _schema_name_starts(self, text: str) -> Iterator[int]:
        """Each position where a schema name starts (some more than once)."""
        if text.isascii():
            # As in may_name_schema; finding each name costs a tenth of the regex's scan.
            lowered = text.lower()
            for name in self.names:
                at = lowered.find(name)
                while at != -1:
                    yield at
                    at = lowered.find(name, at + 1)
        else:
            yield from (found.start() for found in self.schema_names.finditer(text))


class QuickLinkify(LinkifyIt):  # type: ignore[misc]  # linkify-it ships no types
    """LinkifyIt whose `pretest` and `test` give the same answers at a fraction of the cost."""

    _checks_for: str | None = None  # the pretest pattern the checks were made from
    _checks: _Checks | None = None

    def _quick(self) -> _Checks | None:
        # Made again whenever linkify-it recompiles its patterns (`add`, `set`, `tlds`).
        source: str = self.re["pretest"]
        if source is not self._checks_for:
            names = [name for name, compiled in self._compiled.items() if name and compiled]
            self._checks = _Checks.of(self.re, names)
            self._checks_for = source
        return self._checks

    def pretest(self, text: str) -> bool:
        checks = self._quick()
        if checks is None:
            return bool(super().pretest(text))
        # The pretest pattern is schema_test, host_fuzzy_test or "@", each on its own. A text
        # asked has a URL, most often with a schema: that answer comes first.
        return "@" in text or checks.schema_test(text) or checks.host.search(text) is not None

    def test(self, text: str) -> bool:
        checks = self._quick()
        if (
            checks is not None
            and "@" not in text
            and checks.host.search(text) is None
            and not checks.may_name_schema(text)
        ):
            # Each way test() can succeed needs one of these: a schema name, a fuzzy host, an @.
            return False
        return bool(super().test(text))
