"""A user who installs the wheel (pip, pipx) into their own site repo gets a working sitegen."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, seed_project


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            "-q",
        ],
        check=True,
    )
    return next(out.glob("sitegen-*.whl"))


def test_wheel_ships_the_default_theme_and_taxonomy(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    theme = REPO / "themes" / "default"
    for path in theme.rglob("*"):
        if path.is_file():
            assert f"sitegen/themes/default/{path.relative_to(theme).as_posix()}" in names
    assert "sitegen/taxonomy.toml" in names
    assert not any(n.startswith(("tests/", "content/", "seeds/")) for n in names)


def test_installed_wheel_builds_a_site_outside_the_repo(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    # The venv sees this interpreter's packages (the dependencies) but not the editable sitegen.
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--force-reinstall", "-q", str(wheel)],
        check=True,
    )
    project = seed_project(tmp_path / "my-papers")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SITEGEN_BASE_URL")}
    where = subprocess.run(
        [str(python), "-c", "import sitegen, sys; print(sitegen.__file__)"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    assert str(env_dir) in where, "the test must exercise the installed wheel"
    result = subprocess.run(
        [str(python), "-m", "sitegen", "build"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert (project / "_site/static/style.css").is_file()
    assert len(list((project / "_site/papers").iterdir())) == 81
