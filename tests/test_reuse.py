"""Page reuse: unchanged pages are carried over, and the result equals a full build's."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import feedparser
import jinja2
import pytest
from markupsafe import Markup

from sitegen import cache, feeds, frontmatter, markup, render, reuse, search, urls, views, write
from sitegen.build import build
from sitegen.cache import FOLDER, read_pickle
from sitegen.config import Config, load_config
from sitegen.models import OutputFile, PaperPage
from sitegen.report import BuildReport
from sitegen.views import DayLink, LinkView, PaperView, TagView, ViewField
from tests.conftest import REPO


def _build(root: Path, out: str | None = None, **options: Any) -> BuildReport:
    config = load_config(root=root, environ={}, output_dir=root / out if out else None)
    return build(config, **options)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".sitegen-output"
    }


def _papers(root: Path) -> list[Path]:
    return sorted((root / "content" / "papers").glob("*.md"))


@pytest.fixture
def site(seed_copy: Path) -> Path:
    return seed_copy


def test_a_copied_site_renders_everything_again(site: Path) -> None:
    """A copy has new inodes: the ledger cannot vouch for its files, so nothing is carried."""
    _append(_papers(site)[0], "\nAn edit.\n")
    report = _build(site)
    assert report.carried == 0
    assert report.changed >= 1


def test_a_cold_build_reads_no_text_table_back_and_keeps_it_for_the_next(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that makes every view's details saves the Markdown and plain-text tables and
    drops them before rendering (build.py); nothing may look them up after, or the table would
    be read back whole. A standalone page's Markdown and the feeds' tag labels (`&`) are the
    last conversions made."""
    (site / "content" / "about.md").write_text(
        "---\ntitle: About *this* site\n---\nRead **more** at <https://example.org/>.\n",
        encoding="utf-8",
    )
    shutil.rmtree(site / FOLDER)
    shutil.rmtree(site / "_site")
    tables = {f"{namespace}.pickle" for namespace in markup.NAMESPACES}
    read: list[str] = []

    def reading(path: Path) -> object | None:
        if path.name in tables:
            read.append(path.name)
        return read_pickle(path)

    monkeypatch.setattr(cache, "read_pickle", reading)
    _build(site, jobs=1)
    assert sorted(read) == sorted(tables)  # each looked for once, when first used
    assert "Agents &amp; tool use" in (site / "_site" / "tags" / "index.html").read_text("utf-8")
    about = (site / "_site" / "about" / "index.html").read_text("utf-8")
    assert "<strong>more</strong>" in about
    # The next build finds the last conversion made, the standalone page's, in the saved table.
    read.clear()
    with cache.using(cache.for_project(site, True)) as store:
        markup.default_renderer().block("Read **more** at <https://example.org/>.\n")
        assert (store.hits, store.misses) == (1, 0)
    assert read == ["markdown-block.pickle"]


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _retitle(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    title = re.search(r"^title: (.*)$", text, re.MULTILINE)
    assert title is not None
    page.write_text(text.replace(title.group(0), "title: Zebra Retitled", 1), "utf-8")


def _settle(site: Path) -> None:
    """One build in place, so the ledger describes this copy's own files."""
    _append(_papers(site)[-1], "\n")
    _build(site)


def _fresh_build_is_the_same(site: Path) -> None:
    """The output equals, byte for byte, what a build without any cache makes of the inputs."""
    fresh = site / "fresh"
    shutil.copytree(site, fresh, ignore=shutil.ignore_patterns("_site", FOLDER, "fresh"))
    _build(fresh, use_cache=False)
    assert _tree(site / "_site") == _tree(fresh / "_site")


def test_one_changed_paper_renders_only_the_pages_that_show_it(site: Path) -> None:
    _settle(site)
    edited = _papers(site)[0]
    _append(edited, "\nA sentence added by hand to the abstract.\n")
    report = _build(site)
    assert not report.unchanged
    # Its page, plus the list and feed pages quoting it (summaries, tags, days) and any paper
    # listing it as related: a few dozen of the 120-odd pages, never all of them.
    assert 0 < report.pages_written - report.carried < report.pages_written // 2
    page = site / "_site" / "papers" / edited.stem / "index.html"
    assert "A sentence added by hand" in page.read_text(encoding="utf-8")
    _fresh_build_is_the_same(site)


def test_a_retitled_paper_is_renamed_on_every_page_that_links_to_it(site: Path) -> None:
    """Its day neighbours and the papers listing it as related show its title in their links,
    although nothing of their own changed."""
    _settle(site)
    edited = _papers(site)[1]
    _retitle(edited)
    _build(site)
    linking = [
        page
        for page in (site / "_site" / "papers").glob("*/index.html")
        if page.parent.name != edited.stem and "Zebra Retitled" in page.read_text("utf-8")
    ]
    assert len(linking) >= 2
    _fresh_build_is_the_same(site)


def _paged_tag(site: Path) -> tuple[Path, list[Path]]:
    """Two papers a page, settled: a tag of many pages, and the paper on its last page."""
    config = site / "sitegen.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^per_page = .*$", "per_page = 2", text), encoding="utf-8")
    _settle(site)
    folders = [p for p in (site / "_site" / "tags").iterdir() if (p / "page" / "3").is_dir()]
    folder = max(folders, key=lambda p: len(list((p / "page").iterdir())))
    pages = [folder / "index.html", *sorted((folder / "page").glob("*/index.html"))]
    last = _LINK_TO_PAPER.findall(pages[-1].read_text(encoding="utf-8"))[-1]
    return site / "content" / "papers" / f"{last}.md", pages


