"""The GitHub Actions workflows: actionlint passes, and each keeps its publishing promises."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"


def actionlint() -> str:
    """The actionlint binary of the test extra (also found when the venv is not on PATH)."""
    found = shutil.which("actionlint") or shutil.which(
        "actionlint", path=sysconfig.get_path("scripts")
    )
    if found is None:
        pytest.fail("actionlint is missing: pip install -e '.[test]'")
    return found


def lint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [actionlint(), "-no-color", "-oneline", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


def load(name: str) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as the boolean true.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def uses(job: dict[str, Any]) -> list[str]:
    return [s["uses"].split("@")[0] for s in steps(job) if "uses" in s]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(s["run"] for s in steps(job) if "run" in s)


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_actionlint_passes(name: str) -> None:
    result = lint(WORKFLOWS / name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    text = (WORKFLOWS / "pages.yml").read_text(encoding="utf-8")
    bad.write_text(text.replace("steps.pages.outputs.base_url", "steps.page.outputs.base_url"))
    result = lint(bad)
    assert result.returncode == 1 and 'property "page" is not defined' in result.stdout


def test_pages_triggers_permissions_and_concurrency() -> None:
    wf = load("pages.yml")
    assert wf["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in wf["on"] and "workflow_call" in wf["on"]
    (schedule,) = wf["on"]["schedule"]
    minute = schedule["cron"].split()[0]
    assert minute.isdigit() and minute not in ("0", "00")  # off the hour
    assert wf["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    assert wf["permissions"] == {}
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    assert build["permissions"] == {"contents": "read", "pages": "read"}
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"


def test_pages_builds_for_the_configured_url_checks_and_deploys() -> None:
    wf = load("pages.yml")
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    assert uses(build) == [
        "actions/checkout",
        "actions/setup-python",
        "actions/configure-pages",
        "actions/upload-pages-artifact",
    ]
    setup = next(s for s in steps(build) if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["cache"] == "pip"
    named = {s.get("name"): s for s in steps(build)}
    assert named["Build"]["env"]["BASE_URL"] == "${{ steps.pages.outputs.base_url }}/"
    assert 'sitegen build --base-url "$BASE_URL" --out _site' in runs(build)
    assert 'sitegen check _site --base-url "$BASE_URL"' in runs(build)
    assert uses(deploy) == ["actions/deploy-pages"]


def test_import_commits_as_the_bot_then_builds_and_deploys_in_the_same_run() -> None:
    wf = load("import.yml")
    assert "schedule" in wf["on"] and "workflow_dispatch" in wf["on"]
    assert wf["concurrency"]["group"] != "pages"  # the called pages.yml takes `pages`
    job, publish = wf["jobs"]["import"], wf["jobs"]["publish"]
    assert job["permissions"] == {"contents": "write"}
    script = runs(job)
    assert "curl --fail" in script and "vars.SITEGEN_FEED_URL" in str(job)
    assert 'sitegen import "$RUNNER_TEMP/feed"' in script
    assert 'git config user.name "github-actions[bot]"' in script
    assert "41898282+github-actions[bot]@users.noreply.github.com" in script
    assert "git add seeds content" in script and "git push" in script
    # A push made with GITHUB_TOKEN starts no workflow: publish from this run.
    assert publish["uses"] == "./.github/workflows/pages.yml"
    assert publish["with"]["ref"] == "${{ needs.import.outputs.ref }}"
    assert publish["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def test_ci_runs_the_suite_on_push_and_pull_request() -> None:
    wf = load("ci.yml")
    assert {"push", "pull_request"} <= set(wf["on"])
    assert wf["permissions"] == {"contents": "read"}
    assert "bash .ci/run" in runs(wf["jobs"]["test"])
