"""Content pages: generated once, refreshed while untouched, never overwritten once edited."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from sitegen import content, frontmatter
from sitegen.build import parse_seeds, read_pages
from sitegen.config import load_config
from sitegen.errors import ParseError
from sitegen.models import Appearance
from sitegen.report import BuildReport
from sitegen.taxonomy import TagRule, Taxonomy, site_taxonomy
from tests.conftest import REPO, build_project, seed_project, write_tree

PUMA = "content/papers/puma-secure-inference-of-llama-7b-in-five-minutes.md"

DAY_ONE = """Mar 11

First Paper About Sparse Experts

We study a mixture of experts model and show that routing tokens to sparse experts improves quality at equal compute. Experiments cover three benchmarks.
"""
DAY_TWO = """Mar 12

First Paper About Sparse Experts

We study a mixture of experts model and show that routing tokens to sparse experts improves quality at equal compute. Experiments cover four benchmarks now.

Second Paper On Quantization

We quantize the weights of a large language model to four bits and keep the accuracy within one point of the full-precision model on standard benchmarks.
"""


def test_seed_pages_have_front_matter_and_abstract(tmp_path: Path) -> None:
    root = seed_project(tmp_path / "site")
    build_project(root)
    pages = sorted((root / "content" / "papers").glob("*.md"))
    assert len(pages) == 81
    meta, body = frontmatter.split((root / PUMA).read_text(encoding="utf-8"), PUMA)
    assert meta["title"] == "PUMA: Secure Inference of LLaMA-7B in Five Minutes"
    assert meta["slug"] == "puma-secure-inference-of-llama-7b-in-five-minutes"
    assert str(meta["date"]) == "2025-03-11"
    assert meta["source"] == "seeds/2025-03-11.txt"
    assert isinstance(meta["tags"], list) and meta["tags"]
    assert body.startswith("With ChatGPT as a representative")


def test_hand_edits_survive_a_rebuild(tmp_path: Path) -> None:
    root = seed_project(tmp_path / "site")
    config, _ = build_project(root)
    page = root / PUMA
    text = page.read_text(encoding="utf-8")
    edited = (
        text.replace("tags:\n", "reading_group: week 12\ntags:\n- must-read\n", 1).split("\n---\n")[
            0
        ]
        + "\n---\n\nOur own summary: *secure* inference, fast.\n"
    )
    page.write_text(edited, encoding="utf-8")
    _, report = build_project(root)
    assert page.read_text(encoding="utf-8") == edited
    assert report.warnings == []
    html = config.output_dir / "papers/puma-secure-inference-of-llama-7b-in-five-minutes/index.html"
    rendered = html.read_text(encoding="utf-8")
    assert "Our own summary: <em>secure</em> inference, fast." in rendered
    assert "/tags/must-read/" in rendered
    assert (config.output_dir / "tags/must-read/index.html").is_file()


def test_untouched_pages_follow_the_feed_and_edited_ones_warn(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "site", {"seeds/2025-03-11.txt": DAY_ONE})
    build_project(root)
    page = root / "content/papers/first-paper-about-sparse-experts.md"
    assert "three benchmarks" in page.read_text(encoding="utf-8")

    write_tree(root, {"seeds/2025-03-12.txt": DAY_TWO})
    _, report = build_project(root)
    meta, body = frontmatter.split(page.read_text(encoding="utf-8"), "page")
    assert "four benchmarks now" in body, "an untouched page takes the feed's newer text"
    assert [str(a["date"]) for a in meta["appeared"]] == ["2025-03-11", "2025-03-12"]
    assert report.warnings == []

    page.write_text(page.read_text(encoding="utf-8") + "\nMy note.\n", encoding="utf-8")
    edited = page.read_text(encoding="utf-8")
    write_tree(root, {"seeds/2025-03-12.txt": DAY_TWO.replace("four", "five")})
    config, report = build_project(root)
    assert page.read_text(encoding="utf-8") == edited
    assert [str(w.location) for w in report.warnings] == [
        "content/papers/first-paper-about-sparse-experts.md"
    ]
    day_page = config.output_dir / "days/2025-03-12/index.html"
    assert "First Paper About Sparse Experts" in day_page.read_text(encoding="utf-8")


def test_slug_is_read_from_the_page_never_recomputed(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "site", {"seeds/2025-03-11.txt": DAY_ONE})
    build_project(root)
    old = root / "content/papers/first-paper-about-sparse-experts.md"
    text = old.read_text(encoding="utf-8").replace(
        "slug: first-paper-about-sparse-experts", "slug: sparse-experts"
    )
    old.unlink()
    write_tree(root, {"content/papers/sparse-experts.md": text})
    config, _ = build_project(root)
    assert sorted(p.name for p in (root / "content/papers").iterdir()) == ["sparse-experts.md"]
    assert (config.output_dir / "papers/sparse-experts/index.html").is_file()
    assert not (config.output_dir / "papers/first-paper-about-sparse-experts").exists()


def _hf_day(arxiv_id: str, title: str, summary: str, day: str) -> str:
    import json

    record = {
        "paper": {
            "id": arxiv_id,
            "title": title,
            "summary": summary,
            "authors": [{"name": "A. Author"}],
            "publishedAt": f"{day}T09:00:00Z",
        },
        "publishedAt": f"{day}T09:00:00Z",
        "title": title,
    }
    return json.dumps([record])


def test_two_papers_with_one_title_never_share_a_page(tmp_path: Path) -> None:
    summary = "We revisit attention and show that it is still all you need for sequence tasks."
    root = write_tree(
        tmp_path / "site",
        {
            "seeds/2025-03-10-hf_daily.json": _hf_day(
                "2401.00001", "Attention Is All You Need", summary, "2025-03-10"
            )
        },
    )
    build_project(root)
    write_tree(
        root,
        {
            "seeds/2025-03-11-hf_daily.json": _hf_day(
                "2501.99999",
                "Attention Is All You Need",
                "A different paper. " + summary,
                "2025-03-11",
            )
        },
    )
    _, report = build_project(root)
    keys = sorted(
        str(frontmatter.split(p.read_text(encoding="utf-8"), p.name)[0]["key"])
        for p in (root / "content/papers").glob("*.md")
    )
    assert keys == ["arxiv:2401.00001", "arxiv:2501.99999"]
    assert report.papers == 2
    first = root / "content/papers/attention-is-all-you-need.md"
    assert "arxiv:2401.00001" in first.read_text(encoding="utf-8"), "the first URL keeps its paper"
    assert (root / "content/papers/attention-is-all-you-need-2.md").is_file()


def test_a_hand_written_date_with_a_time_is_its_day(tmp_path: Path) -> None:
    page = "---\ntitle: My Own Paper\ndate: 2025-03-12 10:00:00\n---\n\nNotes on a paper.\n"
    root = write_tree(
        tmp_path / "site", {"seeds/2025-03-11.txt": DAY_ONE, "content/papers/my-own-paper.md": page}
    )
    config, _ = build_project(root)
    assert (config.output_dir / "days/2025-03-12/index.html").is_file()
    assert (config.output_dir / "papers/my-own-paper/index.html").is_file()


def test_an_edit_saved_during_a_build_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sitegen import write

    root = write_tree(tmp_path / "site", {"seeds/2025-03-11.txt": DAY_ONE})
    build_project(root)
    page = root / "content/papers/first-paper-about-sparse-experts.md"
    write_tree(root, {"seeds/2025-03-12.txt": DAY_TWO})
    real = write.write_content

    def save_first(*args: object, **kwargs: object) -> list[str]:
        # The person saves the page after the merge read it, before the build writes it.
        page.write_text(page.read_text(encoding="utf-8") + "\nSaved mid-build.\n")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(write, "write_content", save_first)
    _, report = build_project(root)
    assert page.read_text(encoding="utf-8").endswith("Saved mid-build.\n")
    assert [str(w.location) for w in report.warnings] == [
        "content/papers/first-paper-about-sparse-experts.md"
    ]
    assert "changed while the build ran" in report.warnings[0].message


def test_the_committed_content_is_what_a_build_writes(tmp_path: Path) -> None:
    """The repo's content/ is current: building the repo's own seeds changes none of it."""
    root = seed_project(tmp_path / "repo-copy")
    shutil.copytree(REPO / "content", root / "content")
    _, report = build_project(root)
    assert report.content_written == 0
    assert report.warnings == []


def test_a_loaded_paper_is_a_function_of_its_source_but_for_thin_tags(
    seed_copy: Path,
) -> None:
    """What `PaperPage.source_digest` promises: the site's papers are each page loaded on its
    own from its path, text and appearances, but for the tags the thin-tag cut drops.
    A step that changed a paper from anything else would leave its view's digest stale."""
    config = load_config(root=seed_copy, environ={})
    papers, _ = parse_seeds(config, BuildReport())
    taxonomy = site_taxonomy(config.taxonomy, config.tags)
    pages = read_pages(config.content_dir / "papers", config, "*.md")
    # A taxonomy tag found in one paper only: cut from the site, and so from its paper.
    puma = pages[PUMA]
    pages[PUMA] = puma.replace("\ntags:\n", "\ntags:\n- rare-topic\n", 1)
    rare = TagRule("rare-topic", "Rare topic", "", ())
    taxonomy = Taxonomy((*taxonomy.rules, rare))
    merged = content.merge(papers, pages, taxonomy, "content")
    site = content.load_site(merged.pages, {}, taxonomy, merged.appearances, merged.parsed)
    assert len(site.papers) == 81
    cut = 0
    for paper in site.papers:
        path = paper.content_path
        alone = content.load_paper_page(path, merged.pages[path], taxonomy, merged.appearances)
        assert alone.source_digest == paper.source_digest != ""
        assert replace(alone, tags=paper.tags) == paper
        cut += alone.tags != paper.tags
    assert cut == 1 and "rare-topic" not in {t.slug for t in site.tags}


