"""`search = false`: no index, no search page, and no search box pointing at either."""

from __future__ import annotations

from pathlib import Path

from sitegen.check import check_site
from tests.conftest import build_project, seed_project, write_tree


def test_search_off_leaves_no_dead_search_page_or_box(tmp_path: Path) -> None:
    root = seed_project(tmp_path / "site")
    write_tree(root, {"sitegen.toml": (root / "sitegen.toml").read_text() + "search = false\n"})
    config, _ = build_project(root)
    assert not (config.output_dir / "pagefind").exists()
    assert not (config.output_dir / "search").exists()
    home = (config.output_dir / "index.html").read_text(encoding="utf-8")
    assert 'role="search"' not in home and "/search/" not in home
    assert check_site(config.output_dir, config.base_url) == []
