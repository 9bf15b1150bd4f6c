"""The imaging pages with the login session: the case page's panel (in Chinese), uploads through
it with the page's CSRF token, the patient confirmation form, the viewer's manifest and frames,
the inbox form, and 404 for everything out of scope."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from tests.web.conftest import csrf_token, sign_in

from .conftest import SAMPLE_PATIENTS, new_case, upload


@pytest.fixture
def browser_client(app):
    def make(username: str):
        client = app.test_client()
        assert sign_in(client, username).status_code == 302
        return client

    return make


def _token(client, case_id: int) -> str:
    return csrf_token(client.get(f"/cases/{case_id}").data)


def test_panel_upload_confirm_and_viewer(api, browser_client, samples):
    cid = new_case(api, patient={"name": "李四", "sex": "male", "birth_date": "1958-04-12"})
    doctor = browser_client("village.doctor")
    page = doctor.get(f"/cases/{cid}").get_data(as_text=True)
    assert "影像与附件" in page and "暂无影像或附件。" in page and "data-upload" in page

    token = _token(doctor, cid)
    files = [(open(p, "rb"), p.name) for p in samples["ct"][:4]]
    refused = doctor.post(f"/cases/{cid}/attachments/files", data={"file": files}, content_type="multipart/form-data",
                          headers={"Accept": "application/json"})
    assert refused.status_code == 400  # no CSRF token: refused before anything is read
    files = [(open(p, "rb"), p.name) for p in samples["ct"][:4]]
    r = doctor.post(f"/cases/{cid}/attachments/files", data={"file": files}, content_type="multipart/form-data",
                    headers={"Accept": "application/json", "X-CSRFToken": token})
    assert r.status_code == 201 and r.get_json()["studies"][0]["safety"]["status"] == "mismatch"
    uid = r.get_json()["studies"][0]["study_uid"]

    page = doctor.get(f"/cases/{cid}").get_data(as_text=True)
    assert "该影像检查中的患者与本病例不一致。" in page and "确认：是本患者" in page
    assert "张伟" in page  # the name in the file, shown beside the case's
    assert "影像患者信息不一致" in page  # the timeline entry

    api.act("village.doctor", cid, "submit")
    specialist = browser_client("township.specialist")
    assert "有 1 项影像检查正等待转诊医生确认患者身份。" in specialist.get(f"/cases/{cid}").get_data(as_text=True)
    assert specialist.get(f"/cases/{cid}/studies/{uid}").status_code == 404

    confirmed = doctor.post(f"/cases/{cid}/studies/{uid}/confirm", data={"note": "同一患者", "csrf_token": token})
    assert confirmed.status_code == 302
    page = specialist.get(f"/cases/{cid}").get_data(as_text=True)
    assert f"/cases/{cid}/studies/{uid}" in page and "患者身份已由" in page

    viewer = specialist.get(f"/cases/{cid}/studies/{uid}")
    assert viewer.status_code == 200 and "窗宽/窗位" in viewer.get_data(as_text=True)
    manifest = specialist.get(f"/cases/{cid}/studies/{uid}/manifest.json").get_json()
    (series,) = manifest["series"]
    assert manifest["patient"]["sex_label"] == "男"  # the key tags speak the page's language
    assert [i["number"] for i in series["images"]] == [1, 2, 3, 4]
    image = series["images"][0]
    assert image["pixel_spacing"] == [pytest.approx(0.683594), pytest.approx(0.683594)]
    frame = specialist.get(image["url"] + "1.jpg?size=256&preset=lung")
    assert frame.status_code == 200 and frame.headers["X-Window-Center"] == "-600"
    assert Image.open(io.BytesIO(frame.data)).size == (256, 256)
    thumb = specialist.get(series["thumbnail"])
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.data)).size) == 128
    assert specialist.get(image["url"] + "2.jpg").status_code == 404  # a CT slice has one frame
    assert specialist.get(image["download"]).data[128:132] == b"DICM"

    outsider = browser_client("village.doctor2")
    for path in (f"/cases/{cid}/studies/{uid}", f"/cases/{cid}/studies/{uid}/manifest.json", image["url"] + "1.jpg",
                 series["thumbnail"], image["download"], f"/cases/{cid}/attachments/panel"):
        assert outsider.get(path).status_code == 404, path


def test_resumable_upload_through_the_page(api, browser_client, samples):
    cid = new_case(api)
    doctor = browser_client("village.doctor")
    token = _token(doctor, cid)
    data = samples["cr"][0].read_bytes()
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    start = doctor.post(f"/cases/{cid}/attachments/uploads", json={"filename": "CR0001.dcm", "size": len(data)},
                        headers=headers)
    assert start.status_code == 201
    url = start.get_json()["url"]
    half = len(data) // 2
    for bad in ("-1", "half", ""):  # the same answer as the API's: a clear 422, nothing appended
        refused = doctor.put(url, data=data[:half], headers={**headers, "Upload-Offset": bad})
        assert refused.status_code == 422 and "Upload-Offset" in refused.get_json()["fields"], bad
    assert doctor.get(url).get_json()["offset"] == 0
    assert doctor.put(url, data=data[:half], headers={**headers, "Upload-Offset": "0"}).get_json()["offset"] == half
    assert doctor.get(url).get_json()["offset"] == half
    assert doctor.put(url, data=data[half:], headers={**headers, "Upload-Offset": str(half)}).status_code == 200
    done = doctor.post(url + "/complete", headers=headers)
    assert done.status_code == 201 and done.get_json()["studies"][0]["modalities"] == ["CR"]
    # The CR's patient is 李秀英, the case's 张伟.
    assert done.get_json()["studies"][0]["safety"]["status"] == "mismatch"


def test_inbox_on_the_case_page(api, browser_client, samples, app):
    from referral.dicom import imaging_for
    from referral.dicom.intake import Receiver
    from referral.runtime import db_session
    from referral.services.attachments import inbox_facility, receive_into_inbox

    with app.app_context():
        im = imaging_for(app.extensions["referral"].settings)
        session = db_session()
        facility = inbox_facility(session, "YX-T01-V01")
        with im.store.workdir() as workdir:
            receiver = Receiver(im.store, workdir, im.limits)
            for p in samples["mr"][:2]:
                with open(p, "rb") as fh:
                    receiver.take_stream(p.name, fh)
            receive_into_inbox(session, facility.id, receiver.intake, im.store, source="C-STORE MRI_T01")
    cid = new_case(api, patient=SAMPLE_PATIENTS["mr"])
    doctor = browser_client("village.doctor")
    page = doctor.get(f"/cases/{cid}").get_data(as_text=True)
    assert "本机构通过 DICOM 收到的影像检查（1）" in page and "与本患者匹配" in page
    study_id = re.search(r'name="study_id" value="(\d+)"', page).group(1)
    r = doctor.post(f"/cases/{cid}/attachments/inbox", data={"study_id": study_id, "csrf_token": _token(doctor, cid)})
    assert r.status_code == 302
    page = doctor.get(f"/cases/{cid}").get_data(as_text=True)
    assert "影像检查已添加到本病例。" in page and "头颅MRI平扫" in page
    assert "本机构通过 DICOM 收到的影像检查" not in page


def test_upload_without_scripts_redirects(api, browser_client, samples):
    cid = new_case(api)
    doctor = browser_client("village.doctor")
    token = _token(doctor, cid)
    r = doctor.post(f"/cases/{cid}/attachments/files", content_type="multipart/form-data",
                    data={"file": [(open(samples["ct"][0], "rb"), "CT0001.dcm"), (io.BytesIO(b"hello"), "x.txt")],
                          "csrf_token": token})
    assert r.status_code == 302
    page = doctor.get(f"/cases/{cid}").get_data(as_text=True)
    assert "已添加 1 个文件。" in page and "x.txt: not a DICOM file" in page
    assert upload(api, "village.doctor", cid, samples["ct"][:1]).get_json()["studies"][0]["duplicates"] == 1


def test_a_page_upload_is_streamed_not_parsed_as_a_form(app, api, browser_client, samples):
    """The page's uploader sends its CSRF token in a header: the check must not parse the body
    (werkzeug would spool the whole study) before the upload view streams it to the store."""
    from flask import request

    parsed: list[bool] = []
    app.after_request_funcs.setdefault(None, []).append(
        lambda response: parsed.append("form" in request.__dict__ or "files" in request.__dict__) or response)
    cid = new_case(api)
    doctor = browser_client("village.doctor")
    token = _token(doctor, cid)
    files = [(open(p, "rb"), p.name) for p in samples["ct"][:2]]
    r = doctor.post(f"/cases/{cid}/attachments/files", data={"file": files}, content_type="multipart/form-data",
                    headers={"Accept": "application/json", "X-CSRFToken": token})
    assert r.status_code == 201 and parsed[-1] is False
    files = [(open(p, "rb"), p.name) for p in samples["ct"][2:3]]
    wrong = doctor.post(f"/cases/{cid}/attachments/files", data={"file": files}, content_type="multipart/form-data",
                        headers={"Accept": "application/json", "X-CSRFToken": token[:-2] + "xx"})
    assert wrong.status_code == 400


def test_every_page_carries_the_content_policy_and_none_is_stored(api, browser_client, samples):
    """The one rule of the page blueprints (web.blueprint.page_headers): the content policy on the
    case page, the viewer, the consult room, notifications and reports alike, and nothing with
    patient data on the browser's disk, except a rendered frame its view lets the browser keep."""
    cid = new_case(api)
    uid = upload(api, "village.doctor", cid, samples["ct"][:2]).get_json()["studies"][0]["study_uid"]
    doctor = browser_client("village.doctor")
    image = doctor.get(f"/cases/{cid}/studies/{uid}/manifest.json").get_json()["series"][0]["images"][0]
    stored_nowhere = [f"/cases/{cid}", f"/cases/{cid}/studies/{uid}", f"/cases/{cid}/studies/{uid}/manifest.json",
                      f"/cases/{cid}/attachments.json", image["download"], f"/cases/{cid}/consult", "/notifications",
                      "/notices"]
    for path in stored_nowhere:
        r = doctor.get(path)
        assert r.status_code == 200, path
        assert "default-src 'self'" in r.headers.get("Content-Security-Policy", ""), path
        assert r.headers["Cache-Control"] == "private, no-store", path
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Referrer-Policy"] == "same-origin"
    report = browser_client("county.admin").get("/reports")
    assert report.status_code == 200 and report.headers["Cache-Control"] == "private, no-store"
    assert "default-src 'self'" in report.headers["Content-Security-Policy"]
    frame = doctor.get(image["url"] + "1.jpg")
    assert frame.status_code == 200 and frame.headers["Cache-Control"] == "private, max-age=86400"


