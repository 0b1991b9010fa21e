"""Measure the default taxonomy against the hand-labelled seed papers and time it."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

from sitegen.sources import parse_file
from sitegen.taxonomy import auto_tags, evaluate, load_taxonomy, micro

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=Path, default=ROOT / "tests/data/seed_labels.toml")
    parser.add_argument("--seed", type=Path, default=ROOT / "seeds/2025-03-11.txt")
    parser.add_argument("--taxonomy", type=Path, default=None)
    parser.add_argument("--papers", type=int, default=100_000, help="papers to time tagging on")
    args = parser.parse_args()

    taxonomy = load_taxonomy(args.taxonomy)
    labels = tomllib.loads(args.labels.read_text(encoding="utf-8"))["papers"]
    papers = parse_file(args.seed, f"seeds/{args.seed.name}").papers
    cases = [(p.title, p.abstract, labels[p.title]) for p in papers]
    counts = evaluate(taxonomy, cases)
    auto = Counter(s for p in papers for s in auto_tags(taxonomy, p.title, p.abstract))

    print(
        f"{'tag':22} {'seed':>4} {'gold':>4} {'tp':>3} {'fp':>3} {'fn':>3} {'prec':>5} {'rec':>5}"
    )
    for slug, c in counts.items():
        rule = taxonomy.get(slug)
        keep = " keep" if rule is not None and rule.keep else ""
        print(
            f"{slug:22} {auto[slug]:4} {c.tp + c.fn:4} {c.tp:3} {c.fp:3} {c.fn:3}"
            f" {c.precision:5.2f} {c.recall:5.2f}{keep}"
        )
    total = micro(counts)
    untagged = sum(1 for p in papers if not auto_tags(taxonomy, p.title, p.abstract))
    print(
        f"\n{len(taxonomy.rules)} tags, {len(papers)} papers, {untagged} untagged;"
        f" micro precision {total.precision:.3f}, recall {total.recall:.3f}"
        f" (tp {total.tp}, fp {total.fp}, fn {total.fn})"
    )

    # Recycle the seed abstracts: the cost depends on text length, not on which papers they are.
    start = time.perf_counter()
    for i in range(args.papers):
        paper = papers[i % len(papers)]
        auto_tags(taxonomy, paper.title, paper.abstract)
    elapsed = time.perf_counter() - start
    print(
        f"tagging {args.papers} papers: {elapsed:.1f} s ({elapsed / args.papers * 1e6:.0f} us each)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
