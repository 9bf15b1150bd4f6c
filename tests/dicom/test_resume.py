"""Resumable uploads: a study sent in chunks arrives whole, even when the connection drops in
the middle of a chunk; wrong offsets, overlong chunks and damaged files are refused."""

from __future__ import annotations

import hashlib
import io
import zipfile


from .conftest import new_case


def _study_zip(samples) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for p in samples["ct"]:
            zf.write(p, f"CT/{p.name}")
    return buf.getvalue()


def _put(api, username, url, data: bytes, offset: int):
    return api.client.put(url, data=data, headers={**api.headers(username), "Upload-Offset": str(offset),
                                                   "Content-Type": "application/octet-stream"})


def test_chunked_upload_with_a_wrong_offset_and_resume(api, samples, settings):
    data = _study_zip(samples)
    cid = new_case(api)
    start = api.post("village.doctor", f"/api/v1/cases/{cid}/uploads",
                     json={"filename": "chest-ct.zip", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    assert start.status_code == 201, start.get_json()
    upload = start.get_json()
    url = upload["url"]
    assert upload["offset"] == 0 and url == f"/api/v1/cases/{cid}/uploads/{upload['upload_id']}"

    first = _put(api, "village.doctor", url, data[:1_000_000], 0)
    assert first.status_code == 200 and first.get_json()["offset"] == 1_000_000
    stale = _put(api, "village.doctor", url, data[:1_000_000], 0)  # the client thinks nothing arrived
    assert stale.status_code == 409 and stale.get_json()["offset"] == 1_000_000
    assert api.get("village.doctor", url).get_json()["offset"] == 1_000_000
    early = api.post("village.doctor", url + "/complete")
    assert early.status_code == 409 and "incomplete" in early.get_json()["message"]
    assert api.get("village.doctor2", url).status_code == 404  # another doctor's upload is not there

    offset = 1_000_000
    while offset < len(data):
        chunk = data[offset:offset + 4_000_000]
        r = _put(api, "village.doctor", url, chunk, offset)
        assert r.status_code == 200, r.get_json()
        offset = r.get_json()["offset"]
    done = api.post("village.doctor", url + "/complete")
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["studies"][0]["instances_added"] == 48
    assert api.get("village.doctor", url).status_code == 404  # finished uploads are gone
    assert not list((settings.data_dir / "uploads").glob("*.part"))


def test_a_chunk_past_the_declared_size_and_a_damaged_file(api, samples):
    data = samples["ct"][0].read_bytes()
    cid = new_case(api)
    upload = api.post("village.doctor", f"/api/v1/cases/{cid}/uploads",
                      json={"filename": "CT0001.dcm", "size": len(data), "sha256": "0" * 64}).get_json()
    over = _put(api, "village.doctor", upload["url"], data + b"extra", 0)
    assert over.status_code == 422 and api.get("village.doctor", upload["url"]).get_json()["offset"] == 0
    assert _put(api, "village.doctor", upload["url"], data, 0).status_code == 200
    damaged = api.post("village.doctor", upload["url"] + "/complete")
    assert damaged.status_code == 422 and "SHA-256" in damaged.get_json()["message"]
    assert api.get("village.doctor", upload["url"]).status_code == 404


def test_invalid_starts_and_cancel(api):
    cid = new_case(api)
    bad = api.post("village.doctor", f"/api/v1/cases/{cid}/uploads", json={"filename": "", "size": -1})
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"filename", "size"}
    upload = api.post("village.doctor", f"/api/v1/cases/{cid}/uploads", json={"filename": "a.dcm", "size": 10})
    url = upload.get_json()["url"]
    assert api.client.delete(url, headers=api.headers("village.doctor")).status_code == 204
    assert api.get("village.doctor", url).status_code == 404
    no_offset = api.client.put(url, data=b"x", headers=api.headers("village.doctor"))
    assert no_offset.status_code == 404


def test_a_name_with_directories_or_control_characters_is_kept_clean(api, session, users):
    """The page's route passes the browser's file name as it came: the service keeps only the name."""
    from referral.services.attachments import start_upload

    cid = new_case(api)
    upload = start_upload(session, users["village.doctor"], cid, "影像/../CT\x00\x07一.dcm", 10, None, 1000)
    session.commit()
    assert upload.filename == "CT一.dcm"


def test_abandoned_uploads_are_swept(api, session, settings):
    from datetime import timedelta

    from sqlalchemy import update

    from referral.models import UploadSession, utcnow

    cid = new_case(api)
    old = api.post("village.doctor", f"/api/v1/cases/{cid}/uploads", json={"filename": "a.zip", "size": 100}).get_json()
    _put(api, "village.doctor", old["url"], b"x" * 40, 0)
    part = settings.data_dir / "uploads" / f"{old['upload_id']}.part"
    assert part.stat().st_size == 40
    session.execute(update(UploadSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    session.commit()
    assert api.get("village.doctor", old["url"]).status_code == 404  # expired
    api.post("village.doctor", f"/api/v1/cases/{cid}/uploads", json={"filename": "b.zip", "size": 100})
    assert not part.exists()


def test_finishing_an_upload_days_after_its_last_chunk_survives_the_daily_collection(api, samples, settings,
                                                                                     monkeypatch):
    """The page resumes an upload for up to a week: when its last chunk came days ago and the
    collection sweeps the staging area while the upload is being finished, the file still arrives."""
    import os
    import time

    from referral.dicom import gc
    from referral.dicom.store import BlobStore
    from referral.services import attachments as service

    data = samples["ct"][0].read_bytes()
    cid = new_case(api)
    url = api.post("village.doctor", f"/api/v1/cases/{cid}/uploads",
                   json={"filename": "slice.dcm", "size": len(data)}).get_json()["url"]
    assert _put(api, "village.doctor", url, data, 0).status_code == 200
    then = time.time() - 3 * 24 * 3600
    for part in (settings.data_dir / "uploads").glob("*.part"):
        os.utime(part, (then, then))
    attach, swept = service.attach_files, []

    def sweep_first(session, user, case_id, intake, store, **kw):
        swept.append(gc.collect(session, BlobStore(settings.data_dir)))  # the collection, just then
        return attach(session, user, case_id, intake, store, **kw)

    monkeypatch.setattr(service, "attach_files", sweep_first)
    done = api.post("village.doctor", url + "/complete")
    assert swept and done.status_code == 201, done.get_json()
    assert done.get_json()["studies"][0]["instances_added"] == 1
