"""What counts as a full disk, whichever component says so (a full SQLite and a full file
system are produced for real in tests/dicom/test_disk_full.py; PostgreSQL's own error here)."""

from __future__ import annotations

import errno

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from referral.disk_space import is_disk_full


@pytest.mark.parametrize("exc", [
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "Disk quota exceeded"),
    OperationalError("INSERT INTO cases ...", {}, psycopg.errors.DiskFull("could not extend file")),
])
def test_full(exc):
    assert is_disk_full(exc)


def test_full_when_raised_from_a_full_disk():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("publishing failed") from inner
    except RuntimeError as outer:
        assert is_disk_full(outer)


@pytest.mark.parametrize("exc", [
    OSError(errno.ENOENT, "No such file or directory"),
    OSError(errno.EIO, "Input/output error"),
    ValueError("not a number"),
    IntegrityError("INSERT ...", {}, psycopg.errors.UniqueViolation("duplicate key")),
    OperationalError("SELECT 1", {}, psycopg.errors.QueryCanceled("canceling statement")),
])
def test_not_full(exc):
    assert not is_disk_full(exc)
