"""DICOMweb as a standard client uses it, with every answer parsed back with pydicom:
QIDO-RS searches, WADO-RS instances, metadata and frames, STOW-RS into a case, and the
same scoping as cases (out of scope = 404, no token = 401)."""

from __future__ import annotations

import dataclasses
import gzip
import io
import secrets
from email.parser import BytesParser
from email.policy import HTTP

import pydicom
import pytest
from PIL import Image
from pydicom.encaps import generate_frames
from sqlalchemy import select

from referral.models import AuditEntry

from . import badfiles
from .conftest import SAMPLE_PATIENTS, new_case, upload


def parts(response) -> list[tuple[str, bytes]]:
    """The parts of a multipart/related answer: (content type, body)."""
    head = f"Content-Type: {response.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + response.data)
    assert message.is_multipart()
    return [(p.get_content_type() + ("; " + p["Content-Type"].split(";", 1)[1].strip()
                                     if ";" in p["Content-Type"] else ""), p.get_payload(decode=True))
            for p in message.iter_parts()]


@pytest.fixture
def loaded(api, samples):
    """A CT (10 slices) and an MR study on two cases of village.doctor."""
    ct_case = new_case(api)
    mr_case = new_case(api, patient=SAMPLE_PATIENTS["mr"])
    ct = upload(api, "village.doctor", ct_case, samples["ct"][:10]).get_json()["studies"][0]
    mr = upload(api, "village.doctor", mr_case, samples["mr"]).get_json()["studies"][0]
    return {"ct": ct, "mr": mr, "ct_case": ct_case, "mr_case": mr_case}


def get(api, path, username="village.doctor", accept=None):
    headers = api.headers(username)
    if accept:
        headers["Accept"] = accept
    return api.client.get(path, headers=headers)


def test_qido_studies_and_filters(api, loaded):
    r = get(api, "/dicomweb/studies")
    assert r.status_code == 200 and r.mimetype == "application/dicom+json"
    found = {pydicom.Dataset.from_json(item).StudyInstanceUID: pydicom.Dataset.from_json(item) for item in r.get_json()}
    ct = found[loaded["ct"]["study_uid"]]
    assert str(ct.PatientName) == "张^伟" and ct.PatientID == "YX0000123" and ct.ModalitiesInStudy == "CT"
    assert ct.NumberOfStudyRelatedInstances == 10 and ct.NumberOfStudyRelatedSeries == 1
    assert ct.RetrieveURL == f"http://localhost/dicomweb/studies/{ct.StudyInstanceUID}"  # the address used

    def uids(query):
        return {i["0020000D"]["Value"][0] for i in get(api, "/dicomweb/studies?" + query).get_json()}

    assert uids("ModalitiesInStudy=MR") == {loaded["mr"]["study_uid"]}
    assert uids("PatientName=张*") == {loaded["ct"]["study_uid"]}
    assert uids("00100020=YX0000321") == {loaded["mr"]["study_uid"]}
    assert uids("StudyDate=20260301-20260331") == {loaded["ct"]["study_uid"], loaded["mr"]["study_uid"]}
    assert uids("StudyDate=20250101-20251231") == set()
    assert uids(f"case={loaded['ct_case']}") == {loaded["ct"]["study_uid"]}
    assert len(get(api, "/dicomweb/studies?limit=1").get_json()) == 1
    assert get(api, "/dicomweb/studies?limit=0").status_code == 422
    assert get(api, "/dicomweb/studies?StudyDate=tomorrow").status_code == 422


def test_qido_series_and_instances(api, loaded):
    uid = loaded["ct"]["study_uid"]
    (series,) = [pydicom.Dataset.from_json(i) for i in get(api, f"/dicomweb/studies/{uid}/series").get_json()]
    assert series.Modality == "CT" and series.NumberOfSeriesRelatedInstances == 10
    instances = get(api, f"/dicomweb/studies/{uid}/series/{series.SeriesInstanceUID}/instances").get_json()
    datasets = [pydicom.Dataset.from_json(i) for i in instances]
    assert [d.InstanceNumber for d in datasets] == list(range(1, 11))
    assert all(d.Rows == 512 and d.NumberOfFrames == 1 for d in datasets)
    assert len(get(api, f"/dicomweb/studies/{uid}/instances").get_json()) == 10


def _first(api, study_uid):
    series = get(api, f"/dicomweb/studies/{study_uid}/series").get_json()[0]["0020000E"]["Value"][0]
    sop = get(api, f"/dicomweb/studies/{study_uid}/series/{series}/instances").get_json()[0]["00080018"]["Value"][0]
    return series, sop


