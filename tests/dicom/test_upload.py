"""Attaching files through the API: studies indexed and deduplicated, the patient check and
its confirmation on the timeline, photos and PDFs, every corpus file as documented, and bad
input refused with the file's name and the reason, nothing of it stored."""

from __future__ import annotations

import io
import resource
import zipfile

import pytest
from PIL import Image
from sqlalchemy import func, select

from referral.models import Event, Instance, Series, StoredFile, Study

from . import badfiles
from .conftest import CORPUS_ACCEPT, CORPUS_REJECT, SAMPLE_PATIENTS, new_case, stored_files, upload


def _zip(paths) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in paths:
            zf.write(p, f"DICOM/{p.parent.name}/{p.name}")
    return buf.getvalue()


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_a_ct_study_as_a_zip_is_indexed_in_order(api, session, settings, samples):
    cid = new_case(api)
    r = upload(api, "village.doctor", cid, [(_zip(samples["ct"]), "chest-ct.zip")])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    (study,) = body["studies"]
    assert study["instances_added"] == 48 and study["safety"]["status"] == "ok"
    assert study["patient"] == {"name": "张伟", "name_dicom": "张^伟", "id": "YX0000123", "sex": "male",
                                "birth_date": "1958-04-12"}
    assert study["description"] == "胸部CT平扫" and study["modalities"] == ["CT"]
    listed = api.get("village.doctor", f"/api/v1/cases/{cid}/attachments").get_json()
    (series,) = listed["studies"][0]["series"]
    assert [i["number"] for i in series["instances"]] == list(range(1, 49))
    assert len(stored_files(settings.data_dir)) == 48
    kinds = [e["kind"] for e in api.get("village.doctor", f"/api/v1/cases/{cid}/events").get_json()["items"]]
    assert kinds[-1] == "attachment_added"

    again = upload(api, "village.doctor", cid, samples["ct"][:10]).get_json()
    assert again["studies"][0]["instances_added"] == 0 and again["studies"][0]["duplicates"] == 10
    assert len(stored_files(settings.data_dir)) == 48 and _count(session, Instance) == 48


def test_every_sample_study(api, session, samples):
    for key, paths in samples.items():
        cid = new_case(api, patient=SAMPLE_PATIENTS[key])
        body = upload(api, "village.doctor", cid, paths).get_json()
        (study,) = body["studies"]
        assert study["instances_added"] == len(paths) and study["safety"]["status"] == "ok", (key, study)
    session.expire_all()
    us = session.scalars(select(Instance).where(Instance.frames == 24)).one()
    assert us.transfer_syntax == "1.2.840.10008.1.2.4.50" and us.facts["photometric"] == "YBR_FULL_422"


@pytest.mark.parametrize("name", CORPUS_ACCEPT)
def test_accepted_corpus_file_is_stored_indexed_and_rendered(api, corpus, name):
    cid = new_case(api)
    r = upload(api, "village.doctor", cid, [corpus / name])
    assert r.status_code == 201, r.get_json()
    (study,) = r.get_json()["studies"]
    assert study["instances_added"] == 1
    doctor = api.headers("village.doctor")
    series = api.client.get(f"/dicomweb/studies/{study['study_uid']}/series", headers=doctor).get_json()
    series_uid = series[0]["0020000E"]["Value"][0]
    instances = api.client.get(f"/dicomweb/studies/{study['study_uid']}/series/{series_uid}/instances",
                               headers=doctor).get_json()
    sop = instances[0]["00080018"]["Value"][0]
    frames = instances[0]["00280008"]["Value"][0]
    image = api.client.get(f"/dicomweb/studies/{study['study_uid']}/series/{series_uid}/instances/{sop}/frames/"
                           f"{frames}/rendered?viewport=256,256", headers=doctor)
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(image.data)).size) <= 256


@pytest.mark.parametrize("name,reason", sorted(CORPUS_REJECT.items()))
def test_rejected_corpus_file_leaves_nothing(api, session, settings, corpus, name, reason):
    cid = new_case(api)
    r = upload(api, "village.doctor", cid, [corpus / name])
    assert r.status_code == 422
    body = r.get_json()
    assert body["error"] == "validation" and reason in body["fields"][name] and name in body["message"]
    assert stored_files(settings.data_dir) == [] and _count(session, Study) == 0
    assert _count(session, StoredFile) == 0


# ---------------------------------------------------------------- the patient check


