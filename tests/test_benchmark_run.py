"""The benchmark's cold-build clean-up: old outputs are moved aside, and deleted at the end."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUN_PY = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _tree(root: Path, name: str, marker: str) -> None:
    folder = root / name / "papers" / "a"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(marker, encoding="utf-8")


def test_a_cold_build_moves_the_old_outputs_aside_and_the_end_deletes_them(
    run: ModuleType, tmp_path: Path
) -> None:
    """Deleted just before a timed build, a tree of freed inodes slows the build's own file
    creation on this machine's file system: the old outputs must survive until the end."""
    tool = run.Tool("sitegen+search", "_site_search", ("search-project/.sitegen-cache",), [])
    for number in (1, 2):  # two runs: the second's outputs must not land on the first's
        _tree(tmp_path, "_site_search", f"run {number}")
        (tmp_path / "search-project" / ".sitegen-cache").mkdir(parents=True, exist_ok=True)
        run._clean(tmp_path, tool)
        assert not (tmp_path / "_site_search").exists()
        assert not (tmp_path / "search-project" / ".sitegen-cache").exists()
    trash = tmp_path / run.TRASH
    kept = sorted(p.read_text(encoding="utf-8") for p in trash.glob("*/papers/a/index.html"))
    assert kept == ["run 1", "run 2"], "each run's output is kept, none overwritten"
    assert len(list(trash.iterdir())) == 4  # two outputs and two caches
    assert (tmp_path / "search-project").is_dir(), "only the named folders move"

    run._clean(tmp_path, tool)  # nothing left to move: no error, nothing added
    assert len(list(trash.iterdir())) == 4

    run.drop_trash([tmp_path, tmp_path / "never-made"])
    assert not trash.exists()
    assert (tmp_path / "search-project").is_dir()
