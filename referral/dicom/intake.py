"""Incoming files, judged before anything is stored.

An upload (the page, the API, STOW-RS, a finished chunked upload) or a
received C-STORE hands its files here. Each is staged on disk, recognised by
its content (DICOM, ZIP of DICOM, JPEG or PNG photo, PDF report) and checked.
The result lists what can be stored and what is refused, with the file's
name and the reason; nothing is published until the caller decides to. A ZIP
is judged as a whole: when the archive itself is hostile, none of it is taken.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from . import archive
from .limits import Limits, human_bytes
from .parse import ParsedFile, read_instance
from .render import RenderError
from .scan import InvalidDicom, NotDicom
from .store import PREFIX_BYTES, BlobStore, Staged, sha256_of

PHOTO_MAX_PIXELS = 80_000_000
NOT_ACCEPTED = "not a DICOM file, a ZIP of DICOM files, a JPEG or PNG photo, or a PDF report"


@dataclass
class Rejection:
    """A file refused: `reason` says why in detail (English, for the API and support); `kind` says
    what sort of refusal it is, so that a page can say it in its reader's language."""

    name: str
    reason: str
    too_large: bool = False
    kind: str = "damaged"  # one of KINDS

    def __post_init__(self) -> None:
        if self.too_large:
            self.kind = "too_large"

    def as_dict(self) -> dict:
        return {"file": self.name, "reason": self.reason, "kind": self.kind}


KINDS = ("not_accepted", "empty", "too_large", "damaged", "archive", "patient", "duplicate", "study")


@dataclass
class DicomItem:
    name: str
    parsed: ParsedFile
    sha256: str
    size: int


@dataclass
class FileItem:
    name: str
    kind: str  # photo | pdf
    media_type: str
    staged: Staged


@dataclass
class Intake:
    dicom: list[DicomItem] = field(default_factory=list)
    files: list[FileItem] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.dicom) + len(self.files)