def test_the_related_papers_are_computed_from_the_papers_the_site_loads(
    seed_copy: Path,
) -> None:
    """The related papers start from the pages before the site is loaded: from the same
    slugs, titles (cleaned as loading cleans them) and bodies as the loaded papers'."""
    config = load_config(root=seed_copy, environ={})
    papers, _ = parse_seeds(config, BuildReport())
    taxonomy = site_taxonomy(config.taxonomy, config.tags)
    pages = read_pages(config.content_dir / "papers", config, "*.md")
    pages[PUMA] = pages[PUMA].replace("\ntitle: '", "\ntitle: '\u200b", 1)  # a zero-width space
    merged = content.merge(papers, pages, taxonomy, "content")
    documents = content.related_documents(merged.pages, merged.parsed)
    site = content.load_site(merged.pages, {}, taxonomy, merged.appearances, merged.parsed)
    assert sorted(documents) == sorted((p.slug, p.title, p.body) for p in site.papers)
    assert len(documents) == 81 and not any("\u200b" in title for _, title, _ in documents)
    # A page loading refuses is left out, for loading to report.
    untitled = {**merged.pages, PUMA: merged.pages[PUMA].replace("\ntitle: ", "\nname: ", 1)}
    assert len(content.related_documents(untitled, {})) == 80
    with pytest.raises(ParseError, match="needs a `title`"):
        content.load_site(untitled, {}, taxonomy, merged.appearances)


