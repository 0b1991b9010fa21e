"""YAML front matter: read and write `---`-fenced Markdown pages with locations in errors."""

from __future__ import annotations

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
