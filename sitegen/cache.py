"""Cache of pure results (parsed front matter, tags, rendered Markdown) keyed by content hash.

A value is stored as pickled bytes under a hash of (namespace, input, sitegen's own source), so
any change to the code starts a fresh cache and callers always get a new, unshared object. One
file per namespace lives in `.sitegen-cache/` in the project; a build keeps only the entries it
used, so the cache never grows past one site's worth. Without a folder the cache lives in
memory only, which still lets parallel workers hand their results to the main process.
"""

from __future__ import annotations

import copyreg
import functools
import hashlib
import io
import os
import pickle
import re
import stat
import struct
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")
FOLDER = ".sitegen-cache"
_FORMAT = 1


# The modules whose code decides a cached value, and the libraries they call.
_PRODUCERS = (
    "markup.py",
    "mathml.py",
    "frontmatter.py",
    "taxonomy.py",
    "taxonomy.toml",
    "search.py",
    "related.py",
    "views.py",
    "citation.py",
    "urls.py",
    "models.py",
)
_LIBRARIES = (
    "markdown-it-py",
    "mdit-py-plugins",
    "linkify-it-py",
    "latex2mathml",
    "pylatexenc",
    "pyyaml",
    "pagefind",
)


def _code_fingerprint() -> str:
    """A hash of the code behind cached values: a changed renderer must never serve old results."""
    # Pickles and the standard library's text handling (unicodedata, html) follow the Python.
    digest = hashlib.sha256(f"{_FORMAT} {sys.version_info[:2]}".encode())
    package = Path(__file__).parent
    for name in _PRODUCERS:
        path = package / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"-")
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=-".encode())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def build_fingerprint() -> str:
    """A hash of everything in sitegen that shapes a build's output, not only cached values.

    Every module and data file of the package, and the version of every library sitegen
    depends on: the no-change shortcut must never skip a build that new code would change.
    """
    digest = hashlib.sha256(_code_fingerprint().encode())
    package = Path(__file__).parent
    for path in sorted(p for p in package.rglob("*") if p.is_file() and p.suffix != ".pyc"):
        digest.update(f"\0{path.relative_to(package).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    try:
        required = metadata.requires("sitegen") or []
    except metadata.PackageNotFoundError:
        required = []
    for requirement in sorted(required):
        name = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]
        try:
            digest.update(f"\0{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"\0{name}=-".encode())
    return digest.hexdigest()


# What a file means to the build, from its path and bytes (e.g. text with BOM and CRLF dropped).
Reading = Callable[[str, bytes], bytes]


def _raw(path: str, data: bytes) -> bytes:
    return data


def read_bytes(path: str) -> bytes:
    """A file's bytes through bare `os.read`: the buffered file object `open` makes costs more
    than reading a page of a few kilobytes (0.1 s against 0.05 s for 10,000 pages)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def digest_inputs(
    files: Iterable[Path],
    folders: Iterable[tuple[Path, Reading]],
    values: Iterable[str],
    root: Path,
    record: dict[str, bytes] | None = None,
) -> str:
    """One hash of some files, every file under some folders (names and contents), and values.

    Each folder's files are hashed as its `Reading` gives them, so two encodings the build reads
    alike hash alike. A missing file or folder is hashed as missing, so creating one changes
    the result too. `record`, if given, receives each file's own `bytes_hash` by path.
    """
    digest = hashlib.blake2b(digest_size=20)
    for value in values:
        digest.update(f"v{len(value)}\0{value}".encode("utf-8", "surrogatepass"))
    for path in files:
        _digest_path(digest, str(path), path.name, _raw, record)
    for folder, reading in folders:
        # Named relative to the project where possible: a moved project keeps its digest.
        shown = folder.relative_to(root).as_posix() if folder.is_relative_to(root) else folder
        digest.update(f"d\0{shown}\0".encode("utf-8", "surrogatepass"))
        if not folder.is_dir():
            digest.update(b"-")
            continue
        # Plain strings: this runs for every file of the site, and paths cost more than it.
        top = os.fspath(folder)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            inside = dirpath[len(top) + 1 :]
            for name in sorted(filenames):
                shown = f"{inside}/{name}" if inside else name
                _digest_path(digest, f"{dirpath}/{name}", shown, reading, record)
    return digest.hexdigest()


def bytes_hash(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


# Front matter extras are held read-only in a MappingProxyType, which pickle cannot name:
# pickled as the dict it wraps, which is all a digest needs.
_VALUE_REDUCERS = {**copyreg.dispatch_table, MappingProxyType: lambda m: (dict, (dict(m),))}


def pickled(value: object) -> bytes:
    """A value's bytes for a digest: twice as fast as its repr for dataclasses of plain data.

    Fast mode writes no back-references, so equal values give equal bytes however their
    objects happen to be shared.
    """
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _VALUE_REDUCERS
    pickler.fast = True
    pickler.dump(value)
    return buffer.getvalue()


# A file changed this recently may change again within the file system's timestamp tick
# without its status showing it: its hash is not kept for the next build (git's "racy" files).
_SETTLED_NS = 2_000_000_000


def _digest_path(
    digest: Any, name: str, shown: str, reading: Reading, record: dict[str, bytes] | None
) -> None:
    try:
        status = os.stat(name)
        if not stat.S_ISREG(status.st_mode):
            raise IsADirectoryError(name)

        def read() -> bytes:
            return reading(name, read_bytes(name))

        found = _active.file_hash(name, reading, status, read)
    except OSError:  # missing, or a folder, or unreadable: the build would notice it too
        digest.update(f"f\0{shown}\0-".encode("utf-8", "surrogatepass"))
        if record is not None:
            record[name] = b"-"
        return
    if record is not None:
        record[name] = found
    digest.update(f"f\0{shown}\0".encode("utf-8", "surrogatepass"))
    digest.update(found)


class Cache:
    """An in-memory table of results, optionally loaded from and saved to a folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.salt = _code_fingerprint().encode()
        self._stored: dict[str, dict[bytes, bytes]] = {}
        self._used: dict[str, dict[bytes, bytes]] = {}
        self._dirty: set[str] = set()
        self._released: set[str] = set()
        self._retained: set[str] = set()
        # Kept only in a forked worker (see start_worker), for what it sends back:
        # the entries it computed, so that it need not walk (and so copy, page by page) every
        # entry it inherited to find them; and the keys it found, so that the main process
        # keeps those entries too. Without the keys a table the worker alone read (a rebuild's
        # term counts) was saved with only the entries the worker computed, and lost the rest.
        self._worker = False
        self._new: dict[str, dict[bytes, bytes]] = {}
        self._hits: dict[str, set[bytes]] = {}
        self.hits = 0
        self.misses = 0

    def _file(self, namespace: str) -> Path | None:
        return self.folder / f"{namespace}.pickle" if self.folder else None

    def _table(self, namespace: str) -> dict[bytes, bytes]:
        table = self._stored.get(namespace)
        if table is None:
            table = {}
            path = self._file(namespace)
            loaded = read_pickle(path) if path is not None else None
            if isinstance(loaded, dict) and loaded.get("salt") == self.salt:
                entries = loaded.get("entries")
                table = entries if isinstance(entries, dict) else {}
            self._stored[namespace] = table
            # A released table was saved with exactly what the build had used of it: used still.
            self._used[namespace] = dict(table) if namespace in self._released else {}
        return table

    def key(self, namespace: str, *parts: str) -> bytes:
        digest = hashlib.blake2b(self.salt, digest_size=20)
        digest.update(namespace.encode())
        for part in parts:
            digest.update(b"\x00")
            digest.update(part.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def has(self, namespace: str, parts: tuple[str, ...]) -> bool:
        key = self.key(namespace, *parts)
        return key in self._table(namespace) or key in self._used[namespace]

    def memo(self, namespace: str, parts: tuple[str, ...], compute: Callable[[], T]) -> T:
        """The stored result for these inputs, or compute, store and return it."""
        table = self._table(namespace)
        key = self.key(namespace, *parts)
        blob = self._used[namespace].get(key) or table.get(key)
        if blob is not None:
            self.hits += 1
            self._used[namespace][key] = blob
            if self._worker:
                self._hits.setdefault(namespace, set()).add(key)
            value: T = pickle.loads(blob)
            return value
        self.misses += 1
        self._dirty.add(namespace)
        value = compute()
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self._used[namespace][key] = blob
        if self._worker:
            self._new.setdefault(namespace, {})[key] = blob
        return value

    def file_hash(
        self, path: str, reading: Reading, status: os.stat_result, read: Callable[[], bytes]
    ) -> bytes:
        """`bytes_hash(read())`, kept with the file's status: while a file's inode, size,
        mtime and ctime stay as they were, it is not read again. (A write always moves the
        ctime, which no tool can set back.)"""
        namespace = "file-hashes"
        table = self._table(namespace)
        key = self.key(namespace, path, reading.__name__)
        now = struct.pack(
            "<5q",
            status.st_dev,
            status.st_ino,
            status.st_size,
            status.st_mtime_ns,
            status.st_ctime_ns,
        )
        blob = self._used[namespace].get(key) or table.get(key)
        if blob is not None and blob[: len(now)] == now:
            self._used[namespace][key] = blob
            return blob[len(now) :]
        found = bytes_hash(read())
        changed = max(status.st_mtime_ns, status.st_ctime_ns)
        if time.time_ns() - changed > _SETTLED_NS:
            self._used[namespace][key] = now + found
            self._dirty.add(namespace)
        return found

    def start_worker(self) -> None:
        """Mark this (forked) cache as a worker's: from now on it notes what it computes and
        finds, for take_new_entries() and take_hits(). What the parent computed is not its own."""
        self._worker = True
        self._new, self._hits = {}, {}

    def take_new_entries(self) -> dict[str, dict[bytes, bytes]]:
        """Entries computed since start_worker() or the last call: what a worker sends back to
        the main process. They are then forgotten: a worker sends each result once, keeps none."""
        entries, self._new = self._new, {}
        for namespace, table in entries.items():
            used = self._used[namespace]
            for key in table:
                del used[key]
        return entries

    def take_hits(self) -> dict[str, set[bytes]]:
        """The keys found since start_worker() or the last call: what a worker used of the
        main process's entries, sent back with its new ones."""
        hits, self._hits = self._hits, {}
        return hits

    def absorb(
        self, entries: dict[str, dict[bytes, bytes]], hits: dict[str, set[bytes]] | None = None
    ) -> None:
        """Take a worker's new entries and count them, and the entries it found, as used here:
        the worker worked for this build."""
        for namespace, table in entries.items():
            self._table(namespace).update(table)
            self._used[namespace].update(table)
            if table:
                self._dirty.add(namespace)
        for namespace, keys in (hits or {}).items():
            stored, used = self._table(namespace), self._used[namespace]
            for key in keys:
                blob = stored.get(key)
                if blob is not None:
                    used[key] = blob

    def save(self) -> None:
        """Keep exactly the entries this build used; write only tables that changed."""
        for namespace in list(self._used):
            self._save_table(namespace)

    def release(self, namespace: str) -> None:
        """Save `namespace` now and drop it from memory: the build is done with it.

        The front matter of every page is needed only until the site is loaded, and at 100k
        papers it is a quarter of a gigabyte. Looked up again, the table is read back.
        """
        if namespace not in self._used:
            return
        self._save_table(namespace)
        for tables in (self._stored, self._used, self._new):
            tables.pop(namespace, None)
        self._dirty.discard(namespace)
        self._released.add(namespace)

    def retain(self, *namespaces: str) -> None:
        """Save these tables with every entry they held, not only the ones this build used.

        For a build that skips work whose results it will want again (views.py's details):
        the next build that uses a whole table saves only what it used again.
        """
        self._retained.update(namespaces)

    def _save_table(self, namespace: str) -> None:
        used = self._used[namespace]
        if self.folder is None:
            return
        if namespace in self._retained:
            used = {**self._stored[namespace], **used}
        if namespace not in self._dirty and used.keys() == self._stored[namespace].keys():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        gitignore = self.folder / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("# written by sitegen build; safe to delete\n*\n")
        path = self._file(namespace)
        assert path is not None
        write_pickle(path, {"salt": self.salt, "entries": used})


def read_pickle(path: Path) -> object | None:
    """What a file of the cache folder holds, or None if it is missing or damaged: a damaged
    cache only means a slower build."""
    try:
        with path.open("rb") as f:
            return pickle.load(f)  # type: ignore[no-any-return]
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, TypeError, ValueError):
        return None


def write_pickle(path: Path, value: object) -> None:
    """Write a file of the cache folder through a temporary file: never seen half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as f:
        pickle.dump(value, f, pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


class FilesDigest:
    """One key for a whole set of files, fed one file at a time as they stream past."""

    def __init__(self) -> None:
        self._digest = hashlib.blake2b(digest_size=20)

    def add(self, path: str, data: bytes) -> None:
        self._digest.update(f"{path}\0{len(data)}\0".encode())
        self._digest.update(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


_active = Cache()


def active() -> Cache:
    return _active


def memo(namespace: str, parts: tuple[str, ...], compute: Callable[[], T]) -> T:
    """Look a pure result up in the build's cache (an in-memory one outside a build)."""
    return _active.memo(namespace, parts, compute)


@contextmanager
def using(cache: Cache) -> Iterator[Cache]:
    """Make `cache` the one every memo() call sees for the duration of a build."""
    global _active
    previous, _active = _active, cache
    try:
        yield cache
    finally:
        _active = previous


def for_project(root: Path, enabled: bool) -> Cache:
    return Cache(root / FOLDER if enabled else None)
