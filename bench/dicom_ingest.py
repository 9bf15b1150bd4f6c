"""DICOM ingest and rendering against Orthanc, in one run, alternating.

    .venv/bin/python bench/dicom_ingest.py [--rounds 7] [--slices 48] [--upload-workers N]

The same synthetic chest CT (dicom_samples/, 48 slices of 512×512) is ingested
into the project (`referral serve`: the site's process and its upload workers)
and into Orthanc (Debian's `orthanc`, default settings, loopback only: one instance per
`POST /instances`, as its uploader sends them), with 1 and with 4 concurrent
clients, alternating project/Orthanc in every round; each client sends its own
copy of the study, as four clinics would. The project is measured three ways:
as its upload page sends a study over a fast link (multipart batches to
`POST /api/v1/cases/{id}/attachments`, uncompressed, since the page gzips its
batches only while the link is slower than 20 Mbit/s; the first batch of
`BATCHING.first_bytes`, the later ones of `BATCHING.max_bytes`, which is what
the page's sizing reaches on a fast link: referral/dicom/limits.py), in
batches of 4 MB (what the page sent whatever the link before its sizing), and
one instance per request. Every copy of the study has fresh UIDs, so neither
side can answer "already stored". Both sides fsync every stored file.

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
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pydicom
import requests
from pydicom.uid import generate_uid

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from referral.dicom.limits import BATCHING  # noqa: E402 - the page's batch sizes, from the repository's tree
REFERRAL = str(Path(sys.executable).with_name("referral"))
PASSWORD = "bench-pass-2026"
ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
Files = list[tuple[str, bytes]]  # a study: (file name, bytes) of each instance


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


def study_copies(paths: list[Path], count: int) -> Iterator[Files]:
    """`count` copies of the study, made as they are asked for, each with its own study/series/instance
    UIDs (same pixels)."""
    originals = [pydicom.dcmread(p) for p in paths]
    for _ in range(count):
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
        yield files


def new_case(base: str, headers: dict) -> int:
    body = {"patient": {"name": "张伟", "sex": "male", "birth_date": "1958-04-12"}, "urgency": "urgent",
            "specialty": "respiratory", "chief_complaint": "咳嗽", "clinical_question": "肺部病变？"}
    r = requests.post(f"{base}/api/v1/cases", json=body, headers=headers, timeout=30)
    r.raise_for_status()
    return r.json()["id"]


def batches(files: Files, limits: list[int]) -> list[Files]:
    """Files grouped as the upload page groups them: at least one file, then as many as fit the batch's
    size (`limits[i]` for the i-th batch, the last one for the rest) and `BATCHING.max_files`."""
    out, queue = [], list(files)
    while queue:
        limit = limits[min(len(out), len(limits) - 1)]
        batch = [queue.pop(0)]
        size = len(batch[0][1])
        while queue and len(batch) < BATCHING.max_files and size + len(queue[0][1]) <= limit:
            size += len(queue[0][1])
            batch.append(queue.pop(0))
        out.append(batch)
    return out


AS_THE_PAGE_SENDS = [BATCHING.first_bytes, BATCHING.max_bytes]  # over a fast link (see the docstring)
MODES = (("as the page sends", AS_THE_PAGE_SENDS), ("4 MB batches", [4 * 1024 * 1024]), ("one per request", []))


def ingest(studies: list[Files], send, limits: list[int], cpu: dict | None = None) -> float:
    """Each study sent by a client of its own (a thread with its own connection), batched by `limits`
    (none: one file per request); instances per second over all of them.

    With `cpu` ({"pid": server pid}), the server's CPU milliseconds per instance are appended to `cpu["ms"]`.
    """
    def one(files: Files) -> None:
        http = requests.Session()
        for group in (batches(files, limits) if limits else [[f] for f in files]):
            send(http, group)

    count = sum(len(files) for files in studies)
    cpu_before = cpu_seconds(cpu["pid"]) if cpu else 0.0
    started = time.perf_counter()
    with ThreadPoolExecutor(len(studies)) as pool:
        list(pool.map(one, studies))
    elapsed = time.perf_counter() - started
    if cpu:
        cpu.setdefault("ms", []).append((cpu_seconds(cpu["pid"]) - cpu_before) * 1000 / count)
    return count / elapsed


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
        cpu = {"orthanc": {"pid": orthanc_proc.pid}}
        copies = study_copies(paths, args.rounds * 5 * len(MODES) + 2)  # one per client and mode, warm-up, render
        # Warm both up (worker processes, caches of the OS), outside the measurement.
        warm = next(copies)
        warm_case = new_case(base, headers)
        ingest([warm[:4]], project_sender(base, headers, warm_case), AS_THE_PAGE_SENDS)
        ingest([warm[:4]], orthanc_sender(orthanc), [])
        render_latencies((base, headers), orthanc, warm[:4], warm_case, "image/jpeg")  # start the decoders
        for r in range(args.rounds):
            for clients in (1, 4):
                for mode, limits in MODES:
                    studies = [next(copies) for _ in range(clients)]
                    case_id = new_case(base, headers)  # the 4 clinics' studies in one case: the same work
                    rates.setdefault((mode, clients), []).append(
                        ingest(studies, project_sender(base, headers, case_id), limits,
                               cpu.setdefault(mode, {"pid": project_proc.pid})))
                    if mode == MODES[0][0]:
                        rates.setdefault(("orthanc", clients), []).append(
                            ingest(studies, orthanc_sender(orthanc), [], cpu=cpu["orthanc"]))
                        last_case, last_files = case_id, studies[0]  # in both, and not rendered yet
        print("\ningest, instances per second (median of rounds; then the median and range of each round's ratio):")
        for clients in (1, 4):
            o = statistics.median(rates[("orthanc", clients)])
            for mode, _ in MODES:
                p = statistics.median(rates[(mode, clients)])
                paired = sorted(a / b for a, b in zip(rates[(mode, clients)], rates[("orthanc", clients)]))
                print(f"  {clients} client(s), project {mode:17} {p:7.1f}   orthanc {o:7.1f}   ratio {p / o:5.2f}"
                      f"   per round {statistics.median(paired):5.2f} ({paired[0]:.2f}-{paired[-1]:.2f})  (goal >= 1)")
        o = statistics.median(cpu["orthanc"]["ms"])
        for mode, _ in MODES:
            p = statistics.median(cpu[mode]["ms"])
            print(f"  server CPU per instance, {mode:17} (median): project {p:5.2f} ms   orthanc {o:5.2f} ms   "
                  f"ratio {p / o:5.2f}")

        render_case, render_files = new_case(base, headers), next(copies)
        ingest([render_files], project_sender(base, headers, render_case), AS_THE_PAGE_SENDS)
        ingest([render_files], orthanc_sender(orthanc), [])
        # Each format on a study never rendered before, so that 'cold' is cold.
        for accept, label, case_id, files in (("image/jpeg", "JPEG", render_case, render_files),
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