def test_mismatched_patient_is_hidden_from_the_specialist_until_confirmed(api, session, samples):
    cid = new_case(api, patient={"name": "李四", "sex": "female", "birth_date": "1958-04-12"})
    api.act("village.doctor", cid, "submit")
    study = upload(api, "village.doctor", cid, samples["ct"][:3]).get_json()["studies"][0]
    assert study["safety"]["status"] == "mismatch"
    assert {d["field"] for d in study["safety"]["differences"]} == {"name", "sex"}
    again = upload(api, "village.doctor", cid, samples["ct"][3:5]).get_json()["studies"][0]  # the next batch
    assert again["instances_added"] == 2 and again["safety"]["status"] == "mismatch"
    events = api.get("village.doctor", f"/api/v1/cases/{cid}/events").get_json()["items"]
    (mismatch,) = [e for e in events if e["kind"] == "study_mismatch"]  # flagged once, not once per batch
    assert mismatch["payload"]["differences"][0] == {"field": "name", "case": "李四", "dicom": "张伟"}

    seen = api.get("township.specialist", f"/api/v1/cases/{cid}/attachments").get_json()
    assert seen["studies"] == [] and seen["awaiting_confirmation"] == 1
    uid = study["study_uid"]
    specialist = api.headers("township.specialist")
    assert api.client.get("/dicomweb/studies", headers=specialist).get_json() == []
    assert api.client.get(f"/dicomweb/studies/{uid}/series", headers=specialist).status_code == 404
    denied = api.post("township.specialist", f"/api/v1/cases/{cid}/studies/{uid}/confirm", json={})
    assert denied.status_code == 404

    nul = api.post("village.doctor", f"/api/v1/cases/{cid}/studies/{uid}/confirm", json={"note": "已核对\u0000"})
    assert nul.status_code == 422 and "note" in nul.get_json()["fields"]  # PostgreSQL could not store it
    confirmed = api.post("village.doctor", f"/api/v1/cases/{cid}/studies/{uid}/confirm",
                         json={"note": "已核对：患者曾用名"})
    assert confirmed.status_code == 200 and confirmed.get_json()["safety"]["status"] == "confirmed"
    assert api.post("village.doctor", f"/api/v1/cases/{cid}/studies/{uid}/confirm", json={}).status_code == 409
    seen = api.get("township.specialist", f"/api/v1/cases/{cid}/attachments").get_json()
    assert [s["study_uid"] for s in seen["studies"]] == [uid] and seen["awaiting_confirmation"] == 0
    assert api.client.get(f"/dicomweb/studies/{uid}/series", headers=specialist).status_code == 200
    kinds = [e["kind"] for e in api.get("village.doctor", f"/api/v1/cases/{cid}/events").get_json()["items"]]
    assert kinds[-4:] == ["attachment_added", "study_mismatch", "attachment_added", "study_confirmed"]
    session.expire_all()
    confirm_event = session.scalars(select(Event).where(Event.kind == "study_confirmed")).one()
    assert confirm_event.payload["note"] == "已核对：患者曾用名"


def test_a_file_naming_another_patient_in_the_same_study_is_refused(api, samples, tmp_path):
    import pydicom

    cid = new_case(api)
    assert upload(api, "village.doctor", cid, samples["ct"][:2]).status_code == 201
    ds = pydicom.dcmread(samples["ct"][2])
    ds.PatientName = "赵^六"
    misfiled = tmp_path / "CT0003.dcm"
    ds.save_as(misfiled)
    r = upload(api, "village.doctor", cid, [misfiled])
    assert r.status_code == 201 and r.get_json()["studies"][0]["instances_added"] == 0
    assert "differs from the other images" in r.get_json()["rejected"][0]["reason"]


# ---------------------------------------------------------------- photos and PDFs


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 80, 60)).save(buf, "JPEG")
    return buf.getvalue()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (64, 64), 128).save(buf, "PNG")
    return buf.getvalue()


PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


def test_photos_and_pdf_reports(api, settings):
    cid = new_case(api)
    r = upload(api, "village.doctor", cid, [(_jpeg(), "皮疹.jpg"), (_png(), "ecg.png"), (PDF, "化验单.pdf"),
                                            (_jpeg()[:200], "broken.jpg"), (PDF[:-7], "cut.pdf")])
    assert r.status_code == 201
    body = r.get_json()
    assert [(a["filename"], a["kind"]) for a in body["attachments"]] == [
        ("皮疹.jpg", "photo"), ("ecg.png", "photo"), ("化验单.pdf", "pdf")]
    assert {x["file"] for x in body["rejected"]} == {"broken.jpg", "cut.pdf"}
    assert len(stored_files(settings.data_dir)) == 3
    pdf = body["attachments"][2]
    download = api.get("village.doctor", pdf["url"])
    assert download.status_code == 200 and download.data == PDF and download.mimetype == "application/pdf"
    assert api.get("village.doctor2", pdf["url"]).status_code == 404


# ---------------------------------------------------------------- bad input


BAD = {
    "notes.txt": (badfiles.not_dicom, "not a DICOM file"),
    "length.dcm": (badfiles.length_beyond_file, "beyond the end of the file"),
    "deep.dcm": (lambda: badfiles.deep_sequences(300), "nested more than"),
    "huge.dcm": (badfiles.huge_dimensions, "to decode"),
    "traversal.zip": (lambda: badfiles.zip_of({"../../etc/evil.dcm": b"x"}), "climbs out"),
    "absolute.zip": (lambda: badfiles.zip_of({"/etc/cron.d/evil": b"x"}), "absolute path"),
    "symlink.zip": (lambda: badfiles.zip_of({}, symlinks={"CT0001.dcm": "/etc/passwd"}), "symbolic link"),
    "ratio.zip": (badfiles.zip_bomb_ratio, "ZIP bomb by ratio"),
    "entries.zip": (lambda: badfiles.zip_bomb_entries(20_001), "ZIP bomb by entry count"),
    "nested.zip": (lambda: badfiles.zip_nested(badfiles.zip_of({"a.dcm": b"x"})), "nested archives"),
}


