"""Benchmark related papers: time and peak memory at 10k and 100k synthetic papers.

The corpora are made deterministically from the seed feed's 81 papers: each synthetic paper
mixes sentences of three seed abstracts and swaps a quarter of its words for terms drawn from a
Zipf distribution over a 200k-word synthetic vocabulary, so the corpus has the long tail of rare
terms (and the head of very common ones) that a real feed has, instead of 81 repeated texts.

Each size runs in its own child process so that its peak memory is its own.

    python benchmarks/related_bench.py            # 10k and 100k
    python benchmarks/related_bench.py 10000      # one size
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sitegen import sources
from sitegen.related import Document, related_papers

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "2025-03-11.txt"
SIZES = (10_000, 100_000)
SYNTHETIC_VOCABULARY = 200_000
SWAP_RATE = 0.25
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _synthetic_word(rank: int) -> str:
    digits = "abcdefghijklmnopqrstuvwxyz"
    word = ""
    while True:
        rank, rest = divmod(rank, 26)
        word += digits[rest]
        if rank == 0:
            return "zq" + word


def synthetic_corpus(n: int, seed: int = 20250311) -> list[Document]:
    """n papers made from the seed feed; the same n and seed always give the same corpus."""
    base = sources.parse_file(SEED, "seeds/2025-03-11.txt", 2025).papers
    sentences = [_SENTENCE.split(p.abstract) for p in base]
    titles = [p.title.split() for p in base]
    rng = np.random.default_rng(seed)
    docs: list[Document] = []
    for i in range(n):
        picks = rng.choice(len(base), size=3, replace=False)
        words: list[str] = []
        for pick in picks:
            chosen = sentences[pick]
            start = int(rng.integers(0, len(chosen)))
            words.extend(" ".join(chosen[start : start + 2]).split())
        swaps = rng.random(len(words)) < SWAP_RATE
        ranks = np.minimum(rng.zipf(1.2, size=len(words)), SYNTHETIC_VOCABULARY)
        abstract = " ".join(
            _synthetic_word(int(r)) if s else w for w, s, r in zip(words, swaps, ranks, strict=True)
        )
        title_words = list(titles[int(picks[0])])
        title_words.append(_synthetic_word(int(rng.integers(1, SYNTHETIC_VOCABULARY))))
        docs.append(Document(f"paper-{i:07d}", " ".join(title_words), abstract))
    return docs


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() // 1024


def measure(n: int) -> dict[str, float]:
    """Run in a fresh process: build the corpus, then time related_papers on it."""
    docs = synthetic_corpus(n)
    before = _rss_kib()
    start = time.perf_counter()
    related = related_papers(docs)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    empty = sum(1 for v in related.values() if not v)
    return {
        "papers": n,
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(peak / 1024, 1),
        "peak_over_corpus_mib": round(max(0, peak - before) / 1024, 1),
        "papers_without_related": empty,
    }


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--child":
        print(json.dumps(measure(int(argv[1]))))
        return 0
    sizes = [int(a) for a in argv] or list(SIZES)
    print(f"{'papers':>8} {'seconds':>8} {'peak RSS MiB':>13} {'over corpus MiB':>16} {'empty':>6}")
    for n in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        print(
            f"{row['papers']:>8} {row['seconds']:>8} {row['peak_rss_mib']:>13} "
            f"{row['peak_over_corpus_mib']:>16} {row['papers_without_related']:>6}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
