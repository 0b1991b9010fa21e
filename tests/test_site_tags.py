"""Tags a site defines in sitegen.toml, and per-paper tag edits in front matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from sitegen.errors import ConfigError
from tests.conftest import build_project, write_tree

FEED = """Mar 11

Sparse Experts Route Tokens Cheaply

We show that a mixture of experts with a learned router matches a dense model at a third of the compute on language modelling benchmarks.

Quantum Annealing For Scheduling

We schedule jobs with quantum annealing hardware and compare against classical solvers on industrial scheduling instances.
"""

SITE_TAGS = """
[tags.quantum]
label = "Quantum computing"
description = "Quantum hardware and algorithms."
match = ["quantum"]
keep = true

[tags.mixture-of-experts]
label = "Sparse experts"
description = "Overrides the default tag of the same slug."
match = ["sparse experts"]
keep = true
"""


def test_site_tags_extend_and_override_the_default_taxonomy(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "s", {"seeds/2025-03-11.txt": FEED, "sitegen.toml": SITE_TAGS})
    config, _ = build_project(root)
    quantum = (config.output_dir / "tags/quantum/index.html").read_text(encoding="utf-8")
    assert "Quantum computing" in quantum and "Quantum Annealing For Scheduling" in quantum
    moe = (config.output_dir / "tags/mixture-of-experts/index.html").read_text(encoding="utf-8")
    assert "Sparse experts" in moe and "Overrides the default tag" in moe


def test_a_topic_with_one_paper_is_dropped_unless_kept(tmp_path: Path) -> None:
    unkept = SITE_TAGS.replace("keep = true\n", "")
    root = write_tree(tmp_path / "s", {"seeds/2025-03-11.txt": FEED, "sitegen.toml": unkept})
    config, _ = build_project(root)
    assert not (config.output_dir / "tags/quantum").exists()
    paper = config.output_dir / "papers/quantum-annealing-for-scheduling/index.html"
    assert "/tags/quantum/" not in paper.read_text(encoding="utf-8")
    tags_index = (config.output_dir / "tags/index.html").read_text(encoding="utf-8")
    assert "Quantum computing" not in tags_index


def test_an_edited_page_keeps_its_own_tag_list(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "s", {"seeds/2025-03-11.txt": FEED, "sitegen.toml": SITE_TAGS})
    build_project(root)
    page = root / "content/papers/quantum-annealing-for-scheduling.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nMy note.\n", encoding="utf-8")
    # The taxonomy no longer matches the paper: an untouched page would lose the tag, but this
    # page is the person's now, tags included.
    write_tree(
        root, {"sitegen.toml": SITE_TAGS.replace('match = ["quantum"]', 'match = ["qubit"]')}
    )
    config, _ = build_project(root)
    html = config.output_dir / "papers/quantum-annealing-for-scheduling/index.html"
    assert "/tags/quantum/" in html.read_text(encoding="utf-8")
    page.write_text(
        page.read_text(encoding="utf-8").replace("tags:\n- quantum\n", "tags: []\n"),
        encoding="utf-8",
    )
    config, _ = build_project(root)
    assert "/tags/quantum/" not in html.read_text(encoding="utf-8"), "deleting a tag drops it"


def test_front_matter_adds_and_removes_tags(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "s", {"seeds/2025-03-11.txt": FEED, "sitegen.toml": SITE_TAGS})
    build_project(root)
    page = root / "content/papers/quantum-annealing-for-scheduling.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(
        text.replace("tags:\n", "remove_tags:\n- quantum\ntags:\n- Operations Research\n", 1),
        encoding="utf-8",
    )
    config, _ = build_project(root)
    html = (config.output_dir / "papers/quantum-annealing-for-scheduling/index.html").read_text(
        encoding="utf-8"
    )
    assert "/tags/operations-research/" in html
    assert "/tags/quantum/" not in html


def test_a_bad_site_tag_names_the_key(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "s", {"sitegen.toml": '[tags.x]\nlabel = "X"\nmatches = ["x"]\n'})
    with pytest.raises(ConfigError, match="matches"):
        build_project(root)