def _timeline(page: str) -> list[str]:
    """The timeline's entries as text, oldest first."""
    section = page[page.index('<ol class="timeline">'):]
    section = section[:section.index("</ol>")]
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in section.split("<li>")[1:]]


def test_one_upload_in_many_batches_is_one_line_of_the_timeline(api, browser_client, samples):
    """The page sends a study in batches of a few megabytes; the specialist reads one line saying
    what the upload added, while the record (and the API) keeps every batch's event."""
    cid = new_case(api)
    for batch in (samples["ct"][:2], samples["ct"][2:4], samples["ct"][4:5]):
        assert upload(api, "village.doctor", cid, batch).status_code == 201
    study = upload(api, "village.doctor", cid, samples["ct"][:1]).get_json()["studies"][0]  # sent again: nothing new
    api.act("village.doctor", cid, "submit")
    assert upload(api, "village.doctor", cid, samples["ct"][:2]).status_code == 201  # after submitting: a new line
    events = api.get("village.doctor", f"/api/v1/cases/{cid}/events").get_json()["items"]
    assert [e["kind"] for e in events].count("attachment_added") == 5

    specialist = browser_client("township.specialist")
    page = specialist.get(f"/cases/{cid}").get_data(as_text=True)
    uploads = [line for line in _timeline(page) if "添加附件" in line]
    assert len(uploads) == 2, _timeline(page)
    assert f"{study['description']} · 5 幅图像" in uploads[0]
    assert uploads[1].endswith("无新增：2 个文件此前已添加")
    specialist.post("/locale", data={"locale": "en", "csrf_token": csrf_token(page)})
    line, again = [x for x in _timeline(specialist.get(f"/cases/{cid}").get_data(as_text=True))
                   if "Attachment added" in x]
    assert f"{study['description']} · 5 images" in line
    assert again.endswith("nothing new: 2 files were attached already")

    # Another patient's study, sent in two batches: one upload, flagged once, its description withheld.
    other = new_case(api, patient={"name": "李四", "sex": "female", "birth_date": "1960-01-01"})
    for batch in (samples["ct"][:2], samples["ct"][2:4]):
        assert upload(api, "village.doctor", other, batch).status_code == 201
    lines = _timeline(browser_client("village.doctor").get(f"/cases/{other}").get_data(as_text=True))
    assert [line.split()[2] for line in lines] == ["创建草稿", "添加附件", "影像患者信息不一致"]
    assert "影像检查 · 4 幅图像" in lines[1] and study["description"] not in lines[1]
    again = upload(api, "village.doctor", other, samples["ct"][:1])
    assert again.status_code == 201
    api.act("village.doctor", other, "submit")
    lines = _timeline(browser_client("village.doctor").get(f"/cases/{other}").get_data(as_text=True))
    assert len([line for line in lines if "添加附件" in line]) == 1  # the batch sent again is part of it


