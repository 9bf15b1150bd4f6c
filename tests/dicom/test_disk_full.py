"""A full disk, on a real (small) file system: every way in answers 507 `storage_full` in words
a person can act on, nothing half-stored is kept, what is stored can still be seen, and once
the administrator has made room the same upload goes through.

The disk is a tmpfs of a few megabytes; mounting one needs root, which CI has (there the tests
must run, not skip)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from referral.config import Settings
from referral.disk_space import is_disk_full
from tests.web.conftest import csrf_token, post_form, sign_in
from tests.web.test_cases import NEW_CASE

from .conftest import new_case, stored_files, upload
from .test_listener import _dcmtk, listener  # noqa: F401 - the listener process, on this module's data directory


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the file store is the same on both; a full PostgreSQL is recognised in test_disk_space


@pytest.fixture
def small_disk(tmp_path) -> Path:
    mount = tmp_path / "disk"
    mount.mkdir()
    why = None
    if os.geteuid() != 0:
        why = "mounting a small file system needs root"
    else:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)], capture_output=True,
                              text=True)
        if done.returncode:
            why = f"cannot mount a tmpfs: {done.stderr.strip()}"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the full-disk tests must run in CI: {why}")
        pytest.skip(why)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


class Filler:
    """Takes a disk's free space, all but `leave` bytes; `release()` gives it back."""

    def __init__(self, disk: Path) -> None:
        self.path = disk / "filler.bin"

    def take(self, leave: int = 0) -> None:
        block = b"\0" * (256 * 1024)
        with open(self.path, "ab", buffering=0) as fh:
            try:
                while True:
                    fh.write(block)
            except OSError as exc:
                assert is_disk_full(exc)
            fh.truncate(max(os.fstat(fh.fileno()).st_size - leave, 0))

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


@pytest.fixture
def settings(db_url, small_disk) -> Settings:
    return Settings(data_dir=small_disk, database_url=db_url, secret_key="test-secret", session_cookie_secure=False)


@pytest.fixture
def filler(small_disk) -> Filler:
    return Filler(small_disk)


def _leftovers(disk: Path) -> list[Path]:
    """Files of uploads left anywhere under the data directory (staging, uploads, the store)."""
    return [p for p in disk.rglob("*") if p.is_file() and p.name != "filler.bin" and p.suffix != ".db"
            and "cache" not in p.parts and p.name != "secret_key"]


def test_a_batch_on_a_full_disk_is_refused_whole_then_goes_through(api, app, samples, small_disk, filler):
    cid = new_case(api)
    ct = samples["ct"][:8]  # about 4 MB; the disk keeps room for two slices
    filler.take(leave=1024 * 1024)
    r = upload(api, "village.doctor", cid, ct)
    assert r.status_code == 507, r.get_json()
    body = r.get_json()
    assert body["error"] == "storage_full" and "disk is full" in body["message"]
    assert api.get("village.doctor", f"/api/v1/cases/{cid}/attachments").get_json()["studies"] == []
    assert stored_files(small_disk) == [] and _leftovers(small_disk) == []

    # The page's uploader gets the same answer as JSON (it says so and tries again later).
    doctor = app.test_client()
    assert sign_in(doctor, "village.doctor").status_code == 302
    token = csrf_token(doctor.get(f"/cases/{cid}").data)
    assert "服务器磁盘已满" in doctor.get(f"/cases/{cid}").get_data(as_text=True)  # the uploader's words for it
    files = [(open(p, "rb"), p.name) for p in ct]
    try:
        page = doctor.post(f"/cases/{cid}/attachments/files", data={"file": files}, content_type="multipart/form-data",
                           headers={"Accept": "application/json", "X-CSRFToken": token})
    finally:
        for fh, _ in files:
            fh.close()
    assert page.status_code == 507 and page.get_json()["error"] == "storage_full"

    filler.release()
    again = upload(api, "village.doctor", cid, ct)
    assert again.status_code == 201
    assert again.get_json()["studies"][0]["instances_added"] == len(ct)
    assert len(stored_files(small_disk)) == len(ct)


def test_a_resumable_chunk_on_a_full_disk_takes_no_room_and_is_sent_again(api, samples, small_disk, filler):
    cid = new_case(api)
    data = samples["ct"][0].read_bytes()
    headers = api.headers("village.doctor")
    start = api.client.post(f"/api/v1/cases/{cid}/uploads", json={"filename": "CT0001.dcm", "size": len(data)},
                            headers=headers)
    assert start.status_code == 201
    url = f"/api/v1/cases/{cid}/uploads/{start.get_json()['upload_id']}"
    half = len(data) // 2
    assert api.client.put(url, data=data[:half], headers={**headers, "Upload-Offset": "0"}).status_code == 200

    filler.take(leave=64 * 1024)
    full = api.client.put(url, data=data[half:], headers={**headers, "Upload-Offset": str(half)})
    assert full.status_code == 507 and full.get_json()["error"] == "storage_full"
    assert api.client.get(url, headers=headers).get_json()["offset"] == half  # the first half is intact

    filler.release()
    assert api.client.put(url, data=data[half:], headers={**headers, "Upload-Offset": str(half)}).status_code == 200
    done = api.client.post(url + "/complete", headers=headers)
    assert done.status_code == 201 and done.get_json()["studies"][0]["instances_added"] == 1


