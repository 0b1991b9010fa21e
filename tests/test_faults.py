"""Faults: killed builds, full disks, concurrent builds, unsafe targets and symlinks."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sitegen import feeds, parallel, related, reuse, search, views, write
from sitegen.build import build
from sitegen.cache import FOLDER
from sitegen.cli import main
from sitegen.config import load_config
from sitegen.errors import ConfigError, SitegenError
from sitegen.models import OutputFile
from tests.conftest import REPO, build_project, write_tree


def feed(day: int, titles: list[str]) -> str:
    """A day's text dump; two companions per day keep it clear of the shrink guard."""
    parts = [f"Mar {day}", ""]
    for title in [*titles, f"Companion Paper A Of Day {day}", f"Companion Paper B Of Day {day}"]:
        parts += [
            title,
            "",
            f"An abstract about {title.lower()} that is long enough to read as prose, and ends.",
            "",
        ]
    return "\n".join(parts)


TITLES = [f"Paper Number {n} On Robust Builds" for n in range(1, 7)]


def small_project(root: Path) -> Path:
    return write_tree(
        root,
        {
            "sitegen.toml": 'title = "Faults"\nyear = 2025\n',
            "seeds/2025-03-11.txt": feed(11, TITLES),
        },
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (symlinks recorded, not followed)."""
    found: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*filenames, *(d for d in dirnames if (Path(dirpath) / d).is_symlink())]:
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            found[rel] = (
                b"-> " + os.fsencode(os.readlink(path)) if path.is_symlink() else path.read_bytes()
            )
    return found


def strays(root: Path) -> list[str]:
    names = [p.name for p in root.iterdir() if p.name.startswith((".sitegen-tmp", ".sitegen-old"))]
    names += [p.name for p in (root / "content" / "papers").glob(".*.tmp-*")]
    return sorted(names)


def run_cli(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SITEGEN_")}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "sitegen", "build", *args],
        cwd=root,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """`sitegen build ARGS` run in this process from `root` (fast: no interpreter start-up)."""

    def run(root: Path, *args: str) -> Result:
        monkeypatch.chdir(root)
        monkeypatch.delenv("SITEGEN_BASE_URL", raising=False)
        capsys.readouterr()
        code = main(["build", *args])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """A small project built once: (root, output snapshot, content snapshot)."""
    root = small_project(tmp_path / "site")
    build_project(root)
    return root, snapshot(root / "_site"), snapshot(root / "content")


@pytest.mark.parametrize(
    "point", ["content:written", "write:staging", "write:before-swap", "write:after-swap"]
)
def test_sigkill_leaves_the_previous_site_intact(
    built: tuple[Path, dict[str, bytes], dict[str, bytes]], point: str, tmp_path: Path
) -> None:
    root, before, _ = built
    # The next build changes every page (a new base URL) and adds a paper: a real update.
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["A Brand New Paper Arrives"]))
    args = ("--base-url", "https://other.example/site/")
    killed = run_cli(root, *args, env={write.KILL_AT_ENV: point})
    assert killed.returncode == -9, killed.stderr  # the hook really fired

    after_kill = snapshot(root / "_site")
    if point == "write:after-swap":
        # Past the atomic exchange the new site is live, complete, and nothing else.
        reference = small_project(tmp_path / "reference")
        (reference / "seeds/2025-03-12.txt").write_text(feed(12, ["A Brand New Paper Arrives"]))
        assert run_cli(reference, *args).returncode == 0
        assert after_kill == snapshot(reference / "_site")
    else:
        assert after_kill == before  # byte for byte, marker included

    again = run_cli(root, *args)
    assert again.returncode == 0, again.stderr
    assert strays(root) == []
    assert (root / "_site/papers/a-brand-new-paper-arrives/index.html").is_file()
    assert b"https://other.example/site/" in (root / "_site/feed.xml").read_bytes()


def test_a_cold_build_killed_while_its_pages_are_written_leaves_no_site(tmp_path: Path) -> None:
    """The first build writes paper pages from its render workers (write.PageWriter): killed
    mid-write, it leaves no output folder, and the next build cleans up and completes."""
    root = small_project(tmp_path / "cold")
    killed = run_cli(root, env={write.KILL_AT_ENV: "write:staging"})
    assert killed.returncode == -9, killed.stderr
    assert not (root / "_site").exists()
    again = run_cli(root)
    assert again.returncode == 0, again.stderr
    assert strays(root) == []
    assert len(list((root / "_site" / "papers").glob("*/index.html"))) == len(TITLES) + 2


def test_kill_while_writing_content_leaves_no_half_written_page(
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
) -> None:
    root, _, content_before = built
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Another Late Paper"]))
    killed = run_cli(root, env={write.KILL_AT_ENV: "content:written"})
    assert killed.returncode == -9
    # Every page is either exactly as before or absent: no truncated page is ever visible.
    after = {k: v for k, v in snapshot(root / "content").items() if ".tmp-" not in k}
    assert after == content_before
    assert run_cli(root).returncode == 0
    assert strays(root) == []


@pytest.fixture
def fail_after(monkeypatch: pytest.MonkeyPatch) -> Callable[[int, int], None]:
    """Make the n-th new file the writer creates fail with the given errno."""

    def arm(n: int, code: int) -> None:
        real = write._write_new
        calls = {"count": 0}

        def failing(dest: Path, data: bytes) -> None:
            calls["count"] += 1
            if calls["count"] >= n:
                raise OSError(code, os.strerror(code), str(dest))
            real(dest, data)

        monkeypatch.setattr(write, "_write_new", failing)

    return arm


@pytest.mark.parametrize("n", [1, 5, 20])
def test_disk_full_leaves_the_previous_site_intact(
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
    fail_after: Callable[[int, int], None],
    n: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, before, content_before = built
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Yet Another Paper"]))
    fail_after(n, errno.ENOSPC)
    monkeypatch.chdir(root)
    monkeypatch.delenv("SITEGEN_BASE_URL", raising=False)
    code = main(["build", "--base-url", "https://full.example/"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "disk is full" in err and "previous site is unchanged" in err
    assert snapshot(root / "_site") == before
    content_now = snapshot(root / "content")
    # content/ is written first, page by page through temporary files: a page is old or new,
    # never torn, and the pages already there are untouched.
    assert {k: v for k, v in content_now.items() if k in content_before} == content_before
    assert strays(root) == []


def test_permission_error_is_one_actionable_line(
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
    fail_after: Callable[[int, int], None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, before, _ = built
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Permission Paper"]))
    fail_after(3, errno.EACCES)
    monkeypatch.chdir(root)
    assert main(["build"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: could not write ") and "Permission denied" in err
    assert "Traceback" not in err
    assert snapshot(root / "_site") == before


def test_a_second_concurrent_build_is_refused_with_a_clear_message(
    cli: Callable[..., Result],
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
) -> None:
    root, before, _ = built
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Concurrent Paper"]))
    with write.output_lock(root / "_site"):
        result = cli(root)
        assert result.returncode == 1
        assert result.stderr.strip().count("\n") == 0
        assert "another sitegen build is writing _site/" in result.stderr
        assert snapshot(root / "_site") == before
        with pytest.raises(SitegenError, match="another sitegen build"):
            build(load_config(root=root, environ={}))
    # Released: the next build goes ahead.
    assert cli(root).returncode == 0
    assert (root / "_site/papers/concurrent-paper/index.html").is_file()


def test_two_builds_started_together_never_interleave(
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
) -> None:
    root, _, _ = built
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEGEN_")}
    env["PYTHONPATH"] = str(REPO)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sitegen", "build", "--base-url", url],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url in ("https://one.example/", "https://two.example/")
    ]
    results = [(p.wait(), p.communicate()[1]) for p in procs]
    for code, err in results:
        assert code == 0 or (code == 1 and "another sitegen build" in err), err
    # Whoever wrote last, the site is one build's complete output, never a mix of both.
    feed_xml = (root / "_site/feed.xml").read_text(encoding="utf-8")
    winner = "one" if "https://one.example/" in feed_xml else "two"
    loser = "two" if winner == "one" else "one"
    for path in (root / "_site").rglob("*.html"):
        assert f"https://{loser}.example/" not in path.read_text(encoding="utf-8")
    assert strays(root) == []


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (".", "it is the project folder"),
        ("..", "a folder that holds the project folder"),
        ("content", "it is the source folder content/"),
        ("seeds", "it is the source folder seeds/"),
        ("themes", "it is the source folder themes/"),
        ("content/site", "inside the source folder content/"),
        ("/", "it is the file system root"),
    ],
)
def test_unsafe_output_folders_are_refused_even_with_force(
    cli: Callable[..., Result],
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
    out: str,
    message: str,
) -> None:
    root, _, content_before = built
    for force in ([], ["--force"]):
        result = cli(root, "--out", out, *force)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
        assert result.stderr.count("\n") == 1
    assert snapshot(root / "content") == content_before
    assert (root / "seeds/2025-03-11.txt").is_file()


def test_home_folder_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(ConfigError, match="your home folder"):
        write.check_target(home, root=tmp_path / "project", force=True)


def test_a_foreign_folder_needs_force(
    cli: Callable[..., Result],
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
) -> None:
    root, _, _ = built
    write_tree(root, {"public/notes.txt": "a person's file"})
    refused = cli(root, "--out", "public")
    assert refused.returncode == 2
    assert "not empty and was not made by sitegen" in refused.stderr
    assert "--force" in refused.stderr
    assert (root / "public/notes.txt").read_text() == "a person's file"
    forced = cli(root, "--out", "public", "--force")
    assert forced.returncode == 0, forced.stderr
    assert (root / "public" / write.MARKER).is_file()
    assert not (root / "public/notes.txt").exists()
    # Now sitegen's own folder: later builds need no --force.
    assert cli(root, "--out", "public").returncode == 0


def test_empty_and_missing_folders_are_fine(cli: Callable[..., Result], tmp_path: Path) -> None:
    root = small_project(tmp_path / "site")
    (root / "empty").mkdir()
    assert cli(root, "--out", "empty").returncode == 0
    assert cli(root, "--out", "deep/new/folder").returncode == 0
    assert (root / "deep/new/folder/index.html").is_file()


def test_output_path_that_is_a_file_is_refused(cli: Callable[..., Result], tmp_path: Path) -> None:
    root = small_project(tmp_path / "site")
    (root / "out").write_text("x")
    result = cli(root, "--out", "out", "--force")
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr


def test_symlinked_output_folder_is_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tree(outside, {write.MARKER: "x", "keep.txt": "precious"})
    link = tmp_path / "site-link"
    link.symlink_to(outside)
    with pytest.raises(ConfigError, match="symbolic link"):
        write.check_target(link, root=tmp_path / "project")
    with pytest.raises(ConfigError, match="symbolic link"):
        write.check_target(link, root=tmp_path / "project", force=True)


@pytest.mark.parametrize("how", ["--out", "config"])
def test_symlinked_output_folder_named_on_the_command_line_or_in_config(
    cli: Callable[..., Result], tmp_path: Path, how: str
) -> None:
    outside = write_tree(tmp_path / "elsewhere", {write.MARKER: "x", "keep.txt": "precious"})
    root = small_project(tmp_path / "project")
    (root / "public").symlink_to(outside)
    if how == "config":
        write_tree(root, {"sitegen.toml": 'output_dir = "public"\n'})
        result = cli(root, "--force")
    else:
        result = cli(root, "--out", "public", "--force")
    assert result.returncode == 2 and "symbolic link" in result.stderr
    assert sorted(p.name for p in outside.iterdir()) == [write.MARKER, "keep.txt"]


def test_symlinks_inside_the_previous_output_are_never_followed(
    cli: Callable[..., Result],
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
    tmp_path: Path,
) -> None:
    root, _, _ = built
    outside = write_tree(tmp_path / "outside", {"index.html": "outside file"})
    papers = root / "_site/papers"
    real = root / "_site/papers-real"
    papers.rename(real)
    papers.symlink_to(outside)
    (root / "_site/404.html").unlink()
    (root / "_site/404.html").symlink_to(outside / "index.html")
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Symlink Paper"]))
    assert cli(root).returncode == 0
    assert snapshot(outside) == {"index.html": b"outside file"}
    assert not (root / "_site/papers").is_symlink()
    assert not (root / "_site/404.html").is_symlink()
    assert (root / "_site/papers/symlink-paper/index.html").is_file()


def assert_built_as_from_nothing(cli: Callable[..., Result], root: Path, tmp_path: Path) -> None:
    """The published site is exactly what a build of a copy of `root`, from nothing, writes."""
    fresh = tmp_path / "fresh"
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns("_site", FOLDER))
    assert cli(fresh, "--no-cache").returncode == 0
    published, expected = snapshot(root / "_site"), snapshot(fresh / "_site")
    del published[write.MARKER], expected[write.MARKER]
    assert published == expected


@pytest.fixture
def spared(
    cli: Callable[..., Result], built: tuple[Path, dict[str, bytes], dict[str, bytes]]
) -> tuple[Path, Path]:
    """A project built twice: (root, the first tree, which the second swap took out and kept
    for the next build to start from)."""
    root, _, _ = built
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Second Day Paper"]))
    assert cli(root).returncode == 0
    (spare,) = (root / FOLDER).glob(f"{reuse.SPARE_PREFIX}*")
    return root, spare


def test_a_tampered_spare_tree_is_corrected_and_never_followed(
    cli: Callable[..., Result], spared: tuple[Path, Path], tmp_path: Path
) -> None:
    root, spare = spared
    outside = write_tree(tmp_path / "outside", {"index.html": "outside", "keep.txt": "keep"})
    first, second, third = sorted((spare / "papers").iterdir())[:3]
    shutil.rmtree(first)
    first.symlink_to(outside, target_is_directory=True)  # a page's folder: a link elsewhere
    (second / "index.html").unlink()
    (second / "index.html").write_text("stale")  # a page: other bytes, in a new file
    (third / "index.html").unlink()
    (third / "index.html").symlink_to(outside / "keep.txt")  # a page: a link to a file
    (spare / "robots.txt").unlink()
    write_tree(spare, {"robots.txt/inner.txt": "a folder where a file belongs"})
    write_tree(spare, {"stray.html": "stray", "stray-folder/deep/x.html": "stray"})
    papers_folder = (spare / "papers").stat().st_ino
    (root / "seeds/2025-03-13.txt").write_text(feed(13, ["Third Day Paper"]))
    assert cli(root).returncode == 0
    assert snapshot(outside) == {"index.html": b"outside", "keep.txt": b"keep"}
    assert (root / "_site/papers").stat().st_ino == papers_folder  # started from the spare
    assert_built_as_from_nothing(cli, root, tmp_path)


def test_the_search_index_never_sees_what_the_spare_held(
    cli: Callable[..., Result], spared: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, spare = spared
    write_tree(spare, {"papers/ghost-paper/index.html": "<main data-pagefind-body>boo</main>"})
    indexed: list[list[str]] = []
    index_site = search.index_site

    def recorded(folder: Path, marked: Sequence[str]) -> list[OutputFile]:
        indexed.append(sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html")))
        return index_site(folder, marked)

    monkeypatch.setattr(search, "index_site", recorded)
    (root / "seeds/2025-03-13.txt").write_text(feed(13, ["Third Day Paper"]))
    assert cli(root).returncode == 0
    assert len(indexed) == 1 and "papers/third-day-paper/index.html" in indexed[0]
    assert "papers/ghost-paper/index.html" not in indexed[0]
    assert not (root / "_site/papers/ghost-paper").exists()


def test_a_failed_build_does_not_keep_its_tree_for_the_next(
    cli: Callable[..., Result],
    spared: tuple[Path, Path],
    fail_after: Callable[[int, int], None],
) -> None:
    """Whatever made a build fail may be in its tree: the next build starts afresh."""
    root, spare = spared
    before = snapshot(root / "_site")
    (root / "seeds/2025-03-13.txt").write_text(feed(13, ["Third Day Paper"]))
    fail_after(1, errno.ENOSPC)
    assert cli(root).returncode == 1
    assert snapshot(root / "_site") == before
    assert not spare.exists() and strays(root) == []


def test_a_rebuild_after_a_cold_build_starts_from_a_linked_copy_of_the_site(
    cli: Callable[..., Result],
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """No swap has left a spare yet: one is copied beside the build, and the build uses it.
    The next build finds the spare the swap left, walked beside it. Each time the staging
    tree takes the inventory the other process made, which is what a walk of the spare finds."""
    root, _, _ = built
    assert not list((root / FOLDER).glob(f"{reuse.SPARE_PREFIX}*"))
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)  # the small site is worth the fork
    seen: list[tuple[bool, bool]] = []
    start = write._Staging.__init__

    def recorded(
        tree: write._Staging,
        path: Path,
        target: Path,
        spare: Path | None,
        inventory: Mapping[str, bool] | None = None,
    ) -> None:
        walked = write.spare_inventory(spare) if spare is not None else None
        assert inventory == walked
        start(tree, path, target, spare, inventory)
        seen.append((tree.reused, inventory is not None))

    monkeypatch.setattr(write._Staging, "__init__", recorded)
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Second Day Paper"]))
    assert cli(root, "--jobs", "2").returncode == 0
    assert seen == [(True, True)]
    assert not list((root / FOLDER).glob("*.partial"))
    (root / "seeds/2025-03-13.txt").write_text(feed(13, ["Third Day Paper"]))
    assert cli(root, "--jobs", "2").returncode == 0
    assert seen == [(True, True), (True, True)]
    assert_built_as_from_nothing(cli, root, tmp_path)


def test_paper_folders_are_made_while_the_views_wait_for_related_papers(
    cli: Callable[..., Result],
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, _, _ = built
    shutil.rmtree(root / "_site")
    rank = related.related_papers

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(2)  # in the forked process: the views are long done
        return rank(*args, **kwargs)

    monkeypatch.setattr(related, "related_papers", slow)
    seen: list[list[str]] = []
    link = views.UnlinkedViews.link

    def linked(self: views.UnlinkedViews, lists: Any, digests: Any) -> Any:
        (staging,) = root.glob(".sitegen-tmp-_site-*")
        seen.append(sorted(p.name for p in (staging / "papers").iterdir()))
        return link(self, lists, digests)

    monkeypatch.setattr(views.UnlinkedViews, "link", linked)
    assert cli(root).returncode == 0
    assert seen == [sorted(p.name for p in (root / "_site/papers").iterdir())]


def test_the_paper_folders_wait_for_nothing(
    cli: Callable[..., Result],
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Related papers computed in this process (one job): the write stage makes the paper
    folders, none is made ahead of it."""
    root, _, _ = built
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Second Day Paper"]))
    made: list[str] = []
    folders = write._Staging.folders

    def counted(self: write._Staging, names: Any) -> None:
        names = list(names)
        made.extend(names)
        folders(self, names)

    monkeypatch.setattr(write._Staging, "folders", counted)
    assert cli(root, "--jobs", "1").returncode == 0
    assert made == []
    assert (root / "_site/papers/second-day-paper/index.html").is_file()


def test_a_build_failing_before_the_write_stage_removes_its_staging_tree(
    cli: Callable[..., Result],
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, before, _ = built

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise SitegenError("the feeds broke")

    monkeypatch.setattr(feeds, "channels", broken)
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Second Day Paper"]))
    result = cli(root)
    assert result.returncode == 1 and "the feeds broke" in result.stderr
    assert snapshot(root / "_site") == before
    assert strays(root) == []


def test_the_spare_copy_links_files_and_never_follows_links(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"secret.txt": "outside"})
    site = write_tree(tmp_path / "site", {"index.html": "home", "papers/a/index.html": "a"})
    (site / "papers/linked").symlink_to(outside, target_is_directory=True)
    (site / "papers/a/linked.txt").symlink_to(outside / "secret.txt")
    spare = tmp_path / "cache" / "spare"
    spare.parent.mkdir()
    (tmp_path / "cache" / "spare.partial").mkdir()  # left by a killed build
    assert write.make_spare(site, spare) is not None
    assert snapshot(spare) == {"index.html": b"home", "papers/a/index.html": b"a"}
    assert (spare / "index.html").stat().st_ino == (site / "index.html").stat().st_ino
    assert not (tmp_path / "cache" / "spare.partial").exists()
    assert write.make_spare(site, spare) is None  # there is one already: it is not replaced


def test_a_spare_with_a_folder_this_process_cannot_change_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Correcting a spare means deleting in its folders: neither the copy nor the walk beside
    the build hands over the inventory of one with a folder this process cannot change, and
    the staging tree then starts empty."""
    site = write_tree(tmp_path / "site", {"index.html": "home", "papers/a/index.html": "a"})
    spare = tmp_path / "cache" / "spare"
    spare.parent.mkdir()
    access = os.access

    def denied(path: str, mode: int) -> bool:
        return not path.endswith("/papers/a") and access(path, mode)

    monkeypatch.setattr(os, "access", denied)
    assert write.make_spare(site, spare) is None
    assert snapshot(spare) == snapshot(site)  # made, but left for the staging tree to judge
    assert write.spare_inventory(spare) is None
    with write.staging_tree(site, spare) as tree:
        assert not tree.reused
        assert os.listdir(tree.base) == []
    monkeypatch.setattr(os, "access", access)
    rest = tmp_path / "cache" / "rest"
    assert write.make_spare(site, rest) == write.spare_inventory(rest)
    assert write.spare_inventory(rest) == {
        "index.html": False,
        "papers": True,
        "papers/a": True,
        "papers/a/index.html": False,
    }


def test_a_spare_copy_that_fails_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = write_tree(tmp_path / "site", {"index.html": "home", "papers/a/index.html": "a"})
    spare = tmp_path / "spare"

    def other_device(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", other_device)
    assert write.make_spare(site, spare) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]
    assert snapshot(site) == {"index.html": b"home", "papers/a/index.html": b"a"}


def test_a_spare_tree_that_is_a_link_is_not_used(
    cli: Callable[..., Result], spared: tuple[Path, Path], tmp_path: Path
) -> None:
    root, spare = spared
    outside = tmp_path / "outside"
    spare.rename(outside)
    spare.symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    (root / "seeds/2025-03-13.txt").write_text(feed(13, ["Third Day Paper"]))
    assert cli(root).returncode == 0
    assert snapshot(outside) == before
    assert (root / "_site/papers/third-day-paper/index.html").is_file()


def test_symlinked_content_page_is_not_written_through(
    cli: Callable[..., Result],
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
    tmp_path: Path,
) -> None:
    root, before, _ = built
    page = root / "content/papers/paper-number-1-on-robust-builds.md"
    outside = tmp_path / "elsewhere.md"
    outside.write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    page.unlink()
    page.symlink_to(outside)
    (root / "content/papers/paper-number-2-on-robust-builds.md").unlink()
    # A changed base URL leaves content alone; a changed abstract must rewrite both pages.
    (root / "seeds/2025-03-11.txt").write_text(
        feed(11, TITLES).replace("that is long enough", "that changed upstream and is long enough")
    )
    text_before = outside.read_text(encoding="utf-8")
    result = cli(root)
    assert result.returncode == 1
    assert "is a symbolic link" in result.stderr
    assert "content/papers/paper-number-1-on-robust-builds.md" in result.stderr
    assert outside.read_text(encoding="utf-8") == text_before
    # Refused before anything was written: no content page and no site changed.
    assert not (root / "content/papers/paper-number-2-on-robust-builds.md").exists()
    assert snapshot(root / "_site") == before


def test_symlinked_content_folder_is_not_written_through(
    cli: Callable[..., Result],
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
    tmp_path: Path,
) -> None:
    root, _, _ = built
    elsewhere = tmp_path / "elsewhere"
    (root / "content/papers").rename(elsewhere)
    (root / "content/papers").symlink_to(elsewhere)
    listing = sorted(p.name for p in elsewhere.iterdir())
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Through The Link"]))
    result = cli(root)
    assert result.returncode == 1 and "content/papers is a symbolic link" in result.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == listing


def test_output_paths_cannot_escape() -> None:
    for bad in ["../x", "/etc/passwd", "a/../../b", "", ".", "a\\..\\b", "a/\x00"]:
        with pytest.raises(SitegenError):
            write.safe_relative(bad)
    assert str(write.safe_relative("papers/x/index.html")) == "papers/x/index.html"


def test_stray_folders_of_a_killed_build_are_swept(
    cli: Callable[..., Result],
    built: tuple[Path, dict[str, bytes], dict[str, bytes]],
) -> None:
    root, _, _ = built
    write_tree(root, {".sitegen-tmp-_site-99999/x.html": "half", ".sitegen-old-_site-1/y": "o"})
    write_tree(root, {"content/papers/.x.md.tmp-4242": "half a page"})
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Sweeper Paper"]))
    assert cli(root).returncode == 0
    assert strays(root) == []


def test_missing_target_is_restored_from_the_fallback_swap(tmp_path: Path) -> None:
    # The non-atomic fallback swap renames the target away first; a kill right then leaves
    # only `.sitegen-old-*`, which the next build puts back before anything else.
    parent = write_tree(tmp_path, {".sitegen-old-_site-7/index.html": "old", "x": ""})
    with write.output_lock(parent / "_site"):
        write._sweep(parent, "_site")
    assert (parent / "_site/index.html").read_text() == "old"


def test_the_cache_forgets_an_output_folder_that_is_gone(
    cli: Callable[..., Result], built: tuple[Path, dict[str, bytes], dict[str, bytes]]
) -> None:
    """Its spare tree would otherwise keep that whole site on disk, as the only links left."""
    root, _, _ = built
    cache_folder = root / FOLDER
    assert cli(root, "--out", "other").returncode == 0
    (root / "seeds/2025-03-12.txt").write_text(feed(12, ["Second Day Paper"]))
    assert cli(root, "--out", "other").returncode == 0  # a swap: it leaves other/'s spare
    ledgers = sorted(cache_folder.glob(f"{reuse.LEDGER_PREFIX}*"))
    spares = sorted(cache_folder.glob(f"{reuse.SPARE_PREFIX}*"))
    assert len(ledgers) == 2 and len(spares) == 1
    (root / "seeds/2025-03-13.txt").write_text(feed(13, ["Third Day Paper"]))
    assert cli(root).returncode == 0  # other/ is still there: its records stay
    assert set(ledgers) <= set(cache_folder.glob(f"{reuse.LEDGER_PREFIX}*"))
    assert spares[0].is_dir()
    shutil.rmtree(root / "other")
    (root / "seeds/2025-03-14.txt").write_text(feed(14, ["Fourth Day Paper"]))
    assert cli(root).returncode == 0
    (kept,) = cache_folder.glob(f"{reuse.LEDGER_PREFIX}*")
    assert kept in ledgers and not spares[0].exists()
    assert sorted(cache_folder.glob(f"{reuse.SPARE_PREFIX}*")) == [
        cache_folder / f"{reuse.SPARE_PREFIX}{kept.stem.removeprefix(reuse.LEDGER_PREFIX)}"
    ]
