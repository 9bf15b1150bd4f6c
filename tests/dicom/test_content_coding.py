"""Batches sent gzip-compressed (`Content-Encoding: gzip`), as the upload page sends them over a
slow link: inflated on the way and indexed like any batch; broken, truncated, padded and
explosive bodies refused with the reason, and nothing of them stored."""

from __future__ import annotations

import gzip
import io
import os
import zlib

import pytest

from referral.dicom import content_coding
from referral.dicom.content_coding import GzipBody, decoded_body
from referral.domain.errors import TooLarge, ValidationFailed

from .conftest import new_case, stored_files

BOUNDARY = "----gz0boundary"


def _multipart(files: list[tuple[str, bytes]]) -> bytes:
    out = b""
    for name, data in files:
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                "Content-Type: application/dicom\r\n\r\n").encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def _read_all(body, size: int = 65536) -> bytes:
    out = []
    while chunk := body.read(size):
        out.append(chunk)
    return b"".join(out)


def _post(api, case_id: int, body: bytes, encoding: str | None = "gzip"):
    headers = dict(api.headers("village.doctor"))
    if encoding:
        headers["Content-Encoding"] = encoding
    return api.client.post(f"/api/v1/cases/{case_id}/attachments", data=body, headers=headers,
                           content_type=f"multipart/form-data; boundary={BOUNDARY}")


def test_a_gzip_body_reads_back_as_sent_in_any_read_size():
    plain = os.urandom(30_000) + bytes(170_000)
    for size in (1, 777, 1 << 20, -1):
        body = GzipBody(io.BytesIO(gzip.compress(plain)), limit=len(plain))
        assert _read_all(body, size) == plain
        assert body.compressed < len(plain) and body.inflated == len(plain)


def test_codings_other_than_gzip_are_refused_and_none_means_as_is():
    raw = io.BytesIO(b"x")
    assert decoded_body(raw, None, 10) is raw and decoded_body(raw, "identity", 10) is raw
    with pytest.raises(ValidationFailed, match="'br'"):
        decoded_body(raw, "br", 10)


@pytest.mark.parametrize("body, reason", [
    (b"not gzip at all", "not valid gzip"),
    (gzip.compress(bytes(100_000))[:-12], "ends early"),
    (gzip.compress(b"a body") + b"trailing bytes", "after the end"),
])
def test_broken_gzip_is_refused_with_the_reason(body, reason):
    with pytest.raises(ValidationFailed, match=reason):
        _read_all(GzipBody(io.BytesIO(body), limit=1 << 30))


def test_a_compression_bomb_stops_early_and_the_limit_holds():
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = bomb.compress(bytes(64 << 20)) + bomb.flush()  # 64 MiB of zeros in about 64 KiB
    body = GzipBody(io.BytesIO(data), limit=1 << 30)
    with pytest.raises(TooLarge, match="compression bomb"):
        _read_all(body)
    # Refused once it had inflated MAX_RATIO times the compressed bytes read, long before the 64 MiB.
    assert body.inflated <= content_coding.MAX_RATIO * len(data) + content_coding.BLOCK < 32 << 20
    with pytest.raises(TooLarge, match="once uncompressed"):
        _read_all(GzipBody(io.BytesIO(gzip.compress(os.urandom(300_000))), limit=100_000))


def test_a_compressed_batch_is_stored_and_indexed_like_any(api, samples, settings):
    cid = new_case(api)
    files = [(p.name, p.read_bytes()) for p in samples["ct"][:5]]
    plain = _multipart(files)
    compressed = gzip.compress(plain)
    assert len(compressed) < len(plain) * 0.7  # what the village clinic's link is spared
    r = _post(api, cid, compressed)
    assert r.status_code == 201, r.get_json()
    (study,) = r.get_json()["studies"]
    assert study["instances_added"] == 5 and r.get_json()["rejected"] == []
    listed = api.client.get(f"/api/v1/cases/{cid}/attachments", headers=api.headers("village.doctor")).get_json()
    assert sum(len(s["instances"]) for s in listed["studies"][0]["series"]) == 5
    assert len(stored_files(settings.data_dir)) == 5


@pytest.mark.parametrize("body, encoding, status, words", [
    (b"\x1f\x8b\x08\x00garbage", "gzip", 422, "cannot be read"),
    ("truncated", "gzip", 422, "ends early"),
    ("bomb", "gzip", 413, "compression bomb"),
    ("plain", "br", 422, "'br'"),
])
def test_a_bad_compressed_batch_is_refused_and_nothing_is_kept(api, samples, settings, body, encoding, status,
                                                              words):
    cid = new_case(api)
    plain = _multipart([(p.name, p.read_bytes()) for p in samples["ct"][:3]])
    if body == "truncated":
        body = gzip.compress(plain)[:-5000]
    elif body == "bomb":
        body = gzip.compress(_multipart([("zeros.dcm", bytes(300 << 20))]), compresslevel=1)
    elif body == "plain":
        body = plain
    r = _post(api, cid, body, encoding)
    assert r.status_code == status and words in r.get_json()["message"], r.get_json()
    assert stored_files(settings.data_dir) == []
    listed = api.client.get(f"/api/v1/cases/{cid}/attachments", headers=api.headers("village.doctor")).get_json()
    assert listed["studies"] == []


def test_compressed_chunks_of_a_resumable_upload_count_the_files_own_bytes(api, samples, settings):
    """Offsets are the file's bytes. A compressed chunk is kept only whole: one cut short or damaged
    on the way leaves the upload where it was (its inflated bytes cannot be trusted before gzip's
    checksum at the end), and the file that is finally stored is the one that was sent."""
    import hashlib

    data = samples["us"][0].read_bytes()  # a multi-frame ultrasound clip, uncompressed
    cid = new_case(api, patient={"name": "王芳", "sex": "female", "birth_date": "1990-06-18"})
    start = api.post("village.doctor", f"/api/v1/cases/{cid}/uploads", json={"filename": "US.dcm", "size": len(data)})
    url = start.get_json()["url"]
    headers = {**api.headers("village.doctor"), "Content-Type": "application/octet-stream",
               "Content-Encoding": "gzip"}
    half = len(data) // 2
    first = gzip.compress(data[:half])
    r = api.client.put(url, data=first, headers={**headers, "Upload-Offset": "0"})
    assert r.status_code == 200 and r.get_json()["offset"] == half
    assert len(first) < half  # fewer bytes over the link than the file's own
    rest = gzip.compress(data[half:])
    r = api.client.put(url, data=rest[:-2000], headers={**headers, "Upload-Offset": str(half)})  # cut short
    assert r.status_code == 422 and "ends early" in r.get_json()["message"]
    assert api.get("village.doctor", url).get_json()["offset"] == half
    damaged = bytearray(rest)
    damaged[len(damaged) // 3] ^= 0x40  # one bit flipped on the way
    r = api.client.put(url, data=bytes(damaged), headers={**headers, "Upload-Offset": str(half)})
    assert r.status_code == 422, r.get_json()
    assert api.get("village.doctor", url).get_json()["offset"] == half
    r = api.client.put(url, data=rest, headers={**headers, "Upload-Offset": str(half)})
    assert r.status_code == 200 and r.get_json()["offset"] == len(data)
    done = api.post("village.doctor", url + "/complete")
    assert done.status_code == 201 and done.get_json()["studies"][0]["instances_added"] == 1
    assert hashlib.sha256(data).hexdigest() in [p.name for p in stored_files(settings.data_dir)]