def test_bad_input_each_with_its_reason_and_nothing_stored(api, session, settings, samples):
    cid = new_case(api)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    files = [(make(), name) for name, (make, _) in BAD.items()]
    files.append((badfiles.truncated(samples["ct"][0]), "cut-short.dcm"))
    r = upload(api, "village.doctor", cid, files)
    assert r.status_code == 422, r.get_json()
    fields = r.get_json()["fields"]
    for name, (_, reason) in BAD.items():
        assert reason in fields[name], (name, fields.get(name))
    assert "truncated" in fields["cut-short.dcm"]
    assert stored_files(settings.data_dir) == []
    assert _count(session, Study) == _count(session, StoredFile) == _count(session, Series) == 0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 300 * 1024, f"memory grew by {grown_kib} KiB"
    assert [p for p in (settings.data_dir / "staging").rglob("*") if p.is_file()] == []
    assert api.client.get("/healthz").status_code == 200


def test_good_files_are_kept_beside_bad_ones(api, settings, samples):
    cid = new_case(api)
    r = upload(api, "village.doctor", cid, [samples["ct"][0], (badfiles.not_dicom(), "readme.txt"),
                                            (badfiles.truncated(samples["ct"][1]), "CT0002.dcm")])
    assert r.status_code == 201
    body = r.get_json()
    assert body["studies"][0]["instances_added"] == 1
    assert {x["file"] for x in body["rejected"]} == {"readme.txt", "CT0002.dcm"}
    assert len(stored_files(settings.data_dir)) == 1


def test_a_zip_mixing_studies_and_junk(api, samples):
    cid = new_case(api)
    archive = badfiles.zip_of({"DICOMDIR": b"x", "__MACOSX/._CT0001.dcm": b"x", "notes/readme.txt": b"hello",
                               "IMG/CT0001.dcm": samples["ct"][0].read_bytes()})
    body = upload(api, "village.doctor", cid, [(archive, "cd.zip")]).get_json()
    assert body["studies"][0]["instances_added"] == 1
    assert body["rejected"] == [{"file": "cd.zip: notes/readme.txt", "reason": body["rejected"][0]["reason"],
                                 "kind": "not_accepted"}]
    assert "not a DICOM file" in body["rejected"][0]["reason"]
    assert set(body["skipped"]) == {"cd.zip: DICOMDIR", "cd.zip: __MACOSX/._CT0001.dcm"}


def test_no_file_at_all(api):
    cid = new_case(api)
    r = api.post("village.doctor", f"/api/v1/cases/{cid}/attachments", json={})
    assert r.status_code == 422 and r.get_json()["fields"] == {"file": "required"}


@pytest.fixture
def small_limit_settings(settings):
    from dataclasses import replace

    return replace(settings, max_upload_bytes=2 * 1024 * 1024)


def test_over_the_size_limit(small_limit_settings, samples):
    from referral.app import create_app
    from tests.conftest import Api

    app = create_app(small_limit_settings)
    app.config["TESTING"] = True
    api = Api(app.test_client())
    cid = new_case(api)
    r = upload(api, "village.doctor", cid, samples["ct"][:6])  # about 3 MB in one request
    assert r.status_code == 413 and r.get_json()["error"] == "too_large"
    big = api.post("village.doctor", f"/api/v1/cases/{cid}/uploads",
                   json={"filename": "study.zip", "size": 3 * 1024 * 1024})
    assert big.status_code == 413 and "study.zip" in big.get_json()["message"]
    app.extensions["referral"].database.engine.dispose()


# ---------------------------------------------------------------- who may


def test_scope_and_permissions(api, samples):
    cid = new_case(api)
    assert api.get("village.doctor2", f"/api/v1/cases/{cid}/attachments").status_code == 404
    assert upload(api, "village.doctor2", cid, samples["ct"][:1]).status_code == 404
    api.act("village.doctor", cid, "submit")
    r = upload(api, "township.specialist", cid, samples["ct"][:1])
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    api.act("township.specialist", cid, "claim")
    assert upload(api, "township.specialist", cid, samples["ct"][:1]).status_code == 201
    api.act("township.specialist", cid, "release")
    api.act("village.doctor", cid, "cancel", reason="患者已转院")
    closed = upload(api, "village.doctor", cid, samples["ct"][1:2])
    assert closed.status_code == 403 and "closed" in closed.get_json()["message"]


def test_openapi_lists_the_upload_endpoints(api):
    paths = api.client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/cases/{id}/attachments", "/api/v1/cases/{id}/uploads",
                 "/api/v1/cases/{id}/uploads/{upload_id}", "/api/v1/cases/{id}/uploads/{upload_id}/complete",
                 "/api/v1/cases/{id}/studies/{study_uid}/confirm", "/api/v1/inbox/studies"):
        assert path in paths, path
    assert {"get", "put", "delete"} <= set(paths["/api/v1/cases/{id}/uploads/{upload_id}"])
