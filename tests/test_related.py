"""Related papers: the ranking rules on small inline corpora, then the lists on the seed site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sitegen.related import Document, document_text, related_papers

_RELATED = re.compile(r'<section class="related".*?</section>', re.DOTALL)
_LINK = re.compile(r'<a href="[^"]*/papers/([^/"]+)/">')


def doc(slug: str, title: str, abstract: str = "") -> Document:
    return Document(slug, title, abstract)


def test_most_similar_first_and_never_itself() -> None:
    docs = [
        doc("a", "Sparse mixture of experts routing", "Experts routing tokens to sparse layers."),
        doc("b", "Routing tokens among sparse experts", "A sparse experts layer with routing."),
        doc("c", "Diffusion models for image synthesis", "Denoising diffusion generates images."),
        doc("d", "Image diffusion with fewer steps", "Faster denoising diffusion sampling."),
    ]
    related = related_papers(docs, k=2)
    assert related["a"][0] == "b"
    assert related["c"][0] == "d"
    assert all(slug not in others for slug, others in related.items())
    assert all(len(others) <= 2 for others in related.values())


def test_ties_are_broken_by_slug() -> None:
    # Three identical documents score exactly the same against the query document.
    same = "quantization of transformer weights to four bits"
    docs = [
        doc("query", "Quantization of weights", same),
        doc("zeta", "Other", same),
        doc("alpha", "Other", same),
        doc("mid", "Other", same),
        doc("unrelated", "Reinforcement learning agents", "Policy gradients in games."),
    ]
    assert related_papers(docs, k=3)["query"] == ("alpha", "mid", "zeta")


def test_result_does_not_depend_on_input_order_or_block_size() -> None:
    docs = [
        doc(f"p{i:02d}", f"Paper {i} about topic {i % 4}", f"words topic{i % 4} shared{i % 3}")
        for i in range(30)
    ]
    forward = dict(related_papers(docs, k=5))
    backward = dict(related_papers(list(reversed(docs)), k=5, block_rows=7))
    assert forward == backward


def test_papers_sharing_no_word_get_no_list() -> None:
    docs = [doc("a", "Graph neural networks"), doc("b", "Protein folding")]
    assert related_papers(docs) == {"a": (), "b": ()}


def test_degenerate_corpora() -> None:
    assert related_papers([]) == {}
    assert related_papers([doc("only", "A lonely paper")]) == {"only": ()}
    # Only stop words: nothing to compare, and no error.
    assert related_papers([doc("a", "the and of"), doc("b", "is it the")]) == {"a": (), "b": ()}


def test_duplicate_slugs_are_refused() -> None:
    with pytest.raises(ValueError):
        related_papers([doc("a", "x y"), doc("a", "x z")])


def test_document_text_weights_the_title_and_drops_markup_names() -> None:
    text = document_text(r"$\textit{Refiner}$", r"See \url{https://github.com/x/y} \eg here")
    assert text.count("Refiner") == 3
    assert "textit" not in text and "github" not in text and "eg" not in text.split()


def related_slugs(site: Path) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    for page in sorted((site / "papers").glob("*/index.html")):
        match = _RELATED.search(page.read_text(encoding="utf-8"))
        lists[page.parent.name] = _LINK.findall(match.group(0)) if match else []
    return lists


def test_every_seed_paper_has_related_papers(seed_site: Path) -> None:
    lists = related_slugs(seed_site)
    assert len(lists) == 81
    for slug, others in lists.items():
        assert 1 <= len(others) <= 5, slug
        assert slug not in others
        assert len(set(others)) == len(others)
        assert all((seed_site / "papers" / o / "index.html").is_file() for o in others)


def test_related_lists_are_identical_across_builds(seed_site: Path, seed_site_repo: Path) -> None:
    assert related_slugs(seed_site) == related_slugs(seed_site_repo)


def test_related_papers_make_sense_on_the_seed(seed_site: Path) -> None:
    lists = related_slugs(seed_site)
    xcomposer = [s for s in lists if s.startswith("internlm-xcomposer")]
    assert len(xcomposer) == 2
    first, second = sorted(xcomposer)
    assert second in lists[first] and first in lists[second]
    translation = [s for s in lists if "boosting-translation" in s]
    assert len(translation) == 2
    assert lists[translation[0]][0] == translation[1]
    assert lists[translation[1]][0] == translation[0]
    deepseek = next(s for s in lists if s.startswith("deepseekmoe"))
    assert next(s for s in lists if s.startswith("moe-llava")) in lists[deepseek]
