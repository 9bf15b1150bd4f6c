"""DICOM ingest and rendering against Orthanc, in one run, alternating.

    .venv/bin/python bench/dicom_ingest.py [--rounds 7] [--slices 48] [--upload-workers N]

The same synthetic chest CT (dicom_samples/, 48 slices of 512×512) is ingested
into the project (`referral serve`: the site's process and its upload workers)
and into Orthanc (Debian's `orthanc`, default settings, loopback only: one instance per
`POST /instances`, as its uploader sends them), with 1 and with 4 concurrent
clients, alternating project/Orthanc in every round. The project is measured
two ways: as its upload page sends a study over a fast link (multipart batches
of up to 4 MB to `POST /api/v1/cases/{id}/attachments`, uncompressed: the page
gzips its batches only while the link is slower than 20 Mbit/s) and one
instance per request. Each round ingests a copy of the study with fresh UIDs,
so neither side can answer "already stored". Both sides fsync every stored file.

Then rendered-frame latency: every slice once (cold) and again (warm) from
the project's WADO-RS `.../frames/1/rendered` and from Orthanc's
`/instances/{id}/preview`, alternating request by request; p50 and p95.

Prints instances per second and latencies for both, and the ratios
(project / Orthanc). A round ingests the study in a fraction of a second, so one
busy moment of the machine moves its rate: besides the ratio of the medians the
bench prints the median (and range) of each round's own ratio, project and
Orthanc measured back to back, which the machine's load moves far less.
Goals: ingest at least 1x Orthanc, rendered-frame p95 at most 1.5x Orthanc. Needs
Debian's `orthanc` (scripts/system-deps.sh). Not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pydicom
import requests
from pydicom.uid import generate_uid

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REFERRAL = str(Path(sys.executable).with_name("referral"))
PASSWORD = "bench-pass-2026"
ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU a server has used so far, its own processes included (`referral serve`'s
    upload workers; Linux): a figure the machine's load hardly moves."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = {int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                    for c in (task / "children").read_text().split()}
    except OSError:
        return float("nan")
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in children)


def wait_http(url: str, proc: subprocess.Popen, what: str) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


# ---------------------------------------------------------------- the two servers


def start_project(workdir: Path, upload_workers: int | None = None) -> tuple[subprocess.Popen, str, dict]:
    from referral.db import Database
    from referral.models import Base

    data = workdir / "referral"
    data.mkdir()
    url = f"sqlite:///{data / 'referral.db'}"
    database = Database(url)
    Base.metadata.create_all(database.engine)  # the schema of the models (migrations come with the release)
    database.engine.dispose()
    env = {**os.environ, "REFERRAL_DATA_DIR": str(data), "REFERRAL_DATABASE_URL": url,
           "REFERRAL_SECRET_KEY": "bench-secret"}
    subprocess.run([REFERRAL, "seed-demo", "--password", PASSWORD], env=env, check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    workers = [] if upload_workers is None else ["--upload-workers", str(upload_workers)]
    proc = subprocess.Popen([REFERRAL, "serve", "--port", str(port), *workers], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/healthz", proc, "referral serve")
    r = requests.post(f"{base}/api/v1/auth/token", json={"username": "village.doctor", "password": PASSWORD},
                      timeout=30)
    r.raise_for_status()
    return proc, base, {"Authorization": f"Bearer {r.json()['token']}"}


def start_orthanc(workdir: Path) -> tuple[subprocess.Popen, str]:
    store = workdir / "orthanc"
    store.mkdir()
    port, dicom_port = free_port(), free_port()
    config = {  # Orthanc's defaults, but on loopback and in a scratch directory
        "Name": "bench", "StorageDirectory": str(store), "IndexDirectory": str(store),
        "HttpPort": port, "DicomPort": dicom_port, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
        "Plugins": [],
    }
    path = workdir / "orthanc.json"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen([ORTHANC, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/system", proc, "Orthanc")
    return proc, base


# ---------------------------------------------------------------- the study


def study_copies(paths: list[Path], rounds: int) -> list[list[tuple[str, bytes]]]:
    """`rounds` copies of the study, each with its own study/series/instance UIDs (same pixels)."""
    originals = [pydicom.dcmread(p) for p in paths]
    copies = []
    for r in range(rounds):
        study, series = generate_uid(), generate_uid()
        files = []
        for p, ds in zip(paths, originals):
            ds = ds.copy()
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            buf = io.BytesIO()
            ds.save_as(buf, enforce_file_format=True)
            files.append((p.name, buf.getvalue()))
        copies.append(files)
    return copies


def new_case(base: str, headers: dict) -> int:
    body = {"patient": {"name": "张伟", "sex": "male", "birth_date": "1958-04-12"}, "urgency": "urgent",
            "specialty": "respiratory", "chief_complaint": "咳嗽", "clinical_question": "肺部病变？"}
    r = requests.post(f"{base}/api/v1/cases", json=body, headers=headers, timeout=30)
    r.raise_for_status()
    return r.json()["id"]


def batches(files: list[tuple[str, bytes]], limit: int) -> list[list[tuple[str, bytes]]]:
    """Files grouped as the upload page groups them: up to `limit` bytes (or 40 files) per request."""
    out, current, size = [], [], 0
    for item in files:
        if current and (size + len(item[1]) > limit or len(current) >= 40):
            out.append(current)
            current, size = [], 0
        current.append(item)
        size += len(item[1])
    if current:
        out.append(current)
    return out


def ingest(files: list[tuple[str, bytes]], clients: int, send, batch_bytes: int = 0,
           cpu: dict | None = None) -> float:
    """Send every file (spread over `clients` threads, each with its own connection); instances per second.

    With `cpu` ({"pid": server pid}), the server's CPU milliseconds per instance are appended to `cpu["ms"]`.
    """
    local = threading.local()
    work = batches(files, batch_bytes) if batch_bytes else [[f] for f in files]

    def one(group):
        if not hasattr(local, "http"):
            local.http = requests.Session()
        send(local.http, group)

    cpu_before = cpu_seconds(cpu["pid"]) if cpu else 0.0
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, work))
    elapsed = time.perf_counter() - started
    if cpu:
        cpu.setdefault("ms", []).append((cpu_seconds(cpu["pid"]) - cpu_before) * 1000 / len(files))
    return len(files) / elapsed


def project_sender(base: str, headers: dict, case_id: int):
    def send(http: requests.Session, group: list[tuple[str, bytes]]) -> None:
        files = [("file", (name, data, "application/dicom")) for name, data in group]
        r = http.post(f"{base}/api/v1/cases/{case_id}/attachments", headers=headers, files=files, timeout=300)
        if r.status_code != 201 or r.json()["studies"][0]["instances_added"] != len(group):
            raise SystemExit(f"project refused a batch: {r.status_code} {r.text[:300]}")

    return send


def orthanc_sender(base: str):
    def send(http: requests.Session, group: list[tuple[str, bytes]]) -> None:
        for name, data in group:
            r = http.post(f"{base}/instances", data=data, headers={"Content-Type": "application/dicom"},
                          timeout=120)
            if r.status_code != 200 or r.json().get("Status") != "Success":
                raise SystemExit(f"Orthanc refused {name}: {r.status_code} {r.text[:300]}")

    return send


# ---------------------------------------------------------------- rendering


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def render_latencies(project: tuple[str, dict], orthanc: str, files: list[tuple[str, bytes]], case_id: int,
                     accept: str) -> dict[str, list[float]]:
    base, headers = project
    http = requests.Session()
    listed = http.get(f"{base}/api/v1/cases/{case_id}/attachments", headers=headers, timeout=30).json()
    study = listed["studies"][0]
    series = study["series"][0]
    ours = [f"{base}/dicomweb/studies/{study['study_uid']}/series/{series['series_uid']}/instances/"
            f"{i['sop_uid']}/frames/1/rendered" for i in series["instances"]]
    sops = {pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID for _, data in files}
    theirs = []
    for instance_id in http.get(f"{orthanc}/instances", timeout=30).json():
        tags = http.get(f"{orthanc}/instances/{instance_id}/simplified-tags", timeout=30).json()
        if tags.get("SOPInstanceUID") in sops:
            theirs.append(f"{orthanc}/instances/{instance_id}/preview")
    out = {"project cold": [], "orthanc cold": [], "project warm": [], "orthanc warm": []}
    for phase in ("cold", "warm"):
        for a, b in zip(ours, theirs):
            for name, url, h in (("project", a, {**headers, "Accept": accept}), ("orthanc", b, {"Accept": accept})):
                started = time.perf_counter()
                r = http.get(url, headers=h, timeout=60)
                elapsed = time.perf_counter() - started
                if r.status_code != 200 or not r.content:
                    raise SystemExit(f"{name} could not render {url}: {r.status_code}")
                out[f"{name} {phase}"].append(elapsed * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--slices", type=int, default=48)
    parser.add_argument("--upload-workers", type=int, default=None,
                        help="`referral serve --upload-workers N` (default: serve's own default, one per core)")
    args = parser.parse_args()
    if not os.path.exists(ORTHANC):
        raise SystemExit("Orthanc is not installed (apt-get install orthanc, or `make system-deps` as root)")

    from dicom_samples.generate import chest_ct

    workdir = Path(tempfile.mkdtemp(prefix="dicom-bench-"))
    procs = []
    try:
        paths = chest_ct(workdir / "samples", args.slices)
        size = sum(p.stat().st_size for p in paths)
        print(f"study: chest CT, {len(paths)} instances, {size / 1e6:.1f} MB")
        project_proc, base, headers = start_project(workdir, args.upload_workers)
        procs.append(project_proc)
        orthanc_proc, orthanc = start_orthanc(workdir)
        procs.append(orthanc_proc)
        rates: dict[tuple[str, int], list[float]] = {}
        cpu = {"project": {"pid": project_proc.pid}, "orthanc": {"pid": orthanc_proc.pid}}
        copies = study_copies(paths, args.rounds * 4 + 2)  # a copy per ingest, one to warm up, one to render
        # Warm both up (worker processes, caches of the OS), outside the measurement.
        warm_case = new_case(base, headers)
        ingest(copies[-1][:4], 1, project_sender(base, headers, warm_case))
        ingest(copies[-1][:4], 1, orthanc_sender(orthanc))
        render_latencies((base, headers), orthanc, copies[-1][:4], warm_case, "image/jpeg")  # start the decoders
        modes = (("batched", 4 * 1024 * 1024), ("one per request", 0))
        used = 0
        for r in range(args.rounds):
            for clients in (1, 4):
                for mode, batch_bytes in modes:
                    files = copies[used]
                    used += 1
                    case_id = new_case(base, headers)
                    rates.setdefault((mode, clients), []).append(
                        ingest(files, clients, project_sender(base, headers, case_id), batch_bytes,
                               cpu["project"] if mode == "batched" else None))
                    if mode == "batched":
                        rates.setdefault(("orthanc", clients), []).append(
                            ingest(files, clients, orthanc_sender(orthanc), cpu=cpu["orthanc"]))
                        last_case, last_files = case_id, files  # in both, and not rendered yet
        print("\ningest, instances per second (median of rounds; then the median and range of each round's ratio):")
        for clients in (1, 4):
            o = statistics.median(rates[("orthanc", clients)])
            for mode, _ in modes:
                p = statistics.median(rates[(mode, clients)])
                paired = sorted(a / b for a, b in zip(rates[(mode, clients)], rates[("orthanc", clients)]))
                print(f"  {clients} client(s), project {mode:16} {p:7.1f}   orthanc {o:7.1f}   ratio {p / o:5.2f}"
                      f"   per round {statistics.median(paired):5.2f} ({paired[0]:.2f}-{paired[-1]:.2f})  (goal >= 1)")
        p, o = statistics.median(cpu["project"]["ms"]), statistics.median(cpu["orthanc"]["ms"])
        print(f"  server CPU per instance (batched, median): project {p:5.2f} ms   orthanc {o:5.2f} ms   "
              f"ratio {p / o:5.2f}")

        render_case = new_case(base, headers)
        ingest(copies[-2], 4, project_sender(base, headers, render_case))
        ingest(copies[-2], 4, orthanc_sender(orthanc))
        # Each format on a study never rendered before, so that 'cold' is cold.
        for accept, label, case_id, files in (("image/jpeg", "JPEG", render_case, copies[-2]),
                                              ("image/png", "PNG", last_case, last_files)):
            lat = render_latencies((base, headers), orthanc, files, case_id, accept)
            print(f"\nrendered frame ({label}), milliseconds, {len(lat['project cold'])} slices:")
            for phase in ("cold", "warm"):
                p, o = lat[f"project {phase}"], lat[f"orthanc {phase}"]
                p50, p95 = percentile(p, 0.5), percentile(p, 0.95)
                o50, o95 = percentile(o, 0.5), percentile(o, 0.95)
                print(f"  {phase:4}: project p50 {p50:6.1f} p95 {p95:6.1f}   orthanc p50 {o50:6.1f} p95 {o95:6.1f}   "
                      f"ratio p50 {p50 / o50:5.2f} p95 {p95 / o95:5.2f}  (goal p95 <= 1.5)")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
