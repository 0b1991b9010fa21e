"""Related papers: the ranking rules on small inline corpora, then the lists on the seed site."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sitegen import cache, related
from sitegen.related import Document, count_terms, document_text, related_papers

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


def test_stop_words_are_scikit_learns_list() -> None:
    assert len(related.STOP_WORDS) == 318
    assert {"the", "and", "amoungst", "yourselves", "thereupon"} <= related.STOP_WORDS
    assert not {"model", "data", "learning"} & related.STOP_WORDS


def _terms(text: str) -> list[tuple[str, int]]:
    return list(count_terms(text).items())


def test_terms_keep_first_use_order_and_count_repeats() -> None:
    assert _terms("Beta alpha, the BETA; a gamma x beta") == [
        ("beta", 3),
        ("alpha", 1),
        ("gamma", 1),
    ]
    assert _terms("the and of") == []
    assert _terms("") == []


def test_terms_are_lowercased_before_accents_are_stripped() -> None:
    # "İ" lowercases to "i" plus a combining dot, which stripping then drops.
    assert list(count_terms("Café RÉSUMÉ İstanbul naïve")) == [
        "cafe",
        "resume",
        "istanbul",
        "naive",
    ]
    # A compatibility letter that decomposes to a capital stays capital, as in scikit-learn.
    assert list(count_terms("ᴬB x ᴬ")) == ["Ab"]


def test_ascii_and_unicode_tokenizing_agree() -> None:
    # Pure ASCII texts skip the regex; one non-ASCII letter sends the same words through it.
    text = "x_y a1 7 ab-cd (e) f.g h2o __ don't 3.14 k"
    ascii_terms = _terms(text)
    unicode_terms = _terms(text + " ω")
    assert ascii_terms == [(t, 1) for t in ["x_y", "a1", "ab", "cd", "h2o", "__", "don", "14"]]
    assert unicode_terms == ascii_terms  # "ω" is one letter: no term


def test_tie_at_the_kth_place_is_broken_by_slug() -> None:
    # "best" shares two words with the query; the three others share exactly one each, alike.
    docs = [
        doc("query", "alpha beta", "alpha beta"),
        doc("best", "alpha beta", "alpha beta gamma"),
        doc("tie-c", "alpha", "delta"),
        doc("tie-a", "alpha", "delta"),
        doc("tie-b", "alpha", "delta"),
    ]
    assert related_papers(docs, k=2)["query"] == ("best", "tie-a")
    assert related_papers(docs, k=3)["query"] == ("best", "tie-a", "tie-b")


def test_empty_and_stop_word_documents_among_others() -> None:
    docs = [
        doc("a", "Graph neural networks", "message passing on graphs"),
        doc("b", "Graph transformers", "attention on graphs"),
        doc("empty", "", ""),
        doc("stop", "the and", "of it"),
    ]
    related_lists = related_papers(docs)
    assert related_lists["a"] == ("b",) and related_lists["b"] == ("a",)
    assert related_lists["empty"] == () and related_lists["stop"] == ()


def test_terms_in_too_many_papers_are_dropped() -> None:
    # Past MAX_DF papers, a word in every paper says nothing: here no word is left at all.
    docs = [doc(f"p{i:04d}", "shared words", "everywhere") for i in range(related.MAX_DF + 1)]
    assert set(related_papers(docs).values()) == {()}
    docs.append(doc("x", "rare topic", "rare"))
    docs.append(doc("y", "rare subject", "rare"))
    docs.append(doc("0-empty", "", ""))  # first in slug order, and without a single term
    lists = related_papers(docs)
    assert lists["x"] == ("y",) and lists["p0000"] == () and lists["0-empty"] == ()


def test_tfidf_weights_follow_the_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sublinear tf 1 + ln(tf), smooth idf ln((1 + n) / (1 + df)) + 1, rows of length one.
    monkeypatch.setattr(related, "MAX_DF", 2)  # with 3 papers, "common" (in all 3) is dropped
    texts = ["graph graph common", "common vision graph", "common speech"]
    matrix = related._tfidf(related._count([doc("", "", text) for text in texts], None))
    assert matrix is not None and matrix.dtype == np.float32
    # Columns by first use once "common" is gone: graph, vision, speech.
    idf = {"graph": np.log(4 / 3) + 1, "vision": np.log(4 / 2) + 1, "speech": np.log(4 / 2) + 1}
    rows = [
        {"graph": (1 + np.log(2)) * idf["graph"]},
        {"vision": idf["vision"], "graph": idf["graph"]},
        {"speech": idf["speech"]},
    ]
    dense = matrix.toarray()
    for i, weights in enumerate(rows):
        norm = np.sqrt(sum(w * w for w in weights.values()))
        expected = [weights.get(t, 0.0) / norm for t in ("graph", "vision", "speech")]
        assert np.allclose(dense[i], expected, atol=1e-6)


def _reference_top_k(docs: list[Document], k: int) -> dict[str, tuple[str, ...]]:
    """The ranking rules one row at a time: round, drop self and zeros, sort, cut at k."""
    ordered = sorted(docs, key=lambda d: d.slug)
    matrix = related._tfidf(related._count(ordered, None))
    assert matrix is not None
    scores = np.round((matrix @ matrix.T.tocsr()).toarray(), related.SCORE_DECIMALS)
    lists = {}
    for i, d in enumerate(ordered):
        ranked = sorted((-s, j) for j, s in enumerate(scores[i]) if j != i and s > 0)
        lists[d.slug] = tuple(ordered[j].slug for _, j in ranked[:k])
    return lists


@pytest.mark.parametrize("k", [1, 3, 5])
def test_vectorised_top_k_matches_one_row_at_a_time(
    k: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Eight words make many papers score exactly alike: ties at and across the k-th place.
    rng = np.random.default_rng(k)
    words = ["graph", "neural", "sparse", "expert", "token", "vision", "speech", "agent"]
    docs = [
        doc(f"p{i:03d}", " ".join(rng.choice(words, 2)), " ".join(rng.choice(words, 3)))
        for i in range(150)
    ]
    expected = _reference_top_k(docs, k)
    assert dict(related_papers(docs, k=k)) == expected
    # Small blocks, by rows and by products, give the same lists.
    assert dict(related_papers(docs, k=k, block_rows=7)) == expected
    monkeypatch.setattr(related, "BLOCK_PRODUCTS", 1000)
    assert dict(related_papers(docs, k=k)) == expected


def test_a_ranking_split_between_two_processes_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    words = ["graph", "neural", "sparse", "expert", "token", "vision", "speech", "agent"]
    docs = [
        doc(f"p{i:03d}", " ".join(rng.choice(words, 2)), " ".join(rng.choice(words, 3)))
        for i in range(150)
    ]
    ranked_here: list[int] = []
    block_top_k = related._block_top_k

    def recorded(*args: Any) -> Any:
        ranked_here.append(os.getpid())  # a forked process's calls are not seen here
        return block_top_k(*args)

    monkeypatch.setattr(related, "_block_top_k", recorded)
    alone = dict(related_papers(docs, k=3, block_rows=7))
    blocks = len(ranked_here)
    assert blocks >= related.SPLIT_MIN_BLOCKS
    ranked_here.clear()
    assert dict(related_papers(docs, k=3, block_rows=7, jobs=2)) == alone
    assert len(ranked_here) == blocks // 2  # the other half in the forked process


def test_terms_come_from_the_model_on_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [
        doc("a", "Sparse experts", "Routing tokens to experts."),
        doc("b", "Dense experts", "Every expert sees every token."),
        doc("c", "Speech agents", "Agents that talk."),
    ]
    memory = tmp_path / related.MODEL_FILE
    counted: list[str] = []
    count = related.count_terms

    def counting(text: str) -> Counter[str]:
        counted.append(text.rsplit("\n", 1)[-1])  # the abstract
        return count(text)

    monkeypatch.setattr(related, "count_terms", counting)
    with cache.using(cache.Cache()):
        first = related_papers(docs, memory=memory)
        assert len(counted) == 3
        assert related_papers(docs, memory=memory) == first
        assert len(counted) == 3
        # One paper changed: only it is tokenised again.
        docs[2] = doc("c", "Speech agents", "Agents that listen.")
        related_papers(docs, memory=memory)
        assert counted[3:] == ["Agents that listen."]
        # A paper added changes every idf, and so every list: still only it is tokenised.
        docs.append(doc("d", "Token routing", "Experts and agents."))
        assert dict(related_papers(docs, memory=memory)) == dict(related_papers(docs))
        assert counted[4:] == ["Experts and agents.", *(d.abstract for d in docs)]


@pytest.mark.parametrize("seed", range(4))
def test_terms_counted_from_the_last_count_equal_a_count_from_scratch(seed: int) -> None:
    """Whatever the edits, additions and removals, reusing the last count changes nothing:
    the words, their numbering by first use, and every row."""
    rng = np.random.default_rng(seed)
    words = [*_WORDS, "the", "and"]  # stop words too: a text can count no term at all
    texts = [" ".join(rng.choice(words, int(rng.integers(0, 6)))) for _ in range(40)]

    def count(last: Any) -> Any:
        return related._count([doc("", "", text) for text in texts], last)

    last = count(None)
    for step in range(12):
        index = int(rng.integers(len(texts)))
        kind = step % 4
        if kind == 0:  # a new word, first used here: the numbers of later words move
            texts[index] = f"new{step} {texts[index]}"
        elif kind == 1:  # a text removed, and with it maybe a word's first use
            del texts[index]
        elif kind == 2:  # a text added in the middle
            texts.insert(index, " ".join(rng.choice(words, 4)))
        else:  # words reordered: the same terms, another order of first use
            texts[index] = " ".join(reversed(texts[index].split()))
        reused, fresh = count(last), count(None)
        assert reused.digests == fresh.digests and reused.words == fresh.words, step
        for name in ("indptr", "terms", "counts"):
            assert np.array_equal(getattr(reused, name), getattr(fresh, name)), (step, name)
        assert reused.terms.dtype == fresh.terms.dtype
        last = reused


# Sixty words over 200 papers: each in about 35 of them, near the lowered document-frequency
# cut below, so that edits move words across it.
_WORDS = [f"{stem}{n}" for stem in ("graph", "sparse", "vision") for n in range(20)]


def _random_doc(rng: np.random.Generator, slug: str) -> Document:
    return doc(slug, " ".join(rng.choice(_WORDS, 3)), " ".join(rng.choice(_WORDS, 8)))


def _edited(rng: np.random.Generator, paper: Document, step: int) -> Document:
    """One kind of edit a person makes to a paper, picked at random."""
    words = paper.abstract.split()
    kind = step % 5
    if kind == 0:  # a word the corpus knows
        return doc(paper.slug, paper.title, f"{paper.abstract} {rng.choice(_WORDS)}")
    if kind == 1:  # a word no other paper has
        return doc(paper.slug, paper.title, f"{paper.abstract} novelty{step}")
    if kind == 2:  # a word dropped
        return doc(paper.slug, paper.title, " ".join(words[1:]))
    if kind == 3:  # a new title
        return doc(paper.slug, " ".join(rng.choice(_WORDS, 3)), paper.abstract)
    return paper  # saved as it was


@pytest.mark.parametrize("max_df", [related.MAX_DF, 40])
def test_an_updated_ranking_is_the_ranking_from_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_df: int
) -> None:
    """Edit after edit, the ranking updated from the last model equals ranking every row,
    also when an edit moves a term across the document-frequency cut."""
    monkeypatch.setattr(related, "MAX_DF", max_df)
    rng = np.random.default_rng(max_df)
    docs = [_random_doc(rng, f"p{i:03d}") for i in range(200)]
    memory = tmp_path / related.MODEL_FILE
    ranked: list[int] = []
    rank = related._rank

    def counted(*args: Any) -> Any:
        ranking = rank(*args)
        ranked.append(len(args[2]))
        return ranking

    with cache.using(cache.Cache()):
        related_papers(docs, k=3, memory=memory)
        monkeypatch.setattr(related, "_rank", counted)
        for step in range(15):
            index = int(rng.integers(len(docs)))
            docs[index] = _edited(rng, docs[index], step)
            updated = dict(related_papers(docs, k=3, block_rows=16, memory=memory))
            assert updated == dict(related_papers(docs, k=3)), f"step {step}"
    # The fresh rankings rank all 200 rows; most updates far fewer (an edit to a word in a third
    # of the papers changes all their weights, and those rank everything again).
    assert len([rows for rows in ranked if rows < 50]) >= 5


def test_an_edited_paper_tying_with_the_last_of_a_list_enters_it_by_slug(tmp_path: Path) -> None:
    """The edit changes only paper a's own weights (its words stay the same), so the other
    lists are updated, not ranked again: a now ties with b, c and d for q, and wins by slug."""
    same = "Sparse routing experts"
    docs = [doc("a", "Sparse routing routing experts"), doc("zz", "Speech agents")]
    docs += [doc(slug, same) for slug in ("b", "c", "d", "q")]
    memory = tmp_path / related.MODEL_FILE
    with cache.using(cache.Cache()):
        assert related_papers(docs, k=2, memory=memory)["q"] == ("b", "c")
        docs[0] = doc("a", same)
        assert related_papers(docs, k=2, memory=memory)["q"] == ("a", "b")
        assert dict(related_papers(docs, k=2, memory=memory)) == dict(related_papers(docs, k=2))


def test_a_model_of_other_papers_or_a_damaged_one_is_not_used(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    docs = [_random_doc(rng, f"p{i:03d}") for i in range(60)]
    memory = tmp_path / related.MODEL_FILE
    with cache.using(cache.Cache()):
        related_papers(docs, memory=memory)
        docs.append(_random_doc(rng, "p999"))  # a new paper changes every idf
        assert dict(related_papers(docs, memory=memory)) == dict(related_papers(docs))
        memory.write_bytes(memory.read_bytes()[:100])
        docs[0] = _edited(rng, docs[0], 1)
        assert dict(related_papers(docs, memory=memory)) == dict(related_papers(docs))


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


def test_a_damaged_count_in_the_model_is_not_trusted() -> None:
    rng = np.random.default_rng(3)
    counted = related._count([_random_doc(rng, f"p{i:03d}") for i in range(30)], None)
    assert counted.fits()
    words = list(counted.words)
    words[1] = words[0]  # two numbers for one word: rows would read one as the other
    damaged = [
        replace(counted, words=words),
        replace(counted, digests=counted.digests[:-1]),
        replace(counted, indptr=counted.indptr[::-1]),
        replace(counted, terms=counted.terms + len(counted.words)),
        replace(counted, counts=counted.counts[:-1]),
    ]
    assert [d.fits() for d in damaged] == [False] * len(damaged)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
@pytest.mark.parametrize("preset", [None, "2"])
def test_the_related_papers_process_starts_no_blas_threads(preset: str | None) -> None:
    # Each OpenBLAS thread spins while it waits for work the related papers never give it.
    # A user's own setting is theirs.
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    script = (
        "import os\n"
        "from sitegen import build\n"
        "build._import_related()\n"
        "print(len(os.listdir('/proc/self/task')), os.environ['OPENBLAS_NUM_THREADS'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[1] == (preset or "1")
    if preset is None:
        assert out[0] == "1"
