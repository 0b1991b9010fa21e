"""`search = false`: no index, no search page, and no search box pointing at either."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from sitegen import search
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


def test_pages_are_listed_for_the_indexer_in_one_order_however_they_came_to_be(
    tmp_path: Path,
) -> None:
    """Pagefind numbers pages in the order the file system lists them. On tmpfs (as on btrfs)
    that is the order they were put in their folder: a rebuild's tree, added to over builds,
    listed them otherwise than a fresh one, and its index differed. tmpfs where there is one,
    where a folder is listed in insertion order; elsewhere the test checks less."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path
    names = [f"paper-{i:02d}" for i in range(40)]
    shuffled = random.Random(7).sample(names, len(names))
    pages = [f"papers/{name}/index.html" for name in names]
    listed = []
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        for number, order in enumerate([names, names[::-1], shuffled]):
            tree = write_tree(Path(tmp) / str(number), {"index.html": "home", "papers/x": "x"})
            for name in order:
                write_tree(tree / "papers" / name, {"index.html": name, "notes.txt": "-"})
            search.relist_in_order(tree, pages)
            listed.append((os.listdir(tree), os.listdir(tree / "papers")))
            assert sorted(listed[-1][1]) == sorted([*names, "x"])  # nothing lost or left over
        assert listed[0] == listed[1] == listed[2]
        # A folder holding a file of the name it moves entries through is left as it is.
        tree = write_tree(Path(tmp) / "static", {"a.html": "a", "b.html": "b"})
        (tree / ".sitegen-relist").write_text("a static file")
        search.relist_in_order(tree, ["a.html", "b.html"])
        assert (tree / ".sitegen-relist").read_text() == "a static file"
        assert sorted(os.listdir(tree)) == [".sitegen-relist", "a.html", "b.html"]