def test_wado_instance_series_and_study(api, loaded, samples):
    uid = loaded["ct"]["study_uid"]
    series, sop = _first(api, uid)
    r = get(api, f"/dicomweb/studies/{uid}/series/{series}/instances/{sop}",
            accept='multipart/related; type="application/dicom"')
    assert r.status_code == 200 and r.mimetype == "multipart/related"
    ((content_type, body),) = parts(r)
    assert content_type == "application/dicom"
    assert body == samples["ct"][0].read_bytes()  # stored and served byte for byte
    ds = pydicom.dcmread(io.BytesIO(body))
    assert ds.SOPInstanceUID == sop and str(ds.PatientName) == "张^伟"

    single = get(api, f"/dicomweb/studies/{uid}/series/{series}/instances/{sop}", accept="application/dicom")
    assert single.mimetype == "application/dicom" and single.data == body

    whole = parts(get(api, f"/dicomweb/studies/{uid}/series/{series}"))
    assert len(whole) == 10
    assert {pydicom.dcmread(io.BytesIO(b)).InstanceNumber for _, b in whole} == set(range(1, 11))
    assert len(parts(get(api, f"/dicomweb/studies/{uid}"))) == 10


def test_metadata_as_dicom_json(api, loaded):
    uid = loaded["ct"]["study_uid"]
    series, sop = _first(api, uid)
    r = get(api, f"/dicomweb/studies/{uid}/series/{series}/instances/{sop}/metadata")
    assert r.mimetype == "application/dicom+json"
    (item,) = r.get_json()
    assert "/frames/1" in item["7FE00010"]["BulkDataURI"]
    ds = pydicom.Dataset.from_json(item, bulk_data_uri_handler=lambda *_: b"")
    assert str(ds.PatientName) == "张^伟" and ds.Rows == 512 and float(ds.RescaleIntercept) == -1024
    assert len(get(api, f"/dicomweb/studies/{uid}/metadata").get_json()) == 10
    assert len(get(api, f"/dicomweb/studies/{uid}/series/{series}/metadata").get_json()) == 10


def test_frames_raw_and_rendered(api, loaded, samples):
    uid = loaded["ct"]["study_uid"]
    series, sop = _first(api, uid)
    base = f"/dicomweb/studies/{uid}/series/{series}/instances/{sop}"
    ((_, raw),) = parts(get(api, f"{base}/frames/1"))
    assert raw == pydicom.dcmread(samples["ct"][0]).PixelData

    mr_uid = loaded["mr"]["study_uid"]
    mr_series, mr_sop = _first(api, mr_uid)
    ((content_type, codestream),) = parts(get(api, f"/dicomweb/studies/{mr_uid}/series/{mr_series}/instances/"
                                                   f"{mr_sop}/frames/1"))
    assert "transfer-syntax" in content_type and "1.2.840.10008.1.2.4.80" in content_type
    original = pydicom.dcmread(samples["mr"][0])
    assert codestream == next(generate_frames(original.PixelData, number_of_frames=1))

    jpeg = get(api, f"{base}/frames/1/rendered")
    assert jpeg.mimetype == "image/jpeg" and Image.open(io.BytesIO(jpeg.data)).size == (512, 512)
    png = get(api, f"{base}/rendered?window=40,400&viewport=128,128", accept="image/png")
    assert png.mimetype == "image/png" and Image.open(io.BytesIO(png.data)).size == (128, 128)
    assert get(api, f"{base}/frames/2/rendered").status_code == 404
    assert get(api, f"{base}/rendered?window=40").status_code == 422
    assert get(api, f"{base}/rendered?preset=liver").status_code == 422


