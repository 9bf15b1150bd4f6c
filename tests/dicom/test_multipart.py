"""Request bodies read straight into staging: every byte of every file arrives, whatever the
block boundaries, other form fields are passed over, and broken bodies are refused clearly."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from referral.dicom import multipart
from referral.dicom.multipart import boundary_of, form_file, staged_parts
from referral.domain.errors import TooLarge, ValidationFailed

BOUNDARY = b"----b0undary7MA4YWxkTrZu0gW"


def _body(parts: list[tuple[str, bytes]]) -> bytes:
    out = b"preamble to ignore\r\n"
    for headers, data in parts:
        out += b"--" + BOUNDARY + b"\r\n" + headers.encode() + b"\r\n\r\n" + data + b"\r\n"
    return out + b"--" + BOUNDARY + b"--\r\nepilogue"


def _file(name: str, data: bytes, field: str = "file") -> tuple[str, bytes]:
    return (f'Content-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            "Content-Type: application/dicom", data)


@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_every_file_arrives_whole_whatever_the_block_size(tmp_path, monkeypatch, block):
    monkeypatch.setattr(multipart, "BLOCK", block)
    files = [os.urandom(5000), b"", b"\r\n--" + BOUNDARY[:-1] + b"x\r\n", os.urandom(70)]
    parts = [_file(f"{i}.dcm", data) for i, data in enumerate(files)]
    parts.insert(1, ('Content-Disposition: form-data; name="note"', b"a form field, not a file"))
    parts.insert(3, _file("other.dcm", b"another field", field="photo"))
    got = list(staged_parts(io.BytesIO(_body(parts)), BOUNDARY, tmp_path, form_file))
    staged = [(name, s) for _, name, s in got if s is not None]
    assert [name for name, _ in staged] == ["0.dcm", "1.dcm", "2.dcm", "3.dcm"]
    for (_, s), data in zip(staged, files):
        assert s.path.read_bytes() == data and s.size == len(data)
        assert s.sha256 == hashlib.sha256(data).hexdigest() and not s.over_limit
    assert len(got) == 6  # the field and the other file field were read past


def test_names_in_utf8_and_rfc_2231(tmp_path):
    parts = [('Content-Disposition: form-data; name="file"; filename="胸部CT.dcm"', b"1"),
             ("Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%E8%83%B8%E7%89%87.dcm", b"2")]
    got = list(staged_parts(io.BytesIO(_body(parts)), BOUNDARY, tmp_path, form_file))
    assert [name for _, name, _ in got] == ["胸部CT.dcm", "胸片.dcm"]


def test_a_file_over_the_limit_is_marked_not_kept(tmp_path):
    body = _body([_file("big.dcm", b"x" * 3000), _file("small.dcm", b"y" * 10)])
    got = [s for _, _, s in staged_parts(io.BytesIO(body), BOUNDARY, tmp_path, lambda h: True, file_limit=1000)]
    assert got[0].over_limit and got[0].path.stat().st_size <= 1000
    assert not got[1].over_limit and got[1].path.read_bytes() == b"y" * 10


def test_broken_bodies_are_refused_with_the_reason(tmp_path):
    whole = _body([_file("a.dcm", b"z" * 100)])
    with pytest.raises(ValidationFailed, match="truncated"):
        list(staged_parts(io.BytesIO(whole[:150]), BOUNDARY, tmp_path, lambda h: True))
    assert not list(tmp_path.iterdir())  # the part's half-written file is gone
    with pytest.raises(ValidationFailed, match="no parts"):
        list(staged_parts(io.BytesIO(b"just some bytes"), BOUNDARY, tmp_path, lambda h: True))
    with pytest.raises(TooLarge, match="larger than the limit"):
        list(staged_parts(io.BytesIO(whole), BOUNDARY, tmp_path, lambda h: True, max_part_bytes=50))
    with pytest.raises(TooLarge, match="more than 1 parts"):
        list(staged_parts(io.BytesIO(_body([_file("a", b"1"), _file("b", b"2")])), BOUNDARY, tmp_path,
                          lambda h: True, max_parts=1))


def test_boundary_of():
    assert boundary_of('multipart/form-data; boundary="abc def"') == b"abc def"
    assert boundary_of("multipart/related; type=\"application/dicom\"; boundary=xyz") == b"xyz"
    assert boundary_of("application/json") is None
