"""Shared fixtures: small projects written from {path: text}, and the real seed site built once."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from sitegen.build import build
from sitegen.config import Config, load_config
from sitegen.report import BuildReport

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "2025-03-11.txt"
REPO_BASE_URL = "https://example.org/repo/"


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write `{relative path: text or bytes}` under root; each test shows its own input."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8", newline="")
    return root


def seed_project(root: Path) -> Path:
    """A copy of the default site (config and seed feed) with an empty content/ folder."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "sitegen.toml", root / "sitegen.toml")
    (root / "seeds").mkdir(exist_ok=True)
    shutil.copy2(SEED, root / "seeds" / SEED.name)
    return root


def build_project(
    root: Path, base_url: str | None = None, strict: bool = False
) -> tuple[Config, BuildReport]:
    config = load_config(root=root, base_url=base_url, environ={})
    return config, build(config, strict=strict)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[Mapping[str, str | bytes]], Path]:
    def make(files: Mapping[str, str | bytes]) -> Path:
        return write_tree(tmp_path / "site", files)

    return make


@pytest.fixture(scope="session")
def settled_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed project built until content/ stopped changing (copy it before changing it)."""
    root = seed_project(tmp_path_factory.mktemp("settled"))
    config, first = build_project(root)
    assert first.content_written
    assert build(config).unchanged  # what the first build wrote to content/ is in its digest
    return root


@pytest.fixture
def seed_copy(settled_seed: Path, tmp_path: Path) -> Path:
    """A private copy of the settled seed project: new files, so new inodes."""
    copy = tmp_path / "site"
    shutil.copytree(settled_seed, copy, copy_function=shutil.copy2)
    return copy


@pytest.fixture(scope="session")
def seed_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed site built at the root (`http://localhost:8000/`); returns the output folder."""
    root = seed_project(tmp_path_factory.mktemp("seed-root"))
    config, _ = build_project(root)
    return config.output_dir


@pytest.fixture(scope="session")
def seed_site_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed site built for a GitHub Pages project sub-path (`/repo/`)."""
    root = seed_project(tmp_path_factory.mktemp("seed-repo"))
    config, _ = build_project(root, base_url=REPO_BASE_URL)
    return config.output_dir
