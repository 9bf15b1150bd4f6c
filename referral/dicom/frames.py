"""Rendered frames, cached on disk next to the files they come from.

A stored file never changes (its name is its hash), so a frame rendered with
given parameters never changes either: the cache needs no invalidation, only
a key (`files hash - frame-window-size-format`). Frames are rendered by the
decoder pool (uncompressed greyscale ones, which need no decoder library, in
this process) and written atomically, so concurrent viewers of a new study at
worst render a frame twice, never read half of one.

The cache holds at most a byte budget (`Limits.frame_cache_bytes`): a frame's
file time is set on every use, and once a process has written a twentieth of
the budget since it last looked, a background pass removes the least recently
used frames until the cache is back under nine tenths of the budget. The
pass holds a lock file, so one process (and thread) at a time trims; between
passes the cache may run over its budget by a twentieth per process.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .limits import DEFAULT_LIMITS
from .render import PRESETS, Rendered, RenderRequest, render_native
from .sandbox import DecoderPool
from .store import BlobStore, atomic_write

log = logging.getLogger(__name__)

IN_PROCESS_BYTES = 16 * 1024 * 1024  # one frame's pixels, at most, rendered without a worker
TRIM_EVERY = 20  # a pass after a process wrote budget / TRIM_EVERY bytes
TRIM_TO = 0.9  # of the budget, so that a pass is not needed again at once
STALE_TEMP_SECONDS = 3600  # a temporary file this old was left by an interrupted write


class FrameCache:
    def __init__(self, store: BlobStore, pool: DecoderPool, budget: int | None = None) -> None:
        self.store = store
        self.pool = pool
        self.budget = DEFAULT_LIMITS.frame_cache_bytes if budget is None else budget

    @property
    def root(self) -> Path:
        return self.store.cache / "frames"

    def path_for(self, sha256: str, request: RenderRequest) -> Path:
        self.store.path_for(sha256)  # validates the digest
        # Flat within 256 directories: a directory per file would cost a mkdir on every first view.
        return self.store.cache / "frames" / sha256[:2] / f"{sha256}-{request.cache_name()}"

    def rendered(self, sha256: str, request: RenderRequest, file_window: tuple[float, float] | None = None,
                 layout: dict | None = None, *, later: Callable[[Callable[[], None]], None] | None = None) -> Rendered:
        """The frame, from the cache or freshly rendered, and the window applied.

        The window is known from the request, or from the file (`file_window`, from the index);
        only when rendering found another (an automatic one) is it kept in a side file. A frame
        rendered now is cached at once, or handed to `later` (a web answer caches it after it
        has gone out: creating a file is a good part of the time a first view takes).
        """
        cached = self.path_for(sha256, request)
        side = cached.with_name(cached.name + ".window")
        expected = request.window or PRESETS.get(request.preset or "") or file_window
        try:
            data = cached.read_bytes()
        except FileNotFoundError:
            pass
        else:
            _mark_used(cached)
            return Rendered(data, _read_window(side) or expected)
        path = str(self.store.path_for(sha256))
        result = None
        if layout and layout.get("rows", 0) * layout.get("columns", 0) * 2 <= IN_PROCESS_BYTES:
            # Uncompressed greyscale: no decoder library involved, so no worker round trip needed.
            result = render_native(path, request, layout)
        if result is None:
            result = self.pool.render(path, request, layout)
        keep = functools.partial(self._keep, cached, side, result, expected)
        if later is None:
            keep()
        else:
            later(keep)
        return result

    def _keep(self, cached: Path, side: Path, result: Rendered, expected: tuple[float, float] | None) -> None:
        try:
            if result.window is not None and result.window != expected:
                atomic_write(side, f"{result.window[0]!r} {result.window[1]!r}".encode())
            atomic_write(cached, result.data)
        except OSError as exc:  # a full disk: the viewer still works, each frame is rendered again
            log.warning("a rendered frame could not be cached (%s)", exc)
            return
        self._written(len(result.data))

    def _written(self, size: int) -> None:
        """Count what this process added; start a trimming pass when it is due (the first write is)."""
        key = str(self.root)
        step = max(self.budget // TRIM_EVERY, 1)
        with _lock:
            total = _since_trim.get(key, step) + size
            due = total >= step and key not in _trimming
            _since_trim[key] = 0 if due else total
            if due:
                worker = _trimming[key] = threading.Thread(
                    target=_trim_in_background, args=(self.root, self.budget), name="frame-cache-trim", daemon=True)
        if due:
            worker.start()

    def settle(self) -> None:
        """Wait for this process's trimming pass over this cache, if one is running."""
        with _lock:
            worker = _trimming.get(str(self.root))
        if worker is not None:
            worker.join()


@dataclass(frozen=True)
class Trimmed:
    kept_bytes: int
    removed_files: int


def trim(root: Path, budget: int) -> Trimmed | None:
    """Remove the least recently used frames until the cache under `root` holds at most nine tenths
    of `budget` (nothing when it is within the budget); None when another pass holds the lock."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".trim.lock", "a+b") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        frames, sides, total = _survey(root)
        if total <= budget:
            return Trimmed(total, 0)
        removed = 0
        for _, size, path in sorted(frames):
            if total <= budget * TRIM_TO:
                break
            total -= _unlink(path, size) + _unlink(path + ".window", sides.pop(path + ".window", 0))
            removed += 1
        return Trimmed(total, removed)


def _survey(root: Path) -> tuple[list[tuple[float, int, str]], dict[str, int], int]:
    """(last use, size, path) of every cached frame; the sizes of the window side files; the total.

    Temporary files of interrupted writes are removed on the way, side files without their frame too.
    """
    frames, sides, total = [], {}, 0
    stale = time.time() - STALE_TEMP_SECONDS
    for directory in os.scandir(root):
        if not directory.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(directory.path):
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if entry.name.endswith(".tmp"):
                if st.st_mtime < stale:
                    _unlink(entry.path, 0)
                else:
                    total += st.st_size
            elif entry.name.endswith(".window"):
                sides[entry.path] = st.st_size
                total += st.st_size
            else:
                frames.append((st.st_mtime, st.st_size, entry.path))
                total += st.st_size
    present = {path for _, _, path in frames}
    for side in [s for s in sides if s[:-len(".window")] not in present]:
        total -= _unlink(side, sides.pop(side))
    return frames, sides, total


def _unlink(path: str, size: int) -> int:
    """Remove a cache file (gone already is fine); the bytes that freed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return 0
    return size


def _trim_in_background(root: Path, budget: int) -> None:
    try:
        trim(root, budget)
    except OSError:
        pass  # the next pass tries again; a cache that cannot be trimmed must not break viewing
    finally:
        with _lock:
            _trimming.pop(str(root), None)


def _mark_used(path: Path) -> None:
    """A frame's file time is its last use: the least recently used go first when trimming."""
    try:
        os.utime(path)
    except OSError:
        pass  # removed by a trimming pass meanwhile, or read-only: the bytes were served either way


_lock = threading.Lock()
_since_trim: dict[str, int] = {}  # cache root -> bytes this process wrote since its last pass
_trimming: dict[str, threading.Thread] = {}


def _read_window(path: Path) -> tuple[float, float] | None:
    try:
        center, width = path.read_text().split()
        return float(center), float(width)
    except (FileNotFoundError, ValueError):
        return None
