"""The bounds every incoming file and every decode is held to.

They exist so that no upload, however malformed or hostile, can make the
server use unbounded memory, disk or time: each check happens before the
work it protects (sizes before reading, pixel dimensions before decoding).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..disk_space import human_bytes  # noqa: F401 - sizes in the words of every refusal here

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    # One file (a DICOM instance, a photo, a PDF, a ZIP archive).
    max_file_bytes: int = 1 * GiB
    # DICOM structure: sequences inside sequences, and elements in one file.
    max_sequence_depth: int = 32
    max_elements: int = 500_000
    # Decoded pixels: one frame, and all frames of one instance together.
    max_frame_bytes: int = 256 * MiB
    max_instance_pixel_bytes: int = 4 * GiB
    # ZIP archives.
    max_zip_entries: int = 20_000
    max_zip_total_bytes: int = 4 * GiB
    max_zip_ratio: int = 200  # uncompressed : compressed, per entry and overall
    # Decoding happens in worker processes held to these.
    decode_memory_bytes: int = 2 * GiB
    decode_seconds: float = 30.0
    decode_workers: int = 2
    # Chunked uploads: the largest chunk accepted in one request.
    max_chunk_bytes: int = 16 * MiB
    # Rendered frames kept on disk (cache/frames under the data directory); least recently used go first.
    frame_cache_bytes: int = 2 * GiB


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Batching:
    """How the upload page sends files: the page reads these (`static/viewer/upload.js`), the ingest
    bench sends as they say.

    Each request costs the server a fixed amount besides its files (the sign-in, the case, the
    indexing transaction, the answer: about what five CT slices cost), so over a fast link few
    large batches are cheapest. A batch that breaks is sent again whole, so over a slow link it
    should take seconds, not minutes. The first batch is small; each later one is sized to take
    about `seconds` at the rate the one before it went (its files' bytes over its time), within
    `min_bytes` and `max_bytes`.
    """

    first_bytes: int = 1 * MiB
    min_bytes: int = 512 * 1024
    max_bytes: int = 16 * MiB
    max_files: int = 40
    seconds: float = 4.0
    # Files from this size go on their own through the resumable upload, in chunks of `chunk_bytes`.
    large_file_bytes: int = 4 * MiB
    chunk_bytes: int = 1 * MiB
    # A request in which nothing has moved (no byte sent, no answer) for this long is taken for a
    # dropped connection and sent again; one that keeps moving is never cut off, however slow.
    stall_seconds: float = 120.0

    def as_page(self) -> dict:
        """The page's copy (`data-batching`), in the names upload.js uses."""
        return {"first": self.first_bytes, "min": self.min_bytes, "max": self.max_bytes, "files": self.max_files,
                "seconds": self.seconds, "large": self.large_file_bytes, "chunk": self.chunk_bytes,
                "stall": self.stall_seconds}


BATCHING = Batching()
