"""The no-change shortcut: skipped only when every input is the same, and never otherwise."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from sitegen import cache, write
from sitegen.build import build
from sitegen.config import load_config
from sitegen.errors import ConfigError, SitegenError
from sitegen.report import BuildReport
from tests.conftest import REPO

Snapshot = dict[str, tuple[int, int, bytes]]


def _build(root: Path, base_url: str | None = None, **options: bool) -> BuildReport:
    return build(load_config(root=root, base_url=base_url, environ={}), **options)


def _snapshot(folder: Path) -> Snapshot:
    """Every file's inode, mtime and bytes: a rewrite changes at least the mtime."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def site(seed_copy: Path) -> Path:
    return seed_copy


def test_no_change_build_renders_and_rewrites_nothing(site: Path) -> None:
    """The site was copied to another folder: its digest names paths relative to the project."""
    before = _snapshot(site / "_site")
    report = _build(site)
    assert report.unchanged
    assert (report.papers, report.changed, report.content_written) == (81, 0, 0)
    assert report.files == len(before) - 1  # the marker is not an output file
    assert report.pages_written > report.papers
    assert _snapshot(site / "_site") == before


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _first_paper(site: Path) -> Path:
    return sorted((site / "content" / "papers").glob("*.md"))[0]


EDITS: dict[str, Callable[[Path], None]] = {
    "seed": lambda site: _append(next((site / "seeds").iterdir()), "\n"),
    "content page": lambda site: _append(_first_paper(site), "\nAn edit by hand.\n"),
    "new content page": lambda site: (site / "content" / "about.md").write_text(
        "---\ntitle: About\n---\nAbout this site.\n", encoding="utf-8"
    ),
    "site template": lambda site: (
        (site / "templates").mkdir()
        or shutil.copy2(REPO / "themes" / "default" / "templates" / "page.html", site / "templates")
    ),
    "site static file": lambda site: (
        (site / "static").mkdir()
        or (site / "static" / "extra.txt").write_text("x", encoding="utf-8")
    ),
    "config": lambda site: (site / "sitegen.toml").write_text(
        (site / "sitegen.toml")
        .read_text(encoding="utf-8")
        .replace('title = "Trending Papers"', 'title = "Other Papers"'),
        encoding="utf-8",
    ),
}


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_changing_one_input_rebuilds(site: Path, kind: str) -> None:
    EDITS[kind](site)
    report = _build(site)
    assert not report.unchanged
    assert report.changed or kind in ("seed", "site template")  # same bytes may follow
    if kind == "config":
        assert "Other Papers" in (site / "_site" / "index.html").read_text(encoding="utf-8")
    if kind == "site static file":
        assert (site / "_site" / "static" / "extra.txt").is_file() or any(
            p.name == "extra.txt" for p in (site / "_site").rglob("*")
        )
    # The rebuilt site is a fixed point again: the next build is the shortcut.
    assert _build(site).unchanged


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unchanged files are not read again (their hashes are kept with their status), but any
    write moves a file's ctime, which a restored mtime cannot hide."""
    monkeypatch.setattr(cache, "_SETTLED_NS", -(10**12))  # keep even files written just now
    _append(_first_paper(site), "\nSome text.\n")
    assert not _build(site).unchanged
    read: list[Path] = []
    read_bytes = Path.read_bytes

    def counted(path: Path) -> bytes:
        read.append(path)
        return read_bytes(path)

    with monkeypatch.context() as patched:
        patched.setattr(Path, "read_bytes", counted)
        assert _build(site).unchanged
    assert not [p for p in read if "content" in p.parts]  # every page's hash was kept
    page = _first_paper(site)
    before = page.stat()
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("Some text.", "Same size."), encoding="utf-8")
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert page.stat().st_size == before.st_size
    assert page.stat().st_mtime_ns == before.st_mtime_ns
    assert not _build(site).unchanged
    assert "Same size." in (site / "_site" / "papers" / page.stem / "index.html").read_text("utf-8")


def test_base_url_option_rebuilds(site: Path) -> None:
    report = _build(site, base_url="https://example.org/repo/")
    assert not report.unchanged and report.changed
    assert "https://example.org/repo/" in (site / "_site" / "sitemap.xml").read_text("utf-8")
    assert not _build(site).unchanged  # back to the configured URL: rendered again