def display_name(name: str | None) -> str:
    """The file's own name, without directories or control characters, at most 255 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    return name.strip()[:255] or "unnamed"


def kind_of(prefix: bytes) -> str:
    """What a file is, from its first bytes (never from its name)."""
    if archive.is_zip(prefix):
        return "zip"
    if prefix.startswith(b"%PDF-"):
        return "pdf"
    if prefix.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if prefix.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return "dicom"  # or nothing; the DICOM check says which, with the reason


Checker = Callable[[str], None]


class Receiver:
    """Stages and judges the files of one request inside one working directory."""

    def __init__(self, store: BlobStore, workdir: Path, limits: Limits, check_pixels: Checker | None = None) -> None:
        self.store = store
        self.workdir = workdir
        self.limits = limits
        self.check_pixels = check_pixels
        self.intake = Intake()

    def take_streams(self, files: Iterable[tuple[str | None, BinaryIO]]) -> Intake:
        for name, stream in files:
            self.take_stream(display_name(name), stream)
        return self.intake

    def take_stream(self, name: str, stream: BinaryIO) -> None:
        staged = self.store.stage_stream(stream, self.workdir, self.limits.max_file_bytes)
        if staged.over_limit:
            staged.path.unlink(missing_ok=True)
            self.intake.rejected.append(Rejection(
                name, f"the file is larger than the limit of {human_bytes(self.limits.max_file_bytes)}", True))
            return
        self.take_staged(name, staged)

    def take_written(self, name: str, staged: Staged) -> None:
        """A file already written into this request's staging directory (and hashed)."""
        if staged.size > self.limits.max_file_bytes:
            staged.path.unlink(missing_ok=True)
            self.intake.rejected.append(Rejection(
                name, f"the file is larger than the limit of {human_bytes(self.limits.max_file_bytes)}", True))
            return
        self.take_staged(name, staged)

    def take_staged(self, name: str, staged: Staged) -> None:
        if staged.size == 0:
            self.intake.rejected.append(Rejection(name, "the file is empty", kind="empty"))
            return
        prefix = staged.prefix
        if prefix is None:
            with open(staged.path, "rb") as fh:
                prefix = fh.read(PREFIX_BYTES)
        kind = kind_of(prefix)
        if kind == "zip":
            self._take_zip(name, staged)
        elif kind in ("jpeg", "png"):
            self._take_photo(name, staged, kind)
        elif kind == "pdf":
            self._take_pdf(name, staged)
        else:
            self._take_dicom(name, staged)

    def _take_dicom(self, name: str, staged: Staged, *, inside: str | None = None) -> None:
        label = f"{inside}: {name}" if inside else name
        try:
            parsed = read_instance(staged.path, self.limits, self.workdir)
            if parsed.info.encapsulated and self.check_pixels is not None:
                self.check_pixels(str(parsed.path))
        except NotDicom:
            self.intake.rejected.append(Rejection(label, NOT_ACCEPTED, kind="not_accepted"))
            return
        except InvalidDicom as exc:
            self.intake.rejected.append(Rejection(label, str(exc)))
            return
        except RenderError as exc:
            self.intake.rejected.append(Rejection(label, f"the image cannot be decoded: {exc}"))
            return
        if parsed.normalised:
            sha, size = sha256_of(parsed.path), os.path.getsize(parsed.path)
        else:
            sha, size = staged.sha256 or sha256_of(parsed.path), staged.size
        self.intake.dicom.append(DicomItem(label, parsed, sha, size))

    def _take_zip(self, name: str, staged: Staged) -> None:
        before = len(self.intake.dicom), len(self.intake.files), len(self.intake.rejected)
        try:
            opened, entries, skipped = archive.inspect(staged.path, self.limits)
            with opened:
                for entry in entries:
                    member = archive.extract(opened, entry, self.store, self.workdir, self.limits)
                    entry_name = display_name(entry.name)
                    with open(member.path, "rb") as fh:
                        entry_kind = kind_of(fh.read(132))
                    if entry_kind in ("jpeg", "png", "pdf"):
                        self.take_staged(entry_name, member)
                        continue
                    self._take_dicom(entry.name, member, inside=name)
        except archive.ArchiveRejected as exc:
            # The archive as a whole is refused: drop whatever of it was taken already.
            del self.intake.dicom[before[0]:]
            del self.intake.files[before[1]:]
            del self.intake.rejected[before[2]:]
            self.intake.rejected.append(Rejection(name, str(exc), kind="archive"))
            return
        self.intake.skipped.extend(f"{name}: {s}" for s in skipped)
        if len(self.intake.dicom) == before[0] and len(self.intake.files) == before[1] \
                and len(self.intake.rejected) == before[2]:
            self.intake.rejected.append(Rejection(name, "the archive holds no DICOM files, photos or PDFs",
                                                  kind="archive"))

    def _take_photo(self, name: str, staged: Staged, kind: str) -> None:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(staged.path) as image:
                width, height = image.size
                if width * height > PHOTO_MAX_PIXELS:
                    self.intake.rejected.append(Rejection(
                        name, f"the photo is {width}×{height} pixels, more than {PHOTO_MAX_PIXELS // 1_000_000} "
                        "million", kind="too_large"))
                    return
                image.load()  # a truncated or corrupt photo fails here, not later on someone's screen
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            # PIL's own words name the staging path: not for the person who sent the photo.
            self.intake.rejected.append(Rejection(name, "the photo cannot be read (not a valid JPEG or PNG image, "
                                                        "or damaged)"))
            return
        media = "image/jpeg" if kind == "jpeg" else "image/png"
        self.intake.files.append(FileItem(name, "photo", media, staged))

    def _take_pdf(self, name: str, staged: Staged) -> None:
        with open(staged.path, "rb") as fh:
            fh.seek(max(staged.size - 2048, 0))
            tail = fh.read()
        if b"%%EOF" not in tail:
            self.intake.rejected.append(Rejection(name, "the PDF is incomplete (no end marker; truncated?)"))
            return
        self.intake.files.append(FileItem(name, "pdf", "application/pdf", staged))


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def ascii_name(name: str) -> str:
    """A name fit for a Content-Disposition fallback."""
    return _SAFE.sub("_", name)[:100] or "file"
