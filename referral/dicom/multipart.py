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

import hashlib
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from werkzeug.http import parse_options_header

from ..domain.errors import TooLarge, ValidationFailed
from .limits import human_bytes
from .store import Staged, write_all

BLOCK = 1 << 20  # bytes read from the request at a time
MAX_HEADER_BYTES = 16 * 1024
_CONTINUATION = re.compile(rb"\r\n[ \t]+")


class StagingFile:
    """Where one part's bytes go: a file in the request's staging directory, hashed as it is written."""

    def __init__(self, workdir: Path, limit: int | None = None) -> None:
        self.path = workdir / f"part-{secrets.token_hex(8)}"
        self._file = open(self.path, "wb", buffering=0)
        self._hash = hashlib.sha256()
        self._limit = limit
        self.size = 0

    def write(self, data) -> None:
        self.size += len(data)
        if self._limit is not None and self.size > self._limit:
            return  # judged as too large when finished; the rest of the part is read and dropped
        self._hash.update(data)
        write_all(self._file, data)

    def finish(self) -> Staged:
        """Close the file; its size and digest, or `over_limit` when it outgrew the limit."""
        self._file.close()
        over = self._limit is not None and self.size > self._limit
        return Staged(self.path, self.size, "" if over else self._hash.hexdigest(), over)

    def discard(self) -> None:
        self._file.close()
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


class _Reader:
    """The body as blocks, with the unread rest of the last block in `buf`."""

    def __init__(self, stream: BinaryIO, delimiter: bytes) -> None:
        self.stream = stream
        self.delimiter = delimiter
        self.buf = b"\r\n"  # so that a boundary on the very first line matches the delimiter
        self.eof = False

    def fill(self) -> None:
        chunk = self.stream.read(BLOCK)
        if not chunk:
            self.eof = True
        self.buf += chunk

    def skip_preamble(self) -> None:
        while (i := self.buf.find(self.delimiter)) < 0:
            if self.eof:
                raise ValidationFailed("the body holds no parts", fields={"body": "no multipart boundary found"})
            self.buf = self.buf[-len(self.delimiter):]
            self.fill()
        self.buf = self.buf[i + len(self.delimiter):]

    def at_end(self) -> bool:
        """After a delimiter: `--` closes the body; otherwise a part follows."""
        while len(self.buf) < 2 and not self.eof:
            self.fill()
        return self.buf.startswith(b"--") or (self.eof and not self.buf.strip())

    def headers(self) -> dict[str, str]:
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            if self.eof or len(self.buf) > MAX_HEADER_BYTES:
                raise ValidationFailed("a part's headers are malformed", fields={"body": "bad part headers"})
            self.fill()
        head, self.buf = self.buf[:end], self.buf[end + 4:]
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
            i = self.buf.find(self.delimiter)
            if i >= 0:
                if i:
                    sink.write(memoryview(self.buf)[:i])
                size += i
                self.buf = self.buf[i + len(self.delimiter):]
                _check_size(size, limit)
                return size
            if len(self.buf) > keep:
                cut = len(self.buf) - keep
                sink.write(memoryview(self.buf)[:cut])
                size += cut
                self.buf = self.buf[cut:]
                _check_size(size, limit)
            if self.eof:
                raise ValidationFailed("the body ends inside a part (truncated)", fields={"body": "truncated"})
            self.fill()


def _check_size(size: int, limit: int | None) -> None:
    if limit is not None and size > limit:
        raise TooLarge(f"a part is larger than the limit of {human_bytes(limit)}")


def staged_parts(stream: BinaryIO, boundary: bytes, workdir: Path, accept: Callable[[dict[str, str]], bool], *,
                 file_limit: int | None = None, max_parts: int | None = None,
                 max_part_bytes: int | None = None) -> Iterator[tuple[dict[str, str], Staged | None]]:
    """Every part, the accepted ones as staged files (hashed, in `workdir`); see `stream_parts`."""
    def opener(headers: dict[str, str]) -> StagingFile | None:
        return StagingFile(workdir, file_limit) if accept(headers) else None

    for headers, sink in stream_parts(stream, boundary, opener, max_parts=max_parts, max_part_bytes=max_part_bytes):
        yield headers, sink.finish() if sink is not None else None