def test_stow_into_a_case(api, samples, session):
    cid = new_case(api, patient=SAMPLE_PATIENTS["cr"])
    boundary = secrets.token_hex(8)
    body = b""
    for data in (samples["cr"][0].read_bytes(), samples["us"][0].read_bytes(), badfiles.not_dicom()):
        body += f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    headers = {**api.headers("village.doctor"),
               "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
               "Accept": "application/dicom+json"}
    r = api.client.post(f"/dicomweb/studies?case={cid}", data=body, headers=headers)
    assert r.status_code == 202, r.get_json()
    response = pydicom.Dataset.from_json(r.get_json())
    stored = {item.ReferencedSOPInstanceUID for item in response.ReferencedSOPSequence}
    assert stored == {pydicom.dcmread(samples[key][0]).SOPInstanceUID for key in ("cr", "us")}
    (failed,) = response.FailedSOPSequence
    assert failed.FailureReason == 0xC000 and "part 3: not a DICOM file" in failed.TextValue
    listed = api.get("village.doctor", f"/api/v1/cases/{cid}/attachments").get_json()["studies"]
    cr = next(s for s in listed if s["modalities"] == ["CR"])
    assert cr["safety"]["status"] == "ok" and cr["source"] == "stow"  # 李秀英 matches the ideographic name
    us = next(s for s in listed if s["modalities"] == ["US"])
    assert us["safety"]["status"] == "mismatch"  # 王芳 is not this case's patient

    all_bad = (f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + b"junk" * 100
               + f"\r\n--{boundary}--\r\n".encode())
    assert api.client.post(f"/dicomweb/studies?case={cid}", data=all_bad, headers=headers).status_code == 409
    assert api.client.post("/dicomweb/studies", data=body, headers=headers).status_code == 422
    assert api.client.post(f"/dicomweb/studies?case={cid}", data=body[:len(body) // 2],
                           headers=headers).status_code == 422  # truncated body
    foreign = api.client.post(f"/dicomweb/studies?case={cid}", data=body,
                              headers={**headers, **api.headers("village.doctor2")})
    assert foreign.status_code == 404


def test_scope_no_token_and_audit(api, loaded, session):
    uid = loaded["ct"]["study_uid"]
    assert api.client.get("/dicomweb/studies").status_code == 401
    assert get(api, "/dicomweb/studies", "village.doctor2").get_json() == []
    for path in (f"/dicomweb/studies/{uid}", f"/dicomweb/studies/{uid}/series", f"/dicomweb/studies/{uid}/metadata"):
        r = get(api, path, "village.doctor2")
        assert r.status_code == 404 and r.get_json()["error"] == "not_found", path
    api.act("village.doctor", loaded["ct_case"], "submit")
    assert [i["0020000D"]["Value"][0] for i in get(api, "/dicomweb/studies", "township.specialist").get_json()] \
        == [uid]
    get(api, f"/dicomweb/studies/{uid}/metadata", "township.specialist")
    session.expire_all()
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == loaded["ct_case"])))
    assert {"dicomweb.search", "dicomweb.metadata"} <= actions


