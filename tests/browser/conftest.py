"""Browser fixtures: the seed site served over HTTP under a base path, and Debian's Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.support import chromium, serve_built
from tests.conftest import REPO, seed_project, write_tree

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(site URL with base path, output folder) of the seed site built for that URL."""
    with serve_built(seed_project(tmp_path_factory.mktemp("browser-site"))) as served:
        yield served


MATH_FEED = r"""Mar 12

Scaling $\mathcal{O}(n^2)$ Attention to $10^6$ Tokens with $\textit{Ringo}$

We cut the cost from $O(n^2)$ to $O(n \log n)$ for sequences of length $n \geq 10^6$, where
$\sum_{i=1}^{n} \alpha_i = 1$ and a rank $r \ll d$. It costs $5 and $6 per run, and an
unknown $\frobnicate{x}$ macro stays readable. See \url{https://example.com/ringo}.

A Second Paper on $\beta$-VAEs

Plain abstract with 12.5\% fewer steps (\eg on GSM8K).
"""


@pytest.fixture(scope="session")
def served_math_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A small site whose titles and abstracts carry `$...$` math."""
    root = tmp_path_factory.mktemp("math-site")
    shutil.copy2(REPO / "sitegen.toml", root / "sitegen.toml")
    write_tree(root, {"seeds/2025-03-12.txt": MATH_FEED})
    with serve_built(root) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium for one test module.

    Module-scoped: one sync Playwright may run at a time, and other modules start their own.
    """
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS
