"""Page reuse: a page whose render inputs equal the last build's is carried over, not rendered.

Every rendered page gets a key: a hash of the template set, sitegen's code and the page's whole
template context. After a build, the ledger in `.sitegen-cache/` maps each page to its key and
to the identity (inode, size, mtime) of the file published for it. The next build carries a
page over only when its key matches and the published file is still that very file, so a page
edited or replaced by hand inside the output folder is rendered again.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from collections.abc import Container, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sitegen import cache, write
from sitegen.models import Carried, OutputFile
from sitegen.views import TAG_OWN_FIELDS, DayView, PaperView, TagView, ViewField, related_digest

LEDGER_PREFIX = "outputs-"  # one ledger per output folder: `outputs-<hash of its path>.pickle`
SPARE_PREFIX = "spare-"  # and one spare tree: `spare-<hash of its path>/`
_FORMAT = 3
_SHARED_VIEWS = (PaperView, TagView, DayView)


class Record(NamedTuple):
    """What the last build published at one path, and from which inputs.

    A tuple: the ledger of a 10k site holds 12,000 of them, read and written at every build,
    and plain tuples pickle three times as fast as dataclasses.
    """

    key: bytes
    size: int
    inode: int
    mtime_ns: int
    marked: bool  # holds search.INDEXED_MARK: the page belongs in the search index
    digest: bytes  # of a marked page's bytes, when the search index was built; else empty


# Types whose `digest`, once set, stands for the whole value in a key (see `key_by_digest`);
# a paper's view has two (`_paper_digest`).
_DIGESTED: set[type] = set()

_T = TypeVar("_T")


def key_by_digest(cls: type[_T]) -> type[_T]:
    """Class decorator: a value of `cls` with a `digest` is keyed by it, not pickled whole.

    For a value made from many others and digested once where it is made (a feed channel
    and its fifty entries, on the feeds page and in each of its three feeds).
    """
    _DIGESTED.add(cls)
    return cls


def _paper_digest(view: PaperView, related: bool) -> str:
    """What stands for a linked paper's view in a key, with or without its related papers;
    tagged apart, so that a key made without them never equals one made with them."""
    return "+" + related_digest(view) if related else "-" + view.digest


class _KeyPickler(pickle.Pickler):
    """Pickles a page context with each paper, tag and day view replaced by its digest.

    These views recur on many pages (a paper on home, tag and day pages; a tag's whole list on
    each of its pages): digesting each one once keeps a page's key cheap.
    """

    def __init__(self, file: io.BytesIO, keys: PageKeys, related: bool, top: object = None) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        # Fast mode writes no back-references: equal values pickle to equal bytes however
        # their objects happen to be shared in this build.
        self.fast = True
        self._keys = keys
        self._related = related  # paper views by their digests with their related papers
        self._top = top  # the view being digested: pickled in full, its nested views by digest

    def persistent_id(self, obj: Any) -> bytes | None:
        if type(obj) is PaperView and obj.digest:
            return ("PaperView" + _paper_digest(obj, self._related)).encode()
        if type(obj) in _DIGESTED and obj.digest:
            digest: str = obj.digest
            return type(obj).__name__.encode() + digest.encode()
        if type(obj) in _SHARED_VIEWS and obj is not self._top:
            # Tagged with the type, so a paper and a tag view can never stand for each other.
            return type(obj).__name__.encode() + self._keys.view_digest(obj, self._related)
        return None


class PageKeys:
    """The render keys of one build's pages.

    A key is made with the paper views' related papers (`related`) or without them, for a
    page whose render read none (render.py): a change of related papers, which a small edit
    makes to hundreds of papers, then renders their pages again, not every list showing them.
    """

    def __init__(self, salt: bytes) -> None:
        self._salt = salt
        # Shared values (views, tuples) by id, made without [0] and with [1] related papers.
        self._views: tuple[dict[int, tuple[object, bytes]], ...] = ({}, {})
        self._values: tuple[dict[int, tuple[object, bytes]], ...] = ({}, {})  # pickled
        self._shapes: dict[tuple[str, ...], tuple[bytes, ...]] = {}
        self._shallow: dict[int, tuple[object, bytes]] = {}  # tag views by their own fields

    def view_digest(self, view: object, related: bool = True) -> bytes:
        known = self._views[related].get(id(view))
        if known is not None and known[0] is view:
            return known[1]
        buffer = io.BytesIO()
        _KeyPickler(buffer, self, related, top=view).dump(view)
        digest = cache.bytes_hash(buffer.getvalue())
        # The view is kept alive, so its id stays its own.
        self._views[related][id(view)] = (view, digest)
        return digest

    def key(
        self,
        template: str,
        context: Mapping[str, Any],
        *,
        shallow: bool = False,
        related: bool = True,
    ) -> bytes:
        """The key of a page rendered from `context`; `shallow`, of a page whose render read
        no more of a tag's view in the context than its own fields (views.TAG_OWN_FIELDS);
        not `related`, of a page whose render read no paper view's related papers."""
        names = sorted(context)
        # Thousands of pages share a template and the names in their context: framed once.
        shape = (template, *names)
        frames = self._shapes.get(shape)
        if frames is None:
            head = self._salt + _framed(b"t", template.encode())
            frames = self._shapes[shape] = (head, *(_framed(b"k", n.encode()) for n in names))
        parts = [frames[0]]
        value = self._shallow_value if shallow else self._value
        for frame, name in zip(frames[1:], names, strict=True):
            parts += (frame, value(context[name], related))
        # Hashed at once: the same bytes as an update per part, for a third of the calls.
        return hashlib.blake2b(b"".join(parts), digest_size=20).digest()

    def _shallow_value(self, value: object, related: bool) -> bytes:
        if type(value) is not TagView:
            return self._value(value, related)
        known = self._shallow.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        # Tagged apart from any `_value`: a shallow key never equals a full one.
        own = {name: getattr(value, name) for name in sorted(TAG_OWN_FIELDS)}
        framed = _framed(b"g", cache.pickled(own))
        self._shallow[id(value)] = (value, framed)  # kept alive, so its id stays its own
        return framed

    def _value(self, value: object, related: bool) -> bytes:
        """One context value, framed: most are plain strings or a paper's view, which need no
        pickling, and the rest (the feed links, a tag's view) recur on many pages."""
        if value is None:
            return b"n"
        if type(value) is str:
            return _framed(b"s", value.encode("utf-8", "surrogatepass"))
        if type(value) is PaperView and value.digest:
            return _framed(b"v", _paper_digest(value, related).encode())
        if type(value) is ViewField and value.view.digest:
            return _framed(b"f", f"{_paper_digest(value.view, related)}\0{value.name}".encode())
        # Immutable, and kept alive below: the same id is the same value for the whole build.
        shared = type(value) is tuple or type(value) in _SHARED_VIEWS
        values = self._values[related]
        if shared:
            known = values.get(id(value))
            if known is not None and known[0] is value:
                return known[1]
        buffer = io.BytesIO()
        _KeyPickler(buffer, self, related).dump(value)
        framed = _framed(b"p", buffer.getvalue())
        if shared:
            values[id(value)] = (value, framed)  # kept alive, so its id stays its own
        return framed


