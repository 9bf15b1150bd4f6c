"""New files written past the page cache: every byte arrives whatever the sizes of the pieces,
the bulk of a file never occupies the page cache, and a file system that refuses O_DIRECT
still gets the whole file."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import mmap
import os

import pytest

from referral.dicom import direct
from referral.dicom.direct import ALIGN, BUFFER, HEAD, NewFile


def _write(path, data: bytes, piece: int) -> None:
    out = NewFile(path)
    for i in range(0, len(data), piece):
        out.write(memoryview(data)[i:i + piece])
    out.close()


@pytest.mark.parametrize("size", [0, 1, ALIGN - 1, ALIGN, HEAD - 1, HEAD + 1, BUFFER - 1, BUFFER, BUFFER + 1,
                                  3 * BUFFER + 7])
@pytest.mark.parametrize("piece", [1000, 65536, 4 * BUFFER])
def test_every_byte_arrives(tmp_path, size, piece):
    data = os.urandom(size)
    _write(tmp_path / "f", data, piece)
    assert (tmp_path / "f").read_bytes() == data


def _resident_bytes(path) -> int:
    """How much of the file is in the page cache (mincore(2) over a mapping that touches nothing)."""
    libc = ctypes.CDLL(None, use_errno=True)
    size = os.path.getsize(path)
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    with open(path, "rb") as fh:
        mapped = mmap.mmap(fh.fileno(), size, access=mmap.ACCESS_COPY)
    try:
        vector = (ctypes.c_ubyte * pages)()
        address = ctypes.c_void_p(ctypes.addressof(ctypes.c_char.from_buffer(mapped)))
        if libc.mincore(address, ctypes.c_size_t(size), vector) != 0:
            raise OSError(ctypes.get_errno(), "mincore")
        return sum(v & 1 for v in vector) * mmap.PAGESIZE
    finally:
        mapped.close()


def _direct_refused(directory) -> bool:
    try:
        fd = os.open(directory / "probe", os.O_WRONLY | os.O_CREAT | direct.O_DIRECT, 0o600)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return True
        raise
    os.close(fd)
    return False


def test_only_the_head_and_the_tail_go_through_the_page_cache(tmp_path):
    if not direct.O_DIRECT or _direct_refused(tmp_path):
        pytest.skip("this file system does not take O_DIRECT writes (every write is an ordinary one there)")
    ordinary = tmp_path / "ordinary"
    ordinary.write_bytes(os.urandom(4 * BUFFER + 100))
    assert _resident_bytes(ordinary) == 4 * BUFFER + ALIGN  # what an ordinary write leaves behind
    data = os.urandom(4 * BUFFER + 100)
    _write(tmp_path / "new", data, 65536)
    assert _resident_bytes(tmp_path / "new") <= HEAD + ALIGN
    assert (tmp_path / "new").read_bytes() == data


def test_a_file_system_that_refuses_o_direct_gets_ordinary_writes(tmp_path, monkeypatch):
    real = fcntl.fcntl

    def refusing(fd, command, arg=0):
        if command == fcntl.F_SETFL and arg & direct.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, command, arg)

    monkeypatch.setattr(direct.fcntl, "fcntl", refusing)
    monkeypatch.setattr(direct, "O_DIRECT", direct.O_DIRECT or 0o40000)
    monkeypatch.setattr(direct, "_refused", set())
    data = os.urandom(2 * BUFFER + 5)
    _write(tmp_path / "f", data, 65536)
    assert (tmp_path / "f").read_bytes() == data
    assert os.stat(tmp_path).st_dev in direct._refused  # the next files do not try again
    _write(tmp_path / "g", data, BUFFER)
    assert (tmp_path / "g").read_bytes() == data


def test_discard_removes_the_file_and_gives_the_buffer_back(tmp_path):
    out = NewFile(tmp_path / "f")
    out.write(os.urandom(BUFFER + 10))
    out.discard()
    assert not (tmp_path / "f").exists()
    out.discard()  # twice is harmless
    again = NewFile(tmp_path / "g")  # the buffer is reused, whole
    again.write(b"abc")
    again.close()
    assert (tmp_path / "g").read_bytes() == b"abc"
