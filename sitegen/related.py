"""Related papers: TF-IDF cosine top-k over title and abstract, in sparse row blocks."""

from __future__ import annotations

import itertools
import re
import string
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from sitegen import cache, parallel

if TYPE_CHECKING:
    import numpy.typing as npt
    from scipy.sparse import csr_array

    Ints = npt.NDArray[np.int64]
    Scores = npt.NDArray[np.float32]
    Ranking = tuple[Ints, Ints, Scores]  # (row, column, score) of each kept score, best first

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
# A block of rows of the similarity matrix costs at most this many multiply-adds, which also
# caps its nonzero scores, so a block holds at most about 24 MB of scores however many papers
# share terms. At 10k papers 2M gives the time of 20M (2.3 s) at 130 MiB peak instead of 245 MiB.
BLOCK_PRODUCTS = 2_000_000
# A full ranking of at least this many blocks is split between two processes, where there are
# two cores; a small site's few blocks are not worth a fork, nor a rebuild's update (`_update`).
SPLIT_MIN_BLOCKS = 4
_COUNT = np.dtype("<u4")
# How `_tokenised` packs numbers: an unsigned 32-bit int, in the machine's byte order.
_PACKED = np.dtype(np.uint32)
_PACKED_CODE = next(code for code in "IL" if array(code).itemsize == _PACKED.itemsize)
MODEL_FILE = "related-model.pickle"  # in the cache folder: the last build's model and lists
# Updating a ranking costs a full ranking of the rows to redo plus the merge: above a third of
# the rows, ranking every row is as fast and simpler.
REDO_MAX_SHARE_INVERSE = 3

_URL = re.compile(r"https?://\S+")
_TEX_MACRO = re.compile(r"\\[A-Za-z]+")
# The model was first built with scikit-learn's TfidfVectorizer, and its lists are what the
# published sites show: the tokenizer, stop words and arithmetic below are that model's, step
# for step and in the same float32 precision, so that no related list changes.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_ASCII_NON_WORD = bytes(
    c if chr(c).isalnum() or chr(c) == "_" else ord(" ") for c in range(128)
) + bytes(range(128, 256))

# scikit-learn's English stop words (sklearn/feature_extraction/_stop_words.py, scikit-learn
# 1.9, BSD-3-Clause, copyright the scikit-learn developers), taken from the Glasgow Information
# Retrieval Group's list.
_STOP_WORD_LIST = """
a about above across after afterwards again against all almost alone along already also although
always am among amongst amoungst amount an and another any anyhow anyone anything anyway
anywhere are around as at back be became because become becomes becoming been before beforehand
behind being below beside besides between beyond bill both bottom but by call can cannot cant co
con could couldnt cry de describe detail do done down due during each eg eight either eleven
else elsewhere empty enough etc even ever every everyone everything everywhere except few
fifteen fifty fill find fire first five for former formerly forty found four from front full
further get give go had has hasnt have he hence her here hereafter hereby herein hereupon hers
herself him himself his how however hundred i ie if in inc indeed interest into is it its itself
keep last latter latterly least less ltd made many may me meanwhile might mill mine more
moreover most mostly move much must my myself name namely neither never nevertheless next nine
no nobody none noone nor not nothing now nowhere of off often on once one only onto or other
others otherwise our ours ourselves out over own part per perhaps please put rather re same see
seem seemed seeming seems serious several she should show side since sincere six sixty so some
somehow someone something sometime sometimes somewhere still such system take ten than that the
their them themselves then thence there thereafter thereby therefore therein thereupon these
they thick thin third this those though three through throughout thru thus to together too top
toward towards twelve twenty two un under until up upon us very via was we well were what
whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever
whether which while whither who whoever whole whom whose why will with within without would yet
you your yours yourself yourselves
"""
STOP_WORDS = frozenset(_STOP_WORD_LIST.split())
# What the ASCII split lets through that the token pattern would not: one-character words.
_NOT_TERMS = STOP_WORDS | frozenset(string.ascii_letters + string.digits + "_")


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