def test_stow_with_a_gzip_compressed_body(api, samples):
    cid = new_case(api, patient=SAMPLE_PATIENTS["cr"])
    boundary = secrets.token_hex(8)
    body = (f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + samples["cr"][0].read_bytes()
            + f"\r\n--{boundary}--\r\n".encode())
    headers = {**api.headers("village.doctor"), "Content-Encoding": "gzip",
               "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}'}
    r = api.client.post(f"/dicomweb/studies?case={cid}", data=gzip.compress(body), headers=headers)
    assert r.status_code == 200, r.get_json()
    (stored,) = pydicom.Dataset.from_json(r.get_json()).ReferencedSOPSequence
    assert stored.ReferencedSOPInstanceUID == pydicom.dcmread(samples["cr"][0]).SOPInstanceUID
    broken = api.client.post(f"/dicomweb/studies?case={cid}", data=body, headers=headers)  # says gzip, is not
    assert broken.status_code == 422 and "not valid gzip" in broken.get_json()["message"]


def test_patient_data_is_stored_nowhere_but_a_rendered_frame_is_kept(api, loaded):
    """API and DICOMweb answers carry patient data: no cache or browser disk keeps them (errors
    neither), nothing is taken for another type; a rendered frame of a stored file never changes,
    so the caller's browser may keep it privately for a day."""
    uid = loaded["ct"]["study_uid"]
    series, sop = _first(api, uid)
    base = f"/dicomweb/studies/{uid}/series/{series}/instances/{sop}"
    case = f"/api/v1/cases/{loaded['ct_case']}"
    for path in (case, f"{case}/attachments", "/api/v1/cases", "/dicomweb/studies", f"{base}/metadata",
                 f"{base}/frames/1", "/api/v1/cases/999999", f"/dicomweb/studies/{uid}/series/1.2.3/metadata"):
        r = get(api, path)
        assert r.status_code in (200, 404), path
        assert r.headers["Cache-Control"] == "private, no-store", path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
    assert api.client.get(case).headers["Cache-Control"] == "private, no-store"  # 401 too
    assert get(api, f"{base}/frames/1/rendered").headers["Cache-Control"] == "private, max-age=86400"


def test_several_frames_in_the_order_asked_each_once(api, samples, tmp_path):
    """A multi-frame ultrasound clip, as stored (JPEG) and decompressed: frames come back in the order
    asked; a repeated frame number is refused (one short URL must not ask for the same megabytes
    thousands of times)."""
    clip = pydicom.dcmread(samples["us"][0])
    native = pydicom.dcmread(samples["us"][0])
    native.decompress()
    native.SOPInstanceUID = native.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    native.save_as(tmp_path / "native.dcm", enforce_file_format=True)
    case_id = new_case(api, patient=SAMPLE_PATIENTS["us"])
    assert upload(api, "village.doctor", case_id, [samples["us"][0], tmp_path / "native.dcm"]).status_code == 201
    size = len(native.PixelData) // int(native.NumberOfFrames)
    frames = list(generate_frames(clip.PixelData, number_of_frames=int(clip.NumberOfFrames)))
    for ds, expected in ((native, [native.PixelData[2 * size:3 * size], native.PixelData[:size]]),
                         (clip, [frames[2], frames[0]])):
        base = (f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
                f"/instances/{ds.SOPInstanceUID}")
        assert [body for _, body in parts(get(api, f"{base}/frames/3,1"))] == expected
        repeated = get(api, f"{base}/frames/" + ",".join(["1"] * 4000))
        assert repeated.status_code == 422 and "frames" in repeated.get_json()["fields"]


def test_each_bad_parameter_is_named(api, loaded):
    uid = loaded["ct"]["study_uid"]
    series, sop = _first(api, uid)
    base = f"/dicomweb/studies/{uid}/series/{series}/instances/{sop}"
    for path, field in [(f"{base}/rendered?quality=abc", "quality"), (f"{base}/rendered?quality=0", "quality"),
                        (f"{base}/rendered?viewport=2,2", "viewport"), (f"{base}/rendered?preset=liver", "preset"),
                        (f"{base}/rendered?window=40,-1", "window"), ("/dicomweb/studies?offset=abc", "offset"),
                        ("/dicomweb/studies?limit=-1", "limit")]:
        r = get(api, path)
        assert r.status_code == 422 and list(r.get_json()["fields"]) == [field], (path, r.get_json())
        assert "int()" not in r.get_data(as_text=True)  # no Python in the message


def test_metadata_holds_its_values_and_points_only_at_the_frames(api, samples, tmp_path):
    """Large values other than the pixels (here a 100 KB private blob) come inline: the only bulk data
    URI is the frames', and it answers."""
    ds = pydicom.dcmread(samples["ct"][0])
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    block = ds.private_block(0x0009, "REFERRAL TEST", create=True)
    block.add_new(0x01, "OB", bytes(range(256)) * 400)
    ds.save_as(tmp_path / "blob.dcm", enforce_file_format=True)
    case_id = new_case(api)
    assert upload(api, "village.doctor", case_id, [tmp_path / "blob.dcm"]).status_code == 201
    (item,) = get(api, f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/"
                       f"{ds.SOPInstanceUID}/metadata").get_json()
    uris = [v["BulkDataURI"] for v in item.values() if "BulkDataURI" in v]
    assert uris == [item["7FE00010"]["BulkDataURI"]]
    assert get(api, uris[0][uris[0].index("/dicomweb/"):]).status_code == 200
    back = pydicom.Dataset.from_json(item, bulk_data_uri_handler=lambda *_: b"")
    assert back[0x0009, 0x1001].value == bytes(range(256)) * 400


def test_a_rendered_frame_is_cached_once_its_answer_has_gone_out(api, app, loaded):
    """The first view of a frame does not wait for the cache file to be written; the file is
    there once the answer is finished, and the next view is the same image."""
    uid = loaded["ct"]["study_uid"]
    series, sop = _first(api, uid)
    url = f"/dicomweb/studies/{uid}/series/{series}/instances/{sop}/frames/1/rendered?window=40,400"
    frames = app.extensions["imaging"].store.cache / "frames"

    def cached() -> set:
        return set(frames.rglob("*-*")) if frames.exists() else set()

    before = cached()
    first = api.client.get(url, headers=api.headers("village.doctor"), buffered=False)
    image = first.get_data()
    assert cached() == before  # not yet: the answer is still open
    first.close()
    (written,) = cached() - before
    assert written.read_bytes() == image
    assert get(api, url).data == image


def test_retrieve_urls_use_the_public_address_when_one_is_set(api, app, loaded, monkeypatch):
    """Behind a reverse proxy the address a viewer must use is the public one, whatever Host the
    proxy passed on."""
    runtime = app.extensions["referral"]
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings,
                                                                 public_url="https://pacs.yunxi.example"))
    uid = loaded["ct"]["study_uid"]
    (study,) = [pydicom.Dataset.from_json(i) for i in get(api, f"/dicomweb/studies?StudyInstanceUID={uid}").get_json()]
    assert study.RetrieveURL == f"https://pacs.yunxi.example/dicomweb/studies/{uid}"
