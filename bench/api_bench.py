"""Core API benchmark: specialist queue and case detail latency at 20 concurrent clients,
as a ratio to /healthz on the same server in the same run; transitions per second.

    .venv/bin/python bench/api_bench.py [--cases 100000] [--clients 20] [--requests 2000]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/referral_bench]

It builds a fresh database (migrate, demo, `referral seed-bulk`), starts
`referral serve` as a separate process, and drives it over HTTP. Not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from _serve import PASSWORD, REFERRAL, free_port, start_server

ROOT = Path(__file__).resolve().parent.parent


def fresh_database(url: str) -> None:
    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        Path(u.database).unlink(missing_ok=True)
        return
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


def prepare(env: dict, cases: int) -> None:
    for args in (["db", "upgrade"], ["seed-demo", "--password", PASSWORD], ["seed-bulk", "--cases", str(cases)]):
        t0 = time.perf_counter()
        subprocess.run([REFERRAL, *args], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"  referral {' '.join(args)}: {time.perf_counter() - t0:.1f} s", flush=True)


def token(base: str, username: str) -> str:
    r = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=10)
    r.raise_for_status()
    return r.json()["token"]


def load(base: str, paths: list[str], headers: dict, clients: int, total: int) -> list[float]:
    """`total` GETs spread over `clients` threads, each with its own keep-alive connection."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = total // clients

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        session = requests.Session()
        mine = []
        for _ in range(per_client):
            path = rnd.choice(paths)
            t0 = time.perf_counter()
            r = session.get(base + path, headers=headers, timeout=30)
            mine.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise SystemExit(f"{path}: {r.status_code} {r.text[:200]}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def transitions_per_second(base: str, headers_doctor: dict, headers_spec: dict, clients: int, n: int) -> float:
    """Create+submit drafts, then claim/release them from `clients` threads; count transitions/s."""
    ids = []
    body = {"patient": {"name": "基准", "sex": "male"}, "urgency": "routine", "specialty": "internal_medicine",
            "chief_complaint": "咳嗽", "clinical_question": "?"}
    for _ in range(clients):
        cid = requests.post(f"{base}/api/v1/cases", json=body, headers=headers_doctor, timeout=10).json()["id"]
        requests.post(f"{base}/api/v1/cases/{cid}/actions/submit", json={}, headers=headers_doctor, timeout=10)
        ids.append(cid)
    done: list[int] = []
    errors: list[str] = []

    def worker(cid: int) -> None:
        session = requests.Session()
        count = 0
        for i in range(n):
            action = "claim" if i % 2 == 0 else "release"
            r = session.post(f"{base}/api/v1/cases/{cid}/actions/{action}", json={}, headers=headers_spec, timeout=30)
            if r.status_code != 200:
                errors.append(f"{action}: {r.status_code} {r.text[:200]}")
                return
            count += 1
        done.append(count)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(cid,)) for cid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"transitions failed: {errors[0]}")
    return sum(done) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=2000, help="requests per measured endpoint")
    ap.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/referral_bench")
    ap.add_argument("--skip-prepare", action="store_true", help="reuse the database of an earlier run")
    args = ap.parse_args()

    data_dir = tempfile.mkdtemp(prefix="referral-bench-")
    env = {**os.environ, "REFERRAL_DATABASE_URL": args.database_url, "REFERRAL_DATA_DIR": data_dir}
    print(f"database: {make_url(args.database_url).render_as_string(hide_password=True)}; cases: {args.cases}")
    if not args.skip_prepare:
        fresh_database(args.database_url)
        prepare(env, args.cases)
    port = free_port()
    server = start_server(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        spec = {"Authorization": f"Bearer {token(base, 'county.specialist')}"}
        doctor = {"Authorization": f"Bearer {token(base, 'township.doctor')}"}
        queue_total = requests.get(f"{base}/api/v1/cases?scope=queue", headers=spec, timeout=30).json()["total"]
        visible = requests.get(f"{base}/api/v1/cases?scope=all&per_page=100", headers=spec, timeout=30).json()
        case_ids = [c["id"] for c in visible["items"]]
        print(f"county.specialist: {visible['total']} visible cases, {queue_total} in the queue")
        results = {}
        for label, paths in (
            ("healthz", ["/healthz"]),
            ("queue", ["/api/v1/cases?scope=queue", "/api/v1/cases?scope=queue&urgency=urgent"]),
            ("case detail", [f"/api/v1/cases/{cid}" for cid in case_ids]),
        ):
            load(base, paths, spec, args.clients, min(200, args.requests))  # warm-up
            lat = load(base, paths, spec, args.clients, args.requests)
            results[label] = (pct(lat, 50), pct(lat, 95))
        # township.doctor's cases go up to the county people's hospital, where county.specialist2
        # (internal medicine) claims and releases them.
        tps = transitions_per_second(base, doctor, {"Authorization": f"Bearer {token(base, 'county.specialist2')}"},
                                     args.clients, 50)
    finally:
        server.terminate()
        server.wait(timeout=10)

    h50, h95 = results["healthz"]
    print(f"\n{'endpoint':<14}{'p50 ms':>10}{'p95 ms':>10}{'p50 ×healthz':>15}{'p95 ×healthz':>15}")
    for label, (p50, p95) in results.items():
        print(f"{label:<14}{p50 * 1000:>10.2f}{p95 * 1000:>10.2f}{p50 / h50:>15.2f}{p95 / h95:>15.2f}")
    print(f"\ntransitions per second ({args.clients} clients, claim/release): {tps:.0f}")
    print(f"goals: queue p95 within 4× healthz ({results['queue'][1] / h95:.2f}×), "
          f"case detail p95 within 3× ({results['case detail'][1] / h95:.2f}×)")


if __name__ == "__main__":
    main()
