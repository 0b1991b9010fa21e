"""YAML front matter: read and write `---`-fenced Markdown pages with locations in errors."""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Any

import yaml

from sitegen.errors import Location, ParseError

try:  # the C loader is several times faster on large archives
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

FENCE = "---"


def decode_page(data: bytes, errors: str = "strict") -> str:
    """A page's bytes as every stage reads them: UTF-8, byte-order mark dropped, `\n` lines."""
    return data.decode("utf-8-sig", errors=errors).replace("\r\n", "\n")


class _PlainDumper(_Dumper):
    """Never write `&id001` anchors: a person reading a page should see every value in place."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def split(text: str, source: str) -> tuple[dict[str, Any], str]:
    """Return (front matter, body); a page without front matter has an empty mapping."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    if not text.startswith(FENCE + "\n"):
        return {}, text
    end = text.find("\n" + FENCE + "\n", len(FENCE))
    if end == -1:
        if text.endswith("\n" + FENCE):
            end = len(text) - len(FENCE) - 1
        else:
            raise ParseError(
                "front matter is not closed", Location(source, 1), "add a line `---` after it"
            )
    raw = text[len(FENCE) + 1 : end + 1]
    body = text[end + len(FENCE) + 2 :]
    try:
        meta = _plain_mapping(raw)
        if meta is None:
            meta = yaml.load(raw, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark else 1
        problem = " ".join((exc.problem or "invalid YAML").split())
        raise ParseError(f"front matter: {problem}", Location(source, line)) from None
    except yaml.reader.ReaderError as exc:
        line = raw.count("\n", 0, exc.position) + 2
        problem = (
            f"character U+{exc.character:04X} is not allowed"
            if isinstance(exc.character, int)
            else "unreadable character"
        )
        raise ParseError(f"front matter: {problem}", Location(source, line)) from None
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise ParseError(f"front matter: {message}", Location(source, 1)) from None
    except (ValueError, OverflowError) as exc:
        # PyYAML's constructors raise plain errors for values that look typed but are not,
        # e.g. the impossible date `2025-13-45`; the scanner's position is lost by then.
        raise ParseError(
            f"front matter: {exc}",
            Location(source, _line_of_value(raw, exc)),
            "quote the value to keep it as text",
        ) from None
    except RecursionError:
        raise ParseError("front matter: nested too deeply", Location(source, 2)) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ParseError("front matter must be a mapping of keys", Location(source, 2))
    return meta, body.lstrip("\n")


# The front matter `dump` writes (and most people write) is a mapping of plain or single-quoted
# scalars and block lists. Parsing it with PyYAML took 160 µs a page, 1.6 s of CPU for a
# 10,000-paper cold build; `_plain_mapping` reads that shape in a fraction of it, and gives up
# (None: PyYAML reads the page) at anything else, so every page means exactly what PyYAML says.
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# PyYAML's own table of what a plain scalar resolves to (bool, int, float, null, timestamp...),
# by its first character: a scalar none of them matches is a string.
_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = (
    yaml.resolver.Resolver.yaml_implicit_resolvers
)
_INT = "tag:yaml.org,2002:int"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")  # cannot start a plain scalar (here)
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Anything PyYAML's reader refuses or reads as a line break, tabs, and the characters that can
# open a flow collection or a quoted scalar inside a plain one: all left to PyYAML.
_UNUSUAL = re.compile(
    "[^\x0a\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]"
)


def _is_unusual(raw: str) -> bool:
    """Whether `raw` holds a character `_UNUSUAL` matches. In ASCII that is a control character
    other than a line break, which isprintable() finds twenty times faster than the regex (whose
    search was a quarter of a page's parsing). Elsewhere a printable text has none either (the
    characters isprintable() refuses include controls, surrogates, non-characters, U+2028,
    U+2029 and U+FEFF), but it refuses more (no-break spaces): those texts ask the regex."""
    printable = raw.replace("\n", "").isprintable()
    if printable or raw.isascii():
        return not printable
    return _UNUSUAL.search(raw) is not None


def _plain_mapping(raw: str) -> dict[str, Any] | None:
    """`raw` as PyYAML's safe loader reads it, if it has the simple shape; else None."""
    if _is_unusual(raw) or not raw.endswith("\n"):
        return None
    meta: dict[str, Any] = {}
    items: list[Any] | None = None  # the block list being read, under its key
    item: dict[str, Any] | None = None  # the mapping item being read, in `items`
    for line in raw[:-1].split("\n"):
        read = _line(line)
        if read is None:
            return None
        kind, key, value = read
        if isinstance(value, (list, dict)):
            value = type(value)()  # `[]` or `{}`: each page gets its own
        if kind is _ITEM:
            if items is None:
                return None
            items.append(value)
            item = None
        elif kind is _ITEM_ENTRY:
            if items is None:
                return None
            item = {key: value}
            items.append(item)
        elif kind is _ENTRY:
            if item is None or key in item:
                return None
            item[key] = value
        else:
            if key in meta:
                return None
            if items is not None and not items:
                return None  # `key:` with no list under it is null
            items = item = None
            if kind is _KEY_LIST:
                items = meta[key] = []
            else:
                meta[key] = value
    if items is not None and not items:
        return None
    return meta


# The lines of the simple shape: `- value`, `- key: value` (a list's mapping item), `  key: value`
# (more of that item), `key: value`, and `key:` (a block list follows).
_ITEM, _ITEM_ENTRY, _ENTRY, _KEY_VALUE, _KEY_LIST = "item", "item entry", "entry", "key", "list"


@functools.lru_cache(maxsize=4096)
def _line(line: str) -> tuple[str, str, Any] | None:
    """What one line of the simple shape holds, as (kind, key, value); None for any other line.

    Cached: three lines in four of a site's pages (`tags:`, `- cs.LG`, `source: ...`) repeat
    page after page, and reading them once is half the cost of the front matter. The values
    are immutable but `[]` and `{}`, which `_plain_mapping` makes afresh.
    """
    if line.startswith("- "):
        entry = _entry(line[2:])
        if entry is not None:
            return _ITEM_ENTRY, entry[0], entry[1]
        value = _scalar(line[2:])
        return None if value is _NOT_SIMPLE else (_ITEM, "", value)
    if line.startswith("  "):
        entry = _entry(line[2:])
        return None if entry is None else (_ENTRY, entry[0], entry[1])
    key, colon, rest = line.partition(":")
    if not colon or not _is_key(key):
        return None
    if not rest:
        return _KEY_LIST, key, None
    value = _scalar(rest[1:]) if rest[0] == " " else _NOT_SIMPLE
    return None if value is _NOT_SIMPLE else (_KEY_VALUE, key, value)


_NOT_SIMPLE = object()


@functools.lru_cache(maxsize=1024)
def _is_key(key: str) -> bool:
    # A site's pages use a dozen keys: each is checked once.
    return _KEY.fullmatch(key) is not None and _implicit_tag(key) is None


def _implicit_tag(text: str) -> str | None:
    """What PyYAML resolves the plain scalar `text` to, if not a string (Resolver.resolve)."""
    for tag, pattern in _RESOLVERS.get(text[0], ()):
        if pattern.match(text):
            return tag
    return None


def _entry(text: str) -> tuple[str, Any] | None:
    """`key: value` with a simple key and value, or None."""
    key, colon, rest = text.partition(": ")
    if not colon or not _is_key(key):
        return None
    value = _scalar(rest)
    return None if value is _NOT_SIMPLE else (key, value)


def _scalar(text: str) -> Any:
    """The value of a one-line scalar as PyYAML reads it, or `_NOT_SIMPLE`."""
    if text.startswith("'"):
        inner = text[1:-1]
        if len(text) < 2 or not text.endswith("'") or "'" in inner.replace("''", ""):
            return _NOT_SIMPLE
        return inner.replace("''", "'")
    if text == "[]":
        return []
    if text == "{}":
        return {}
    if not text or text != text.strip() or ": " in text or " #" in text or text[-1] == ":":
        return _NOT_SIMPLE
    if text[0] in _INDICATORS:
        return _NOT_SIMPLE
    tag = _implicit_tag(text)
    if tag is None:
        return text
    if tag == _INT and _DECIMAL.fullmatch(text):
        return int(text)
    if tag == _TIMESTAMP and _DAY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return _NOT_SIMPLE  # PyYAML reports it, with its line
    return _NOT_SIMPLE


_DATE_LIKE = re.compile(r"^[^#\n]*:\s*['\"]?\d{4}-\d{1,2}-\d{1,2}", re.MULTILINE)


def _line_of_value(raw: str, exc: Exception) -> int:
    """Best guess at the line of a value whose constructor failed: the first bad-looking date."""
    for match in _DATE_LIKE.finditer(raw):
        value = match.group(0).rsplit(":", 1)[-1].strip().strip("'\"")
        try:
            date.fromisoformat("-".join(f"{int(x):02d}" for x in value.split("-")))
        except ValueError:
            return raw.count("\n", 0, match.start()) + 2
    return 2


def dump(meta: dict[str, Any], body: str) -> str:
    """Serialise deterministically: keys in the given order, Unicode kept, no line folding."""
    text = yaml.dump(
        meta,
        Dumper=_PlainDumper,
        sort_keys=False,
        allow_unicode=True,
        width=1_000_000,
        default_flow_style=False,
    )
    return f"{FENCE}\n{text}{FENCE}\n\n{body.rstrip()}\n"
