"""Orchestrate a build: parse feeds, merge into content/, load the site, render, write."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sitegen import content, feeds, render, sources, urls, views, write
from sitegen.config import Config
from sitegen.errors import BuildWarning, Location, ParseError, SitegenError
from sitegen.models import OutputFile, Paper
from sitegen.taxonomy import load_taxonomy

FEED_SUFFIXES = (".txt", ".xml", ".atom", ".rss", ".json", ".bib")


@dataclass
class BuildReport:
    """What a build did: counts, warnings and the time each stage took."""

    papers: int = 0
    pages_written: int = 0
    content_written: int = 0
    files: int = 0
    bytes: int = 0
    changed: int = 0
    warnings: list[BuildWarning] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = time.perf_counter() - start


def seed_files(config: Config) -> list[Path]:
    if not config.seeds_dir.is_dir():
        return []
    return sorted(
        p
        for p in config.seeds_dir.iterdir()
        if p.is_file() and p.suffix.lower() in FEED_SUFFIXES and not p.name.startswith(".")
    )


def parse_seeds(config: Config, report: BuildReport) -> list[Paper]:
    papers: list[Paper] = []
    for path in seed_files(config):
        result = sources.parse_file(path, config.relative(path), config.year)
        papers.extend(result.papers)
        report.warnings.extend(result.warnings)
    return papers


def read_pages(folder: Path, config: Config, pattern: str) -> dict[str, str]:
    """Content pages as {project-relative path: text}; bad encodings name the file."""
    pages: dict[str, str] = {}
    if not folder.is_dir():
        return pages
    for path in sorted(folder.glob(pattern)):
        if not path.is_file():
            continue
        rel = config.relative(path)
        data = path.read_bytes()
        try:
            pages[rel] = data.decode("utf-8-sig").replace("\r\n", "\n")
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"invalid UTF-8 at byte {exc.start + 1}",
                Location(rel, data[: exc.start].count(b"\n") + 1, exc.start + 1),
                "re-save the page as UTF-8",
            ) from None
    return pages


def build(
    config: Config,
    *,
    strict: bool = False,
    on_stage: Callable[[str, float], None] | None = None,
) -> BuildReport:
    """Run every stage in order; nothing is written until everything has rendered."""
    report = BuildReport()
    taxonomy = load_taxonomy(config.taxonomy)

    with report.stage("parse"):
        papers = parse_seeds(config, report)
    with report.stage("merge"):
        existing = read_pages(config.content_dir / content.PAPERS_DIR, config, "*.md")
        prefix = config.relative(config.content_dir)
        merged = content.merge(papers, existing, taxonomy, prefix)
        report.warnings.extend(merged.warnings)
    if strict and report.warnings:
        raise SitegenError(
            f"{len(report.warnings)} warning(s) with --strict; first: {report.warnings[0]}"
        )
    with report.stage("load"):
        other_pages = read_pages(config.content_dir, config, "*.md")
        site = content.load_site(merged.pages, other_pages, taxonomy, merged.appearances)
        report.papers = len(site.papers)
    with report.stage("render"):
        url_map = urls.UrlMap(config.base_url)
        site_views = views.build_views(site, config, url_map)
        outputs: list[OutputFile] = [
            *render.render_pages(site, site_views, config, url_map),
            *feeds.render_feeds(site_views, config, url_map),
            *render.static_files(config),
        ]
    with report.stage("write"):
        written = write.write_site(outputs, config.output_dir)
        write.write_content(merged.writes, config.root)
    report.content_written = len(merged.writes)
    report.files, report.bytes, report.changed = written.files, written.bytes, written.changed
    report.pages_written = sum(1 for o in outputs if o.path.endswith(".html"))
    if on_stage:
        for name, seconds in report.timings.items():
            on_stage(name, seconds)
    return report
