"""The no-change shortcut: one digest of every build input, noted beside the output.

When a build's inputs hash to what the last successful build noted in the output's marker,
its output would be the same bytes, so the build returns the noted report instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from sitegen import cache, frontmatter, render, sources, write
from sitegen.config import Config
from sitegen.errors import BuildWarning, Location, SitegenError
from sitegen.report import BuildReport


def inputs_digest(
    config: Config,
    *,
    strict: bool,
    force: bool,
    record: dict[str, bytes] | None = None,
    texts: dict[str, str] | None = None,
) -> str:
    """One hash of everything a build reads: if it matches the last build's, so would the output.

    Whole folders are hashed (every seed file, content page, template, static file and theme
    file), a superset of what the stages read, so no input can slip past it. `texts`, if
    given, receives the text of each content page read (a page whose hash is known from its
    status is not read), by file name.
    """

    def page_text(path: str, data: bytes) -> bytes:
        """A content page as `read_pages` reads it; other files there as they are."""
        if not path.endswith(".md"):
            return _file_bytes(path, data)
        try:
            text = frontmatter.decode_page(data)
        except UnicodeDecodeError:
            return _file_bytes(path, data)
        if texts is not None:
            texts[path] = text
        return b"t" + text.encode("utf-8")

    folders: list[tuple[Path, cache.Reading]] = [
        (config.seeds_dir, _seed_text),
        (config.content_dir, page_text),
        *((folder, _file_bytes) for folder in (config.templates_dir, config.root / "static")),
        *((folder, _file_bytes) for folder in render.theme_dirs(config)),
    ]
    files = [config.taxonomy] if config.taxonomy else []
    # Paths relative to the project: the same site in another folder has the same digest.
    settings = repr(config).replace(f"'{config.root}", "'<project>")
    values = [settings, f"strict={strict} force={force}", cache.build_fingerprint()]
    return cache.digest_inputs(files, folders, values, config.root, record)


def _file_bytes(path: str, data: bytes) -> bytes:
    return b"b" + data


def _seed_text(path: str, data: bytes) -> bytes:
    """A feed as the parser reads it, so a BOM or CRLF copy of a feed digests alike."""
    try:
        return b"t" + sources.decode(data, os.path.basename(path)).encode("utf-8")
    except SitegenError:
        return b"b" + data  # the build will report it; any change to it still counts


def settled_digest(
    config: Config, *, strict: bool, force: bool, read: dict[str, bytes], writes: Mapping[str, str]
) -> str | None:
    """The inputs' digest after this build's content/ writes, if nothing else changed meanwhile.

    Every file must hold what the build read, or what it wrote: a page saved by a person while
    the build ran gives None, so the next build runs in full and sees it.
    """
    expected = dict(read)
    for rel, text in writes.items():
        expected[str(config.root / rel)] = cache.bytes_hash(b"t" + text.encode("utf-8"))
    now: dict[str, bytes] = {}
    digest = inputs_digest(config, strict=strict, force=force, record=now)
    return digest if now == expected else None


_NOTE_FIELDS = ("inputs", "papers", "files", "bytes", "pages")


def note(inputs: str, report: BuildReport) -> bytes:
    values = (inputs, report.papers, report.files, report.bytes, report.pages_written)
    lines = [f"{k}: {v}\n" for k, v in zip(_NOTE_FIELDS, values, strict=True)]
    # Kept so that a skipped build repeats them, as a full one would.
    for warning in report.warnings:
        where = warning.location
        fields = [warning.message, *((where.file, where.line, where.offset) if where else ())]
        lines.append(f"warning: {json.dumps(fields, ensure_ascii=True)}\n")
    return "".join(lines).encode()


def _noted_warning(text: str) -> BuildWarning | None:
    try:
        fields = json.loads(text)
        if len(fields) == 1:
            return BuildWarning(str(fields[0]))
        message, file, line, offset = fields
        return BuildWarning(str(message), Location(str(file), int(line), int(offset)))
    except (ValueError, TypeError):
        return None


def unchanged_report(config: Config, inputs: str) -> BuildReport | None:
    """The last build's report if its inputs hashed to `inputs` and its output is in place."""
    marker = write.read_marker(config.output_dir)
    if marker is None:
        return None
    noted: dict[str, str] = {}
    warnings: list[BuildWarning] = []
    for line in marker.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(": ")
        if key == "warning":
            warning = _noted_warning(value)
            if warning is None:
                return None
            warnings.append(warning)
        else:
            noted[key] = value
    if noted.get("inputs") != inputs or not all(k in noted for k in _NOTE_FIELDS):
        return None
    try:
        counts = [int(noted[k]) for k in _NOTE_FIELDS[1:]]
    except ValueError:
        return None
    papers, files, size, pages = counts
    write.tidy(config.output_dir)  # a build killed after its swap left its old tree beside it
    return BuildReport(
        papers=papers,
        files=files,
        bytes=size,
        pages_written=pages,
        carried=pages,
        unchanged=True,
        warnings=warnings,
    )
