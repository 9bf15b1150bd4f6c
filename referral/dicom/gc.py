"""Collecting stored files that nothing refers to any more.

A file is published before the transaction that indexes it commits; when
that transaction fails, the request removes what it published, but a
process that dies in between (killed, out of memory, power cut) leaves the
file behind with no `stored_files` row. This finds such files and removes
them, and the leftovers of interrupted requests in the staging area.

An upload in flight is never touched: only files older than a grace period
are candidates (publishing sets a file's time to now, also when identical
bytes were stored before and are being reused). A candidate is first moved
aside, then checked again in the database and on disk; if anything started
using it meanwhile it is put back.

`referral serve` collects once a day on its own (`start_collector`, the first
pass a minute after it starts); `referral dicom gc` does it on demand.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..disk_space import human_bytes, space_of
from ..models import StoredFile
from ..periodic import PeriodicJob, leadership_for
from .store import BlobStore

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(hours=24)
DAILY = 24 * 3600.0
LEASE_KEY = "referral:dicom:gc"
LEASE_SECONDS = 600.0  # renewed while a pass runs; then it lapses, so any process may run the next one
LOCK_NAME = "gc.lock"  # in the data directory
BATCH = 500  # file names looked up in one query
_HEX = frozenset("0123456789abcdef")


@dataclass
class Collection:
    checked: int = 0  # content-addressed files looked at
    removed: list[str] = field(default_factory=list)  # their SHA-256 (or, with dry_run, would be)
    freed_bytes: int = 0
    recent: int = 0  # unreferenced but younger than the grace period: left alone
    staging_removed: int = 0  # leftovers of interrupted requests


class Busy(Exception):
    """Another collection is running on this data directory (the command, or another process)."""


@contextmanager
def _alone(store: BlobStore) -> Iterator[None]:
    """One collection at a time per data directory, whoever starts it: a lock file beside `files/`."""
    store.root.mkdir(parents=True, exist_ok=True)
    with open(store.root / LOCK_NAME, "a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy("another collection is running on this data directory; try again when it has finished") \
                from None
        yield


def collect(session: Session, store: BlobStore, grace: timedelta = DEFAULT_GRACE, *, dry_run: bool = False,
            now: float | None = None) -> Collection:
    """Remove the stored files no `stored_files` row names, once older than `grace`; `Busy` when
    another collection is at work on the same data directory."""
    with _alone(store):
        return _collect(session, store, grace, dry_run, now)


def _collect(session: Session, store: BlobStore, grace: timedelta, dry_run: bool, now: float | None) -> Collection:
    cutoff = (now if now is not None else time.time()) - grace.total_seconds()
    result = Collection()
    for names in _batches(_stored_names(store.files), BATCH):
        result.checked += len(names)
        for sha in sorted(set(names) - _referenced(session, names)):
            _consider(session, store, sha, cutoff, dry_run, result)
    if not dry_run:
        result.staging_removed = _sweep_staging(store, cutoff)
    return result


def _consider(session: Session, store: BlobStore, sha: str, cutoff: float, dry_run: bool,
              result: Collection) -> None:
    path = store.path_for(sha)
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_mtime >= cutoff:
        result.recent += 1
        return
    if dry_run or _remove_unless_in_use(session, store, sha, cutoff):
        result.removed.append(sha)
        result.freed_bytes += st.st_size


def _remove_unless_in_use(session: Session, store: BlobStore, sha: str, cutoff: float) -> bool:
    """Move the file aside, look again, and delete it or put it back.

    Once it is aside, a new upload of the same bytes finds nothing and stores its own copy; one
    that reused it just before set its time to now, and one that indexed it has its row committed.
    """
    path = store.path_for(sha)
    aside = store.staging / f"gc-{sha}"
    store.staging.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    try:
        session.rollback()  # a fresh view of the database: see what committed meanwhile
        in_use = aside.stat().st_mtime >= cutoff or bool(_referenced(session, [sha]))
    except BaseException:
        _put_back(store, aside, sha)  # not sure: it stays
        raise
    if in_use:
        _put_back(store, aside, sha)
        return False
    aside.unlink()
    store.remove_frames(sha)
    return True


def _referenced(session: Session, shas: list[str]) -> set[str]:
    if not shas:
        return set()
    return set(session.scalars(select(StoredFile.sha256).where(StoredFile.sha256.in_(shas))))


def _stored_names(files: Path) -> Iterator[str]:
    """The names (digests) of the files under files/ab/cd/."""
    if not files.is_dir():
        return
    for first in os.scandir(files):
        if not first.is_dir(follow_symlinks=False):
            continue
        for second in os.scandir(first.path):
            if second.is_dir(follow_symlinks=False):
                for entry in os.scandir(second.path):
                    if _is_digest(entry.name) and entry.is_file(follow_symlinks=False):
                        yield entry.name


def _batches(items: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _is_digest(name: str) -> bool:
    return len(name) == 64 and _HEX.issuperset(name)


def _sweep_staging(store: BlobStore, cutoff: float) -> int:
    """Files older than the grace period in the staging area (no request takes that long); a file
    an interrupted collection had moved aside goes back to its place, to be judged again next time."""
    if not store.staging.is_dir():
        return 0
    removed = 0
    for dirpath, _dirs, files in os.walk(store.staging):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                if name.startswith("gc-") and _is_digest(name[3:]):
                    _put_back(store, Path(path), name[3:])
                elif os.lstat(path).st_mtime < cutoff:
                    os.unlink(path)
                    removed += 1
            except FileNotFoundError:
                continue
    return removed


def _put_back(store: BlobStore, aside: Path, sha: str) -> None:
    """Return a file moved aside to its content address (unless a copy is there again); drop the aside name."""
    try:
        os.link(aside, store.path_for(sha))
    except FileExistsError:
        pass
    aside.unlink(missing_ok=True)


def summary(result: Collection) -> str:
    return (f"unreferenced files removed: {len(result.removed)} ({result.freed_bytes} bytes) of "
            f"{result.checked} checked, staging leftovers removed: {result.staging_removed}")


def collector(database, store: BlobStore, redis_client=None, *, interval: float = DAILY,
              first_after: float = 60.0) -> PeriodicJob[Collection | None]:
    """The daily collection of a serving process. With Redis, one process at a time collects."""
    def work(session: Session) -> Collection | None:
        try:
            return collect(session, store)
        except Busy:
            log.info("the daily collection skipped a pass: another collection is running")
            return None

    def report(result: Collection | None) -> None:
        if result is not None and (result.removed or result.staging_removed):
            log.info(summary(result))
        space = space_of(store.root)
        if space is not None and space.low:  # once a day in the log too, besides the administrators' home page
            log.warning("the data directory is running out of space: %s left of %s (%.0f%%)",
                        human_bytes(space.free), human_bytes(space.total), space.percent_free)

    return PeriodicJob("dicom-gc", database, leadership_for(redis_client, LEASE_SECONDS, LEASE_KEY), interval,
                       work, report, first_after=first_after)


def start_collector(app) -> PeriodicJob[Collection | None]:
    """Start the collection thread of `referral serve`."""
    runtime = app.extensions["referral"]
    job = collector(runtime.database, app.extensions["imaging"].store, runtime.redis)
    job.start()
    return job
