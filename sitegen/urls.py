"""The one owner of slugs, output paths and the URLs derived from them."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from urllib.parse import quote, urlsplit

from slugify import slugify

SLUG_MAX = 80
_VALID_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Names that clash with the site's own folders and files, or that Windows cannot store
# (a site repo is often cloned on Windows too).
RESERVED_SLUGS = frozenset(
    {
        "index",
        "page",
        "feed",
        "rss",
        "static",
        "tags",
        "days",
        "papers",
        "feeds",
        "search",
        "pagefind",
        "sitemap",
        "robots",
        "404",
        "con",
        "prn",
        "aux",
        "nul",
    }
    | {f"com{i}" for i in range(10)}
    | {f"lpt{i}" for i in range(10)}
)


def slug_for_title(plain_title: str, fallback: str) -> str:
    """python-slugify over the plain title, cut on a word boundary; never empty or reserved."""
    slug = slugify(plain_title, max_length=SLUG_MAX, word_boundary=True, save_order=True)
    if not slug:
        slug = slugify(fallback, max_length=SLUG_MAX) or short_hash(plain_title or fallback)
    if slug in RESERVED_SLUGS:
        slug = f"{slug}-paper"
    return slug


def short_hash(text: str) -> str:
    return "p-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def slug_problem(slug: object) -> str | None:
    """Why a slug (e.g. one written by hand in front matter) is unsafe, or None if it is fine."""
    if not isinstance(slug, str):
        return "the slug must be a string"
    if not _VALID_SLUG.match(slug):
        return "a slug may only hold lowercase letters, digits and single hyphens"
    if len(slug) > SLUG_MAX + 10:
        return f"a slug may be at most {SLUG_MAX + 10} characters"
    if slug in RESERVED_SLUGS:
        return f"{slug!r} is reserved"
    return None


def unique_slug(slug: str, taken: set[str]) -> str:
    """`x`, then `x-2`, `x-3`... in order of first appearance."""
    candidate, n = slug, 1
    while candidate in taken:
        n += 1
        candidate = f"{slug}-{n}"
    return candidate


# Output paths: pretty URLs, each page is `<path>/index.html`.
def home_path(page: int = 1) -> str:
    return "index.html" if page == 1 else f"page/{page}/index.html"


def paper_path(slug: str) -> str:
    return f"papers/{slug}/index.html"


def page_path(slug: str) -> str:
    return f"{slug}/index.html"


def tags_index_path() -> str:
    return "tags/index.html"


def tag_path(slug: str, page: int = 1) -> str:
    return f"tags/{slug}/index.html" if page == 1 else f"tags/{slug}/page/{page}/index.html"


def tag_feed_path(slug: str, name: str) -> str:
    return f"tags/{slug}/{name}"


def feeds_page_path() -> str:
    return "feeds/index.html"


def opml_path() -> str:
    return "feeds.opml"


def days_index_path() -> str:
    return "days/index.html"


def day_path(day: date) -> str:
    return f"days/{day.isoformat()}/index.html"


def static_path(name: str) -> str:
    return f"static/{name}"


class UrlMap:
    """Turns output paths into links; every URL in the site comes from here."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.base_path = parts.path
        # Every paper links its days and tags, so their links are asked for thousands of times.
        self._links: dict[str, str] = {}

    @staticmethod
    def _tail(out_path: str) -> str:
        if out_path == "index.html":
            return ""
        if out_path.endswith("/index.html"):
            return out_path[: -len("index.html")]
        return out_path

    def url(self, out_path: str) -> str:
        """Base-path-absolute link for pages (`/repo/papers/x/`)."""
        link = self._links.get(out_path)
        if link is None:
            link = self._links[out_path] = self.base_path + quote(self._tail(out_path))
        return link

    def absolute(self, out_path: str) -> str:
        """Absolute URL for feeds, sitemap, canonical and Open Graph links."""
        return self.origin + self.url(out_path)
