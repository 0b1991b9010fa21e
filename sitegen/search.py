"""Full-text search: index the rendered paper pages with Pagefind into a static `pagefind/` bundle.

Pagefind runs on the write stage's staging folder once the pages are in it, before the swap, and
its bundle joins the other output files: the swap publishes it atomically with the pages it
indexes, and unchanged index files are carried over like any other file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cbor2

from sitegen.errors import SitegenError
from sitegen.models import OutputFile

SEARCH_PAGE = "search/index.html"
BUNDLE_DIR = "pagefind"
INDEXED_MARK = b"data-pagefind-body"
_SIGNATURE = b"pagefind_dcd"  # what every Pagefind data file starts with once decompressed
TIMEOUT_SECONDS = 1800
# Where `relist_in_order` puts an entry for a moment: a name no page or folder of sitegen's
# takes (slugs hold no dots).
_RELIST_SPOT = ".sitegen-relist"


def pagefind_command() -> list[str]:
    """The bundled Pagefind binary, run through the `pagefind` package (extra `bin`)."""
    return [sys.executable, "-m", "pagefind"]


def index_site(site: Path, marked: Sequence[str]) -> list[OutputFile]:
    """Index a written site folder in place and return Pagefind's bundle as output files.

    `marked` lists the pages that carry `data-pagefind-body`: Pagefind is pointed at just their
    folders (it skips unmarked pages once one page is marked). With none marked, every page
    is indexed, so a site without papers yet still has an index for its search page to load.
    Files come back sorted by path, under `pagefind/`.
    """
    with tempfile.TemporaryDirectory(prefix="sitegen-search-") as tmp:
        bundle = Path(tmp) / "bundle"
        relist_in_order(site, marked or _html_pages(site))
        _run_pagefind(site, bundle, _glob(marked))
        if not bundle.is_dir():
            return []
        canonicalise_filters(bundle)
        return [
            OutputFile(f"{BUNDLE_DIR}/{path.relative_to(bundle).as_posix()}", path.read_bytes())
            for path in sorted(bundle.rglob("*"))
            if path.is_file()
        ]


def _html_pages(site: Path) -> list[str]:
    """Every HTML page of a site folder, by path relative to it."""
    pages: list[str] = []
    for folder, _, names in os.walk(site):
        relative = Path(folder).relative_to(site).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        pages.extend(prefix + name for name in names if name.endswith(".html"))
    return pages


def relist_in_order(site: Path, pages: Sequence[str]) -> None:
    """Put each of `pages`, and each folder above one, back into its folder in sorted order,
    so that every file system lists them in one order.

    Pagefind numbers pages in the order its walk finds them, which is the order the file
    system lists a folder in: by a hash of the names on ext4, but by insertion on tmpfs, btrfs
    and XFS's small folders. There a rebuild's tree (the spare, added to over many builds)
    listed the pages otherwise than a fresh tree did, and its index differed. A rename
    inserts an entry anew: renamed in sorted order, the entries are listed alike however they
    came to be there. At 10,000 papers: 0.24 s on ext4, of a 16 s build with search.
    """
    children: dict[str, set[str]] = {}
    for page in pages:
        parts = page.split("/")
        for depth, name in enumerate(parts):
            children.setdefault("/".join(parts[:depth]), set()).add(name)
    base = os.fspath(site)
    for parent, names in children.items():
        if len(names) < 2:
            continue  # its place among entries Pagefind does not index is no matter
        folder = f"{base}/{parent}" if parent else base
        spot = f"{folder}/{_RELIST_SPOT}"
        if os.path.lexists(spot):
            continue  # a static file of that name: never overwritten
        for name in sorted(names):
            os.rename(f"{folder}/{name}", spot)
            os.rename(spot, f"{folder}/{name}")


def _glob(marked: Sequence[str]) -> str | None:
    """A Pagefind `--glob` covering the marked pages: each top-level file or folder of them."""
    tops = sorted({p.split("/", 1)[0] + ("/**/*.html" if "/" in p else "") for p in marked})
    if not tops:
        return None
    return tops[0] if len(tops) == 1 else "{" + ",".join(tops) + "}"


def _run_pagefind(site: Path, bundle: Path, glob: str | None = None) -> None:
    command = [*pagefind_command(), "--site", str(site), "--output-path", str(bundle)]
    if glob is not None:
        command += ["--glob", glob]
    # Pagefind reads PAGEFIND_* variables as configuration: a stray one must not change the index.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFIND_")}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=site,
            env=env,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SitegenError(f"search indexing failed: {exc}") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        last = output.splitlines()[-1] if output else f"exit code {done.returncode}"
        hint = ""
        if "No module named" in output or "Could not find" in output:
            hint = "install the search indexer: pip install 'pagefind[bin]'"
        raise SitegenError(f"search indexing (Pagefind) failed: {last}", hint=hint)


def _read_data(path: Path) -> bytes:
    raw = gzip.decompress(path.read_bytes())
    if not raw.startswith(_SIGNATURE):
        raise SitegenError(f"unexpected Pagefind file format in {path.name}")
    return raw[len(_SIGNATURE) :]


def _write_data(path: Path, data: bytes) -> None:
    # mtime=0 keeps the gzip header free of the clock.
    path.write_bytes(gzip.compress(_SIGNATURE + data, compresslevel=9, mtime=0))


def _digest(data: bytes, length: int) -> str:
    return hashlib.sha256(data).hexdigest()[:length]


def canonicalise_filters(bundle: Path) -> None:
    """Make Pagefind's filter files byte-identical from build to build.

    Pagefind 1.x writes the values of each filter in hash-map order, which changes from run to
    run, lists the filters in its meta file in the same kind of order, and names each file
    after a hash of its content. Values and lists are sorted here, and the filter and meta files
    are renamed after a digest of their new content; every other file is already deterministic.
    """
    entry_path = bundle / "pagefind-entry.json"
    if not entry_path.is_file():
        return
    entry_text = entry_path.read_text(encoding="utf-8")
    languages: dict[str, Any] = json.loads(entry_text)["languages"]
    renamed: dict[str, str] = {}
    for path in sorted((bundle / "filter").glob("*.pf_filter")):
        name, values = cbor2.loads(_read_data(path))
        data = cbor2.dumps([name, sorted(values, key=lambda v: (v[0], v[1]))])
        old = path.name.removesuffix(".pf_filter")
        lang, _, old_hash = old.rpartition("_")
        new = f"{lang}_{_digest(data, len(old_hash))}"
        path.unlink()
        _write_data(path.with_name(f"{new}.pf_filter"), data)
        renamed[old] = new
    for language in languages.values():
        old_meta = str(language["hash"])
        meta_path = bundle / f"pagefind.{old_meta}.pf_meta"
        meta = cbor2.loads(_read_data(meta_path))
        if not (isinstance(meta, list) and len(meta) >= 5):
            raise SitegenError(
                f"unexpected Pagefind meta file layout in {meta_path.name}",
                hint="sitegen supports Pagefind 1.x: pip install 'pagefind[bin]>=1.3,<2'",
            )
        # [version, fragments, index chunks, filters, sorts, meta fields]: the filter and sort
        # lists come in hash-map order too.
        meta[3] = sorted([name, renamed.get(old, old)] for name, old in meta[3])
        meta[4] = sorted(meta[4], key=lambda item: item[0])
        data = cbor2.dumps(meta)
        lang, _, old_hash = old_meta.rpartition("_")
        new_meta = f"{lang}_{_digest(data, len(old_hash))}"
        meta_path.unlink()
        _write_data(bundle / f"pagefind.{new_meta}.pf_meta", data)
        entry_text = entry_text.replace(f'"{old_meta}"', f'"{new_meta}"')
    entry_path.write_text(entry_text, encoding="utf-8")
