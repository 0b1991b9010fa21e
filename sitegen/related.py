"""Related papers: TF-IDF cosine top-k over title and abstract, in sparse row blocks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from sitegen.models import PaperPage

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

TOP_K = 5
BLOCK_ROWS = 2000
# Titles are short and say what a paper is about: counting them three times lets them outweigh
# the boilerplate of an abstract ("we propose", "experiments show") without drowning it.
TITLE_WEIGHT = 3
# Scores are rounded before ranking so that two papers whose scores differ only by float
# summation order tie, and the tie is then broken by slug: the same order on every machine.
SCORE_DECIMALS = 6
# The cost of `X @ X.T` grows with the square of each term's document count, and a term found
# in very many documents says little about similarity: terms in more than this many documents
# are dropped. Small corpora keep every term (idf already weighs common ones down); at 100k
# papers the cut is at 0.5% of them.
MAX_DF = 500

_URL = re.compile(r"https?://\S+")
_TEX_MACRO = re.compile(r"\\[A-Za-z]+")


@dataclass(frozen=True)
class Document:
    """One paper as the similarity model sees it: its slug and its plain title and abstract."""

    slug: str
    title: str
    abstract: str


def document_text(title: str, abstract: str) -> str:
    """Title repeated for weight, then the abstract, with URLs and TeX macro names removed.

    A regex is enough here: the tokenizer keeps only words, so only the names of macros
    (`\\textit`) and URL parts would leak in as fake terms.
    """
    parts = [title] * TITLE_WEIGHT + [abstract]
    text = "\n".join(parts)
    return _TEX_MACRO.sub(" ", _URL.sub(" ", text))


def documents(papers: Iterable[PaperPage]) -> list[Document]:
    return [Document(p.slug, p.title, p.body) for p in papers]


def _vectorizer(n_docs: int) -> TfidfVectorizer:
    # scikit-learn takes about a second to import: only a build that compares papers pays it.
    from sklearn.feature_extraction.text import TfidfVectorizer

    max_df: float | int = MAX_DF if n_docs > MAX_DF else 1.0
    return TfidfVectorizer(
        lowercase=True,
        strip_accents="unicode",
        stop_words="english",
        sublinear_tf=True,
        max_df=max_df,
        dtype=np.float32,
    )


def _row_top_k(scores: np.ndarray, columns: np.ndarray, self_index: int, k: int) -> list[int]:
    """The k best columns of one row: score descending, then column (slug order) ascending."""
    keep = (columns != self_index) & (scores > 0)
    scores, columns = scores[keep], columns[keep]
    if len(scores) > k:
        # Everything tied with the k-th best score stays in, so the tie-break sees all of it.
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= kth
        scores, columns = scores[keep], columns[keep]
    order = np.lexsort((columns, -scores))[:k]
    return [int(c) for c in columns[order]]


def related_papers(
    docs: Sequence[Document], k: int = TOP_K, block_rows: int = BLOCK_ROWS
) -> Mapping[str, tuple[str, ...]]:
    """For each slug, the slugs of its k most similar documents (fewer if fewer share a term).

    The result does not depend on the order of `docs`: they are ranked in slug order, which is
    also the tie-break. Only one block of `block_rows` rows of the similarity matrix is alive at a
    time, and it is sparse, so memory stays bounded by the vocabulary and the block size.
    """
    ordered = sorted(docs, key=lambda d: d.slug)
    slugs = [d.slug for d in ordered]
    if len(set(slugs)) != len(slugs):
        raise ValueError("related_papers needs unique slugs")
    result: dict[str, tuple[str, ...]] = {slug: () for slug in slugs}
    if len(ordered) < 2:
        return MappingProxyType(result)
    texts = [document_text(d.title, d.abstract) for d in ordered]
    try:
        matrix = _vectorizer(len(texts)).fit_transform(texts).tocsr()
    except ValueError:
        # Every word was a stop word: there is nothing to compare.
        return MappingProxyType(result)
    transposed = matrix.T.tocsr()
    for start in range(0, len(ordered), block_rows):
        block = (matrix[start : start + block_rows] @ transposed).tocsr()
        block.data = np.round(block.data, SCORE_DECIMALS)
        for offset in range(block.shape[0]):
            lo, hi = block.indptr[offset], block.indptr[offset + 1]
            best = _row_top_k(block.data[lo:hi], block.indices[lo:hi], start + offset, k)
            result[slugs[start + offset]] = tuple(slugs[i] for i in best)
    return MappingProxyType(result)
