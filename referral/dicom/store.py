"""Content-addressed files under the data directory.

A file is named by the SHA-256 of its bytes (`files/ab/cd/abcd...`), so the
same image uploaded twice is stored once, and a later rehash proves the bytes
are still the ones that were indexed. Files arrive in a staging directory on
the same file system and are published with fsync + rename: a reader sees a
complete file or none, even after a crash.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
_DIGEST = re.compile("[0-9a-f]{64}")


def sha256_of(path: os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_all(write: Callable[[memoryview], int], data) -> None:
    """All of `data` through an unbuffered `write` (a raw file's, or `os.write` on a descriptor), or an
    error: a short write (the disk filling up) is followed by one that raises, never by missing bytes."""
    view = memoryview(data)
    while view:
        view = view[write(view):]


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename durable: fsync the directory that holds the new name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


PREFIX_BYTES = 132  # enough to tell what a file is (`intake.kind_of`): the DICOM preamble and its DICM


@dataclass(frozen=True)
class Staged:
    path: Path
    size: int
    sha256: str
    over_limit: bool
    prefix: bytes | None = None  # its first PREFIX_BYTES, when whoever staged it saw them go by


@dataclass(frozen=True)
class Published:
    sha256: str
    size: int
    path: Path
    created: bool  # False when identical bytes were already stored


class BlobStore:
    """The files directory: staging, publishing, finding and verifying content-addressed files."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.files = self.root / "files"
        self.staging = self.root / "staging"
        self.cache = self.root / "cache"

    def path_for(self, sha256: str) -> Path:
        return Path(self.location(sha256))

    def location(self, sha256: str) -> str:
        """`path_for` as a string: what the publishing steps hand to the system calls."""
        if not _DIGEST.fullmatch(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return f"{self.files}/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    @contextmanager
    def workdir(self) -> Iterator[Path]:
        """A private staging directory for one request; whatever is left in it is removed afterwards.

        Each thread reuses its own directory (creating and removing a directory per request
        costs a journal commit on some file systems); a nested use gets a fresh one.
        """
        ident = f"w{os.getpid()}-{threading.get_ident()}"
        nested = ident in _in_use
        path = self.staging / (f"{ident}-{secrets.token_hex(4)}" if nested else ident)
        path.mkdir(parents=True, exist_ok=True)
        _in_use.add(ident)
        try:
            yield path
        finally:
            _forget_syncs(path)
            if nested:
                shutil.rmtree(path, ignore_errors=True)
            else:
                _in_use.discard(ident)
                _empty(path)

    def stage_stream(self, stream: BinaryIO, workdir: Path, limit: int) -> Staged:
        """Copy a stream into the staging area, hashing as it goes, reading at most `limit` + 1 bytes."""
        target = workdir / secrets.token_hex(8)
        digest = hashlib.sha256()
        size = 0
        with open(target, "wb") as out:
            while chunk := stream.read(min(CHUNK, limit + 1 - size)):
                size += len(chunk)
                if size > limit:
                    return Staged(target, size, "", True)
                digest.update(chunk)
                out.write(chunk)
        return Staged(target, size, digest.hexdigest(), False)

    def publish(self, staged: Path, sha256: str | None = None) -> Published:
        """Move a staged file to its content address, atomically and durably; dedupe identical bytes.

        The staged file is consumed (renamed into place, or deleted when the bytes were already there).
        """
        return self.publish_many([(staged, sha256 or sha256_of(staged))])[0]

    def sync_soon(self, staged: Path, sha256: str | None = None) -> None:
        """Start writing a staged file's bytes to disk in the background while it is being judged
        (not when identical bytes are stored already: that file is reused, this one dropped).

        Only a head start: `publish_many` waits for this sync (or makes its own), so durability
        never depends on it being called.
        """
        if sha256 and os.path.exists(self.location(sha256)):
            return
        future = _publisher().submit(_fdatasync, staged)
        with _syncing_lock:
            _syncing[str(staged)] = future

    def publish_many(self, items: list[tuple[Path, str]]) -> list[Published]:
        """Publish staged files: every file's bytes are synced, then renamed into place, then each
        directory that gained a name is synced, the syncs of a batch overlapping (a batch costs about
        one). Identical bytes already stored are kept (and marked as just used) instead.

        On any failure the files this call put in place are removed again, and the error is raised.
        """
        unique: dict[str, Path] = {}
        for path, sha in items:
            unique.setdefault(sha, path)
        results, fresh = [], []
        for sha, path in unique.items():
            size = os.path.getsize(path)
            if self._reuse(sha, size):
                path.unlink(missing_ok=True)
                results.append(Published(sha, size, self.path_for(sha), False))
            else:
                fresh.append((sha, path, size))
        placed: list[str] = []
        try:
            _wait_synced([path for _, path, _ in fresh])  # the bytes on disk before a name points at them
            directories: set[str] = set()
            for sha, path, size in fresh:
                final = self.location(sha)
                os.chmod(path, 0o440)
                os.utime(path)  # "just stored", whenever its bytes arrived (see `gc.collect`)
                directories |= self._rename(path, final)
                placed.append(sha)
                results.append(Published(sha, size, Path(final), True))
            _each_in_parallel(fsync_dir, sorted(directories))  # the new names survive a crash
        except BaseException:
            for sha in placed:
                self.remove(sha)
            raise
        return results

    def _rename(self, staged: Path, final: str) -> set[str]:
        """Give the staged file its content address; the directories whose listing changed (to be synced).

        The rename is tried first: `files/ab/cd` exists for all but the first files of a store, so
        the directories are made (and their parents' listings synced too) only when it says so."""
        parent = os.path.dirname(final)
        try:
            os.replace(staged, final)
            return {parent}
        except FileNotFoundError:
            if not os.path.exists(staged):
                raise
        changed = {parent}
        for directory in (str(self.files), os.path.dirname(parent), parent):
            try:
                os.mkdir(directory)
            except FileExistsError:
                continue
            except FileNotFoundError:  # the data directory itself is new
                os.makedirs(directory, exist_ok=True)
            changed.add(os.path.dirname(directory))
        os.replace(staged, final)
        return changed

    def _reuse(self, sha256: str, size: int) -> bool:
        """Whether these bytes are stored already; if so their time is set to now, so that a
        collection of unreferenced files (`gc.collect`) sees them as in use and spares them."""
        final = self.location(sha256)
        try:
            if os.stat(final).st_size != size:
                return False  # damaged: replaced by the good copy
            os.utime(final)
        except FileNotFoundError:
            return False
        except PermissionError:
            pass  # not ours to touch (restored from a backup as another user): still the same bytes
        return True

    def remove(self, sha256: str) -> None:
        """Remove a file this request published when its transaction failed (nothing half-stored)."""
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            pass
        self.remove_frames(sha256)

    def remove_frames(self, sha256: str) -> None:
        """The rendered frames of a file that is gone: they would never be asked for again."""
        for cached in (self.cache / "frames" / sha256[:2]).glob(f"{sha256}-*"):
            cached.unlink(missing_ok=True)

    def verify(self, sha256: str, size: int) -> str:
        """`ok`, `vanished` or `changed` for the stored file with this address."""
        path = self.path_for(sha256)
        if not path.exists():
            return "vanished"
        if path.stat().st_size != size or sha256_of(path) != sha256:
            return "changed"
        return "ok"


_in_use: set[str] = set()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_syncing: dict[str, Future] = {}  # staged path -> its background sync (see `sync_soon`)
_syncing_lock = threading.Lock()


def _fdatasync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)  # the bytes (and the size) on disk
    finally:
        os.close(fd)


def _wait_synced(paths: list[Path]) -> None:
    """Every file's bytes are on disk: its background sync finished, or one made now (in parallel)."""
    with _syncing_lock:
        started = [_syncing.pop(str(p), None) for p in paths]
    futures = [f or _publisher().submit(_fdatasync, p) for p, f in zip(paths, started)]
    failure = None
    for path, future, early in zip(paths, futures, started):
        try:
            future.result()
        except OSError as exc:
            if early is None:
                failure = failure or exc
                continue
            try:
                _fdatasync(path)  # the head start failed; the sync that counts is this one
            except OSError as again:
                failure = failure or again
    if failure is not None:
        raise failure


def _each_in_parallel(fn, items: list) -> None:
    """`fn` on every item, overlapping (they wait on the disk, not the CPU); the first error is raised."""
    if len(items) <= 1:
        for item in items:
            fn(item)
        return
    futures = [_publisher().submit(fn, item) for item in items]
    errors = [f.exception() for f in futures]
    failure = next((e for e in errors if e is not None), None)
    if failure is not None:
        raise failure


def _forget_syncs(workdir: Path) -> None:
    """Drop the background syncs of a finished request's staging files (published or not)."""
    prefix = f"{workdir}{os.sep}"
    with _syncing_lock:
        for key in [k for k in _syncing if k.startswith(prefix)]:
            del _syncing[key]


def _publisher() -> ThreadPoolExecutor:
    """Threads that wait on the disk (fsync releases the GIL), shared by every request of the process."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(8, thread_name_prefix="publish")
        return _pool


def _empty(path: Path) -> None:
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass


def atomic_write(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write a small file so that readers never see it half-written.

    A cache entry (a rendered frame) can be made again, so it skips the fsync unless `durable`.
    """
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        fh = open(tmp, "wb")
    except FileNotFoundError:  # the first file of its directory
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(tmp, "wb")
    try:
        with fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk, say: no half-written file left behind
        raise
