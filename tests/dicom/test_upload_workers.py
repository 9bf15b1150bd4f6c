"""`referral serve` hands the uploads to its worker processes: four clinics uploading at once are
indexed whole, the upload routes of the page, the API and STOW-RS all work through a worker (the
site's process spends almost nothing on them), and a worker that dies is replaced while the
uploads go on."""

from __future__ import annotations

import io
import os
import re
import secrets
import signal
import socket
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import DEMO_PASSWORD
from tests.consult.live import LiveServer

from .conftest import SAMPLE_PATIENTS

CASE = {"patient": SAMPLE_PATIENTS["ct"], "specialty": "respiratory", "urgency": "urgent",
        "chief_complaint": "咳嗽、气促两周", "clinical_question": "请阅片：肺部病变性质？"}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Serve(LiveServer):
    """`referral serve` in a subprocess, with its upload workers."""

    def __init__(self, db_url: str, data_dir: Path, workers: int) -> None:
        super().__init__(data_dir, db_url, args=("--sla-interval", "0", "--upload-workers", str(workers)))
        self.wait_for(lambda: self.ready_count() >= workers, "the upload workers")

    def ready_count(self) -> int:
        return len(re.findall(r"upload worker \d+ ready", self.log_path.read_text()))

    def wait_for(self, condition, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.proc.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, f"waited in vain for {what}:\n{self.log_path.read_text()}"
            time.sleep(0.2)

    def workers(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"upload worker \d+ ready \(process (\d+)\)", self.log_path.read_text())
                if running(int(pid))]

    def headers(self, username: str = "village.doctor") -> dict:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def new_case(self, headers: dict) -> int:
        r = requests.post(self.url + "/api/v1/cases", json=CASE, headers=headers, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def instances(self, headers: dict, case_id: int) -> int:
        studies = requests.get(f"{self.url}/api/v1/cases/{case_id}/attachments", headers=headers,
                               timeout=10).json()["studies"]
        return sum(len(series["instances"]) for study in studies for series in study["series"])


@pytest.fixture
def serve(db_url, tmp_path):
    server = Serve(db_url, tmp_path, workers=2)
    yield server
    workers = server.workers()
    server.stop()
    assert "Traceback" not in server.log_path.read_text(), server.log_path.read_text()
    deadline = time.monotonic() + 15  # the workers end with the site's process: no orphans left behind
    while any(map(running, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(running, workers))


class Measured:
    """CPU spent by the site's process and by its workers while the block runs."""

    def __init__(self, server: Serve) -> None:
        self.server = server

    def __enter__(self):
        self.workers = self.server.workers()
        self.site_before = cpu_seconds(self.server.proc.pid)
        self.workers_before = sum(cpu_seconds(pid) for pid in self.workers)
        return self

    def __exit__(self, *exc) -> None:
        self.site = cpu_seconds(self.server.proc.pid) - self.site_before
        self.in_workers = sum(cpu_seconds(pid) for pid in self.workers) - self.workers_before


def _batches(paths: list[Path], limit: int = 4 * 1024 * 1024) -> list[list[Path]]:
    out, current, size = [], [], 0
    for path in paths:
        if current and size + path.stat().st_size > limit:
            out.append(current)
            current, size = [], 0
        current.append(path)
        size += path.stat().st_size
    return out + [current]


def test_four_clinics_uploading_at_once_are_taken_by_the_workers(serve, samples):
    headers = serve.headers()
    case_id = serve.new_case(headers)

    def send(batch: list[Path]) -> None:
        files = [("file", (p.name, p.read_bytes(), "application/dicom")) for p in batch]
        r = requests.post(f"{serve.url}/api/v1/cases/{case_id}/attachments", headers=headers, files=files,
                          timeout=120)
        assert r.status_code == 201, r.text

    with Measured(serve) as cpu, ThreadPoolExecutor(4) as pool:
        list(pool.map(send, _batches(samples["ct"])))
    assert serve.instances(headers, case_id) == len(samples["ct"])
    assert cpu.in_workers > 4 * cpu.site, (cpu.in_workers, cpu.site)
    # And the site's own requests are still served by the site's process.
    assert requests.get(f"{serve.url}/api/v1/cases/{case_id}", headers=headers, timeout=10).ok


def _signed_in_page(serve: Serve, case_id: int) -> tuple[requests.Session, str]:
    web = requests.Session()
    login = web.get(serve.url + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    r = web.post(serve.url + "/login", data={"username": "village.doctor", "password": DEMO_PASSWORD,
                                             "csrf_token": token}, timeout=10)
    assert r.ok
    page = web.get(f"{serve.url}/cases/{case_id}", timeout=10).text
    return web, re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def test_the_page_the_resumable_upload_and_stow_go_through_the_workers(serve, samples):
    headers = serve.headers()
    ct = samples["ct"]

    # The case page's upload, signed in with the session cookie and its CSRF token.
    case_id = serve.new_case(headers)
    web, csrf = _signed_in_page(serve, case_id)
    with Measured(serve) as cpu:
        r = web.post(f"{serve.url}/cases/{case_id}/attachments/files", headers={"X-CSRFToken": csrf, "Accept": "application/json"},
                     files=[("file", (p.name, p.read_bytes(), "application/dicom")) for p in ct], timeout=120)
    assert r.status_code == 201, r.text
    assert serve.instances(headers, case_id) == len(ct)
    assert cpu.in_workers > 4 * cpu.site, (cpu.in_workers, cpu.site)
    # Without the token the page's upload is refused, by the worker as by the site.
    refused = web.post(f"{serve.url}/cases/{case_id}/attachments/files", files=[("file", ("a.dcm", b"x"))],
                       headers={"Accept": "application/json"}, timeout=10)
    assert refused.status_code == 400 and refused.json()["error"] == "csrf"

    # A resumable upload of the study as a ZIP, in chunks, then completed.
    case_id = serve.new_case(headers)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for p in ct:
            archive.write(p, f"ct/{p.name}")
    data = buffer.getvalue()
    started = requests.post(f"{serve.url}/api/v1/cases/{case_id}/uploads", headers=headers, timeout=10,
                            json={"filename": "chest-ct.zip", "size": len(data)}).json()
    with Measured(serve) as cpu:
        for offset in range(0, len(data), 4_000_000):
            r = requests.put(serve.url + started["url"], data=data[offset:offset + 4_000_000], timeout=60,
                             headers={**headers, "Upload-Offset": str(offset),
                                      "Content-Type": "application/octet-stream"})
            assert r.ok, r.text
        r = requests.post(serve.url + started["url"] + "/complete", headers=headers, timeout=120)
    assert r.status_code == 201, r.text
    assert serve.instances(headers, case_id) == len(ct)
    assert cpu.in_workers > 4 * cpu.site, (cpu.in_workers, cpu.site)

    # STOW-RS of the study into a third case.
    case_id = serve.new_case(headers)
    boundary = secrets.token_hex(8)
    body = b"".join(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p.read_bytes() + b"\r\n"
                    for p in ct) + f"--{boundary}--\r\n".encode()
    with Measured(serve) as cpu:
        r = requests.post(f"{serve.url}/dicomweb/studies?case={case_id}", data=body, timeout=120, headers={
            **headers, "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json"})
    assert r.status_code == 200, r.text
    assert serve.instances(headers, case_id) == len(ct)
    assert cpu.in_workers > 4 * cpu.site, (cpu.in_workers, cpu.site)


def test_a_client_that_waits_for_100_continue_is_answered_by_the_worker(serve, samples):
    """curl and many gateways send big bodies only after `100 Continue`: the site's process must not
    wait for the body before handing the connection over."""
    headers = serve.headers()
    case_id = serve.new_case(headers)
    boundary = secrets.token_hex(8)
    path = samples["cr"][0]
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
            f"Content-Type: application/dicom\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    with socket.create_connection(("127.0.0.1", serve.port), timeout=30) as sock:
        sock.sendall((f"POST /api/v1/cases/{case_id}/attachments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: {headers['Authorization']}\r\nExpect: 100-continue\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n").encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer[:500]  # one 100 Continue, then the answer
    assert serve.instances(headers, case_id) == 1


def test_a_worker_that_dies_is_replaced_and_the_uploads_go_on(serve, samples):
    headers = serve.headers()
    case_id = serve.new_case(headers)
    first, second = serve.workers()
    os.kill(first, signal.SIGKILL)
    serve.wait_for(lambda: " ended (exit code -9)" in serve.log_path.read_text(), "the end of the worker")
    for path in samples["ct"][:6]:  # one by one, while the new worker starts: the others take them
        r = requests.post(f"{serve.url}/api/v1/cases/{case_id}/attachments", headers=headers, timeout=60,
                          files=[("file", (path.name, path.read_bytes(), "application/dicom"))])
        assert r.status_code == 201, r.text
    assert serve.instances(headers, case_id) == 6
    serve.wait_for(lambda: len(serve.workers()) == 2, "a new worker")
    assert first not in serve.workers() and second in serve.workers()


def test_without_workers_everything_is_served_in_one_process(db_url, tmp_path, samples):
    server = Serve(db_url, tmp_path, workers=0)
    try:
        headers = server.headers()
        case_id = server.new_case(headers)
        r = requests.post(f"{server.url}/api/v1/cases/{case_id}/attachments", headers=headers, timeout=60,
                          files=[("file", (p.name, p.read_bytes(), "application/dicom")) for p in samples["ct"][:5]])
        assert r.status_code == 201, r.text
        assert server.instances(headers, case_id) == 5
        children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
        assert not [pid for pid in children if "upload-worker" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert "upload worker" not in server.log_path.read_text()
    finally:
        server.stop()


def test_every_upload_route_named_for_the_workers_exists(app):
    from referral.serving import UPLOAD_ENDPOINTS

    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert UPLOAD_ENDPOINTS <= endpoints, UPLOAD_ENDPOINTS - endpoints


def test_the_case_page_uploads_through_the_workers_in_chromium(serve, chromium, samples, tmp_path):
    """The doctor's page as she uses it: a ZIP of the CT (sent in resumable chunks, one of them
    dropped on the way) and two single studies (a batch), all taken by the workers."""
    from tests.web.test_browser import sign_in

    headers = serve.headers()
    case_id = serve.new_case(headers)
    archive = tmp_path / "chest-ct.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for p in samples["ct"][:16]:
            zf.write(p, f"CT/{p.name}")
    context = chromium.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, serve.url, "village.doctor")
    chunks = {"count": 0}

    def drop_the_second_chunk(route):
        chunks["count"] += 1
        route.abort("connectionreset") if chunks["count"] == 2 else route.continue_()

    page.route("**/attachments/uploads/*", lambda route: drop_the_second_chunk(route)
               if route.request.method == "PUT" else route.continue_())
    page.goto(f"{serve.url}/cases/{case_id}")
    with Measured(serve) as cpu:
        page.locator(".dv-drop input[type=file]").set_input_files(
            [str(archive), str(samples["cr"][0]), str(samples["mr"][0])])
        page.wait_for_selector(".dv-results .dv-ok", timeout=90_000)
    assert "已添加 18 幅图像/文件" in page.locator(".dv-results").inner_text()
    assert chunks["count"] >= 6
    page.wait_for_selector(".dicom-panel[data-refreshed] .dv-open")
    assert page.locator(".dicom-panel .dv-study").count() == 3
    assert cpu.in_workers > 2 * cpu.site, (cpu.in_workers, cpu.site)
    context.close()


def test_a_worker_that_cannot_start_says_why_in_one_line(tmp_path):
    """Whatever stops a worker's start (here a data directory that is a file; in the field, Redis going
    away between its check and its first use) is one line in the log and exit code 2, which the site's
    process answers by starting another later; no traceback."""
    import subprocess
    import sys

    not_a_directory = tmp_path / "data"
    not_a_directory.write_text("a file")
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    env = {**os.environ, "REFERRAL_DATA_DIR": str(not_a_directory),
           "REFERRAL_DATABASE_URL": f"sqlite:///{tmp_path / 'referral.db'}", "REFERRAL_SECRET_KEY": "k"}
    env.pop("REFERRAL_REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "referral.cli", "upload-worker", str(theirs.fileno())],
                          pass_fds=[theirs.fileno()], env=env, capture_output=True, text=True, timeout=120)
    ours.close()
    theirs.close()
    assert done.returncode == 2, done.stderr
    assert "upload worker could not start" in done.stderr and "Traceback" not in done.stderr, done.stderr