def strip_accents(text: str) -> str:
    """Letters without their accents: NFKD, then every combining mark dropped."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def count_terms(text: str) -> Counter[str]:
    """The terms of one document text and their counts, in order of first use.

    Lowercased before accents are stripped, words of two or more characters, stop words
    dropped. The order of first use decides the order in which a row's terms are summed, which
    the last bit of a score (and so a rounding tie) depends on.
    """
    text = strip_accents(text.lower())
    if text.isascii():
        # Twice as fast as the regex, and the same words: an ASCII \w is a letter, digit or _.
        counts = Counter(text.encode("ascii").translate(_ASCII_NON_WORD).decode("ascii").split())
    else:
        counts = Counter(_TOKEN.findall(text))
    for word in _NOT_TERMS.intersection(counts):
        del counts[word]
    return counts


@dataclass(frozen=True)
class _Counted:
    """Every document's terms and their counts, the terms numbered by first use across the
    documents in order: the input of `_tfidf`, kept in the model for the next call."""

    digests: bytes  # each document's `_text_digest`, one after the other
    words: list[str]  # the terms, by number
    indptr: Ints  # document i's terms are terms[indptr[i] : indptr[i + 1]]
    terms: npt.NDArray[np.signedinteger[Any]]  # each in order of first use in its document
    counts: npt.NDArray[np.uint32]

    def fits(self) -> bool:
        """False for a damaged model's: sizes that disagree, numbers past the words, or a
        word twice."""
        n = len(self.indptr) - 1
        if n < 0 or len(self.digests) != n * _DIGEST_SIZE or len(self.terms) != len(self.counts):
            return False
        if self.indptr[0] != 0 or self.indptr[-1] != len(self.terms):
            return False
        if n and np.diff(self.indptr).min() < 0:
            return False
        if len(set(self.words)) != len(self.words):
            return False  # a term's rows would be read as another's
        return not len(self.terms) or 0 <= self.terms.min() <= self.terms.max() < len(self.words)


_DIGEST_SIZE = len(cache.bytes_hash(b""))


def _text_digest(text: str) -> bytes:
    return cache.bytes_hash(text.encode("utf-8", "surrogatepass"))


class _Numbering(dict[str, int]):
    """Words numbered in order of first lookup: a new word gets the next number."""

    def __missing__(self, word: str) -> int:
        number = self[word] = len(self)
        return number


@dataclass(frozen=True)
class _Tokens:
    """Some documents' terms, as `count_terms` gives them, numbered among these documents
    only: packed, since a Python int per term of 100,000 papers would take gigabytes."""

    words: list[str]  # by number
    terms: bytes  # `_PACKED` numbers, document after document
    counts: bytes  # `_PACKED`, one per term
    lengths: bytes  # `_PACKED`, each document's number of terms


def _tokenised(docs: Sequence[Document]) -> _Tokens:
    """The terms of `docs`, each document's words numbered by first use among them."""
    numbering = _Numbering()
    number = numbering.__getitem__
    # Packed a document at a time and joined once: arrays grown term by term move to fresh
    # memory as they grow. At 100k papers the related papers' processes then peaked at
    # 1,016 MiB; packed so, under 962.
    terms: list[bytes] = []
    counts: list[bytes] = []
    lengths = array(_PACKED_CODE)
    for d in docs:
        found = count_terms(document_text(d.title, d.abstract))
        if found:
            terms.append(array(_PACKED_CODE, map(number, found)).tobytes())
            counts.append(array(_PACKED_CODE, found.values()).tobytes())
        lengths.append(len(found))
    return _Tokens(list(numbering), b"".join(terms), b"".join(counts), lengths.tobytes())


