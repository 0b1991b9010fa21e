"""Command line: parse arguments, call the library, map errors to messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sitegen import __version__
from sitegen.build import build
from sitegen.config import load_config
from sitegen.errors import SitegenError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitegen", description="Build a static site and feeds from research-paper feeds."
    )
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    b = commands.add_parser("build", help="parse seeds/, update content/, write the site")
    b.add_argument("--config", type=Path, help="path to sitegen.toml (default: ./sitegen.toml)")
    b.add_argument("--base-url", help="public URL of the site, e.g. https://me.github.io/repo/")
    b.add_argument("--out", type=Path, help="output folder (default: _site)")
    b.add_argument("--strict", action="store_true", help="treat warnings as errors")
    b.add_argument("-v", "--verbose", action="store_true", help="print stage timings")
    return parser


def _build(args: argparse.Namespace) -> int:
    config = load_config(args.config, base_url=args.base_url, output_dir=args.out)

    def timing(name: str, seconds: float) -> None:
        if args.verbose:
            print(f"{name:<8} {seconds * 1000:8.1f} ms")

    report = build(config, strict=args.strict, on_stage=timing)
    for warning in report.warnings:
        print(warning, file=sys.stderr)
    print(
        f"built {report.papers} papers into {config.relative(config.output_dir)}/: "
        f"{report.files} files, {report.changed} changed, "
        f"{report.content_written} content pages updated"
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        args = _parser().parse_args(["build", *(argv or [])])
    try:
        return _build(args)
    except SitegenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; the previous site is unchanged", file=sys.stderr)
        return EXIT_FAILED
