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

from .domain.errors import StorageFull

log = logging.getLogger(__name__)

MESSAGE = ("the server's disk is full: nothing of this was stored. Ask the administrator to free space in the "
           "data directory; then send it again")
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
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
    """The error to answer with, logged once for the administrator (`what`: the request or the task)."""
    log.error("the disk is full: %s could not be stored (%s)", what, exc)
    return StorageFull(MESSAGE)