def test_the_timeline_keeps_apart_what_another_person_or_another_hour_added():
    from datetime import datetime, timedelta

    from referral.services.case_record import TimelineEntry
    from referral.services.rows import PersonLabel
    from referral.web.timeline import coalesce_uploads

    start = datetime(2026, 11, 26, 9, 0)

    def added(minutes: int, actor: int, images: int, uid: str = "1.2.3", files: int = 0) -> TimelineEntry:
        payload = {"files": [{"id": i} for i in range(files)], "rejected": [],
                   "studies": [{"study_uid": uid, "description": "CT", "instances_added": images, "duplicates": 0}]}
        return TimelineEntry(minutes, "attachment_added", None, None, payload, start + timedelta(minutes=minutes),
                             actor, PersonLabel(str(actor)))

    def flagged(minutes: int, actor: int) -> TimelineEntry:
        return TimelineEntry(100 + minutes, "study_mismatch", None, None, {}, start + timedelta(minutes=minutes),
                             actor, PersonLabel(str(actor)))

    note = TimelineEntry(99, "info_provided", None, None, {}, start + timedelta(minutes=63), 1, PersonLabel("1"))
    events = [added(0, 1, 8), flagged(0, 1), added(2, 1, 8, files=1), added(3, 1, 2, uid="4.5.6", files=1),
              added(4, 2, 8), added(30, 2, 3), added(62, 2, 1), note, added(64, 1, 1), flagged(65, 1), added(66, 1, 1)]
    merged = coalesce_uploads(events)
    # The flag a batch raised stays, after its upload; one raised later ends the run like anything else.
    assert [e.id for e in merged] == [0, 100, 4, 62, 99, 64, 165, 66]
    first = merged[0].payload
    assert [(s["study_uid"], s["instances_added"]) for s in first["studies"]] == [("1.2.3", 16), ("4.5.6", 2)]
    assert len(first["files"]) == 1  # the same photo in two batches (a batch sent again) is one photo
    assert merged[2].payload["studies"][0]["instances_added"] == 11  # 26 minutes apart: the same upload
    assert events[0].payload["studies"][0]["instances_added"] == 8  # the record itself is untouched


