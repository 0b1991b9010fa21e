"""The command line: defaults, overrides, and one-line errors with the right exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sitegen.cli import main
from sitegen.config import load_config
from sitegen.errors import ConfigError
from tests.conftest import seed_project, write_tree

ONE_PAPER = """Mar 11

A Paper With A Title

This abstract is long enough to be read as an abstract rather than as a title, and it ends with a full stop.
"""


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Buffered output, as most shells run it: the command must flush it before its fast exit.
    env = {k: v for k, v in os.environ.items() if k not in ("SITEGEN_BASE_URL", "PYTHONUNBUFFERED")}
    return subprocess.run(
        [sys.executable, "-m", "sitegen", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_no_arguments_builds_the_default_site(tmp_path: Path) -> None:
    root = seed_project(tmp_path / "site")
    result = run(root)
    assert result.returncode == 0, result.stderr
    assert "built 81 papers" in result.stdout
    assert len(list((root / "_site/papers").iterdir())) == 81


def test_base_url_and_out_options(tmp_path: Path) -> None:
    root = seed_project(tmp_path / "site")
    result = run(root, "build", "--base-url", "https://example.org/repo", "--out", "public")
    assert result.returncode == 0, result.stderr
    home = (root / "public/index.html").read_text(encoding="utf-8")
    assert 'href="/repo/static/style.css"' in home
    assert "https://example.org/repo/feed.xml" in home


def test_environment_variable_sets_the_base_url(tmp_path: Path) -> None:
    config = load_config(root=tmp_path, environ={"SITEGEN_BASE_URL": "https://a.example/x"})
    assert config.base_url == "https://a.example/x/"
    assert config.base_path == "/x/"
    override = load_config(
        root=tmp_path, base_url="https://b.example/", environ={"SITEGEN_BASE_URL": "https://a/"}
    )
    assert override.base_url == "https://b.example/"


def test_missing_year_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "site", {"seeds/today.txt": ONE_PAPER})
    result = run(root, "build")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: seeds/today.txt:1: date line 'Mar 11' has no year "
        "(name the file YYYY-MM-DD.txt or set `year` in sitegen.toml)"
    ]
    assert not (root / "_site").exists()
    write_tree(root, {"sitegen.toml": "year = 2024\n"})
    assert run(root, "build").returncode == 0
    assert (root / "_site/days/2024-03-11/index.html").is_file()


def test_warnings_are_printed_and_strict_makes_them_fatal(tmp_path: Path) -> None:
    orphan = ONE_PAPER + "\nA Title Without Any Abstract\n"
    root = write_tree(tmp_path / "site", {"seeds/2025-03-11.txt": orphan})
    result = run(root, "build")
    assert result.returncode == 0
    assert "seeds/2025-03-11.txt:7: warning: title 'A Title Without Any Abstract'" in result.stderr
    strict_root = write_tree(tmp_path / "strict", {"seeds/2025-03-11.txt": orphan})
    strict = run(strict_root, "build", "--strict")
    assert strict.returncode == 1
    assert "seeds/2025-03-11.txt:7" in strict.stderr
    assert not (strict_root / "_site").exists()
    assert not (strict_root / "content").exists()


def test_unknown_config_key_is_a_usage_error(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "site", {"sitegen.toml": 'titel = "typo"\n'})
    result = run(root, "build")
    assert result.returncode == 2
    assert "sitegen.toml: unknown setting 'titel'" in result.stderr
    with pytest.raises(ConfigError, match="'per_page' must be int"):
        load_config(
            write_tree(tmp_path / "b", {"sitegen.toml": 'per_page = "x"\n'}) / "sitegen.toml"
        )


def test_bad_base_url_is_refused() -> None:
    assert main(["build", "--base-url", "javascript:alert(1)"]) == 2
