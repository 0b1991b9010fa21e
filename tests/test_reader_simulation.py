"""A feed reader's view across rebuilds: a new day's papers are new, nothing else ever is."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import feedparser
import pytest

from tests.conftest import SEED, build_project, seed_project

NEW_TITLES = (
    "Quantized Low-Rank Adapters Let Small Language Models Solve Math Word Problems",
    "A Benchmark for Retrieval-Augmented Generation over Long Scientific Documents",
    "Speculative Decoding for Speech Recognition with Mixture-of-Experts Drafts",
)
REPEATED = "PUMA: Secure Inference of LLaMA-7B in Five Minutes"
FORMATS = ("feed.xml", "rss.xml", "feed.json")


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    published: str
    updated: str


Snapshot = dict[str, list[Item]]  # "tags/math/feed.xml" -> entries in feed order


def _seed_abstract(title: str) -> str:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = lines.index(title) + 1
    return next(line for line in lines[start:] if line.strip())


def second_day_feed() -> str:
    """Three new papers and one already seen on 11 March, in the trending page's format."""
    abstract = (
        "We study {topic}. Our method improves accuracy by 4.2% on standard benchmarks while "
        "halving the cost, and we release code and data."
    )
    records = [
        (NEW_TITLES[0], abstract.format(topic="quantized low-rank adapters for math reasoning")),
        (REPEATED, _seed_abstract(REPEATED)),
        (NEW_TITLES[1], abstract.format(topic="a retrieval-augmented generation benchmark")),
        (NEW_TITLES[2], abstract.format(topic="speculative decoding for speech recognition")),
    ]
    parts = ["Mar 12", ""]
    for title, text in records:
        parts += [title, "", text, ""]
    return "\n".join(parts)


def snapshot(site: Path) -> Snapshot:
    """What a reader sees in every feed: ids, titles and dates, in order."""
    result: Snapshot = {}
    prefixes = ["", *(f"tags/{p.parent.name}/" for p in sorted(site.glob("tags/*/feed.xml")))]
    for prefix in prefixes:
        for name in ("feed.xml", "rss.xml"):
            parsed = feedparser.parse((site / prefix / name).read_bytes())
            assert parsed.bozo == 0, prefix + name
            result[prefix + name] = [
                Item(e.id, e.title, e.published, e.get("updated", e.published))
                for e in parsed.entries
            ]
        document = json.loads((site / prefix / "feed.json").read_bytes())
        result[prefix + "feed.json"] = [
            Item(i["id"], i["title"], i["date_published"], i["date_modified"])
            for i in document["items"]
        ]
    return result


def feed_bytes(site: Path) -> dict[str, bytes]:
    found = [site / name for name in FORMATS]
    found += [p for name in FORMATS for p in site.glob(f"tags/*/{name}")]
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(found)}


def ids_by_title(snap: Snapshot) -> dict[str, str]:
    return {item.title: item.id for items in snap.values() for item in items}


@dataclass(frozen=True)
class Simulation:
    root: Path
    before: Snapshot
    after: Snapshot
    before_bytes: dict[str, bytes]
    after_bytes: dict[str, bytes]


@pytest.fixture(scope="module")
def simulation(tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    root = seed_project(tmp_path_factory.mktemp("reader"))
    config, _ = build_project(root)
    before, before_bytes = snapshot(config.output_dir), feed_bytes(config.output_dir)
    (root / "seeds" / "2025-03-12.txt").write_text(second_day_feed(), encoding="utf-8")
    # Four papers is a small day on purpose: accept it instead of refusing it as truncated.
    with (root / "sitegen.toml").open("a", encoding="utf-8") as toml:
        toml.write("min_day_share = 0.0\n")
    config, report = build_project(root)
    assert report.papers == 84
    return Simulation(
        root,
        before,
        after=snapshot(config.output_dir),
        before_bytes=before_bytes,
        after_bytes=feed_bytes(config.output_dir),
    )


@pytest.mark.parametrize("name", FORMATS)
def test_the_site_feed_shows_exactly_the_new_papers_as_new(
    simulation: Simulation, name: str
) -> None:
    before, after = simulation.before[name], simulation.after[name]
    new = [item for item in after if item.id not in {i.id for i in before}]
    assert [item.title for item in new] == list(NEW_TITLES)
    assert after[:3] == new, "the new day comes first, in its feed's order"
    assert len(after) == len(before) == 50
    # The feed keeps the newest 50: the three oldest entries make room, nothing else moves.
    assert after[3:] == before[:-3]
    assert all(item.published.startswith(("2025-03-12", "Wed, 12 Mar 2025")) for item in new)


def test_no_feed_shows_an_old_paper_as_new_or_changed(simulation: Simulation) -> None:
    new_ids = {i.id for i in simulation.after["feed.xml"] if i.title in NEW_TITLES}
    assert len(new_ids) == len(NEW_TITLES)
    gained = 0
    for feed, after in simulation.after.items():
        before = {item.id: item for item in simulation.before.get(feed, [])}
        for item in after:
            if item.id in before:
                assert before[item.id] == item, f"{feed}: {item.title} changed"
            else:
                assert item.id in new_ids, f"{feed}: old paper {item.title!r} shows as new"
                gained += 1
    assert gained >= 3 * len(FORMATS) + 3, "the new papers reach their tag feeds too"


def test_a_paper_listed_again_keeps_its_entry(simulation: Simulation) -> None:
    for name in FORMATS:
        before = next(i for i in simulation.before[name] if i.title == REPEATED)
        after = next(i for i in simulation.after[name] if i.title == REPEATED)
        assert after == before


def test_feeds_without_new_papers_keep_their_bytes(simulation: Simulation) -> None:
    unchanged = [
        feed
        for feed, items in simulation.after.items()
        if feed in simulation.before and items == simulation.before[feed]
    ]
    assert len(unchanged) >= 30, "most tag feeds gain nothing from three papers"
    for feed in unchanged:
        assert simulation.after_bytes[feed] == simulation.before_bytes[feed], feed


def test_old_ids_survive_reimport_and_config_changes(
    simulation: Simulation, tmp_path: Path
) -> None:
    """Deleting content/ and importing again, or changing every setting but the base URL."""
    reimported = tmp_path / "reimported"
    shutil.copytree(simulation.root, reimported)
    shutil.rmtree(reimported / "content")
    shutil.rmtree(reimported / "_site")
    config, _ = build_project(reimported)
    assert feed_bytes(config.output_dir) == simulation.after_bytes

    reconfigured = tmp_path / "reconfigured"
    shutil.copytree(simulation.root, reconfigured)
    (reconfigured / "sitegen.toml").write_text(
        'title = "Other title"\ndescription = "Other."\nauthor = "Someone"\nlanguage = "de"\n'
        'base_url = "http://localhost:8000/"\nper_page = 7\nfeed_limit = 100\n'
        "min_day_share = 0.0\n",
        encoding="utf-8",
    )
    config, _ = build_project(reconfigured)
    seen = ids_by_title(simulation.after)
    now = ids_by_title(snapshot(config.output_dir))
    assert len(now) == 84
    assert {title: now[title] for title in seen} == seen


def test_only_the_base_url_moves_ids(simulation: Simulation, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(simulation.root, moved)
    config, _ = build_project(moved, base_url="https://example.org/repo/")
    now = ids_by_title(snapshot(config.output_dir))
    seen = ids_by_title(simulation.after)
    assert now == {
        title: "https://example.org/repo/" + old.removeprefix("http://localhost:8000/")
        for title, old in seen.items()
    }
