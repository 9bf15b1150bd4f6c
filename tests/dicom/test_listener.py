"""`referral dicom-listen` with DCMTK as the sending modality: C-ECHO, C-STORE into a
facility's inbox (by called AE title or by --facility), broken files refused, and the
doctor attaching the received study to a case with the suggested match."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest

from .conftest import SAMPLE_PATIENTS, free_port, new_case

pytestmark = pytest.mark.skipif(shutil.which("storescu") is None and not os.environ.get("CI"),
                                reason="DCMTK (storescu) is not installed")


@pytest.fixture
def listener(db_url, settings):
    """The listener as a separate process on a free port, sharing the test's database and data directory."""
    port = free_port()
    env = {**os.environ, "REFERRAL_DATABASE_URL": db_url, "REFERRAL_DATA_DIR": str(settings.data_dir),
           "REFERRAL_SECRET_KEY": "test-secret"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "referral.cli", "dicom-listen", "--host", "127.0.0.1", "--port", str(port),
         "--ae-title", "REFERRAL", "--facility", "YX-T01-V02"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"dicom-listen exited: {proc.stdout.read()}")
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("dicom-listen did not start listening")
    yield port
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _dcmtk(tool: str, port: int, called: str, *files: Path, options=()) -> subprocess.CompletedProcess:
    return subprocess.run([tool, *options, "-aet", "XRAY_T01", "-aec", called, "127.0.0.1", str(port),
                           *map(str, files)], capture_output=True, text=True, timeout=120)


def test_echo_store_and_attach_from_the_inbox(api, listener, samples, tmp_path):
    echo = _dcmtk("echoscu", listener, "REFERRAL")
    assert echo.returncode == 0, echo.stderr

    sent = _dcmtk("storescu", listener, "YX-T01-V01", *samples["ct"][:12])
    assert sent.returncode == 0, sent.stdout + sent.stderr
    sent = _dcmtk("storescu", listener, "YX-T01-V01", *samples["mr"][:3], options=["-xt"])  # JPEG-LS as it is
    assert sent.returncode == 0, sent.stdout + sent.stderr

    inbox = api.get("village.doctor", "/api/v1/inbox/studies").get_json()["items"]
    assert sorted((s["modalities"], s["instance_count"]) for s in inbox) == [(["CT"], 12), (["MR"], 3)]
    ct = next(s for s in inbox if s["modalities"] == ["CT"])
    assert ct["patient"]["name"] == "张伟" and ct["source"] == "C-STORE XRAY_T01"
    # Another clinic's doctor does not see this inbox.
    assert api.get("village.doctor2", "/api/v1/inbox/studies").get_json()["items"] == []

    cid = new_case(api, patient=SAMPLE_PATIENTS["ct"])
    inbox = api.get("village.doctor", "/api/v1/inbox/studies").get_json()["items"]
    ct = next(s for s in inbox if s["modalities"] == ["CT"])
    assert cid in [c["id"] for c in ct["suggested_cases"]]  # matched on the patient's name
    r = api.post("village.doctor", f"/api/v1/cases/{cid}/attachments/inbox", json={"study_id": ct["id"]})
    assert r.status_code == 201 and r.get_json()["safety"]["status"] == "ok"
    assert r.get_json()["instance_count"] == 12
    remaining = api.get("village.doctor", "/api/v1/inbox/studies").get_json()["items"]
    assert [s["modalities"] for s in remaining] == [["MR"]]
    events = api.get("village.doctor", f"/api/v1/cases/{cid}/events").get_json()["items"]
    assert events[-1]["kind"] == "attachment_added" and events[-1]["payload"]["from_inbox"] is True

    # The MR belongs to someone else: attaching it to 张伟's case flags it.
    mr = remaining[0]
    flagged = api.post("village.doctor", f"/api/v1/cases/{cid}/attachments/inbox", json={"study_id": mr["id"]})
    assert flagged.get_json()["safety"]["status"] == "mismatch"
    again = api.post("village.doctor", f"/api/v1/cases/{cid}/attachments/inbox", json={"study_id": mr["id"]})
    assert again.status_code == 404


def test_default_facility_and_refusals(api, listener, samples, tmp_path):
    sent = _dcmtk("storescu", listener, "REFERRAL", samples["cr"][0], options=["-xv"])  # JPEG 2000 lossless
    assert sent.returncode == 0, sent.stdout + sent.stderr
    inbox = api.get("village.doctor3", "/api/v1/inbox/studies").get_json()["items"]  # YX-T01-V02
    assert [s["modalities"] for s in inbox] == [["CR"]]

    lying = tmp_path / "lying.dcm"  # a header promising far more pixels than the file holds
    ds = pydicom.dcmread(samples["ct"][0])
    ds.Rows = ds.Columns = 4096
    ds.save_as(lying)
    refused = _dcmtk("storescu", listener, "REFERRAL", lying, options=["-v"])
    assert "Received Store Response (Error: CannotUnderstand)" in refused.stdout + refused.stderr
    elsewhere = _dcmtk("storescu", listener, "SOME_MODALITY", samples["ct"][1], options=["-v"])
    assert "Store Response (Success)" in elsewhere.stdout + elsewhere.stderr  # the listener's --facility
    inbox = api.get("village.doctor3", "/api/v1/inbox/studies").get_json()["items"]
    assert sorted((s["modalities"][0], s["instance_count"]) for s in inbox) == [("CR", 1), ("CT", 1)]
