"""Web page benchmark: render time of the specialist's queue page and of a case page with
100,000 cases in the database, as a ratio to a static file and to /healthz served by the same
server in the same run (goal: pages within 3x of the static file).

    .venv/bin/python bench/web_pages.py [--cases 100000] [--requests 200] [--repeat 3] [--keep DIR]

It builds a fresh SQLite database (schema, demo, `referral seed-bulk`), starts `referral serve`
as a separate process, signs in through the login form like a browser and fetches the pages
one after another over a keep-alive connection, interleaved so that drift affects every page
alike. The measurement is repeated `--repeat` times against the same server; each pass gives
its own ratios and the summary reports their median (a shared machine is noisy). The county
administrator's home page (the facility tree and the cases of the whole county) is measured
too, for information: it is not part of the goal. Not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from _serve import PASSWORD, REFERRAL, free_port, start_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def prepare(env: dict, data_dir: Path, cases: int) -> None:
    from referral.db import Database
    from referral.models import Base

    t0 = time.perf_counter()
    database = Database(f"sqlite:///{data_dir / 'referral.db'}")
    Base.metadata.create_all(database.engine)
    database.engine.dispose()
    print(f"  schema: {time.perf_counter() - t0:.1f} s", flush=True)
    for args in (["seed-demo", "--password", PASSWORD], ["seed-bulk", "--cases", str(cases)]):
        t0 = time.perf_counter()
        subprocess.run([REFERRAL, *args], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"  referral {' '.join(args)}: {time.perf_counter() - t0:.1f} s", flush=True)


def sign_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    html = session.get(base + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = session.post(base + "/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                     allow_redirects=False, timeout=10)
    if r.status_code != 302:
        raise SystemExit(f"sign-in failed: {r.status_code}")
    return session


def timed(session: requests.Session, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = session.get(url, timeout=60)
        out.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise SystemExit(f"{url}: {r.status_code}")
    return out


def measure(pages: dict[str, tuple[requests.Session, str, int]], rounds: int = 4) -> dict[str, list[float]]:
    """Each page `count` times, in `rounds` interleaved rounds."""
    results: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(rounds):
        for name, (session, url, count) in pages.items():
            results[name] += timed(session, url, max(1, count // rounds))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per page and pass")
    parser.add_argument("--repeat", type=int, default=3, help="measurement passes against the same server")
    parser.add_argument("--keep", help="use (and keep) this data directory; reuse its database when present")
    args = parser.parse_args()

    data_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="referral-web-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "REFERRAL_DATA_DIR": str(data_dir), "REFERRAL_COOKIE_SECURE": "0"}
    env.pop("REFERRAL_DATABASE_URL", None)
    env.pop("REFERRAL_REDIS_URL", None)
    if not (data_dir / "referral.db").exists():
        print(f"building a database with {args.cases} bulk cases in {data_dir}", flush=True)
        prepare(env, data_dir, args.cases)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port)
    passes: list[dict[str, list[float]]] = []
    try:
        specialist = sign_in(base, "township.specialist")
        admin = sign_in(base, "county.admin")
        home = specialist.get(base + "/", timeout=60).text
        case_ids = re.findall(r'href="/cases/(\d+)"', home)
        if not case_ids:
            raise SystemExit("the specialist sees no case")
        css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]+)"', home).group(1)
        n = args.requests
        pages = {
            "static file (app.css)": (specialist, base + css, n),
            "/healthz": (specialist, base + "/healthz", n),
            "specialist queue (/)": (specialist, base + "/", n),
            f"case page (/cases/{case_ids[0]})": (specialist, base + f"/cases/{case_ids[0]}", n),
            "county admin home (/), info": (admin, base + "/", max(8, n // 5)),
        }
        for session, url, _count in pages.values():  # warm up caches and connections
            timed(session, url, 5)
        for number in range(1, args.repeat + 1):
            passes.append(measure(pages))
            medians = {name: statistics.median(v) for name, v in passes[-1].items()}
            static = medians["static file (app.css)"]
            ratios = ", ".join(f"{name.split(' (')[0]} {medians[name] / static:.2f}x" for name in pages
                               if name.startswith(("specialist", "case")))
            print(f"  pass {number}: static {static * 1000:.2f} ms; {ratios}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)

    names = list(passes[0])
    samples = {name: [x for p in passes for x in p[name]] for name in names}
    pass_ratios = {name: [statistics.median(p[name]) / statistics.median(p["static file (app.css)"]) for p in passes]
                   for name in names}
    pass_health = {name: [statistics.median(p[name]) / statistics.median(p["/healthz"]) for p in passes]
                   for name in names}
    print(f"\n{args.cases} bulk cases; {args.requests} requests per page and pass, {len(passes)} passes, "
          "one client, keep-alive\n")
    print(f"{'page':<34} {'median ms':>10} {'p95 ms':>8} {'x static':>9} {'x healthz':>10}")
    for name in names:
        values = sorted(samples[name])
        p95 = values[int(0.95 * (len(values) - 1))]
        print(f"{name:<34} {statistics.median(values) * 1000:>10.2f} {p95 * 1000:>8.2f} "
              f"{statistics.median(pass_ratios[name]):>9.2f} {statistics.median(pass_health[name]):>10.2f}")
    worst = max(statistics.median(pass_ratios[n]) for n in names if n.startswith(("specialist", "case")))
    print(f"\n(ratios: median over the passes of each pass's median / the static file's median)")
    print(f"worst page / static file: {worst:.2f}x (goal: within 3x)")


if __name__ == "__main__":
    main()
