"""Benchmark related papers: time and peak memory at 10k and 100k synthetic papers.

The corpora are made deterministically from the seed feed's 81 papers: each synthetic paper
mixes sentences of three seed abstracts and swaps a quarter of its words for terms drawn from a
Zipf distribution over a 200k-word synthetic vocabulary, so the corpus has the long tail of rare
terms (and the head of very common ones) that a real feed has, instead of 81 repeated texts.

Each size runs twice, each time in its own child process so that its peak memory is its own:
"cold" with an empty cache, then "warm" with the cache the cold run saved, as a rebuild finds it
(every paper's terms already counted). The script prints figures and asserts nothing.

    python benchmarks/related_bench.py            # 10k and 100k
    python benchmarks/related_bench.py 10000      # one size
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sitegen import cache, sources
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


def measure(n: int, folder: Path) -> dict[str, float]:
    """Run in a fresh process: build the corpus, then time related_papers on it.

    The cache in `folder` is loaded first (empty on a cold run) and saved afterwards, outside
    the timing.
    """
    docs = synthetic_corpus(n)
    store = cache.Cache(folder)
    before = _rss_kib()
    with cache.using(store):
        start, cpu = time.perf_counter(), time.process_time()
        related = related_papers(docs)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    store.save()
    empty = sum(1 for v in related.values() if not v)
    return {
        "papers": n,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mib": round(peak / 1024, 1),
        "peak_over_corpus_mib": round(max(0, peak - before) / 1024, 1),
        "papers_without_related": empty,
        "terms_counted": store.misses,
    }


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--child":
        print(json.dumps(measure(int(argv[1]), Path(argv[2]))))
        return 0
    sizes = [int(a) for a in argv] or list(SIZES)
    print(
        f"{'papers':>8} {'cache':>6} {'seconds':>8} {'cpu s':>6} {'peak RSS MiB':>13} "
        f"{'over corpus MiB':>16} {'empty':>6} {'tokenised':>10}"
    )
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="related-bench-") as folder:
            for label in ("cold", "warm"):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(n), folder],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                row = json.loads(out.strip().splitlines()[-1])
                print(
                    f"{row['papers']:>8} {label:>6} {row['seconds']:>8} {row['cpu_seconds']:>6} "
                    f"{row['peak_rss_mib']:>13} "
                    f"{row['peak_over_corpus_mib']:>16} {row['papers_without_related']:>6} "
                    f"{row['terms_counted']:>10}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
