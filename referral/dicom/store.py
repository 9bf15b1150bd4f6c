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
import secrets
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


def sha256_of(path: os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a rename durable: fsync the directory that holds the new name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Staged:
    path: Path
    size: int
    sha256: str
    over_limit: bool


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
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.files / sha256[:2] / sha256[2:4] / sha256

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
        sha256 = sha256 or sha256_of(staged)
        size = os.path.getsize(staged)
        final = self.path_for(sha256)
        if final.exists() and final.stat().st_size == size:
            staged.unlink(missing_ok=True)
            return Published(sha256, size, final, False)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(staged, os.O_RDONLY)
        try:
            os.fdatasync(fd)  # the bytes (and the size) on disk before the name points at them
        finally:
            os.close(fd)
        os.chmod(staged, 0o440)
        os.replace(staged, final)
        fsync_dir(final.parent)
        return Published(sha256, size, final, True)

    def publish_many(self, items: list[tuple[Path, str]]) -> list[Published]:
        """Publish several staged files at once: their fsyncs overlap, so a batch costs about one."""
        unique: dict[str, Path] = {}
        for path, sha in items:
            unique.setdefault(sha, path)
        if len(unique) <= 1:
            return [self.publish(path, sha) for sha, path in unique.items()]
        futures = [_publisher().submit(self.publish, path, sha) for sha, path in unique.items()]
        results, failure = [], None
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:  # disk full, permissions: undo the others, report the first
                failure = failure or exc
        if failure is not None:
            for result in results:
                if result.created:
                    self.remove(result.sha256)
            raise failure
        return results

    def remove(self, sha256: str) -> None:
        """Remove a file this request published when its transaction failed (nothing half-stored)."""
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            pass
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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)