def test_stored_images_are_still_shown_when_the_disk_is_full(api, samples, small_disk, filler):
    cid = new_case(api)
    study = upload(api, "village.doctor", cid, samples["ct"][:2]).get_json()["studies"][0]
    listed = api.get("village.doctor", f"/api/v1/cases/{cid}/attachments").get_json()["studies"][0]
    series = listed["series"][0]
    sops = [i["sop_uid"] for i in series["instances"]]
    filler.take(leave=0)
    base = f"/dicomweb/studies/{study['study_uid']}/series/{series['series_uid']}/instances"
    for sop in sops:  # never rendered before: rendered now, and not cached, as there is no room
        r = api.client.get(f"{base}/{sop}/frames/1/rendered", headers={**api.headers("village.doctor"),
                                                                       "Accept": "image/jpeg"})
        assert r.status_code == 200 and r.data[:3] == b"\xff\xd8\xff"
    assert not [p for p in (small_disk / "cache").rglob("*") if p.is_file()]


def test_a_full_database_disk_is_a_clear_answer_not_a_crash(api, app, small_disk, filler, db_url):
    """The SQLite file itself on the full disk: writing a case fails with 507, reading goes on."""
    from sqlalchemy.engine import make_url

    database = Path(make_url(db_url).database)
    on_disk = small_disk / "referral.db"
    on_disk.write_bytes(database.read_bytes())
    app.extensions["referral"].database.engine.dispose()
    database.unlink()
    database.symlink_to(on_disk)  # the app's database URL, now on the small disk
    before = api.get("village.doctor", "/api/v1/cases").get_json()["total"]
    doctor = app.test_client()
    assert sign_in(doctor, "village.doctor").status_code == 302

    filler.take(leave=0)
    body = {"patient": {"name": "张伟", "sex": "male", "birth_date": "1958-04-12"}, "urgency": "urgent",
            "specialty": "respiratory", "chief_complaint": "咳嗽三周", "clinical_question": "肺部病变？" * 900}
    full = [api.post("village.doctor", "/api/v1/cases", json=body) for _ in range(3)]
    assert {r.status_code for r in full} == {507}, [r.get_json() for r in full]
    assert full[0].get_json()["error"] == "storage_full"
    assert api.get("village.doctor", "/api/v1/cases").get_json()["total"] == before  # reading goes on
    page = post_form(doctor, "/cases/new", {**NEW_CASE, "intent": "submit"})
    assert page.status_code == 507 and "服务器磁盘已满：本次内容未保存" in page.get_data(as_text=True)  # what to do
    assert "出错了" not in page.get_data(as_text=True)

    filler.release()
    assert api.post("village.doctor", "/api/v1/cases", json=body).status_code == 201


def test_a_modality_sending_to_a_full_disk_is_told_out_of_resources(api, listener, samples, filler):
    filler.take(leave=0)
    refused = _dcmtk("storescu", listener, "REFERRAL", samples["ct"][0], options=["-d"])
    said = refused.stdout + refused.stderr
    assert "0xa700: Refused: Out of resources" in said and "[the receiver's disk is full]" in said, said[-2000:]
    filler.release()
    sent = _dcmtk("storescu", listener, "REFERRAL", samples["ct"][0], options=["-v"])
    assert "Store Response (Success)" in sent.stdout + sent.stderr
    assert [s["instance_count"] for s in api.get("village.doctor3", "/api/v1/inbox/studies").get_json()["items"]] == [1]


@pytest.mark.browser
def test_the_upload_page_says_the_disk_is_full_and_finishes_once_there_is_room(chromium, live_server, api, samples,
                                                                              filler):
    from tests.web.test_browser import sign_in as sign_in_page

    cid = new_case(api)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in_page(page, live_server.url, "village.doctor")
    page.goto(f"{live_server.url}/cases/{cid}")
    filler.take(leave=512 * 1024)
    page.locator(".dv-drop input[type=file]").set_input_files([str(p) for p in samples["ct"][:8]])
    page.wait_for_function("() => document.querySelector('.dv-status').textContent.includes('服务器磁盘已满')")
    filler.release()
    page.wait_for_selector(".dv-results .dv-ok", timeout=60_000)
    assert "已添加 8 幅图像/文件" in page.locator(".dv-results").inner_text()
    context.close()


def test_administrators_are_warned_while_there_is_still_room_and_readyz_says_so(app, api, small_disk, filler):
    """Before the disk is full: a warning on every administrator's home page (not on anyone else's), and in
    `/readyz`; with no room at all, `/readyz` says the process cannot do its work."""
    admin, doctor = app.test_client(), app.test_client()
    assert sign_in(admin, "county.admin").status_code == 302 and sign_in(doctor, "village.doctor").status_code == 302
    ready = app.test_client().get("/readyz")  # a 12 MB disk is "low" already: under 2 GiB
    assert ready.status_code == 200 and ready.get_json()["checks"]["data_directory"]["low"] is True
    page = admin.get("/").get_data(as_text=True)
    assert "服务器用于存放影像的空间即将用尽" in page and "MiB" in page
    assert "即将用尽" not in doctor.get("/").get_data(as_text=True)

    filler.take(leave=0)
    full = app.test_client().get("/readyz")
    assert full.status_code == 503 and full.get_json()["checks"]["data_directory"]["status"] == "unavailable"
    filler.release()
    assert app.test_client().get("/readyz").status_code == 200
