"""Upload bodies sent compressed (`Content-Encoding: gzip`).

Uncompressed CT, MR, ultrasound and X-ray images are mostly air, padding and smooth
gradients: gzip makes them several times smaller (the shared corpus's enhanced CT and
ultrasound files to 13-14 % of their size). Over a village clinic's slow link that is
the difference that counts, so the upload page compresses its batches while the link
is slow, and any API client may do the same.

The body is inflated as the multipart reader asks for it, never all at once, and
held to two bounds so that a few compressed kilobytes cannot make the server write
gigabytes: the inflated size may not exceed what an uncompressed request may send,
and past the first MiB it may not be more than `MAX_RATIO` times the compressed
bytes read so far (the ZIP archives' ratio: images do not come near it).
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from flask import Request

from ..domain.errors import TooLarge, ValidationFailed
from .limits import DEFAULT_LIMITS, MiB, human_bytes

BLOCK = 1 << 20
MAX_RATIO = DEFAULT_LIMITS.max_zip_ratio
RATIO_GRACE = 1 * MiB  # a small body may inflate far more than its ratio suggests: headers, padding


def request_body(request: Request, fallback_limit: int) -> BinaryIO:
    """A request's body as sent before compression, held to the request size limit."""
    return decoded_body(request.stream, request.headers.get("Content-Encoding"),
                        request.max_content_length or fallback_limit)


def decoded_body(stream: BinaryIO, content_encoding: str | None, limit: int) -> BinaryIO:
    """The request body as sent before compression; `ValidationFailed` for a coding we do not speak."""
    coding = (content_encoding or "").strip().lower()
    if coding in ("", "identity"):
        return stream
    if coding in ("gzip", "x-gzip"):
        return GzipBody(stream, limit)
    raise ValidationFailed(f"the body is encoded as {coding[:40]!r}; send it as is or with gzip",
                           fields={"Content-Encoding": "gzip or none"})


class GzipBody:
    """A gzip stream (one member) inflated as it is read, within `limit` bytes and `MAX_RATIO`."""

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        self.raw = raw
        self.limit = limit
        self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self.compressed = 0
        self.inflated = 0

    def read(self, size: int = -1) -> bytes:
        """Up to `size` inflated bytes (a block when `size` is -1: callers read in a loop); b"" at the end."""
        want = size if size and size > 0 else BLOCK
        while True:
            if self._inflate.eof:
                if self._inflate.unused_data or self.raw.read(1):
                    raise _invalid("there are bytes after the end of the gzip data")
                return b""
            source = self._inflate.unconsumed_tail
            if not source:
                source = self.raw.read(BLOCK)
                if not source:
                    raise _invalid("the gzip data ends early (the body is truncated)")
                self.compressed += len(source)
            try:
                out = self._inflate.decompress(source, want)
            except zlib.error as exc:
                raise _invalid(f"it is not valid gzip data ({exc})") from None
            if out:
                self.inflated += len(out)
                self._check()
                return out

    def _check(self) -> None:
        if self.inflated > self.limit:
            raise TooLarge(f"the body is larger than the limit of {human_bytes(self.limit)} once uncompressed",
                           limit=self.limit)
        if self.inflated > RATIO_GRACE and self.inflated > MAX_RATIO * self.compressed:
            raise TooLarge(f"the compressed body expands more than {MAX_RATIO} times; it is refused as a "
                           "compression bomb", limit=self.limit)


def _invalid(reason: str) -> ValidationFailed:
    return ValidationFailed(f"the compressed body cannot be read: {reason}", fields={"Content-Encoding": reason})