def _count(docs: Sequence[Document], last: _Counted | None) -> _Counted:
    """The terms of `docs`; a document the last call counted too is not tokenised again.

    Tokenising is most of the cost of a rebuild's related papers (30-60 us a document). The
    numbering by first use, which depends on every document before, is redone in numpy.
    """
    digests = [_text_digest(f"{len(d.title)}\0{d.title}{d.abstract}") for d in docs]
    size = _DIGEST_SIZE
    known: dict[bytes, int] = {}
    if last is not None:
        old = last.digests
        known = {old[i : i + size]: i // size for i in range(0, len(old), size)}
    rows = [known.get(digest) for digest in digests]
    # The texts not counted before: tokenised, and their new words numbered after the old. Only
    # each distinct word is looked up here, not each term (9.2 s instead of 10.8 at 100k papers).
    fresh = _tokenised([d for d, row in zip(docs, rows, strict=True) if row is None])
    # The last count's words keep their numbers; a new word is numbered after them.
    known_words = last.words if last is not None else ()
    unique = dict.fromkeys(itertools.chain(known_words, fresh.words))  # in order, once each
    number = {word: i for i, word in enumerate(unique)}
    del unique
    id_type = np.int32 if len(number) < 2**31 else np.int64
    renumbered: npt.NDArray[np.signedinteger[Any]] = np.fromiter(
        map(number.__getitem__, fresh.words), id_type, len(fresh.words)
    )
    fresh_terms = renumbered[np.frombuffer(fresh.terms, dtype=_PACKED)]
    fresh_counts = np.frombuffer(fresh.counts, dtype=_PACKED).astype(_COUNT, copy=False)
    fresh_ends = np.cumsum(np.frombuffer(fresh.lengths, dtype=_PACKED), dtype=np.int64).tolist()
    del fresh, renumbered
    old_bounds = last.indptr.tolist() if last is not None else []
    terms: list[npt.NDArray[np.signedinteger[Any]]] = []
    counts: list[npt.NDArray[np.uint32]] = []
    next_fresh = 0
    for row in rows:
        if row is not None and last is not None:
            lo, hi = old_bounds[row], old_bounds[row + 1]
            terms.append(last.terms[lo:hi])
            counts.append(last.counts[lo:hi])
        else:
            lo = fresh_ends[next_fresh - 1] if next_fresh else 0
            hi = fresh_ends[next_fresh]
            next_fresh += 1
            terms.append(fresh_terms[lo:hi])
            counts.append(fresh_counts[lo:hi])
    indptr = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum([len(part) for part in terms], out=indptr[1:])
    raw: npt.NDArray[np.signedinteger[Any]] = (
        np.concatenate(terms).astype(id_type, copy=False) if terms else np.zeros(0, id_type)
    )
    del terms
    # Renumbered by first use: the first place each word is found, in document order.
    at_type = np.int32 if len(raw) < 2**31 else np.int64
    first: npt.NDArray[np.signedinteger[Any]] = np.full(len(number), len(raw), dtype=at_type)
    np.minimum.at(first, raw, np.arange(len(raw), dtype=at_type))
    used = np.flatnonzero(first < len(raw))
    order = used[np.argsort(first[used], kind="stable")]
    renumber = np.zeros(len(number), dtype=id_type)
    renumber[order] = np.arange(len(order), dtype=id_type)
    numbered = list(number)
    return _Counted(
        digests=b"".join(digests),
        words=[numbered[i] for i in order.tolist()],
        indptr=indptr,
        terms=renumber[raw],
        counts=np.concatenate(counts) if counts else np.zeros(0, _COUNT),
    )


def _tfidf(counted: _Counted, vocabulary: list[str] | None = None) -> csr_array | None:
    """Rows of l2-normalised TF-IDF weights (sublinear tf, smooth idf), or None without terms.

    One row per counted document; the columns keep the terms' numbers by first use, so each
    row's terms are stored, and summed, in that order. The terms of the kept columns, in
    column order, are appended to `vocabulary` if given.
    """
    from scipy.sparse import csr_array

    indptr = counted.indptr.copy()
    n_docs = len(indptr) - 1
    n_terms = len(counted.terms)
    if not n_terms:
        return None  # every word was a stop word: there is nothing to compare
    # int32 indices when they fit, as scikit-learn's: the product runs 5-10% faster on them.
    id_type = np.int32 if max(n_terms, len(counted.words)) < 2**31 else np.int64
    columns: npt.NDArray[np.signedinteger[Any]] = counted.terms.astype(id_type)
    df = np.bincount(columns, minlength=len(counted.words))
    kept = df <= MAX_DF if n_docs > MAX_DF else df > 0
    if vocabulary is not None:
        vocabulary.extend(itertools.compress(counted.words, kept.tolist()))
    if not kept.any():
        return None  # every term is in too many papers
    counts = counted.counts
    if not kept.all():
        keep = kept[columns]
        columns = (np.cumsum(kept, dtype=id_type) - 1)[columns[keep]]
        counts = counts[keep]
        ends, kept_before = indptr[1:], np.cumsum(keep, dtype=id_type)
        indptr[1:] = np.where(ends > 0, kept_before[np.maximum(ends - 1, 0)], 0)
        del kept_before
        df = df[kept]
        del keep
    tf: npt.NDArray[np.float32] = counts.astype(np.float32)
    del counts
    matrix = csr_array((tf, columns, indptr.astype(id_type)), shape=(n_docs, len(df)))
    matrix.sort_indices()
    data = matrix.data
    # float32 throughout, each operation as and where scikit-learn applies it.
    np.log(data, out=data)
    data += 1.0
    idf = df.astype(np.float32)
    idf += 1.0
    idf = np.full_like(idf, n_docs + 1, dtype=np.float32) / idf
    np.log(idf, out=idf)
    idf += 1.0
    data *= idf[matrix.indices]
    data[:] = _l2_normalised(data, indptr)
    return matrix


def _l2_normalised(
    data: npt.NDArray[np.float32], indptr: npt.NDArray[np.int64]
) -> npt.NDArray[np.float32]:
    """Each row divided by its length: float32 squares summed in float64, term by term in order.

    The sum runs left to right within each row (as scikit-learn's loop does), not pairwise as
    numpy's reductions do, for all rows at once: step j adds every long enough row's j-th square.
    """
    lengths = np.diff(indptr)
    squares = (data * data).astype(np.float64)
    by_length = np.argsort(-lengths, kind="stable")  # longest rows first
    starts = indptr[:-1][by_length]
    minus_lengths = np.sort(-lengths)  # ascending, so searchsorted can count the long rows
    sums = np.zeros(len(lengths), dtype=np.float64)
    for j in range(int(-minus_lengths[0]) if len(lengths) else 0):
        rows = int(np.searchsorted(minus_lengths, -j, side="left"))  # the rows longer than j
        sums[:rows] += squares[starts[:rows] + j]
    norms = np.ones(len(lengths), dtype=np.float64)
    norms[by_length] = np.sqrt(sums)
    norms[norms == 0.0] = 1.0  # a row without terms stays empty
    return (data.astype(np.float64) / np.repeat(norms, lengths)).astype(np.float32)


def _block_top_k(block: csr_array, row_ids: Ints, k: int) -> Ranking:
    """(row, column, score) of each row's k best columns in one block of scores, best first by
    row; `row_ids` are the block's rows in the whole matrix, which each row's own column is.

    Sorting a block's millions of scores would cost more than the product itself, so each row
    is first cut to the scores that can still make its top k: split the row into k + 1 chunks;
    the smallest chunk maximum is at most its (k + 1)-th best score, so at most its k-th best
    once its own column is dropped. Rounding moves a score by less than 1e-6, so a score that
    rounds into the top k is at least that bound minus 2e-6.
    """
    data, indptr = block.data, block.indptr.astype(np.int64)
    lengths = np.diff(indptr)
    chunks = k + 1
    floor = np.full(len(lengths), -np.inf, dtype=np.float32)
    long_rows = np.flatnonzero(lengths >= chunks)
    if len(long_rows):
        steps = np.arange(chunks + 1)
        bounds = (indptr[long_rows, None] + lengths[long_rows, None] * steps // chunks).ravel()
        # Each row's end is a bound too, so that its last chunk stops there; the segment from
        # there to the next row's start is not the row's, and is dropped with the last column.
        cut = bounds[:-1] if bounds[-1] == len(data) else bounds
        maxima = np.resize(np.maximum.reduceat(data, cut), len(bounds))
        floor[long_rows] = maxima.reshape(-1, chunks + 1)[:, :chunks].min(axis=1)
        floor[long_rows] -= np.float32(2e-6)
    positions = np.flatnonzero(data >= np.repeat(floor, lengths))
    rows = np.searchsorted(indptr, positions, side="right") - 1
    columns = block.indices[positions].astype(np.int64)
    scores = np.round(data[positions], SCORE_DECIMALS)
    rows = row_ids[rows]
    keep = (scores > 0) & (columns != rows)
    return _ranked_first_k(rows[keep], columns[keep], scores[keep], block.shape[1], k)


def _ranked_first_k(rows: Ints, columns: Ints, scores: Scores, size: int, k: int) -> Ranking:
    """The first k of each row's entries by score descending, then column ascending; rows and
    columns are below `size`."""
    bits = max(1, (size - 1).bit_length())
    if 2 * bits + 31 <= 63:
        # One int64 key per entry sorts faster than a three-key lexsort. A positive float32's
        # bits, read as an integer, order as the float does.
        key = rows << (31 + bits)
        key |= (0x7FFFFFFF - scores.view(np.int32).astype(np.int64)) << bits
        key |= columns
        key.sort()
        rows, columns = key >> (31 + bits), key & ((1 << bits) - 1)
        ranked = 0x7FFFFFFF - ((key >> bits) & 0x7FFFFFFF)
        scores = ranked.astype(np.int32).view(np.float32)
    else:
        order = np.lexsort((columns, -scores, rows))
        rows, columns, scores = rows[order], columns[order], scores[order]
    if not len(rows):
        return rows, columns, scores
    first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    rank = np.arange(len(rows)) - np.repeat(first, np.diff(np.r_[first, len(rows)]))
    return rows[rank < k], columns[rank < k], scores[rank < k]


def _blocks(
    matrix: csr_array, df: npt.NDArray[np.signedinteger[Any]], block_rows: int
) -> Iterator[tuple[int, int]]:
    """Runs of rows whose product with the transposed matrix takes `BLOCK_PRODUCTS` at most.

    A row's product costs one multiply-add per paper sharing each of its terms: the sum of its
    terms' document counts. Fewer rows per block at 100k papers, where terms are shared more
    widely, and more where they are rare, instead of one size for both.
    """
    n_rows = matrix.shape[0]
    rows = np.repeat(np.arange(n_rows), np.diff(matrix.indptr))
    cost = np.cumsum(np.bincount(rows, weights=df[matrix.indices], minlength=n_rows))
    start = 0
    while start < n_rows:
        spent = cost[start - 1] if start else 0.0
        fits = int(np.searchsorted(cost, spent + BLOCK_PRODUCTS, side="right"))
        stop = min(max(fits, start + 1), start + block_rows, n_rows)
        yield start, stop
        start = stop


def import_libraries() -> None:
    """Import what `related_papers` imports when first called (scipy.sparse, 0.15-0.25 s), so
    that a process can do it before its documents arrive."""
    import scipy.sparse  # noqa: F401


def related_papers(
    docs: Sequence[Document],
    k: int = TOP_K,
    block_rows: int = BLOCK_ROWS,
    memory: Path | None = None,
    jobs: int = 1,
) -> Mapping[str, tuple[str, ...]]:
    """For each slug, the slugs of its k most similar documents (fewer if fewer share a term).

    The result does not depend on the order of `docs`: they are ranked in slug order, which is
    also the tie-break. Only one block of rows of the similarity matrix is alive at a time, at
    most `block_rows` rows and `BLOCK_PRODUCTS` nonzero scores, so memory stays bounded by the
    vocabulary and the block size (per process: with `jobs` above 1, a forked process ranks
    half the blocks).

    `memory` is a file that keeps the model and ranking for the next call, which then ranks
    again only what an edit can have changed (see `_update`), with the same result.
    """
    ordered = sorted(docs, key=lambda d: d.slug)
    slugs = [d.slug for d in ordered]
    if len(set(slugs)) != len(slugs):
        raise ValueError("related_papers needs unique slugs")
    result: dict[str, tuple[str, ...]] = {slug: () for slug in slugs}
    if len(ordered) < 2 or k < 1:
        return MappingProxyType(result)
    salt = f"{cache.build_fingerprint()} k={k} max_df={MAX_DF}"
    last = _recall(memory, salt)
    counted = _count(ordered, last.counted if last is not None else None)
    vocabulary: list[str] = []
    matrix = _tfidf(counted, vocabulary)
    if matrix is None:
        return MappingProxyType(result)
    transposed = matrix.T.tocsr()
    # Papers added or removed change every idf: then every row is ranked.
    previous = last if last is not None and last.ranks(slugs) else None
    ranking = None
    if previous is not None:
        ranking = _update(previous, matrix, transposed, vocabulary, k, block_rows)
    if ranking is None:
        ranking = _rank(matrix, transposed, np.arange(len(slugs)), k, block_rows, jobs)
    if memory is not None and (
        previous is None
        or ranking is not previous.ranking
        or counted.digests != previous.counted.digests
    ):
        indices = matrix.indices
        model = _Model(
            salt, slugs, vocabulary, matrix.indptr, indices, matrix.data, ranking, counted
        )
        cache.write_pickle(memory, model)
    rows, columns, _ = ranking
    bounds = np.searchsorted(rows, np.arange(len(slugs) + 1)).tolist()
    names = [slugs[c] for c in columns.tolist()]
    for row, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        result[slugs[row]] = tuple(names[lo:hi])
    return MappingProxyType(result)


def _rank(
    matrix: csr_array,
    transposed: csr_array,
    row_ids: Ints,
    k: int,
    block_rows: int,
    jobs: int = 1,
) -> Ranking:
    """The ranking of the rows `row_ids` (ascending) against every row, a block at a time;
    the second half of the blocks in another process if `jobs` allows."""
    part = matrix if len(row_ids) == matrix.shape[0] else matrix[row_ids]
    blocks = list(_blocks(part, np.diff(transposed.indptr), block_rows))

    def ranked(some: list[tuple[int, int]]) -> list[Ranking]:
        return [
            _block_top_k(part[start:stop] @ transposed, row_ids[start:stop], k)
            for start, stop in some
        ]

    if len(blocks) < SPLIT_MIN_BLOCKS:
        return _joined(ranked(blocks))
    half = len(blocks) // 2
    first, second = parallel.both(
        lambda: ranked(blocks[:half]), lambda: ranked(blocks[half:]), jobs
    )
    return _joined(first + second)


def _joined(parts: Sequence[Ranking]) -> Ranking:
    """Rankings of disjoint rows as one, by row; each row's own order is kept."""
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    rows, columns, scores = (np.concatenate(field) for field in zip(*parts, strict=True))
    order = np.argsort(rows, kind="stable")
    return rows[order], columns[order], scores[order]


@dataclass(frozen=True)
class _Model:
    """One call's TF-IDF rows and ranking, kept for the next call to compare with."""

    salt: str  # sitegen's code and the ranking's settings: a model of other code is not used
    slugs: list[str]  # the rows, in order
    vocabulary: list[str]  # the columns' terms, in order
    indptr: npt.NDArray[np.signedinteger[Any]]
    indices: npt.NDArray[np.signedinteger[Any]]
    data: Scores
    ranking: Ranking
    counted: _Counted  # the rows' terms before the cut by document frequency

    def ranks(self, slugs: list[str]) -> bool:
        """Whether this ranking is of these very papers, and whole."""
        rows, columns, scores = self.ranking
        if self.slugs != slugs or not len(rows) == len(columns) == len(scores):
            return False
        return not len(rows) or max(rows.max(), columns.max()) < len(slugs)


def _recall(memory: Path | None, salt: str) -> _Model | None:
    """The last call's model, if it was made by this code with these settings."""
    # None yet, or damaged: count and rank everything.
    model = cache.read_pickle(memory) if memory is not None else None
    if not isinstance(model, _Model) or model.salt != salt or not model.counted.fits():
        return None
    return model


def _update(
    previous: _Model,
    matrix: csr_array,
    transposed: csr_array,
    vocabulary: list[str],
    k: int,
    block_rows: int,
) -> Ranking | None:
    """The ranking, from the last one where an edit cannot have changed it; None to rank all.

    A score is a sum over the first row's terms, in their order: two rows whose terms, order
    and weights are all as they were still score exactly as they did. So a row that is as it
    was keeps its list, merged with its scores against the rows that changed, unless its list
    held a changed row (whose score may have fallen below any other row's): that row, and
    every changed one, is ranked again in full. The lists are then the ones ranking every row
    gives, to the bit.
    """
    n = matrix.shape[0]
    changed = _changed_rows(previous, matrix, vocabulary)
    if changed is None:
        return None
    moved = np.flatnonzero(changed)
    if not len(moved):
        return previous.ranking
    old_rows, old_columns, old_scores = previous.ranking
    redo = changed.copy()
    redo[old_rows[changed[old_columns]]] = True
    if redo.sum() * REDO_MAX_SHARE_INVERSE > n:
        return None  # most rows must be ranked again anyway
    # A row's k-th score so far: a changed row scoring below it cannot enter its list.
    counts = np.bincount(old_rows, minlength=n)
    kth = np.full(n, -np.inf, dtype=np.float32)
    full = counts >= k
    kth[full] = old_scores[np.cumsum(counts)[full] - 1]
    kept = ~redo[old_rows]
    found: list[Ranking] = [(old_rows[kept], old_columns[kept], old_scores[kept])]
    changed_columns = matrix[moved].T.tocsr()
    # Every row's scores against the changed rows, a block of rows at a time: thousands of
    # changed rows sharing common terms make a product of millions of scores.
    for start in range(0, n, block_rows):
        against = (matrix[start : start + block_rows] @ changed_columns).tocoo()
        rows = against.row.astype(np.int64) + start
        scores = np.round(against.data, SCORE_DECIMALS)
        # A changed row's score against itself is redone with it.
        fresh = ~redo[rows] & (scores > 0) & (scores >= kth[rows])
        found.append((rows[fresh], moved[against.col[fresh]], scores[fresh]))
    rows, columns, scores = (np.concatenate(field) for field in zip(*found, strict=True))
    merged = _ranked_first_k(rows, columns, scores, n, k)
    again = _rank(matrix, transposed, np.flatnonzero(redo), k, block_rows)
    return _joined([merged, again])


def _changed_rows(
    previous: _Model, matrix: csr_array, vocabulary: list[str]
) -> npt.NDArray[np.bool_] | None:
    """Which rows differ from the last model's in any term, the terms' order, or any weight."""
    n = matrix.shape[0]
    old_indptr, old_indices, old_data = previous.indptr, previous.indices, previous.data
    sizes = {len(old_indices), len(old_data), int(old_indptr[-1]) if len(old_indptr) else -1}
    if len(old_indptr) != n + 1 or len(sizes) != 1:
        return None
    if len(old_indices) and not 0 <= old_indices.min() <= old_indices.max() < len(
        previous.vocabulary
    ):
        return None
    place = {term: i for i, term in enumerate(vocabulary)}
    renumber = np.fromiter(
        (place.get(term, -1) for term in previous.vocabulary),
        dtype=np.int64,
        count=len(previous.vocabulary),
    )
    old_lengths, new_lengths = np.diff(old_indptr), np.diff(matrix.indptr)
    same = old_lengths == new_lengths
    old_entries, new_entries = np.repeat(same, old_lengths), np.repeat(same, new_lengths)
    equal = renumber[old_indices[old_entries]] == matrix.indices[new_entries]
    equal &= old_data[old_entries].view(np.uint32) == matrix.data[new_entries].view(np.uint32)
    owners = np.repeat(np.flatnonzero(same), old_lengths[same])
    same[owners[~equal]] = False
    changed: npt.NDArray[np.bool_] = ~same
    return changed
