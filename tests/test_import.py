"""`sitegen import`: a feed lands in seeds/ under its day's name, checked, never clobbering."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pytest

from sitegen.cli import main
from tests.conftest import REPO, SEED, write_tree

FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = write_tree(tmp_path / "site", {"sitegen.toml": 'title = "Imports"\n'})
    monkeypatch.chdir(root)
    return root


def test_text_dump_takes_its_year_from_date(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    download = project / "trending.txt"  # no date in the name: the year must come from --date
    shutil.copy2(SEED, download)
    assert main(["import", str(download)]) == 1
    assert "has no year" in capsys.readouterr().err
    assert main(["import", str(download), "--date", "2025-03-11"]) == 0
    stored = project / "seeds/2025-03-11.txt"
    assert stored.read_bytes() == SEED.read_bytes()
    assert "imported 81 papers for 2025-03-11 into seeds/2025-03-11.txt" in capsys.readouterr().out


def test_feed_day_and_format_name_the_file(project: Path) -> None:
    assert main(["import", str(FIXTURES / "hf_daily/daily.json")]) == 0
    assert main(["import", str(FIXTURES / "arxiv_api/query.xml")]) == 0
    names = sorted(p.name for p in (project / "seeds").iterdir())
    assert any(n.endswith("-hf_daily.json") for n in names)
    assert any(n.endswith("-arxiv_api.xml") for n in names)
    assert main(["build"]) == 0


def test_standard_input_and_no_clobber(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = SEED.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["import", "-", "--date", "2025-03-11"]) == 0
    capsys.readouterr()
    assert main(["import", str(SEED), "--date", "2025-03-11"]) == 0
    assert "already holds this feed" in capsys.readouterr().out

    changed = project / "changed.txt"
    changed.write_bytes(data.replace(b"PUMA", b"PUMA2"))
    assert main(["import", str(changed), "--date", "2025-03-11"]) == 1
    assert "already holds a different trending feed for 2025-03-11" in capsys.readouterr().err
    assert (project / "seeds/2025-03-11.txt").read_bytes() == data
    assert main(["import", str(changed), "--date", "2025-03-11", "--force"]) == 0
    assert b"PUMA2" in (project / "seeds/2025-03-11.txt").read_bytes()


def test_a_truncated_day_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "seeds").mkdir()
    shutil.copy2(SEED, project / "seeds/2025-03-11.txt")
    short = project / "short.txt"
    lines = SEED.read_text(encoding="utf-8").split("\n")
    short.write_text("\n".join(lines[:17]) + "\n", encoding="utf-8")  # chrome, date, 2 papers
    assert main(["import", str(short), "--date", "2025-03-12"]) == 1
    assert "2 paper(s), under 20% of the median day (81)" in capsys.readouterr().err
    assert not (project / "seeds/2025-03-12.txt").exists()
    assert main(["import", str(short), "--date", "2025-03-12", "--force"]) == 0


def test_missing_file_is_a_clear_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "nope.txt"]) == 1
    assert capsys.readouterr().err.startswith("error: cannot read nope.txt")
