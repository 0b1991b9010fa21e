"""Hostile text, names and encodings: built as harmless text, or refused with a location."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import jinja2
import pytest
from markupsafe import Markup

from sitegen import render, reuse, sources, urls, write
from sitegen.cli import main
from sitegen.config import Config
from sitegen.errors import SitegenError
from sitegen.report import BuildReport
from tests.conftest import build_project, write_tree

CORPUS = Path(__file__).parent / "fixtures" / "hostile" / "site"
BASE_URL = "http://127.0.0.1:8000/repo/"
# What the corpus must never let through, anywhere in any output file.
INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff]"
)
DANGEROUS_SCHEME = re.compile(r"^(?:javascript|vbscript|data|file):", re.IGNORECASE)
RESOURCE_ATTRS = {"src", "srcset", "poster", "data", "background"}
URL_ATTRS = {"href", "action", "formaction", "xlink:href", "cite", *RESOURCE_ATTRS}
FORBIDDEN_TAGS = {"iframe", "object", "embed", "frame", "frameset", "applet", "base"}


def build_hostile_corpus(dest: Path) -> tuple[Config, BuildReport]:
    """Copy the corpus project to `dest` and build it; the browser test builds it this way too."""
    shutil.copytree(CORPUS, dest)
    return build_project(dest)


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, BuildReport]:
    return build_hostile_corpus(tmp_path_factory.mktemp("hostile") / "site")


@pytest.fixture(scope="session")
def out(hostile: tuple[Config, BuildReport]) -> Path:
    return hostile[0].output_dir


class Inspector(HTMLParser):
    """Collects every way a page could run code or load something from another site."""

    def __init__(self, name: str) -> None:
        super().__init__(convert_charrefs=True)
        self.name = name
        self.problems: list[str] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self._script: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}> element")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.problems.append("meta refresh")
        for key, value in values.items():
            if key.startswith("on"):
                self.problems.append(f"event handler {key}={value!r} on <{tag}>")
            if key in URL_ATTRS:
                url = re.sub(r"[\x00-\x20]", "", value)
                if DANGEROUS_SCHEME.match(url):
                    self.problems.append(f"{key}={value!r} on <{tag}>")
                loads = key in RESOURCE_ATTRS or (tag == "link" and key == "href")
                if loads and not _same_site(url, tag, values):
                    self.problems.append(f"off-site resource {key}={value!r} on <{tag}>")
        if tag == "script":
            self._script, self._text = values, []

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None


def _same_site(url: str, tag: str, attrs: dict[str, str]) -> bool:
    if tag == "link" and attrs.get("rel", "") in ("alternate", "canonical", "prev", "next"):
        return True  # a reference, not a fetch (feeds, canonical URL)
    if url.startswith("//"):
        return False
    if re.match(r"^[a-z][a-z0-9+.-]*:", url, re.IGNORECASE):
        return url.startswith(BASE_URL)
    return True  # relative or base-path absolute


def inspect_html(name: str, text: str) -> Inspector:
    inspector = Inspector(name)
    inspector.feed(text)
    inspector.close()
    for attrs, body in inspector.scripts:
        kind = attrs.get("type", "")
        if kind == "application/ld+json":
            if "</" in body or "<!--" in body:
                inspector.problems.append("markup inside JSON-LD")
            json.loads(body)
        elif "alert(" in body or "msgbox" in body:
            inspector.problems.append(f"injected script text {body[:60]!r}")
    return inspector


def output_files(out: Path) -> Iterator[Path]:
    return (p for p in sorted(out.rglob("*")) if p.is_file())


def html_files(out: Path) -> list[Path]:
    return [p for p in output_files(out) if p.suffix == ".html"]


# --- the corpus builds, with the one warning it deserves --------------------------------------


def test_corpus_builds_and_warns_only_about_the_untitled_record(
    hostile: tuple[Config, BuildReport],
) -> None:
    _, report = hostile
    assert [str(w) for w in report.warnings] == [
        "seeds/2025-03-13.json:23: warning: record has no title; skipped"
    ]
    assert report.papers == 20


def test_no_page_can_run_code_or_load_anything_off_site(out: Path) -> None:
    pages = html_files(out)
    assert len(pages) > 30
    problems = {}
    for page in pages:
        found = inspect_html(page.name, page.read_text(encoding="utf-8")).problems
        if found:
            problems[page.relative_to(out).as_posix()] = found
    assert problems == {}


def test_hostile_text_is_shown_as_text(out: Path) -> None:
    page = out / "papers/script-alert-title-script-attention-is-not-all-you-need/index.html"
    html = page.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(" in html
    assert "<script>alert(" not in html
    abstract = html[html.index('class="abstract"') :]
    assert "&lt;img src=x onerror=alert(1)&gt;" in abstract
    assert "&lt;iframe" in abstract
    links = (out / "papers/img-src-x-onerror-alert-1-robust-vision-models/index.html").read_text(
        encoding="utf-8"
    )
    # Refused links stay readable as text; the remote image became a plain link.
    assert (
        "[js](javascript:alert(&#39;md-link&#39;))" in links
        or "[js](javascript:alert('md-link'))" in links
    )
    assert '<a href="https://evil.example/pixel.png">pixel</a>' in links
    assert "<img" not in links[links.index('class="abstract"') :].split("</section>")[0]


def test_template_syntax_is_never_evaluated(out: Path) -> None:
    page = out / "papers/7-7-and-for-x-in-range-3-loop-endfor-template-papers/index.html"
    html = page.read_text(encoding="utf-8")
    assert "{{ 7*7 }} and {% for x in range(3) %}loop{% endfor %} Template Papers" in html
    assert "{{ self.__init__.__globals__ }}" in html
    assert "looplooploop" not in html
    about = (out / "about/index.html").read_text(encoding="utf-8")
    assert "{{ 7*7 }}" in about and "{% if true %}jinja{% endif %}" in about
    assert "&lt;b onmouseover=alert(1)&gt;" in about


def test_no_invisible_or_control_characters_in_any_output(out: Path) -> None:
    bad = {}
    for path in output_files(out):
        if path.suffix not in (".html", ".xml", ".json", ".txt", ".opml"):
            continue
        text = path.read_text(encoding="utf-8")
        found = sorted({f"U+{ord(c):04X}" for c in INVISIBLE.findall(text)})
        if found:
            bad[path.relative_to(out).as_posix()] = found
    assert bad == {}
    bidi = (out / "papers/safeexe-txt-bidi-override-title/index.html").read_text(encoding="utf-8")
    assert "Safeexe.txt Bidi Override Title" in bidi
    assert "zerowidth joiners and isolates" in bidi


class _Html:
    """A value with `__html__`, as Jinja's own objects and other libraries' have."""

    def __html__(self) -> str:
        return "<b>trusted</b>"


class _Subclass(Markup):
    """Markup whose `__html__` is its own: Jinja prints what that gives, not the string."""

    def __html__(self) -> Markup:
        return Markup("<i>from __html__</i>")


# Every kind of value a template prints: what sitegen's escaping must treat exactly as Jinja's.
PRINTED = [
    "<script>alert('x')</script> & \"quotes\"",
    "",
    Markup("<em>safe</em> &amp;"),
    _Subclass("<i>sub</i>"),
    _Html(),
    42,
    3.5,
    None,
    ("<tuple>",),
    date(2025, 3, 11),
]


def test_printed_values_are_escaped_as_jinja_escapes_them(tmp_path: Path) -> None:
    """sitegen's templates escape output with their own function (render._escape_output)."""
    write_tree(
        tmp_path,
        {
            "templates/t.html": "{% for v in values %}[{{ v }}|{{ v ~ '<' }}|{{ v | e }}]{% endfor %}"
            "{% autoescape false %}{{ values[0] }}{% endautoescape %}"
            "{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(values[0]) }}{{ m(values[2]) }}",
        },
    )
    config = Config(root=tmp_path, templates_dir=tmp_path / "templates")
    ours = render.make_environment(config).get_template("t.html").render(values=PRINTED)
    theirs = jinja2.Environment(
        loader=jinja2.FileSystemLoader(tmp_path / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    assert ours == theirs.get_template("t.html").render(values=PRINTED)
    assert "&lt;script&gt;" in ours and "<em>safe</em>" in ours and "<b>trusted</b>" in ours
    assert "<script>alert" in ours  # in the `autoescape false` block only
    # ... and it is sitegen's function that escaped them.
    assert "environment.escape_output(" in render.make_environment(config).compile(
        "{{ x }}", raw=True
    )


def test_json_ld_cannot_close_its_script_element(out: Path) -> None:
    page = out / "papers/script-script-alert-2-script-json-ld-breakout/index.html"
    inspector = inspect_html(page.name, page.read_text(encoding="utf-8"))
    blocks = [json.loads(b) for a, b in inspector.scripts if a.get("type") == "application/ld+json"]
    assert blocks, "the paper page has JSON-LD"
    assert blocks[0]["headline"] == "</script><script>alert(2)</script> JSON-LD Breakout"


@pytest.mark.parametrize("name", ["feed.xml", "rss.xml"])
def test_xml_feeds_keep_hostile_titles_as_plain_text(out: Path, name: str) -> None:
    feeds = [out / name, *sorted((out / "tags").glob(f"*/{name}"))]
    titles: set[str] = set()
    for path in feeds:
        data = path.read_bytes()
        ET.fromstring(data)  # well-formed XML, CDATA terminators and all
        parsed = feedparser.parse(data)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        for entry in parsed.entries:
            titles.add(entry.title)
            assert not DANGEROUS_SCHEME.match(entry.link)
            body = entry.get("summary", "") + "".join(c.value for c in entry.get("content", []))
            assert inspect_html(path.name, body).problems == []
    assert '<script>alert("title")</script> Attention Is Not All You Need' in titles
    assert "Feed Breaker ]]> <![CDATA[ alert(1) ]]>" in titles
    assert "{{ 7*7 }} and {% for x in range(3) %}loop{% endfor %} Template Papers" in titles


def test_json_feeds_hold_text_and_safe_html(out: Path) -> None:
    for path in [out / "feed.json", *sorted((out / "tags").glob("*/feed.json"))]:
        feed = json.loads(path.read_text(encoding="utf-8"))
        for item in feed["items"]:
            assert item["url"].startswith(BASE_URL)
            assert inspect_html(path.name, item.get("content_html", "")).problems == []
            for author in item.get("authors", []):
                assert not INVISIBLE.search(author["name"])
    titles = {i["title"] for i in json.loads((out / "feed.json").read_text())["items"]}
    assert "</script><script>alert(2)</script> JSON-LD Breakout" in titles


def test_sitemap_lists_only_safe_urls_under_the_base(out: Path) -> None:
    root = ET.fromstring((out / "sitemap.xml").read_bytes())
    locs = [e.text or "" for e in root.iter() if e.tag.endswith("loc")]
    assert len(locs) > 20
    for loc in locs:
        assert loc.startswith(BASE_URL)
        assert re.fullmatch(r"[A-Za-z0-9:/._~%-]+", loc), loc


# --- hostile names ---------------------------------------------------------------------------

EXPECTED_SLUGS = {
    "..": "p-5ec1f7e700",
    ".hidden": "hidden",
    "index": "index-paper",
    "Index!": "index-paper-2",
    "CON": "con-paper",
    "feed": "feed-paper",
    "🚀🔥💯": "p-ef08282872",
    "深度学习中的注意力机制研究": "shen-du-xue-xi-zhong-de-zhu-yi-li-ji-zhi-yan-jiu",
    "نموذج اللغة الكبير للترجمة الآلية": "nmwdhj-llg-lkbyr-lltrjm-lly",
    "javascript:alert(1)": "javascript-alert-1",
    "Duplicate Title": "duplicate-title",
}


def _slugs_by_title(root: Path) -> dict[str, list[str]]:
    from sitegen import frontmatter

    found: dict[str, list[str]] = {}
    for page in sorted((root / "content/papers").glob("*.md")):
        meta, _ = frontmatter.split(page.read_text(encoding="utf-8"), page.name)
        assert page.stem == meta.get("slug", page.stem)
        found.setdefault(meta["title"], []).append(page.stem)
    return found


def test_hostile_titles_get_safe_unique_stable_paths(hostile: tuple[Config, BuildReport]) -> None:
    config, _ = hostile
    by_title = _slugs_by_title(config.root)
    for title, slug in EXPECTED_SLUGS.items():
        assert slug in by_title[title], title
    assert sorted(by_title["Duplicate Title"]) == ["duplicate-title", "duplicate-title-2"]
    long = next(t for t in by_title if t.startswith("Towards Scalable"))
    assert len(long) > 400 and len(by_title[long][0]) <= urls.SLUG_MAX
    every = [s for slugs in by_title.values() for s in slugs]
    assert len(every) == len(set(every)) == 20
    for slug in every:
        assert urls.slug_problem(slug) is None, slug
        assert (config.output_dir / "papers" / slug / "index.html").is_file()
    folders = {p.name for p in (config.output_dir / "papers").iterdir()}
    assert folders == set(every)
    hidden = [p.name for p in config.output_dir.rglob(".*")]
    assert hidden == [write.MARKER]


def test_same_corpus_gives_the_same_paths_and_bytes(
    hostile: tuple[Config, BuildReport], tmp_path: Path
) -> None:
    config, _ = hostile
    again, _ = build_hostile_corpus(tmp_path / "again")
    assert _slugs_by_title(again.root) == _slugs_by_title(config.root)
    first = {
        p.relative_to(config.output_dir): p.read_bytes() for p in output_files(config.output_dir)
    }
    second = {
        p.relative_to(again.output_dir): p.read_bytes() for p in output_files(again.output_dir)
    }
    assert first == second
    _, rebuilt = build_project(again.root)
    assert rebuilt.content_written == 0 and rebuilt.changed == 0


@pytest.mark.parametrize(
    "slug",
    [
        "..",
        ".hidden",
        "index",
        "CON",
        "con",
        "feed",
        "pagefind",
        "",
        "a/b",
        "Upper",
        "x" * 91,
        "a--b",
    ],
)
def test_hand_written_slugs_are_validated(slug: str) -> None:
    assert urls.slug_problem(slug) is not None


@pytest.mark.parametrize(
    "title", ["..", ".", "/", "index", "CON", "feed", "", "🚀", "x" * 400, "نموذج", "深度", "COM1"]
)
def test_every_title_slugifies_to_a_valid_slug(title: str) -> None:
    slug = urls.slug_for_title(title, "")
    assert urls.slug_problem(slug) is None
    assert urls.slug_for_title(title, "") == slug  # stable


# --- rejected inputs: one line naming the file, non-zero exit, nothing published ---------------

TRUNCATED_XML = (Path(__file__).parent / "fixtures/arxiv_api/query.xml").read_bytes()[:900]
GOOD_FEED = "Mar 11\n\nA Perfectly Fine Paper Title\n\n" + "A fine abstract. " * 5 + "\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"seeds/2025-03-12.txt": b"Mar 12\n\nA Title\n\nAn abstract \xff\xfe here.\n"},
            "seeds/2025-03-12.txt:5: invalid UTF-8 at byte 30",
        ),
        (
            {"seeds/2025-03-12.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"},
            "seeds/2025-03-12.txt (byte 9): looks like a binary file",
        ),
        ({"seeds/2025-03-12.txt": b""}, "seeds/2025-03-12.txt: empty feed file"),
        ({"seeds/2025-03-12.txt": b"\xef\xbb\xbf\r\n  \r\n"}, "seeds/2025-03-12.txt: empty feed"),
        ({"seeds/2025-03-12.json": b'[{"paper": {"id": "2401.1'}, "seeds/2025-03-12.json:1"),
        (
            {"seeds/2025-03-12.xml": TRUNCATED_XML},
            "seeds/2025-03-12.xml:13: malformed XML",
        ),
        (
            {"seeds/2025-03-12.bib": "@misc{x,\n title={A truncated entr"},
            "seeds/2025-03-12.bib: this feed has no papers",
        ),
        (
            {"content/papers/mine.md": b"---\ntitle: A\ndate: 2025-03-11\n---\n\n\xc3\x28 body\n"},
            "content/papers/mine.md:6: invalid UTF-8",
        ),
        (
            {"content/papers/mine.md": "---\ntitle: [unclosed\ndate: 2025-03-11\n---\nbody\n"},
            "content/papers/mine.md:3: front matter",
        ),
        (
            {"content/papers/mine.md": "---\ntitle: A\ndate: 2025-03-11\nbody without a fence\n"},
            "content/papers/mine.md:1: front matter is not closed",
        ),
        (
            {"content/papers/mine.md": "---\ntitle: A\ndate: 2025-13-45\n---\nbody\n"},
            "content/papers/mine.md:3: front matter",
        ),
        (
            {"content/papers/mine.md": "---\n- a list\n---\nbody\n"},
            "content/papers/mine.md:2: front matter must be a mapping",
        ),
        (
            {"content/papers/mine.md": "---\ntitle: A\ndate: 2025-03-11\nslug: ../../etc\n---\n"},
            "content/papers/mine.md: bad slug '../../etc'",
        ),
        (
            {"content/papers/mine.md": "---\ntitle: A\ndate: 2025-03-11\nslug: index\n---\n"},
            "'index' is reserved",
        ),
        (
            {"content/feed.md": "---\ntitle: A page\n---\nbody\n"},
            "content/feed.md: bad slug 'feed'",
        ),
        (
            {
                "content/papers/one.md": "---\ntitle: One\ndate: 2025-03-11\nslug: same\n---\n",
                "content/papers/two.md": "---\ntitle: Two\ndate: 2025-03-11\nslug: same\n---\n",
            },
            "URL collision: /papers/same/ from content/papers/one.md, content/papers/two.md",
        ),
        (
            {"content/papers/mine.md": "---\ntitle: A\ndate: 2025-03-11\ntags: {a: b}\n---\n"},
            "content/papers/mine.md: front matter `tags` must be a list",
        ),
    ],
    ids=[
        "invalid-utf8-seed",
        "binary-seed",
        "empty-seed",
        "blank-seed-with-bom",
        "truncated-json",
        "truncated-xml",
        "truncated-bibtex",
        "invalid-utf8-page",
        "bad-yaml",
        "unclosed-front-matter",
        "impossible-date",
        "front-matter-list",
        "traversal-slug",
        "reserved-slug",
        "reserved-page-name",
        "slug-collision",
        "tags-mapping",
    ],
)
def test_bad_input_is_refused_with_its_location_and_nothing_is_published(
    tmp_path: Path,
    files: dict[str, str | bytes],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = write_tree(
        tmp_path / "site", {"sitegen.toml": "year = 2025\n", "seeds/2025-03-11.txt": GOOD_FEED}
    )
    config, _ = build_project(root)
    before = {p: p.read_bytes() for p in output_files(config.output_dir)}
    write_tree(root, files)
    with pytest.raises(SitegenError) as caught:
        build_project(root)
    assert expected in str(caught.value)
    monkeypatch.chdir(root)
    monkeypatch.delenv("SITEGEN_BASE_URL", raising=False)
    capsys.readouterr()
    assert main(["build"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and expected in err
    assert {p: p.read_bytes() for p in output_files(config.output_dir)} == before


def test_bom_and_crlf_read_exactly_like_plain_utf8(tmp_path: Path) -> None:
    plain = GOOD_FEED.replace(
        "Mar 11", "Mar 11\n\nSecond Paper Title Here\n\n" + "More prose. " * 8
    )
    dressed = ("\ufeff" + plain.replace("\n", "\r\n")).encode("utf-8")
    assert sources.decode(dressed, "x.txt") == plain
    assert sources.decode(plain.replace("\n", "\r").encode(), "x.txt") == plain
    one = write_tree(tmp_path / "one", {"sitegen.toml": "", "seeds/2025-03-11.txt": plain})
    two = write_tree(tmp_path / "two", {"sitegen.toml": "", "seeds/2025-03-11.txt": dressed})
    c1, _ = build_project(one)
    c2, _ = build_project(two)

    def tree(c: Config) -> dict[Path, bytes]:
        # The reuse ledger names the output files by inode and mtime: it differs by design.
        return {
            p.relative_to(c.root): p.read_bytes()
            for p in c.root.rglob("*.*")
            if p.is_file()
            and ".sitegen-lock" not in p.name
            and not p.name.startswith(reuse.LEDGER_PREFIX)
        }

    assert tree(c1) == {k: v for k, v in tree(c2).items() if k.parts[0] != "seeds"} | {
        Path("seeds/2025-03-11.txt"): plain.encode()
    }


def test_content_pages_with_bom_and_crlf_are_read(tmp_path: Path) -> None:
    page = "\ufeff---\r\ntitle: Windows Page\r\n---\r\n\r\nWritten on *Windows*.\r\n"
    root = write_tree(
        tmp_path / "site",
        {"sitegen.toml": "", "content/win.md": page.encode(), "seeds/2025-03-11.txt": GOOD_FEED},
    )
    config, _ = build_project(root)
    html = (config.output_dir / "win/index.html").read_text(encoding="utf-8")
    assert "Windows Page" in html and "<em>Windows</em>" in html


# --- edits are sacred -------------------------------------------------------------------------

ABSTRACT = (
    "The original abstract of this paper, long enough to be prose, as the feed first said it."
)


def _one_paper_project(tmp_path: Path, abstract: str = ABSTRACT) -> Path:
    return write_tree(
        tmp_path / "site",
        {
            "sitegen.toml": "year = 2025\n",
            "seeds/2025-03-11.txt": f"Mar 11\n\nSacred Paper Title\n\n{abstract}\n",
        },
    )


PAGE = "content/papers/sacred-paper-title.md"


def test_an_edited_body_survives_an_upstream_change_with_a_warning(tmp_path: Path) -> None:
    root = _one_paper_project(tmp_path)
    build_project(root)
    page = root / PAGE
    edited = page.read_text(encoding="utf-8").replace(
        "as the feed first said it", "as I corrected it"
    )
    page.write_text(edited, encoding="utf-8")
    write_tree(
        root, {"seeds/2025-03-11.txt": f"Mar 11\n\nSacred Paper Title\n\n{ABSTRACT} Now v2.\n"}
    )
    write_tree(
        root, {"seeds/2025-03-12.txt": f"Mar 12\n\nSacred Paper Title\n\n{ABSTRACT} Now v2.\n"}
    )
    config, report = build_project(root)
    assert page.read_text(encoding="utf-8") == edited
    assert [str(w) for w in report.warnings] == [
        f"{PAGE}: warning: the feed's title or abstract changed, but this page was edited by "
        "hand; kept your version (delete the `upstream` line to silence)"
    ]
    html = (config.output_dir / "papers/sacred-paper-title/index.html").read_text(encoding="utf-8")
    assert "as I corrected it" in html and "Now v2" not in html
    assert "12 Mar 2025" in html  # the new appearance is still listed
    with pytest.raises(SitegenError, match="--strict"):
        build_project(root, strict=True)
    assert page.read_text(encoding="utf-8") == edited


def test_edited_front_matter_is_kept_without_a_warning(tmp_path: Path) -> None:
    root = _one_paper_project(tmp_path)
    build_project(root)
    page = root / PAGE
    edited = page.read_text(encoding="utf-8").replace("tags:", "note: my own key\ntags:", 1)
    page.write_text(edited, encoding="utf-8")
    _, report = build_project(root)
    assert report.warnings == [] and report.content_written == 0
    assert page.read_text(encoding="utf-8") == edited


def test_deleting_the_upstream_line_silences_the_warning(tmp_path: Path) -> None:
    root = _one_paper_project(tmp_path)
    build_project(root)
    page = root / PAGE
    text = page.read_text(encoding="utf-8")
    edited = re.sub(r"(?m)^upstream: .*\n", "", text).replace("first said", "said")
    page.write_text(edited, encoding="utf-8")
    write_tree(root, {"seeds/2025-03-11.txt": f"Mar 11\n\nSacred Paper Title\n\n{ABSTRACT} v3.\n"})
    _, report = build_project(root)
    assert report.warnings == []
    assert page.read_text(encoding="utf-8") == edited


def test_a_pristine_page_follows_the_feed(tmp_path: Path) -> None:
    root = _one_paper_project(tmp_path)
    build_project(root)
    write_tree(
        root, {"seeds/2025-03-11.txt": f"Mar 11\n\nSacred Paper Title\n\n{ABSTRACT} Fixed.\n"}
    )
    _, report = build_project(root)
    assert report.warnings == [] and report.content_written == 1
    assert "Fixed." in (root / PAGE).read_text(encoding="utf-8")


def test_an_edited_page_whose_paper_left_the_feed_is_still_published(tmp_path: Path) -> None:
    root = _one_paper_project(tmp_path)
    build_project(root)
    page = root / PAGE
    page.write_text(page.read_text(encoding="utf-8") + "\nMy note.\n", encoding="utf-8")
    (root / "seeds/2025-03-11.txt").write_text(GOOD_FEED, encoding="utf-8")
    config, _ = build_project(root)
    assert "My note." in page.read_text(encoding="utf-8")
    assert (config.output_dir / "papers/sacred-paper-title/index.html").is_file()


def test_a_forged_digest_does_not_make_an_edit_look_pristine(tmp_path: Path) -> None:
    root = _one_paper_project(tmp_path)
    build_project(root)
    page = root / PAGE
    edited = page.read_text(encoding="utf-8").replace("original abstract", "ORIGINAL abstract")
    page.write_text(edited, encoding="utf-8")  # the digest line is left as sitegen wrote it
    write_tree(root, {"seeds/2025-03-11.txt": f"Mar 11\n\nSacred Paper Title\n\n{ABSTRACT} v4.\n"})
    _, report = build_project(root)
    assert page.read_text(encoding="utf-8") == edited
    assert len(report.warnings) == 1
