"""Multipart request bodies streamed straight into the staging area.

Both the upload form (`multipart/form-data`, field `file`) and STOW-RS
(`multipart/related`) carry files of half a megabyte and more, many to a
request. A general form parser looks at the body in small pieces in Python;
here the body is read in large blocks, each part's end is found with one
`bytes.find` per block, and the bytes go to the staging file and the SHA-256
in the same pass. So every byte is copied once into the page cache, hashed
once, and never read back to be copied again; memory stays bounded by the
block size whatever the size of a part.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

from werkzeug.http import parse_options_header

from ..domain.errors import TooLarge, ValidationFailed
from .limits import human_bytes
from .store import PREFIX_BYTES, Staged, write_all

BLOCK = 1 << 20  # bytes read from the request at a time
MAX_HEADER_BYTES = 16 * 1024
T = TypeVar("T")
_CONTINUATION = re.compile(rb"\r\n[ \t]+")


class StagingFile:
    """Where one part's bytes go: a file in the request's staging directory, hashed as it is written."""

    def __init__(self, workdir: Path, limit: int | None = None) -> None:
        self.path = workdir / f"part-{secrets.token_hex(8)}"
        # A plain descriptor: each write is one system call, with no file object around it.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self._write = functools.partial(os.write, self._fd)
        self._hash = hashlib.sha256()
        self._limit = limit
        self._prefix = b""
        self.size = 0

    def write(self, data) -> None:
        self.size += len(data)
        if self._limit is not None and self.size > self._limit:
            return  # judged as too large when finished; the rest of the part is read and dropped
        if len(self._prefix) < PREFIX_BYTES:
            self._prefix += bytes(data[:PREFIX_BYTES - len(self._prefix)])
        self._hash.update(data)
        write_all(self._write, data)

    def finish(self) -> Staged:
        """Close the file; its size and digest, or `over_limit` when it outgrew the limit."""
        os.close(self._fd)
        over = self._limit is not None and self.size > self._limit
        return Staged(self.path, self.size, "" if over else self._hash.hexdigest(), over,
                      None if over else self._prefix)

    def discard(self) -> None:
        os.close(self._fd)
        self.path.unlink(missing_ok=True)


class _Discard:
    """A part nobody asked for (a form field, another file field): read past, not kept."""

    def write(self, data) -> None:
        pass


Opener = Callable[[dict[str, str]], "StagingFile | None"]


def boundary_of(content_type: str) -> bytes | None:
    """The boundary parameter of a multipart Content-Type, or None."""
    _, params = parse_options_header(content_type)
    value = params.get("boundary")
    return value.encode("latin-1") if value else None


def form_file(headers: dict[str, str], field: str = "file") -> str | None:
    """The file name of a form-data part of `field` that carries a file (None: not one)."""
    disposition, params = parse_options_header(headers.get("content-disposition", ""))
    if disposition.lower() != "form-data" or params.get("name") != field:
        return None
    return params.get("filename")


def stream_parts(stream: BinaryIO, boundary: bytes, open_part: Opener, *, max_parts: int | None = None,
                 max_part_bytes: int | None = None) -> Iterator[tuple[dict[str, str], StagingFile | None]]:
    """Every part, once its last byte is read: (headers, the staging file `open_part` gave it).

    Parts it declines (returns None for) are read past, and come with None. A part longer than `max_part_bytes`
    is `TooLarge`; more than `max_parts` parts is `TooLarge`; a malformed body is `ValidationFailed`.
    """
    reader = _Reader(stream, b"\r\n--" + boundary)
    try:
        reader.skip_preamble()
        count = 0
        while not reader.at_end():
            count += 1
            if max_parts is not None and count > max_parts:
                raise TooLarge(f"the request has more than {max_parts} parts")
            headers = reader.headers()
            sink = open_part(headers)
            try:
                reader.body(sink if sink is not None else _Discard(), max_part_bytes)
            except BaseException:
                if sink is not None:
                    sink.discard()
                raise
            yield headers, sink
    finally:
        reader.release()


class _Reader:
    """The body through one reused buffer: `buf[start:end]` is what was read and not yet used.

    Bytes arrive straight into the buffer (`readinto`), and a part's bytes leave as views of
    it: no block is joined to the rest or sliced off it as new `bytes`, so each byte is copied
    once on its way in, whatever the size of the body."""

    def __init__(self, stream: BinaryIO, delimiter: bytes) -> None:
        self.stream = stream
        self.delimiter = delimiter
        self.buf = _take_buffer()
        self.view = memoryview(self.buf)
        self.buf[:2] = b"\r\n"  # so that a boundary on the very first line matches the delimiter
        self.start, self.end = 0, 2
        self.eof = False
        self._readinto = getattr(stream, "readinto", None)

    def release(self) -> None:
        self.view.release()
        _give_back(self.buf)

    def fill(self) -> None:
        """Read the next block in after what is unread (moved to the front first: a few bytes, as a rule)."""
        unread = self.end - self.start
        if self.start:
            self.view[:unread] = self.view[self.start:self.end]
            self.start, self.end = 0, unread
        room = self.view[self.end:self.end + BLOCK]
        if self._readinto is not None:
            got = self._readinto(room) or 0
        else:
            chunk = self.stream.read(BLOCK)
            got = len(chunk)
            room[:got] = chunk
        room.release()
        if not got:
            self.eof = True
        self.end += got

    def skip_preamble(self) -> None:
        while (i := self.buf.find(self.delimiter, self.start, self.end)) < 0:
            if self.eof:
                raise ValidationFailed("the body holds no parts", fields={"body": "no multipart boundary found"})
            self.start = max(self.start, self.end - len(self.delimiter))
            self.fill()
        self.start = i + len(self.delimiter)

    def at_end(self) -> bool:
        """After a delimiter: `--` closes the body; otherwise a part follows."""
        while self.end - self.start < 2 and not self.eof:
            self.fill()
        return self.buf.startswith(b"--", self.start, self.end) or (
            self.eof and not self.buf[self.start:self.end].strip())

    def headers(self) -> dict[str, str]:
        while (end := self.buf.find(b"\r\n\r\n", self.start, self.end)) < 0:
            if self.eof or self.end - self.start > MAX_HEADER_BYTES:
                raise ValidationFailed("a part's headers are malformed", fields={"body": "bad part headers"})
            self.fill()
        head = bytes(self.view[self.start:end])
        self.start = end + 4
        headers = {}
        for line in _CONTINUATION.sub(b" ", head).split(b"\r\n"):
            key, sep, value = line.decode("utf-8", "replace").partition(":")
            if sep:
                headers[key.strip().lower()] = value.strip()
        return headers

    def body(self, sink, limit: int | None) -> int:
        """Copy the part's bytes into `sink` up to the next delimiter; return how many."""
        keep = len(self.delimiter) - 1  # a delimiter may straddle two blocks
        size = 0
        while True:
            i = self.buf.find(self.delimiter, self.start, self.end)
            if i >= 0:
                if i > self.start:
                    sink.write(self.view[self.start:i])
                size += i - self.start
                self.start = i + len(self.delimiter)
                _check_size(size, limit)
                return size
            cut = self.end - keep
            if cut > self.start:
                sink.write(self.view[self.start:cut])
                size += cut - self.start
                self.start = cut
                _check_size(size, limit)
            if self.eof:
                raise ValidationFailed("the body ends inside a part (truncated)", fields={"body": "truncated"})
            self.fill()