def _framed(tag: bytes, data: bytes) -> bytes:
    """A part of a key that no other sequence of parts can run into."""
    return tag + len(data).to_bytes(8, "little") + data


def template_salt(template_dirs: Iterable[Path], globals_: object) -> bytes:
    """Everything outside a page's context that shapes it: code, templates, template globals."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(cache.build_fingerprint().encode())
    # Folders by their place in the lookup order, not their path: a moved project keeps its keys.
    for place, folder in enumerate(template_dirs):
        digest.update(f"\0dir {place}\0".encode())
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(f"\0{path.relative_to(folder).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    digest.update(cache.pickled(globals_))
    return digest.digest()


def value_key(kind: str, inputs: object) -> bytes:
    """The render key of an output made by code alone (a feed): sitegen's code and the repr of
    everything it is made from, which for dataclasses of plain values names every field."""
    digest = hashlib.blake2b(cache.build_fingerprint().encode(), digest_size=20)
    digest.update(f"\0{kind}\0".encode())
    digest.update(repr(inputs).encode("utf-8", "surrogatepass"))
    return digest.digest()


class Ledger:
    """The last build's records, checked against the files actually in the output folder."""

    def __init__(self, folder: Path | None, target: Path) -> None:
        self.folder = folder
        self.target = target
        self._base = os.fspath(target)
        self.records: dict[str, Record] = self._load()

    def _where(self) -> str:
        # Per output folder: two folders built from one project (`--out`, a search-less copy)
        # must not overwrite each other's records, or each build would render everything.
        return hashlib.blake2b(os.fsencode(self.target), digest_size=8).hexdigest()

    def _file(self) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / f"{LEDGER_PREFIX}{self._where()}.pickle"

    def spare_tree(self) -> Path | None:
        """Where the write stage keeps the tree its last swap took out, to start the next one
        from (write._Staging); in the cache folder, which a person need never look into."""
        if self.folder is None:
            return None
        return self.folder / f"{SPARE_PREFIX}{self._where()}"

    def _load(self) -> dict[str, Record]:
        path = self._file()
        # Missing or damaged, a ledger only means rendering everything.
        loaded = cache.read_pickle(path) if path is not None else None
        if not isinstance(loaded, dict) or loaded.get("format") != _FORMAT:
            return {}
        records = loaded.get("records")
        if not isinstance(records, dict):
            return {}
        try:
            return {name: Record._make(fields) for name, fields in records.items()}
        except TypeError:  # damaged
            return {}

    def reused(self, path: str, key: bytes) -> OutputFile | None:
        """`path` carried over from the last build, if it was built from `key` and its file is
        still the one built."""
        record = self.records.get(path)
        if record is None or record.key != key:
            return None
        try:
            stat = os.stat(f"{self._base}/{path}", follow_symlinks=False)
        except OSError:
            return None
        if (stat.st_ino, stat.st_size, stat.st_mtime_ns) != (
            record.inode,
            record.size,
            record.mtime_ns,
        ):
            return None
        return OutputFile(path, b"", key, Carried(record.size, record.marked, record.digest))

    def save(
        self, published: Mapping[str, tuple[bytes, bool, bytes]], carried: Container[str] = ()
    ) -> None:
        """Record the files now in the output folder for the pages built from `published`;
        those `carried` over from the last build are the files its records describe."""
        path = self._file()
        if path is None:
            return
        records: dict[str, tuple[object, ...]] = {}
        for name, (key, marked, digest) in published.items():
            if name in carried:
                # The very file (a hard link to it): no need to look at it again. Were it a
                # copy (no hard links there), the next build would only render it again.
                old = self.records.get(name)
                if old is not None and old.key == key:
                    records[name] = tuple(old)
                    continue
            try:
                stat = os.stat(f"{self._base}/{name}", follow_symlinks=False)
            except OSError:
                continue
            records[name] = (key, stat.st_size, stat.st_ino, stat.st_mtime_ns, marked, digest)
        cache.write_pickle(path, {"format": _FORMAT, "target": self._base, "records": records})
        self._forget_gone_folders()

    def _forget_gone_folders(self) -> None:
        """Delete the ledger and spare tree of each other output folder that no longer exists.

        A spare holds hard links to its folder's files: once the folder is deleted (a changed
        `--out`, a removed copy), the spare alone keeps that whole site on disk.
        """
        assert self.folder is not None
        mine = self._file()
        for other in self.folder.glob(f"{LEDGER_PREFIX}*.pickle"):
            if other == mine:
                continue
            loaded = cache.read_pickle(other)
            target = loaded.get("target") if isinstance(loaded, dict) else None
            if not isinstance(target, str) or os.path.lexists(target):
                continue  # still there, or a ledger that does not say where (older or damaged)
            where = other.name.removeprefix(LEDGER_PREFIX).removesuffix(".pickle")
            write.drop_spare(self.folder / f"{SPARE_PREFIX}{where}")
            other.unlink(missing_ok=True)