def test_a_paper_source_digest_changes_with_each_of_its_inputs(seed_copy: Path) -> None:
    text = (seed_copy / PUMA).read_text(encoding="utf-8")
    taxonomy = site_taxonomy(None, ())
    paper = content.load_paper_page(PUMA, text, taxonomy, {})
    seen = {paper.key: (Appearance(date(2025, 3, 12), "seeds/2025-03-12.txt", 4),)}
    other = Taxonomy((*taxonomy.rules, TagRule("rare-topic", "Rare topic")))
    variants = [
        content.load_paper_page(PUMA, text, taxonomy, {}),
        content.load_paper_page(PUMA.replace("puma", "puma-2"), text, taxonomy, {}),
        content.load_paper_page(PUMA, text.replace("5 minutes", "6 minutes"), taxonomy, {}),
        content.load_paper_page(PUMA, text, taxonomy, seen),
        content.load_paper_page(PUMA, text, other, {}),
    ]
    digests = [v.source_digest for v in variants]
    assert digests[0] == paper.source_digest
    assert len(set(digests[1:])) == 4 and paper.source_digest not in digests[1:]


def test_a_paper_listed_again_with_an_arxiv_id_keeps_its_page(tmp_path: Path) -> None:
    """First listed by title alone, then with an arXiv id: the page is found by its title."""
    root = write_tree(tmp_path / "site", {"seeds/2025-03-11.txt": DAY_ONE})
    build_project(root)
    summary = "We study a mixture of experts model and show that routing tokens helps."
    listed = _hf_day("2503.01234", "First Paper About Sparse Experts", summary, "2025-03-12")
    write_tree(root, {"seeds/2025-03-12-hf_daily.json": listed})
    _, report = build_project(root)
    (page,) = (root / "content/papers").glob("*.md")
    meta, _ = frontmatter.split(page.read_text(encoding="utf-8"), page.name)
    assert report.papers == 1
    assert [a["date"] for a in meta["appeared"]] == [date(2025, 3, 11), date(2025, 3, 12)]