_LINK_TO_PAPER = re.compile(r'href="/papers/([^/"]+)/"')


def test_an_edit_renders_only_the_tag_pages_that_show_the_paper(site: Path) -> None:
    edited, pages = _paged_tag(site)
    before = {page: page.read_bytes() for page in pages}
    _retitle(edited)
    _build(site)
    changed = [page for page in pages if page.read_bytes() != before[page]]
    assert changed == [pages[-1]]


_RELATED_SECTION = re.compile(r'<section class="related".*?</section>', re.DOTALL)


def _related_sections(site: Path) -> dict[str, str]:
    """Each paper page's list of related papers, by the paper's slug."""
    found = {}
    for page in (site / "_site" / "papers").glob("*/index.html"):
        section = _RELATED_SECTION.search(page.read_text(encoding="utf-8"))
        found[page.parent.name] = section.group() if section else ""
    return found


def _list_pages(site: Path) -> dict[str, str]:
    return {
        page.relative_to(site / "_site").as_posix(): page.read_text(encoding="utf-8")
        for page in (site / "_site").rglob("*.html")
        if page.parent.parent.name != "papers"
    }


def _edit_changing_related_papers(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, set[str], list[str]]:
    """Settle the site, then give a paper the title of others in its abstract and rebuild:
    the edited slug, the other papers whose related papers changed, and the pages rendered."""
    _settle(site)
    related = _related_sections(site)
    papers = _papers(site)
    edited = papers[0]
    titles = [re.search(r"^title: (.*)$", p.read_text("utf-8"), re.MULTILINE) for p in papers]
    words = " ".join(t.group(1) for t in titles[1:6] if t is not None)
    _append(edited, f"\nWe compare with {words}.\n")
    rendered: list[str] = []
    render_page = render.SiteRenderer.render

    def noted(self: render.SiteRenderer, job: render.PageJob, *args: Any) -> OutputFile:
        rendered.append(job.out_path)
        return render_page(self, job, *args)

    monkeypatch.setattr(render.SiteRenderer, "render", noted)
    _build(site, jobs=1)
    after = _related_sections(site)
    changed = {slug for slug in after if after[slug] != related[slug]} - {edited.stem}
    return edited.stem, changed, rendered


