"""Write stage: output files into a fresh folder beside the target, then swap it in."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sitegen.errors import SitegenError
from sitegen.models import OutputFile

MARKER = ".sitegen-output"
_TMP_PREFIX = ".sitegen-tmp-"
_OLD_PREFIX = ".sitegen-old-"


@dataclass(frozen=True)
class WriteReport:
    files: int
    bytes: int
    changed: int  # files whose bytes differ from the previous build (new ones included)
    removed: int  # files of the previous build that are gone


def safe_relative(path: str) -> PurePosixPath:
    """Refuse any output path that could leave the output folder."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or not pure.parts or any(p in ("..", ".", "") for p in pure.parts):
        raise SitegenError(f"refusing to write outside the output folder: {path!r}")
    return pure


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.is_symlink() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _sweep(parent: Path, name: str) -> None:
    """Remove folders that a killed build left beside the output."""
    for prefix in (_TMP_PREFIX, _OLD_PREFIX):
        for stray in parent.glob(f"{prefix}{name}-*"):
            shutil.rmtree(stray, ignore_errors=True)


def write_site(files: Iterable[OutputFile], target: Path) -> WriteReport:
    """Build the new tree next to `target`, carrying unchanged files over, then swap it in.

    A failure at any point leaves the previous `target` untouched. Unchanged files are hard
    links to the previous build's, so their mtimes stay and rsync-style deploys see no change.
    """
    target = target.resolve()
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    _sweep(parent, target.name)
    staging = parent / f"{_TMP_PREFIX}{target.name}-{os.getpid()}"
    staging.mkdir()
    count = size = changed = 0
    written: set[PurePosixPath] = set()
    try:
        for item in files:
            rel = safe_relative(item.path)
            if rel in written:
                raise SitegenError(f"two outputs want the same path {item.path!r}")
            written.add(rel)
            dest = staging.joinpath(*rel.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            previous = target.joinpath(*rel.parts)
            if _same_bytes(previous, item.data):
                try:
                    os.link(previous, dest)
                except OSError:
                    shutil.copy2(previous, dest)
            else:
                dest.write_bytes(item.data)
                changed += 1
            count += 1
            size += len(item.data)
        (staging / MARKER).write_text("This folder is written by sitegen build.\n")
        removed = _count_removed(target, written)
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return WriteReport(count, size, changed, removed)


def _count_removed(target: Path, written: set[PurePosixPath]) -> int:
    if not target.is_dir():
        return 0
    old = {
        PurePosixPath(p.relative_to(target).as_posix())
        for p in target.rglob("*")
        if p.is_file() and p.name != MARKER
    }
    return len(old - written)


def _swap(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    old = target.parent / f"{_OLD_PREFIX}{target.name}-{os.getpid()}"
    target.rename(old)
    try:
        staging.rename(target)
    except OSError:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_content(writes: Mapping[str, str], root: Path) -> None:
    """Write content pages one by one through a temporary file, so none is ever half-written."""
    for rel, text in sorted(writes.items()):
        dest = root.joinpath(*safe_relative(rel).parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_symlink():
            raise SitegenError(f"{rel} is a symbolic link; refusing to write through it")
        tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
        tmp.write_text(text, encoding="utf-8", newline="\n")
        os.replace(tmp, dest)
