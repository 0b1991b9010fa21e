"""A user who installs the wheel (pip, pipx) into their own site repo gets a working sitegen."""

from __future__ import annotations

import os
import site
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
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    lib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The venv sees the running environment's packages (the dependencies) as plain path entries:
    # their .pth files, the editable sitegen's among them, are not processed from there.
    (lib / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(lib),
            str(wheel),
        ],
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
