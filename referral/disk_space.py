"""A full disk, as each component reports it, and the one answer the app gives.

On a county machine the disk fills up one day: a township sends a 300-image CT,
the rendered-frame cache has grown, a backup was left in the data directory.
The file system says so with `ENOSPC` (or `EDQUOT` past a quota), SQLite with
`SQLITE_FULL`, PostgreSQL with SQLSTATE 53100. Whichever it is, the request is
answered `507 storage_full` with words a person can act on, nothing half-stored
is kept, and the administrator finds one clear line in the log instead of a
traceback; the server goes on serving everything that only reads.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .domain.errors import StorageFull

log = logging.getLogger(__name__)

MESSAGE = ("the server's disk is full: nothing of this was stored. Ask the administrator to free space in the "
           "data directory; then send it again")
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
LOW_BYTES = 2 * 1024 ** 3  # below this (or a twentieth of the disk, whichever is more) the admins are warned
LOW_FRACTION = 0.05
_SQLITE_FULL = 13
_PG_DISK_FULL = "53100"


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc` (or what it wraps: a database driver's error inside SQLAlchemy's) says the disk is full."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL:
            return True
        if getattr(exc, "sqlstate", None) == _PG_DISK_FULL or getattr(exc, "pgcode", None) == _PG_DISK_FULL:
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
        seen += 1
    return False


def storage_full(exc: BaseException, what: str) -> StorageFull:
    """The error to answer with, and one line in the log for the administrator (`what`: the request or task)."""
    log.error("the disk is full: %s could not be stored (%s)", what, exc)
    return StorageFull(MESSAGE)


@dataclass(frozen=True)
class Space:
    """Room left on the file system that holds the data directory (for this process's user)."""

    free: int
    total: int

    @property
    def low(self) -> bool:
        """Worth an administrator's attention now, while uploads still fit: a township's CT is 25-150 MB."""
        return self.free < max(LOW_BYTES, self.total * LOW_FRACTION)

    @property
    def percent_free(self) -> float:
        return 100.0 * self.free / self.total if self.total else 0.0


def space_of(path: Path) -> Space | None:
    """The room left where `path` lives; None when the file system cannot be asked."""
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return Space(free=st.f_bavail * st.f_frsize, total=st.f_blocks * st.f_frsize)


def human_bytes(n: int) -> str:
    """1536 -> '1.5 KiB': sizes in error messages people read."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"
