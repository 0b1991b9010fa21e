"""Write stage: output files into a folder beside the target, then swap it in."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import signal
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sitegen import frontmatter
from sitegen.errors import ConfigError, SitegenError
from sitegen.models import OutputFile

MARKER = ".sitegen-output"
MARKER_TEXT = b"This folder is written by sitegen build.\n"
_TMP_PREFIX = ".sitegen-tmp-"
_OLD_PREFIX = ".sitegen-old-"
_LOCK_PREFIX = ".sitegen-lock-"
_PARTIAL_SUFFIX = ".partial"  # a spare tree being made (make_spare)
# Test hook: the fault tests set this to a point name below to SIGKILL the build right there.
KILL_AT_ENV = "SITEGEN_TEST_KILL_AT"
_RENAME_EXCHANGE = 2  # linux/fs.h


@dataclass(frozen=True)
class WriteReport:
    files: int
    bytes: int
    changed: int  # files whose bytes differ from the previous build (new ones included)


def _fault_point(name: str) -> None:
    if os.environ.get(KILL_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def safe_relative(path: str) -> PurePosixPath:
    """Refuse any output path that could leave the output folder."""
    return PurePosixPath(*_safe_parts(path))


def _safe_parts(path: str) -> list[str]:
    """The folders and name of a relative output path, in plain `a/b/c` form, or an error.

    Strings, not a PurePosixPath: this runs for every file of the site.
    """
    parts = path.split("/")
    if any(p in ("..", ".", "") or "\\" in p or "\x00" in p for p in parts):
        raise SitegenError(f"refusing to write outside the output folder: {path!r}")
    return parts


def _lexical(path: Path) -> Path:
    """Absolute path with the parent resolved but the last component kept as it is.

    Resolving the whole path would follow a symlinked output folder and write wherever it
    points; a symlinked parent (e.g. a project living under a linked folder) is fine.
    """
    path = Path(os.path.abspath(path))
    return path if path.parent == path else path.parent.resolve() / path.name


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix() or "."
        except ValueError:
            pass
    return str(path)


def check_target(
    target: Path,
    *,
    root: Path | None = None,
    protected: Sequence[Path] = (),
    force: bool = False,
) -> None:
    """Refuse an output folder that a swap would destroy, or one sitegen did not create.

    `/`, the home folder, the project `root`, the `protected` source folders and anything that
    contains them, and anything inside a source folder, are refused even with `force`: the swap
    replaces the whole folder. A non-empty folder without sitegen's marker file is refused unless
    `force` says it may be replaced.
    """
    target = _lexical(target)
    shown = _display(target, root)
    guarded = [(Path("/"), "the file system root"), (Path.home(), "your home folder")]
    if root is not None:
        guarded.append((root, "the project folder"))
    guarded.extend((p, f"the source folder {_display(_lexical(p), root)}/") for p in protected)
    for guard, label in guarded:
        guard = _lexical(guard)
        if target == guard or guard.is_relative_to(target):
            what = label if target == guard else f"a folder that holds {label}"
            raise ConfigError(
                f"refusing to use {shown} as the output folder: it is {what}, and a build "
                "replaces the whole output folder",
                hint="choose a folder of its own, e.g. --out _site",
            )
        if label.startswith("the source folder") and target.is_relative_to(guard):
            raise ConfigError(
                f"refusing to write the site into {shown}, inside {label}",
                hint="choose a folder outside it, e.g. --out _site",
            )
    if target.is_symlink():
        raise ConfigError(
            f"output folder {shown} is a symbolic link; sitegen does not write through links",
            hint="remove the link or pass the real folder with --out",
        )
    if target.exists() and not target.is_dir():
        raise ConfigError(f"output path {shown} is a file, not a folder", hint="move it away")
    if force or not target.is_dir() or (target / MARKER).is_file():
        return
    if any(target.iterdir()):
        raise ConfigError(
            f"output folder {shown} is not empty and was not made by sitegen "
            f"(no {MARKER} file); building would replace everything in it",
            hint="choose another --out, empty it, or pass --force to replace it",
        )


@contextmanager
def output_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive lock beside `target` so two builds never write it at once.

    The lock file stays in place: deleting it while another process waits on it would let a
    third process lock a fresh file and run concurrently. The kernel drops the lock when the
    holder exits, even on SIGKILL.
    """
    target = _lexical(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f"{_LOCK_PREFIX}{target.name}"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise SitegenError(
            f"cannot create the lock file {lock_path}: {exc.strerror}",
            hint="check the folder's permissions",
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SitegenError(
                f"another sitegen build is writing {target.name}/ right now "
                f"(it holds {lock_path.name})",
                hint="wait for it to finish, then build again",
            ) from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


@dataclass(frozen=True)
class _Published:
    """The previous build's file at one output path, reached without links."""

    path: str
    status: os.stat_result | None  # its lstat if it is a regular file; None if not there


def _published_file(
    target: str | Path, parts: Sequence[str], plain_dirs: set[str] | None = None
) -> _Published | None:
    """The previous build's file at `parts`, or None if a link is on the way to it.

    `plain_dirs` remembers the folders already found free of links, so that a site's thousands
    of files cost one check each rather than one per path component. Plain strings, not
    `Path`s: this runs for every file of the site, and path objects cost more than the checks.
    The file's own lstat is kept: the callers compare and read it without another.
    """
    base = os.fspath(target)
    checked = ""
    status: os.stat_result | None = None
    for index, part in enumerate(parts):
        checked = f"{checked}/{part}" if checked else part
        if plain_dirs is not None and checked in plain_dirs:
            continue
        try:
            status = os.lstat(f"{base}/{checked}")
        except FileNotFoundError:
            # Not there, nor anything below it: the caller finds no file (a new page, or one
            # to report). A new page ends here at its first missing folder.
            return _Published(f"{base}/{'/'.join(parts)}", None)
        except OSError:
            return None
        if stat.S_ISLNK(status.st_mode):
            return None
        if plain_dirs is not None and index < len(parts) - 1:
            plain_dirs.add(checked)
    if status is not None and not stat.S_ISREG(status.st_mode):
        status = None
    return _Published(f"{base}/{checked}", status)


def _same_bytes(previous: _Published | None, data: bytes) -> bool:
    """Whether the previous build's file holds exactly `data`."""
    if previous is None or previous.status is None or previous.status.st_size != len(data):
        return False
    try:
        with open(previous.path, "rb") as f:
            return f.read() == data
    except OSError:
        return False


def _write_new(dest: str | Path, data: bytes) -> None:
    """Create a file that must not exist yet, never through a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(dest, flags, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _sweep(parent: Path, name: str) -> None:
    """Tidy what a killed build left beside the output; call only while holding the lock."""
    target = parent / name
    strays = sorted(
        p
        for p in parent.iterdir()
        if p.name.startswith((f"{_TMP_PREFIX}{name}-", f"{_OLD_PREFIX}{name}-"))
        and p.is_dir()
        and not p.is_symlink()
    )
    # Only the non-atomic fallback swap can leave the target missing: put the old tree back.
    olds = [p for p in strays if p.name.startswith(_OLD_PREFIX)]
    if not target.exists() and not target.is_symlink() and olds:
        olds[0].rename(target)
        strays.remove(olds[0])
    for stray in strays:
        shutil.rmtree(stray, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(
        at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), ctypes.c_uint(_RENAME_EXCHANGE)
    )
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _io_error(exc: OSError, what: str) -> SitegenError:
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    elif exc.errno == errno.EDQUOT:
        reason = "the disk quota is exhausted"
    else:
        reason = exc.strerror or str(exc)
    return SitegenError(
        f"could not write {what}: {reason}; the previous site is unchanged",
        hint="free some space or fix the folder, then build again",
    )


@contextmanager
def staging_tree(
    target: Path, spare: Path | None = None, inventory: Mapping[str, bool] | None = None
) -> Iterator[_Staging]:
    """The folder beside `target` that the new tree is built in, for `write_site` to swap in;
    started from the `spare` tree if there is one, whose `inventory` (`spare_inventory`) is
    taken if given, and found otherwise.

    Made before the pages are rendered, so a build can make folders in it while it waits for
    other work. Deleted if the build fails, never kept as the next spare: whatever made the
    build fail may be in it. The caller holds `output_lock(target)`.
    """
    target = _lexical(target)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    _sweep(parent, target.name)
    path = parent / f"{_TMP_PREFIX}{target.name}-{os.getpid()}"
    try:
        try:
            tree = _Staging(path, target, spare, inventory)
        except OSError as exc:
            raise _io_error(exc, "the site") from exc
        yield tree
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def write_site(
    files: Iterable[OutputFile],
    tree: _Staging,
    *,
    finalize: Callable[[Path], Iterable[OutputFile]] | None = None,
    note: Callable[[], bytes] | None = None,
) -> WriteReport:
    """Write `files` into `tree` (from `staging_tree`), carrying unchanged files over, then swap
    it in for its target.

    A failure or kill at any point leaves the previous `target` untouched. Unchanged files are
    hard links to the previous build's, so their mtimes stay and rsync-style deploys see no
    change. The caller holds `output_lock(target)`.

    `finalize` is called with the staging folder once `files` are in it (e.g. to index the
    pages) and its files are written there too; `note()` is then appended to the marker file,
    published in the same swap as the pages it describes.

    The tree's spare, on the same file system, keeps the tree the swap takes out: the next
    build starts from it instead of an empty folder (see `_Staging`).
    """
    target, spare = tree.target, tree.spare
    staging = Path(tree.base)
    count = size = changed = 0
    written: set[str] = set()
    plain_dirs: set[str] = set()  # folders of the previous build checked for links
    current = "the site"
    try:
        base = tree.base
        # What the spare held and this build did not write goes before `finalize` reads the
        # tree (the search index must not find a deleted paper's page).
        for item in _then(files, tree.drop_the_rest, finalize, staging):
            parts = _safe_parts(item.path)
            name = item.path
            if name in written:
                raise SitegenError(f"two outputs want the same path {item.path!r}")
            written.add(name)
            current = item.path
            if item.written is not None:  # already in the tree (PageWriter)
                tree.adopt(name)
                size += item.written.size
                changed += item.written.changed
            else:
                tree.folder(name.rpartition("/")[0])
                previous = _published_file(target, parts, plain_dirs)
                if item.carried is not None:
                    if previous is None:
                        raise SitegenError(
                            f"{item.path} vanished from the previous build while this one ran",
                            hint="build again",
                        )
                    tree.keep(previous, name)
                    size += item.carried.size
                elif _same_bytes(previous, item.data):
                    assert previous is not None
                    tree.keep(previous, name)
                    size += len(item.data)
                else:
                    tree.clear(name)
                    _write_new(f"{base}/{name}", item.data)
                    changed += 1
                    size += len(item.data)
            count += 1
            if count == 10:
                _fault_point("write:staging")
        current = MARKER
        marker = MARKER_TEXT + (note() if note else b"")
        previous = _published_file(target, [MARKER])
        if _same_bytes(previous, marker):
            assert previous is not None
            tree.keep(previous, MARKER)  # keep its mtime: nothing changed
        else:
            tree.clear(MARKER)
            _write_new(staging / MARKER, marker)
        _fault_point("write:before-swap")
        current = "the site"
        _swap(staging, target, spare)
    except OSError as exc:
        raise _io_error(exc, current) from exc
    return WriteReport(count, size, changed)


class _Staging:
    """The folder a build writes its tree into: empty, or the spare tree corrected in place.

    The spare is the tree the last swap took out, so it already holds most of the files, as
    hard links to the very files now published (only the last two builds' changes differ).
    Correcting it costs a walk and a check per file, where a fresh folder cost a `mkdir` per
    page and an `rmtree` of the whole old tree: over a second of a 10,000-paper rebuild.

    Anything in it is suspect: it was the published site, which a person may have edited. A
    file is kept only if it is the very file carried over from the published tree, every
    folder is checked to be a folder (links are removed, never followed), and whatever this
    build did not claim is deleted before the swap.
    """

    def __init__(
        self,
        path: Path,
        target: Path,
        spare: Path | None,
        inventory: Mapping[str, bool] | None = None,
    ) -> None:
        self.base = os.fspath(path)
        self.target = target  # the output folder it will be swapped in for
        self.spare = spare
        self.made: set[str] = {""}  # folders known to be real folders in the tree
        # What the spare held that this build has not claimed yet: True for a real folder.
        self.left: dict[str, bool] = {}
        self.reused = False
        if spare is not None and _is_real_folder(spare):
            try:
                os.rename(spare, path)
                left = dict(inventory) if inventory is not None else _inventory(self.base)
                if inventory is not None or _correctable(self.base, left):
                    self.left = left
                    self.reused = True
                    return
            except OSError:
                pass
            self.left = {}
            _abandon(path)
        path.mkdir()

    def folders(self, names: Iterable[str]) -> None:
        """`folder` for each of `names`, checked as output paths first."""
        for name in names:
            _safe_parts(name)
            self.folder(name)

    def folder(self, name: str) -> None:
        """Make sure `name` (and each folder above it) is a real folder of the tree."""
        if name in self.made:
            return
        self.folder(name.rpartition("/")[0])
        kind = self.left.pop(name, None)
        if kind is not True:
            if kind is False:
                os.unlink(f"{self.base}/{name}")
            if self.reused:  # a spare has no PageWriter: what it held is listed in `left`
                os.mkdir(f"{self.base}/{name}")
            else:
                _shared_mkdir(f"{self.base}/{name}")
        self.made.add(name)

    def writer(self) -> PageWriter | None:
        """A `PageWriter` for this tree, if it started empty (no spare to correct)."""
        return None if self.reused else PageWriter(self)

    def adopt(self, name: str) -> None:
        """Note the folders above `name`, a file a `PageWriter` wrote, as made."""
        folder = name.rpartition("/")[0]
        while folder not in self.made:
            self.made.add(folder)
            folder = folder.rpartition("/")[0]

    def clear(self, name: str) -> None:
        """Remove whatever the spare holds at `name`, so a new file can be created there."""
        kind = self.left.pop(name, None)
        if kind is None and self.reused:
            # Listed under another name, on a file system that ignores case (`Logo.png`).
            path = f"{self.base}/{name}"
            if os.path.lexists(path):
                kind = _is_real_folder(Path(path))
        if kind is True:
            shutil.rmtree(f"{self.base}/{name}")
            inside = f"{name}/"
            for gone in [entry for entry in self.left if entry.startswith(inside)]:
                del self.left[gone]
        elif kind is False:
            os.unlink(f"{self.base}/{name}")

    def keep(self, previous: _Published, name: str) -> None:
        """Carry the published file `previous` over to `name`, unless it is already there."""
        dest = f"{self.base}/{name}"
        if self.left.get(name) is False and _is_file(dest, previous.status):
            del self.left[name]
            return
        self.clear(name)
        _keep(previous.path, dest)

    def drop_the_rest(self) -> None:
        """Delete what the spare held and this build did not claim: nothing else is published."""
        gone: set[str] = set()
        for name in sorted(self.left):
            folder = name.rpartition("/")[0]
            if folder in gone:
                gone.add(name)  # deleted with its folder
                continue
            # Gone already if a name differing only in case was written over it (clear).
            with suppress(FileNotFoundError):
                if self.left[name]:
                    shutil.rmtree(f"{self.base}/{name}")
                    gone.add(name)
                else:
                    os.unlink(f"{self.base}/{name}")
        self.left = {}


class PageWriter:
    """Writes pages into a staging tree that started empty, as `write_site` would, from the
    process that made the tree or one forked from it: render workers write the pages they
    render, instead of sending their bytes to the write stage.

    A page is a hard link to the published file if that holds the same bytes, else a new file.
    `write_site` is then given the page as `OutputFile.written`, with no bytes.
    """

    def __init__(self, tree: _Staging) -> None:
        self.base = tree.base
        self.target = os.fspath(tree.target)
        self.made = set(tree.made)  # folders known to be real folders of the tree
        self.plain_dirs: set[str] = set()  # published folders found free of links
        # No published site (a first build, or one after the output folder was deleted): no
        # page has a published file to look for. The build holds the output folder's lock.
        self.unpublished = not os.path.lexists(self.target)

    def write(self, name: str, data: bytes) -> bool:
        """Put `data` at `name`; False if it is the published file's link (same bytes).

        A failure is reported as `write_site` reports its own (a full disk, say)."""
        parts = _safe_parts(name)
        try:
            self._folder(name.rpartition("/")[0])
            dest = f"{self.base}/{name}"
            previous = (
                None if self.unpublished else _published_file(self.target, parts, self.plain_dirs)
            )
            same = _same_bytes(previous, data)
            for attempt in (1, 2):
                try:
                    if same:
                        assert previous is not None
                        _keep(previous.path, dest)
                    else:
                        _write_new(dest, data)
                    break
                except FileExistsError:
                    if attempt == 2 or not stat.S_ISREG(os.lstat(dest).st_mode):
                        raise
                    # Left by a worker killed while it wrote this page: the task is run again
                    # (parallel.py), and the tree is this build's alone.
                    os.unlink(dest)
        except OSError as exc:
            raise _io_error(exc, name) from exc
        return not same

    def _folder(self, name: str) -> None:
        if name in self.made:
            return
        self._folder(name.rpartition("/")[0])
        _shared_mkdir(f"{self.base}/{name}")
        self.made.add(name)


def _shared_mkdir(path: str) -> None:
    """Make a folder of a tree that started empty, which another of its writers (a render
    worker, `write_early`, the write stage) may have made first: a real folder there is fine,
    a link (which nothing of this build puts in the tree) is refused."""
    try:
        os.mkdir(path)
    except FileExistsError:
        if not _is_real_folder(Path(path)):
            raise


def _is_real_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _walk(base: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry under `base` with its relative path, each folder before what it holds.
    Links are entries, never followed."""
    pending = [""]
    while pending:
        folder = pending.pop()
        with os.scandir(f"{base}/{folder}" if folder else base) as entries:
            for entry in entries:
                name = f"{folder}/{entry.name}" if folder else entry.name
                yield name, entry
                if entry.is_dir(follow_symlinks=False):
                    pending.append(name)


def _inventory(base: str) -> dict[str, bool]:
    """Every entry under `base` by relative path: True for a real folder."""
    return {name: entry.is_dir(follow_symlinks=False) for name, entry in _walk(base)}


def _correctable(base: str, inventory: Mapping[str, bool]) -> bool:
    """Whether this process can change each folder of the tree at `base`: correcting a spare
    means deleting in its folders, and one it cannot change (a published folder made
    read-only, say) makes the tree not worth it."""
    return all(
        os.access(f"{base}/{name}", os.W_OK | os.X_OK)
        for name, is_folder in inventory.items()
        if is_folder
    ) and os.access(base, os.W_OK | os.X_OK)


def spare_inventory(spare: Path) -> dict[str, bool] | None:
    """What `_Staging` would find in the spare tree at `spare`, for it to start from: every
    entry by relative path, True for a real folder. None if there is no spare, or one it could
    not correct (`_correctable`): `_Staging` then looks for itself.

    A build takes it in a process beside its own work, so that the walk (0.13 s of a 10k
    rebuild) is not on its way; the build holds the lock that keeps other builds out.
    """
    base = os.fspath(spare)
    if not _is_real_folder(spare):
        return None
    try:
        found = _inventory(base)
    except OSError:
        return None
    return found if _correctable(base, found) else None


def make_spare(target: Path, spare: Path) -> dict[str, bool] | None:
    """Copy the published tree to `spare` as hard links, for the next swap to start from.

    The swap leaves a spare (`_discard`) only once a build has replaced a tree: the first
    rebuild after a cold build would pay a `mkdir` per page for a fresh staging tree instead
    (half a second at 10,000 papers). The build runs this in a process of its own while it
    renders. Only folders and regular files are copied, and `_Staging` checks the spare
    anyway. The spare's inventory (`spare_inventory`), as the copy made it. None, and nothing
    left behind, if there is nothing to copy or the copy fails (another file system, no
    space): the build then starts from an empty tree as before. None too, with the spare
    made, if it could not be corrected (`_correctable`): `_Staging` then finds that itself.
    """
    target = _lexical(target)
    partial = spare.with_name(f"{spare.name}{_PARTIAL_SUFFIX}")
    shutil.rmtree(partial, ignore_errors=True)  # left by a build that was killed
    if os.path.lexists(spare) or not _is_real_folder(target):
        return None
    made: dict[str, bool] = {}
    try:
        os.mkdir(partial)
        base, dest = os.fspath(target), os.fspath(partial)
        for name, entry in _walk(base):
            if entry.is_dir(follow_symlinks=False):
                os.mkdir(f"{dest}/{name}")
                made[name] = True
            elif entry.is_file(follow_symlinks=False):
                os.link(entry.path, f"{dest}/{name}", follow_symlinks=False)
                made[name] = False
        correctable = _correctable(dest, made)
        os.rename(partial, spare)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        return None
    # Made by this process, but checked as any spare is: a umask can make folders read-only.
    return made if correctable else None


def drop_partial_spare(spare: Path) -> None:
    """Delete what an unfinished `make_spare` made (its process was stopped)."""
    shutil.rmtree(spare.with_name(f"{spare.name}{_PARTIAL_SUFFIX}"), ignore_errors=True)


def drop_spare(spare: Path) -> None:
    """Delete a spare tree and any half-made one; a link there is removed, never followed."""
    drop_partial_spare(spare)
    if spare.is_symlink() or spare.is_file():
        spare.unlink(missing_ok=True)
    else:
        shutil.rmtree(spare, ignore_errors=True)


def _is_file(path: str, status: os.stat_result | None) -> bool:
    """Whether `path` is a regular file (not a link) and the very file `status` describes."""
    if status is None:
        return False
    try:
        found = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(found.st_mode) and os.path.samestat(found, status)


def _abandon(tree: Path) -> None:
    """Delete a tree; what cannot be deleted is renamed out of the way, for _sweep to retry."""
    shutil.rmtree(tree, ignore_errors=True)
    if os.path.lexists(tree):
        os.rename(tree, tree.with_name(f"{tree.name}-abandoned"))


def _discard(tree: Path, spare: Path | None) -> None:
    """Keep the tree a swap took out as the next build's spare, or delete it."""
    if spare is not None and not os.path.lexists(spare):
        try:
            spare.parent.mkdir(parents=True, exist_ok=True)
            os.rename(tree, spare)
            return
        except OSError:
            pass
    shutil.rmtree(tree, ignore_errors=True)


def _keep(previous: str, dest: str) -> None:
    """Carry a previous build's file over as a hard link, so its mtime stays."""
    try:
        os.link(previous, dest, follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise  # never copy over a file: it may be a link to a published one
        shutil.copy2(previous, dest, follow_symlinks=False)


def _then(
    files: Iterable[OutputFile],
    between: Callable[[], None],
    finalize: Callable[[Path], Iterable[OutputFile]] | None,
    staging: Path,
) -> Iterator[OutputFile]:
    yield from files
    between()
    if finalize is not None:
        yield from finalize(staging)


def tidy(target: Path) -> None:
    """Remove what a killed build left beside `target`; the caller holds its lock."""
    target = _lexical(target)
    if target.parent.is_dir():
        _sweep(target.parent, target.name)


def read_marker(target: Path) -> bytes | None:
    """The marker file of a sitegen output folder, or None if it is missing or unreadable."""
    published = _published_file(_lexical(target), [MARKER])
    try:
        if published is None or published.status is None:
            return None
        with open(published.path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _swap(staging: Path, target: Path, spare: Path | None = None) -> None:
    if not target.exists() and not target.is_symlink():
        staging.rename(target)
        return
    if _exchange(staging, target):
        # `staging` now holds the previous tree; a kill here leaves only a stray to sweep.
        _fault_point("write:after-swap")
        _discard(staging, spare)
        return
    old = target.parent / f"{_OLD_PREFIX}{target.name}-{os.getpid()}"
    target.rename(old)
    try:
        staging.rename(target)
    except OSError:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _check_no_links(root: Path, rel: PurePosixPath, shown: str) -> Path:
    """The destination of a content write, refusing any symlink on the way to it."""
    path = root
    for part in rel.parts:
        path = path / part
        if path.is_symlink():
            raise SitegenError(
                f"{shown}: {_display(path, root)} is a symbolic link; "
                "sitegen does not write through links",
                hint="replace the link with a real file or folder",
            )
    return path


def write_content(
    writes: Mapping[str, str], root: Path, read: Mapping[str, str] | None = None
) -> list[str]:
    """Write content pages one by one through a temporary file, so none is ever half-written.

    Every destination is checked before the first write, so a refused one changes nothing.
    `read` holds each page's text as the build read it: a page that changed since (a person
    saved it while the build ran) is left alone, and its path is returned.
    """
    root = _lexical(root)
    plan = [
        (rel, _check_no_links(root, safe_relative(rel), rel), text)
        for rel, text in sorted(writes.items())
    ]
    swept: set[Path] = set()
    skipped: list[str] = []
    for rel, dest, text in plan:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.parent not in swept:  # temporary pages a killed build left behind
            swept.add(dest.parent)
            for stray in dest.parent.glob(".*.md.tmp-*"):
                if stray.is_file() and not stray.is_symlink():
                    stray.unlink()
        tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
        try:
            _write_new(tmp, text.encode("utf-8"))
            _fault_point("content:written")
            if read is not None and _current_text(dest) != read.get(rel):
                tmp.unlink()
                skipped.append(rel)
                continue
            os.replace(tmp, dest)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise _io_error(exc, rel) from exc
    return skipped


def _current_text(path: Path) -> str | None:
    """A page's text as the merge reads it (BOM and CRLF normalised), or None if it is gone."""
    try:
        return frontmatter.decode_page(path.read_bytes(), errors="replace")
    except FileNotFoundError:
        return None