# Reader buffers: room for a block after the most a reader leaves unread (a part's headers).
_BUFFER_BYTES = BLOCK + 2 * MAX_HEADER_BYTES
_spare: list[bytearray] = []
_spare_lock = threading.Lock()


def _take_buffer() -> bytearray:
    with _spare_lock:
        if _spare:
            return _spare.pop()
    return bytearray(_BUFFER_BYTES)


def _give_back(buffer: bytearray) -> None:
    with _spare_lock:
        if len(_spare) < 8:
            _spare.append(buffer)


def _check_size(size: int, limit: int | None) -> None:
    if limit is not None and size > limit:
        raise TooLarge(f"a part is larger than the limit of {human_bytes(limit)}")


def staged_parts(stream: BinaryIO, boundary: bytes, workdir: Path, accept: Callable[[dict[str, str]], T | None], *,
                 file_limit: int | None = None, max_parts: int | None = None,
                 max_part_bytes: int | None = None) -> Iterator[tuple[dict[str, str], T | None, Staged | None]]:
    """Every part as (headers, what `accept` said of them, the staged file): a part `accept` names
    (anything but None) is staged, hashed, in `workdir`; the others are read past, with None.
    See `stream_parts`."""
    labels: dict[int, T] = {}

    def opener(headers: dict[str, str]) -> StagingFile | None:
        label = accept(headers)
        if label is None:
            return None
        sink = StagingFile(workdir, file_limit)
        labels[id(sink)] = label
        return sink

    for headers, sink in stream_parts(stream, boundary, opener, max_parts=max_parts, max_part_bytes=max_part_bytes):
        if sink is None:
            yield headers, None, None
        else:
            yield headers, labels.pop(id(sink)), sink.finish()