def test_a_change_of_related_papers_renders_again_no_list_page_but_the_edited_papers(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """List pages show no related papers: those a small edit changes for many papers (here
    through the edited paper's words) render their paper pages again, not their lists."""
    edited, changed, rendered = _edit_changing_related_papers(site, monkeypatch)
    assert len(changed) >= 3
    assert {f"papers/{slug}/index.html" for slug in changed} <= set(rendered)
    lists = _list_pages(site)
    showing = {path for path, text in lists.items() if f"/papers/{edited}/" in text}
    # The list pages showing a paper with changed related papers, and not the edited paper.
    others = {
        path
        for path, text in lists.items()
        if path not in showing and any(f"/papers/{slug}/" in text for slug in changed)
    }
    assert len(others) >= 3
    assert not others & set(rendered)
    _fresh_build_is_the_same(site)


@pytest.mark.parametrize(
    ("template", "before", "shows"),
    [
        # In the entry `cached` makes once for all lists: each list using it reads them too.
        (
            "_macros.html",
            '<p class="summary">',
            "{{ paper.related | map(attribute='label') | list }}",
        ),
        ("index.html", "{% endblock %}", "{% for p in papers %}{{ p.related[:1] }}{% endfor %}"),
    ],
)
def test_a_list_page_showing_related_papers_is_rendered_again_when_they_change(
    site: Path, monkeypatch: pytest.MonkeyPatch, template: str, before: str, shows: str
) -> None:
    theirs = (REPO / "themes" / "default" / "templates" / template).read_text(encoding="utf-8")
    marked = theirs.replace(before, f"<aside>{shows}</aside>{before}", 1)
    assert marked != theirs
    (site / "templates").mkdir()
    (site / "templates" / template).write_text(marked, encoding="utf-8")
    _, changed, rendered = _edit_changing_related_papers(site, monkeypatch)
    assert changed
    lists = _list_pages(site)
    for slug in changed:
        showing = {path for path, text in lists.items() if f"/papers/{slug}/" in text}
        if template == "index.html":
            showing = {path for path in showing if not path.startswith(("tags/", "days/"))}
        assert showing and showing <= set(rendered)
    _fresh_build_is_the_same(site)


@pytest.mark.parametrize(
    "shows",
    [
        "{% for p in tag.papers %}{{ p.title }} {% endfor %}",
        "{{ tag['papers'] | length }} {{ (tag | attr('papers'))[-1].title }}",
        "{{ [tag] }}",
    ],
)
def test_a_tag_page_showing_the_tags_papers_is_rendered_again_for_any_of_them(
    site: Path, shows: str
) -> None:
    """A theme whose tag pages read the tag's papers: every page of the tag depends on each."""
    (site / "templates").mkdir()
    theirs = (REPO / "themes" / "default" / "templates" / "tag.html").read_text(encoding="utf-8")
    marked = theirs.replace("{% endblock %}", f"<aside>{shows}</aside>{{% endblock %}}", 1)
    (site / "templates" / "tag.html").write_text(marked, encoding="utf-8")
    edited, pages = _paged_tag(site)
    _retitle(edited)
    _build(site)
    assert all("Zebra Retitled" in page.read_text(encoding="utf-8") for page in pages)
    _fresh_build_is_the_same(site)


def test_only_the_feeds_that_list_a_changed_paper_are_made_again(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settle(site)
    newest = feedparser.parse((site / "_site" / "feed.xml").read_bytes()).entries[0]
    slug = newest.link.rstrip("/").rsplit("/", 1)[-1]
    listing = [  # the site feed and the feeds of the paper's tags
        path
        for path in (site / "_site").rglob("feed.xml")
        if any(e.link == newest.link for e in feedparser.parse(path.read_bytes()).entries)
    ]
    made: list[str] = []
    atom_feed = feeds.atom_feed

    def counted(channel: feeds.Channel, config: Config, tags_url: str) -> bytes:
        made.append(channel.atom_url)
        return atom_feed(channel, config, tags_url)

    monkeypatch.setattr(feeds, "atom_feed", counted)
    entries: list[str] = []
    entry = feeds._entry

    def noted(view: PaperView, *args: Any) -> feeds.Entry:
        entries.append(view.absolute_url)
        return entry(view, *args)

    monkeypatch.setattr(feeds, "_entry", noted)
    _append(site / "content" / "papers" / f"{slug}.md", "\nA sentence for the feeds.\n")
    _build(site)
    assert 2 <= len(made) == len(listing) < len(list((site / "_site").rglob("feed.xml")))
    shown: set[str] = set()
    for path in listing:
        assert b"A sentence for the feeds." in path.read_bytes()
        shown.update(e.link for e in feedparser.parse(path.read_bytes()).entries)
    # Entries are made for these feeds only (each once), not for every feed of the site.
    assert len(entries) == len(set(entries)) and set(entries) == shown


def test_a_page_edited_inside_the_output_is_rendered_again(site: Path) -> None:
    _settle(site)
    page = next((site / "_site" / "papers").iterdir()) / "index.html"
    original = page.read_bytes()
    with page.open("r+b") as f:  # in place: same inode, new mtime
        f.write(b"<!-- tampered -->")
    _append(_papers(site)[-1], "\n")  # some input must change, or the shortcut skips the build
    report = _build(site)
    assert report.carried > 0
    assert page.read_bytes() == original


def test_a_changed_template_renders_every_page_again(site: Path) -> None:
    _settle(site)
    (site / "templates").mkdir()
    base = (REPO / "themes" / "default" / "templates" / "base.html").read_text(encoding="utf-8")
    (site / "templates" / "base.html").write_text(
        base.replace("</body>", "<!-- site footer --></body>"), encoding="utf-8"
    )
    report = _build(site)
    assert report.carried == 0
    assert "<!-- site footer -->" in (site / "_site" / "index.html").read_text(encoding="utf-8")


def test_compiled_templates_are_kept_until_their_source_or_sitegen_changes(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settle(site)
    kept = site / FOLDER / render.COMPILED_TEMPLATES
    assert len(list(kept.iterdir())) >= 5
    compiled: list[str] = []
    compile_ = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: Any, name: Any = None, *args: Any) -> Any:
        compiled.append(name)
        return compile_(self, source, name, *args)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    paper = _papers(site)[0]
    _append(paper, "\nAn edit.\n")
    _build(site)
    assert compiled == []  # the paper page rendered from the kept templates
    (site / "templates").mkdir()
    theirs = (REPO / "themes" / "default" / "templates" / "paper.html").read_text(encoding="utf-8")
    for mark in ("first", "second"):  # the same file edited: only its checksum tells
        marked = theirs.replace("{% endblock %}", f"<!-- {mark} -->{{% endblock %}}", 1)
        (site / "templates" / "paper.html").write_text(marked, "utf-8")
        _build(site)
        assert compiled.count("paper.html") == 1 and "base.html" not in compiled
        compiled.clear()
        page = site / "_site" / "papers" / paper.stem / "index.html"
        assert f"<!-- {mark} -->" in page.read_text(encoding="utf-8")
    for damaged in kept.iterdir():
        damaged.write_bytes(b"not bytecode")
    _append(paper, "\n")
    _build(site)
    assert "paper.html" in compiled
    compiled.clear()
    monkeypatch.setattr(cache, "build_fingerprint", lambda: "other code")
    _append(paper, "\n")
    _build(site)
    assert "base.html" in compiled


def test_a_tag_cut_by_another_papers_edit_leaves_the_unedited_paper_too(site: Path) -> None:
    """A tag of two papers loses one of them: as a topic of one paper, it is cut from the
    other too, whose page changes although its own text did not."""
    config = site / "sitegen.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + '\n[tags.rare-topic]\nlabel = "Rare topic"\nmatch = ["zzyzx quux"]\n',
        encoding="utf-8",
    )
    first, second = _papers(site)[:2]
    for page in (first, second):
        text = page.read_text(encoding="utf-8")
        page.write_text(text.replace("\ntags:\n", "\ntags:\n- rare-topic\n", 1), encoding="utf-8")
    _build(site)
    shown = site / "_site" / "papers" / second.stem / "index.html"
    assert "Rare topic" in shown.read_text(encoding="utf-8")
    text = first.read_text(encoding="utf-8")
    first.write_text(text.replace("- rare-topic\n", "", 1), encoding="utf-8")
    report = _build(site)
    assert report.carried > 0
    assert "Rare topic" not in shown.read_text(encoding="utf-8")


def test_the_ledger_takes_a_carried_pages_record_over_without_looking_again(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settle(site)
    looked: list[str] = []
    saved: list[int] = []
    save, stat = reuse.Ledger.save, os.stat

    def counting(path: Any, *args: Any, **kwargs: Any) -> Any:
        looked.append(os.fspath(path))
        return stat(path, *args, **kwargs)

    def saving(self: reuse.Ledger, published: Any, carried: Any = ()) -> None:
        saved.append(len(published))
        with monkeypatch.context() as patch:
            patch.setattr(os, "stat", counting)
            save(self, published, carried)

    monkeypatch.setattr(reuse.Ledger, "save", saving)
    for edit in ("\nAn edit.\n", "\nAnother edit.\n"):
        _append(_papers(site)[0], edit)
        looked.clear()
        report = _build(site)
        # Only what was written is looked at; the records of the others still hold, so the
        # next build carries as much over.
        assert report.carried > 100
        assert 0 < len(looked) <= saved[-1] - report.carried


def test_a_damaged_ledger_only_costs_a_full_render(site: Path) -> None:
    _settle(site)
    for ledger in (site / FOLDER).glob(f"{reuse.LEDGER_PREFIX}*"):
        ledger.write_bytes(b"not a pickle")
    _append(_papers(site)[-1], "\n")
    before = _tree(site / "_site")
    report = _build(site)
    assert report.carried == 0
    assert _tree(site / "_site") == before


def test_no_cache_computes_no_keys_and_carries_nothing(site: Path) -> None:
    _settle(site)
    _append(_papers(site)[-1], "\n")
    report = _build(site, use_cache=False)
    assert report.carried == 0


def _view(slug: str, title: str) -> PaperView:
    day = DayLink(date(2025, 3, 11), "11 Mar 2025", "/days/2025-03-11/")
    return PaperView(
        slug=slug,
        title_html=Markup(title),
        title=title,
        url=f"/papers/{slug}/",
        absolute_url=f"https://example.org/papers/{slug}/",
        abstract_html=Markup("<p>x</p>"),
        summary="x",
        description="x",
        first_day=day,
        days=(day,),
        tags=(LinkView("LLMs", "/tags/llms/"),),
        links=(),
        arxiv_id=None,
        authors=(),
    )


def test_keys_follow_values_not_object_identity() -> None:
    keys = reuse.PageKeys(b"salt")
    a, b = _view("a", "Alpha"), _view("a", "Alpha")
    assert a is not b
    assert keys.key("paper.html", {"paper": a}) == keys.key("paper.html", {"paper": b})
    assert keys.key("paper.html", {"paper": a}) != keys.key(
        "paper.html", {"paper": _view("a", "B")}
    )
    assert keys.key("paper.html", {"paper": a}) != keys.key("tag.html", {"paper": a})
    assert keys.key("x", {"paper": a}) != reuse.PageKeys(b"other").key("x", {"paper": a})
    tag = TagView("llms", "LLMs", "", "/tags/llms/", 2, (a, _view("c", "Gamma")))
    changed = TagView("llms", "LLMs", "", "/tags/llms/", 2, (a, _view("c", "Delta")))
    # A change deep inside a nested view still changes the key of the page that shows it.
    assert keys.key("tag.html", {"tag": tag}) != keys.key("tag.html", {"tag": changed})


def test_a_view_with_a_digest_is_keyed_by_it() -> None:
    """Built views carry a digest of their inputs: keys then never pickle the whole view."""
    keys = reuse.PageKeys(b"salt")
    a = replace(_view("a", "Alpha"), digest="d1")
    same_digest = replace(_view("a", "Other"), digest="d1")
    assert keys.key("x", {"paper": a}) == keys.key("x", {"paper": same_digest})
    assert keys.key("x", {"paper": a}) != keys.key("x", {"paper": replace(a, digest="d2")})


def test_a_key_without_related_papers_leaves_out_only_them() -> None:
    keys = reuse.PageKeys(b"salt")
    a = replace(_view("a", "Alpha"), digest="d1", _related=(LinkView("B", "/papers/b/"),))
    b = replace(a, _related=(LinkView("C", "/papers/c/"),))  # the same but for related papers

    def tag(paper: PaperView) -> TagView:
        return TagView("llms", "LLMs", "", "/tags/llms/", 1, (paper,))

    def field(paper: PaperView) -> ViewField:
        return ViewField(paper, "summary")

    for shown in (lambda p: p, lambda p: (p,), tag, field):
        without = [keys.key("x", {"v": shown(p)}, related=False) for p in (a, b)]
        assert without[0] == without[1]
        assert keys.key("x", {"v": shown(a)}) != keys.key("x", {"v": shown(b)})
    assert keys.key("x", {"v": a}, related=False) != keys.key(
        "x", {"v": replace(a, digest="d2")}, related=False
    )
    # Never equal to a key with them, even for a view whose related papers are none.
    none = replace(a, _related=())
    assert keys.key("x", {"v": none}, related=False) != keys.key("x", {"v": none})


def test_a_page_key_stands_for_a_view_field_by_the_views_digest() -> None:
    keys = reuse.PageKeys(b"salt")
    view = _view("a", "Alpha")
    linked = replace(view, digest="d1")
    key = keys.key("x", {"description": ViewField(linked, "description")})
    assert key == keys.key(
        "x", {"description": ViewField(replace(linked, summary="y"), "description")}
    )
    assert key != keys.key(
        "x", {"description": ViewField(replace(view, digest="d2"), "description")}
    )
    assert key != keys.key("x", {"description": ViewField(linked, "summary")})
    assert key != keys.key("x", {"description": "x"})
    # Without a digest the field is keyed by the whole view.
    assert keys.key("x", {"d": ViewField(view, "summary")}) != keys.key(
        "x", {"d": ViewField(replace(view, summary="y"), "summary")}
    )


def test_a_rebuild_makes_the_details_only_of_the_views_it_shows(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild's paper views make their Markdown, plain text and citation when first read:
    for the pages and feeds made again, not for every paper."""
    config = site / "sitegen.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("feed_limit = 50", "feed_limit = 1"), encoding="utf-8")
    _settle(site)
    made: list[str] = []
    details = views._details

    def counted(paper: PaperPage, *args: Any) -> dict[str, object]:
        made.append(paper.slug)
        return details(paper, *args)

    monkeypatch.setattr(views, "_details", counted)
    rendered = _cached_entries(site, "markdown-block")
    # Forget the last build's digest: this one runs every stage, and carries every page over.
    (site / "_site" / write.MARKER).write_bytes(write.MARKER_TEXT)
    report = _build(site)
    assert report.carried == report.pages_written and report.changed == 0
    # Not even for the feeds' entries: they are made for a feed made again.
    assert made == []
    # The Markdown of the others, left unread, stays cached for a build that shows it (all
    # but the plain prose, which markup makes again rather than caches).
    pages = (site / "content" / "papers").glob("*.md")
    bodies = [frontmatter.split(p.read_text(encoding="utf-8"), p.name)[1] for p in pages]
    assert len(rendered) >= sum(markup.plain_paragraphs(b) is None for b in bodies) > 20
    assert _cached_entries(site, "markdown-block") == rendered
    made.clear()
    _build(site, use_cache=False)
    assert len(made) == report.papers  # a build from nothing makes them all, at once


def _cached_entries(site: Path, namespace: str) -> set[bytes]:
    saved = read_pickle(site / FOLDER / f"{namespace}.pickle")
    assert isinstance(saved, dict)
    return set(saved["entries"])


def test_two_output_folders_keep_their_own_records(site: Path) -> None:
    """A second output folder built from the same project must not make the first re-render."""
    _settle(site)
    _build(site, out="_other")
    _append(_papers(site)[-1], "\n")
    report = _build(site)
    assert report.carried > report.pages_written // 2


def test_the_search_index_is_rebuilt_only_when_an_indexed_page_changes(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settle(site)
    runs: list[int] = []
    index_site = search.index_site

    def counted(folder: Path, marked: Sequence[str]) -> list[OutputFile]:
        runs.append(len(marked))
        return index_site(folder, marked)

    monkeypatch.setattr(search, "index_site", counted)
    # A changed template renders every page again, but the indexed pages come out the same
    # (the tag index is not one of them): the index is kept.
    (site / "templates").mkdir()
    tags = (REPO / "themes" / "default" / "templates" / "tags.html").read_text(encoding="utf-8")
    (site / "templates" / "tags.html").write_text(tags + "\n<!-- changed -->\n", encoding="utf-8")
    report = _build(site)
    assert runs == [] and report.carried == 0
    assert (site / "_site" / "pagefind" / "pagefind.js").is_file()
    # A paper page is: changing one rebuilds the index.
    _append(_papers(site)[0], "\nA new sentence.\n")
    _build(site)
    assert len(runs) == 1 and runs[0] > 0


def test_cached_calls_a_macro_once_for_the_same_objects(site: Path) -> None:
    """`cached` (Hugo's partialCached): one call per macro and argument objects in a build."""
    config = load_config(root=site, environ={})
    renderer = render.SiteRenderer(config, urls.UrlMap(config.base_url))
    calls: list[dict[str, int]] = []

    def entry(paper: dict[str, int]) -> Markup:
        calls.append(paper)
        return Markup(f"<li>{paper['n']}</li>")

    first, equal = {"n": 1}, {"n": 1}  # equal values, other objects: other calls
    assert renderer.cached(entry, first) == renderer.cached(entry, first) == "<li>1</li>"
    assert renderer.cached(entry, equal) == "<li>1</li>"
    assert renderer.cached(lambda paper: Markup("other"), first) == "other"
    assert calls == [first, equal]
    template = renderer.env.from_string("{{ cached(entry, paper) }}{{ cached(entry, paper) }}")
    assert template.render(entry=entry, paper={"n": 2}) == "<li>2</li><li>2</li>"
    assert len(calls) == 3


def test_cached_keeps_the_latest_results_only(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "CACHED_CALLS", 2)
    config = load_config(root=site, environ={})
    renderer = render.SiteRenderer(config, urls.UrlMap(config.base_url))
    calls: list[int] = []

    def entry(paper: list[int]) -> str:
        calls.append(paper[0])
        return f"<li>{paper[0]}</li>"

    papers = [[n] for n in range(3)]
    assert [renderer.cached(entry, paper) for paper in papers] == [
        "<li>0</li>",
        "<li>1</li>",
        "<li>2</li>",
    ]
    assert renderer.cached(entry, papers[2]) == "<li>2</li>"  # kept
    assert renderer.cached(entry, papers[0]) == "<li>0</li>"  # dropped, so called again
    assert calls == [0, 1, 2, 0]


def test_a_rebuild_enters_its_staging_tree_after_the_views_and_feeds(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first rebuild after a cold build copies the published tree to the spare beside it,
    and its tree starts from that: the views and feeds, which need no tree, are made first.
    So does a rebuild whose spare the last swap left, which it walks beside it. A cold build
    enters its tree at once (it makes folders in it while it waits)."""
    _settle(site)
    order: list[str] = []
    staging_tree, channels = write.staging_tree, feeds.channels

    def noted(name: str, function: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            order.append(name)
            return function(*args, **kwargs)

        return call

    monkeypatch.setattr(write, "staging_tree", noted("tree", staging_tree))
    monkeypatch.setattr(feeds, "channels", noted("feeds", channels))
    spares = list((site / cache.FOLDER).glob(f"{reuse.SPARE_PREFIX}*"))
    assert spares  # the settling build's swap kept one
    for spare in spares:
        write.drop_spare(spare)  # as after a cold build
    _append(_papers(site)[0], "\nAn edit.\n")
    report = _build(site)
    assert report.carried and order == ["feeds", "tree"]
    order.clear()
    _append(_papers(site)[0], "\nAnother edit.\n")
    _build(site)  # its spare is in place: walked, not copied
    assert order == ["feeds", "tree"]
    order.clear()
    shutil.rmtree(site / cache.FOLDER)
    shutil.rmtree(site / "_site")
    _build(site)
    assert order == ["tree", "feeds"]
