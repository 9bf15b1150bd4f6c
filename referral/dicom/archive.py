"""ZIP archives of studies, opened defensively.

A ZIP is a common way to send a study, and a classic way to attack a server:
names that climb out of the target directory (`../`, absolute paths),
symbolic links, and bombs that inflate enormously (by ratio, by entry count,
by nesting archives). The whole archive is judged from its central directory
before a byte is extracted, and the extraction itself is bounded again
because a crafted archive can lie in its directory.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .limits import MiB, Limits, human_bytes
from .store import BlobStore, Staged

ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".zst")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!", b"\x28\xb5\x2f\xfd")
# Entries that are not images and are silently left out (OS litter, media directories).
IGNORED_NAMES = {"DICOMDIR", ".DS_Store", "Thumbs.db", "desktop.ini", "LOCKFILE", "VERSION"}


class ArchiveRejected(ValueError):
    """The whole archive is refused; the message names the reason (and the entry, when there is one)."""


@dataclass(frozen=True)
class Entry:
    name: str
    info: zipfile.ZipInfo


def is_zip(prefix: bytes) -> bool:
    return prefix.startswith(b"PK\x03\x04") or prefix.startswith(b"PK\x05\x06")


def _safe_name(name: str) -> str:
    """The entry's name if it stays inside the archive's directory; raise otherwise."""
    if "\x00" in name:
        raise ArchiveRejected(f"entry {name!r} has a NUL byte in its name")
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        raise ArchiveRejected(f"entry {name!r} has an absolute path")
    if any(part == ".." for part in PurePosixPath(normal).parts):
        raise ArchiveRejected(f"entry {name!r} climbs out of the archive with '..'")
    return normal


def inspect(path: Path, limits: Limits) -> tuple[zipfile.ZipFile, list[Entry], list[str]]:
    """Open and judge the archive: (open archive, entries to extract, names skipped)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveRejected(f"not a readable ZIP archive ({exc})") from None
    try:
        infos = archive.infolist()
        if len(infos) > limits.max_zip_entries:
            raise ArchiveRejected(f"the archive has {len(infos)} entries, more than the limit of "
                                  f"{limits.max_zip_entries} (a ZIP bomb by entry count)")
        archive_size = max(path.stat().st_size, 1)
        entries, skipped = [], []
        total = 0
        for info in infos:
            name = _safe_name(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise ArchiveRejected(f"entry {name!r} is a symbolic link")
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise ArchiveRejected(f"entry {name!r} is encrypted")
            base = PurePosixPath(name).name
            if base in IGNORED_NAMES or base.startswith("._") or "__MACOSX/" in name:
                skipped.append(name)
                continue
            if base.lower().endswith(ARCHIVE_SUFFIXES):
                raise ArchiveRejected(f"entry {name!r} is an archive inside the archive (nested archives are "
                                      "not accepted)")
            total += info.file_size
            if total > limits.max_zip_total_bytes:
                raise ArchiveRejected(f"the archive would expand to more than {human_bytes(limits.max_zip_total_bytes)}"
                                      " (a ZIP bomb by size)")
            if info.file_size > MiB and info.file_size > limits.max_zip_ratio * max(info.compress_size, 1):
                raise ArchiveRejected(
                    f"entry {name!r} expands {info.file_size // max(info.compress_size, 1)} times "
                    f"(more than {limits.max_zip_ratio}×: a ZIP bomb by ratio)")
            if info.file_size > limits.max_file_bytes:
                raise ArchiveRejected(f"entry {name!r} is {human_bytes(info.file_size)}, more than the limit of "
                                      f"{human_bytes(limits.max_file_bytes)}")
            entries.append(Entry(name, info))
        if total > MiB and total > limits.max_zip_ratio * archive_size:
            raise ArchiveRejected(f"the archive expands {total // archive_size} times (more than "
                                  f"{limits.max_zip_ratio}×: a ZIP bomb by ratio)")
    except BaseException:
        archive.close()
        raise
    return archive, entries, skipped


def extract(archive: zipfile.ZipFile, entry: Entry, store: BlobStore, workdir: Path, limits: Limits) -> Staged:
    """Extract one entry into staging, bounded by the size its directory declared."""
    try:
        with archive.open(entry.info) as stream:
            staged = store.stage_stream(stream, workdir, min(entry.info.file_size, limits.max_file_bytes))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise ArchiveRejected(f"entry {entry.name!r} cannot be extracted ({exc})") from None
    if staged.over_limit:
        raise ArchiveRejected(f"entry {entry.name!r} inflates beyond the size its archive declares")
    with open(staged.path, "rb") as fh:
        head = fh.read(8)
    if any(head.startswith(magic) for magic in ARCHIVE_MAGIC):
        staged.path.unlink(missing_ok=True)
        raise ArchiveRejected(f"entry {entry.name!r} is an archive inside the archive (nested archives are "
                              "not accepted)")
    return staged