def test_the_page_scripts_are_told_when_the_sign_in_has_ended(api, browser_client, samples):
    """Signed out in another tab (or the password changed): the upload's requests are answered in JSON
    that says so (the uploader tells the doctor), not with the sign-in page or a bare 400."""
    cid = new_case(api)
    doctor = browser_client("village.doctor")
    token = _token(doctor, cid)
    assert doctor.post("/logout", data={"csrf_token": token}).status_code == 302
    files = [(open(p, "rb"), p.name) for p in samples["ct"][:2]]
    try:
        stale = doctor.post(f"/cases/{cid}/attachments/files", data={"file": files},
                            content_type="multipart/form-data",
                            headers={"Accept": "application/json", "X-CSRFToken": token})
    finally:
        for fh, _ in files:
            fh.close()
    assert stale.status_code == 400 and stale.get_json()["error"] == "csrf"
    status = doctor.get(f"/cases/{cid}/attachments/uploads/some-upload", headers={"Accept": "application/json"})
    assert status.status_code == 401 and status.get_json()["error"] == "unauthorized"
    page = doctor.get(f"/cases/{cid}")  # the browser itself still goes to the sign-in page
    assert page.status_code == 302 and page.headers["Location"].startswith(f"/login?next=%2Fcases%2F{cid}")
    assert api.get("village.doctor", f"/api/v1/cases/{cid}/attachments").get_json()["studies"] == []


