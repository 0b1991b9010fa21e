"""OPML 2.0 subscription list: one outline per feed, so a reader imports every feed at once."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from email.utils import format_datetime
from typing import TYPE_CHECKING

from sitegen import urls
from sitegen.models import OutputFile

if TYPE_CHECKING:
    from sitegen.feeds import Channel


def _outline(parent: ET.Element, channel: Channel, language: str) -> None:
    # Each channel is listed once, by its Atom feed: an importing reader subscribes to every
    # outline, and three formats of one channel would show each paper three times.
    ET.SubElement(
        parent,
        "outline",
        {
            "type": "rss",
            "text": channel.title,
            "title": channel.title,
            "description": channel.description,
            "xmlUrl": channel.atom_url,
            "htmlUrl": channel.home_url,
            "language": language,
        },
    )


def render_opml(channels: Sequence[Channel], owner: str, language: str) -> OutputFile:
    """`feeds.opml`: the site feed first, then the tag feeds grouped in one folder."""
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    site = channels[0]
    ET.SubElement(head, "title").text = f"{site.title}: feeds"
    # The newest entry's date, never the build time: the same input gives the same bytes.
    newest = max(c.updated for c in channels)
    ET.SubElement(head, "dateModified").text = format_datetime(newest, usegmt=True)
    ET.SubElement(head, "ownerName").text = owner
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    _outline(body, site, language)
    if len(channels) > 1:
        folder = ET.SubElement(body, "outline", {"text": f"{site.title}: tags"})
        for channel in channels[1:]:
            _outline(folder, channel, language)
    ET.indent(root)
    data = ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
    return OutputFile(urls.opml_path(), data)