def test_strict_no_cache_and_a_damaged_marker_rebuild(site: Path) -> None:
    assert not _build(site, strict=True).unchanged  # flags are inputs too
    assert not _build(site, use_cache=False).unchanged
    (site / "_site" / write.MARKER).write_bytes(write.MARKER_TEXT)
    assert not _build(site, strict=True).unchanged
    assert _build(site, strict=True).unchanged


def test_search_setting_turns_the_index_off_and_on(site: Path) -> None:
    toml = site / "sitegen.toml"
    original = toml.read_text(encoding="utf-8")
    assert (site / "_site" / "pagefind" / "pagefind-entry.json").is_file()
    toml.write_text(original + "search = false\n", encoding="utf-8")
    report = _build(site)
    assert not report.unchanged and "search" not in report.timings
    assert not (site / "_site" / "pagefind").exists()
    assert (site / "_site" / "index.html").is_file()
    toml.write_text(original + "search = true\n", encoding="utf-8")
    assert not _build(site).unchanged
    assert (site / "_site" / "pagefind" / "pagefind-entry.json").is_file()


@pytest.mark.parametrize("value", ['"no"', "0", "1"])
def test_search_setting_must_be_a_boolean(site: Path, value: str) -> None:
    toml = site / "sitegen.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f"search = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'search' must be bool"):
        load_config(root=site, environ={})


def test_a_skipped_build_repeats_the_last_builds_warnings(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sitegen import report as report_module

    monkeypatch.setattr(report_module, "PAGES_LIMIT_BYTES", 100_000)
    EDITS["content page"](site)  # the patched limit is no input: change one so the build runs
    warned = _build(site)
    assert not warned.unchanged and warned.warnings
    again = _build(site)
    assert again.unchanged and again.warnings == warned.warnings
    with pytest.raises(SitegenError, match="--strict"):
        _build(site, strict=True)  # a different input: built in full, and refused


def test_a_cold_build_reads_each_content_page_once(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest's reading of content/ is the build's: no page is read twice."""
    shutil.rmtree(site / cache.FOLDER)
    shutil.rmtree(site / "_site")
    (site / "content" / "about.md").write_text("---\ntitle: About\n---\n\nWho we are.\n")
    reads: dict[str, int] = {}
    read_bytes = cache.read_bytes

    def counted(path: str) -> bytes:
        reads[path] = reads.get(path, 0) + 1
        return read_bytes(path)

    monkeypatch.setattr(cache, "read_bytes", counted)
    report = _build(site)
    assert report.papers == 81 and not report.unchanged
    assert (site / "_site" / "about" / "index.html").is_file()
    pages = sorted(str(page) for page in (site / "content").rglob("*.md"))
    assert len(pages) == 82  # the paper pages and a standalone one
    assert {page: reads.get(page) for page in pages} == dict.fromkeys(pages, 1)


def test_a_page_edited_after_the_digest_is_built_as_hashed(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build renders the text its inputs' digest was taken from; a page saved meanwhile
    leaves the digest unsettled, so the next build renders it."""
    page = _first_paper(site)
    _append(page, "\nBefore the digest.\n")
    from sitegen import shortcut

    inputs_digest = shortcut.inputs_digest

    def then_edited(*args: object, **kwargs: object) -> str:
        digest = inputs_digest(*args, **kwargs)  # type: ignore[arg-type]
        if kwargs.get("texts") is not None:  # the build's own digest, not the settled one
            _append(page, "\nSaved during the build.\n")
        return digest

    monkeypatch.setattr(shortcut, "inputs_digest", then_edited)
    _build(site)
    monkeypatch.undo()
    html = "".join(p.read_text(encoding="utf-8") for p in (site / "_site").rglob("*.html"))
    assert "Before the digest." in html and "Saved during the build." not in html
    assert "Saved during the build." in page.read_text(encoding="utf-8")  # kept, not overwritten
    again = _build(site)
    assert not again.unchanged
    html = "".join(p.read_text(encoding="utf-8") for p in (site / "_site").rglob("*.html"))
    assert "Saved during the build." in html
