"""New files written past the page cache.

An uploaded image is written once, and until a specialist opens it only its
header is read back (to judge it). Written the ordinary way, every byte is
copied by the CPU into page cache pages allocated for it; on a busy ingest
that copy is the largest single cost after the interpreter itself, and the
pages it fills push out what readers do use. Opened with O_DIRECT, the disk
(or the hypervisor) takes the bytes straight from an aligned buffer of ours.

Two parts of each file still go through the page cache: the first `HEAD`
bytes, because the header is read again at once, and the tail after the last
whole block, because O_DIRECT writes whole blocks only. Where the file system
refuses O_DIRECT (tmpfs before Linux 6.6, macOS) every write is an ordinary
one. Durability is unchanged: whoever publishes the file still fsyncs it.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import threading
from pathlib import Path

ALIGN = 4096  # offsets, lengths and the buffer's address: enough for any disk's logical block
HEAD = 64 * 1024  # the header and then some: read back by the judging, so kept in the page cache
BUFFER = 1 << 20
O_DIRECT = getattr(os, "O_DIRECT", 0)

_spare: list[mmap.mmap] = []  # aligned buffers of finished files, for the next ones
_spare_lock = threading.Lock()
_MAX_SPARE = 16
_refused: set[int] = set()  # devices (st_dev) whose file system refused O_DIRECT: not tried again


class NewFile:
    """One new file's bytes, appended in pieces of any size; `close` writes what is left."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        self._direct_ok = bool(O_DIRECT) and os.fstat(self._fd).st_dev not in _refused
        self._direct = False
        self._buffer = _take_buffer()
        self._view = memoryview(self._buffer)
        self._filled = 0
        self._written = 0  # bytes in the file so far (a multiple of ALIGN until `close`)

    def write(self, data) -> None:
        view = memoryview(data)
        while view:
            n = min(len(view), BUFFER - self._filled)
            self._view[self._filled:self._filled + n] = view[:n]
            self._filled += n
            view = view[n:]
            if self._filled == BUFFER:
                self._flush(BUFFER)

    def close(self) -> None:
        """Write the rest and close the file (an error closes it too, and is raised)."""
        try:
            whole = self._filled - self._filled % ALIGN
            if whole:
                self._flush(whole)
            if self._filled:
                self._set_direct(False)
                self._write_at(self._view[:self._filled], self._written)
                self._written += self._filled
                self._filled = 0
        finally:
            self.discard(remove=False)

    def discard(self, *, remove: bool = True) -> None:
        """Close without writing the rest; remove the file unless told not to."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self._view.release()
            _give_back(self._buffer)
        if remove:
            self.path.unlink(missing_ok=True)

    def _flush(self, length: int) -> None:
        """The first `length` bytes of the buffer (a multiple of ALIGN) to the file; the rest moves up."""
        start = 0
        if self._written < HEAD:
            start = min(length, HEAD - self._written)
            self._set_direct(False)
            self._write_at(self._view[:start], self._written)
        if start < length:
            self._set_direct(True)
            self._write_at(self._view[start:length], self._written + start)
        self._written += length
        rest = self._filled - length
        if rest:
            self._view[:rest] = self._view[length:self._filled]
        self._filled = rest

    def _set_direct(self, on: bool) -> None:
        on = on and self._direct_ok
        if on == self._direct:
            return
        flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
        try:
            fcntl.fcntl(self._fd, fcntl.F_SETFL, flags | O_DIRECT if on else flags & ~O_DIRECT)
        except OSError as exc:
            if not on or exc.errno != errno.EINVAL:
                raise
            self._refuse()
            return
        self._direct = on

    def _write_at(self, view: memoryview, offset: int) -> None:
        """All of `view` at `offset`; a direct write the device refuses is made again the ordinary way."""
        while view:
            try:
                n = os.pwrite(self._fd, view, offset)
            except OSError as exc:
                if not self._direct or exc.errno != errno.EINVAL:
                    raise
                self._set_direct(False)
                self._refuse()
                continue
            view, offset = view[n:], offset + n

    def _refuse(self) -> None:
        self._direct_ok = False
        _refused.add(os.fstat(self._fd).st_dev)


def _take_buffer() -> mmap.mmap:
    with _spare_lock:
        if _spare:
            return _spare.pop()
    return mmap.mmap(-1, BUFFER)  # anonymous memory: page aligned


def _give_back(buffer: mmap.mmap) -> None:
    with _spare_lock:
        if len(_spare) < _MAX_SPARE:
            _spare.append(buffer)