def test_text_answers_are_compressed_for_a_slow_link_and_images_are_not(api, browser_client, samples):
    """A browser that accepts gzip or Brotli gets the viewer's manifest, its script and the pages
    compressed (a thin-slice CT's manifest shrinks about fifteen times); images are sent as rendered."""
    import gzip

    import brotli

    cid = new_case(api)
    upload(api, "village.doctor", cid, samples["ct"][:12])
    api.act("village.doctor", cid, "submit")
    specialist = browser_client("township.specialist")
    (study,) = api.get("township.specialist", f"/api/v1/cases/{cid}/attachments").get_json()["studies"]
    manifest_url = f"/cases/{cid}/studies/{study['study_uid']}/manifest.json"
    plain = specialist.get(manifest_url)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers  # not asked for: not given

    zipped = specialist.get(manifest_url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == plain.data and len(zipped.data) * 4 < len(plain.data)
    for path in (manifest_url, f"/cases/{cid}", "/static/viewer/viewer.js"):
        answer = specialist.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert answer.headers.get("Content-Encoding") == "br", path
        assert len(brotli.decompress(answer.get_data())) > 2 * len(answer.get_data()), path

    image = plain.get_json()["series"][0]["images"][0]
    frame = specialist.get(image["url"] + "1.jpg?size=256", headers={"Accept-Encoding": "gzip, br"})
    assert frame.status_code == 200 and "Content-Encoding" not in frame.headers
    assert Image.open(io.BytesIO(frame.data)).size == (256, 256)


def test_the_upload_panel_is_told_the_servers_batch_sizes(api, browser_client):
    """The page sizes its batches from what the server says (`limits.BATCHING`), not from numbers of its own."""
    import html
    import json

    from referral.dicom.limits import BATCHING

    cid = new_case(api)
    page = browser_client("village.doctor").get(f"/cases/{cid}").get_data(as_text=True)
    (raw,) = re.findall(r"data-batching='([^']*)'", page)
    policy = json.loads(html.unescape(raw))
    assert policy == BATCHING.as_page()
    assert policy["first"] < policy["max"] and policy["large"] <= policy["max"]
