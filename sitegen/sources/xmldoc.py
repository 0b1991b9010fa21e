"""XML feeds into ElementTree with line numbers; malformed XML becomes a located ParseError."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.parsers import expat

from sitegen.errors import Location, ParseError
from sitegen.sources.fields import clean_text

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)


@dataclass
class XmlDoc:
    """A parsed document and the 1-based source line where each element starts."""

    root: ET.Element
    lines: dict[ET.Element, int] = field(default_factory=dict)

    def line(self, element: ET.Element) -> int:
        return self.lines.get(element, 0)


def head(text: str, size: int = 4096) -> str:
    """The start of a document, enough for a sniffer to see the root element and namespaces."""
    return text.lstrip()[:size]


def _clark(name: str) -> str:
    # expat joins namespace and local name with the separator; ElementTree spells it {uri}local.
    uri, sep, local = name.rpartition("}")
    return "{" + uri + "}" + local if sep else name


def parse_xml(text: str, source: str) -> XmlDoc:
    """The document tree; malformed XML raises ParseError at the parser's line."""
    # Feeds never need a DTD; refusing one rules out entity-expansion tricks entirely.
    match = _DOCTYPE.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise ParseError("XML feeds with a DOCTYPE are not accepted", Location(source, line))
    # ElementTree forgets where elements were; driving expat ourselves keeps the line numbers
    # that warnings and Paper.line need.
    builder = ET.TreeBuilder()
    lines: dict[ET.Element, int] = {}
    # The text is already decoded: a declared encoding="..." must not re-decode it.
    parser = expat.ParserCreate(encoding="utf-8", namespace_separator="}")

    def start(name: str, attrs: dict[str, str]) -> None:
        element = builder.start(_clark(name), {_clark(k): v for k, v in attrs.items()})
        lines[element] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: builder.end(_clark(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(text.encode("utf-8", "surrogatepass"), True)
        root = builder.close()
    except expat.ExpatError as exc:
        raise ParseError(
            f"malformed XML: {expat.ErrorString(exc.code)}",
            Location(source, line=max(exc.lineno, 1)),
            f"column {exc.offset + 1}; re-download the feed",
        ) from None
    except (AssertionError, ValueError, RecursionError) as exc:
        # TreeBuilder asserts on an empty document; keep the one error type callers expect.
        raise ParseError(
            f"unreadable XML: {exc or 'no root element'}", Location(source, 1)
        ) from None
    return XmlDoc(root, lines)


def child_text(element: ET.Element, tag: str) -> str:
    """Cleaned text of the first child with this tag, or '' when absent."""
    child = element.find(tag)
    if child is None:
        return ""
    return clean_text("".join(child.itertext()))
