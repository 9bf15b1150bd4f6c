"""Instructions per page view, counted by valgrind: a figure the machine's load does not move.

    .venv/bin/python bench/web_instructions.py --keep /tmp/wb [--requests 20] [PATH ...]

Wall-clock ratios on a shared 2-core machine swing by ±20 % from one run to the next
(`web_pages.py` repeats and takes medians for that reason); a change worth 5 % cannot be seen
in them. This script serves the same pages in one process under `valgrind --tool=callgrind`
(Flask's test client, the same application, database and signed-in specialist as
`web_pages.py`) and counts the instructions each page view executes, with the static file as
the baseline measured in the same run. Counts repeat to within 0.1 % for the same code and
data, so two commits can be compared exactly. Instructions are not time (a page that waits
on I/O costs more than its count says), and the server's own per-request work is not in
them: use this to compare versions of a page, `web_pages.py` for the goal.

It needs Debian's `valgrind` and a database built by `web_pages.py --keep DIR`. Not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = "/static/css/app.css"
DEFAULT_PAGES = ("/healthz", "/", "/cases/38")
PASSWORD = "bench-pass-2026"


def serve_pages(data_dir: str, sync_dir: Path, requests_per_page: int, paths: list[str]) -> None:
    """The child under valgrind: sign in, warm up, then serve each page when told to."""
    os.environ.update({"REFERRAL_DATA_DIR": data_dir, "REFERRAL_COOKIE_SECURE": "0"})
    os.environ.pop("REFERRAL_DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    from referral.app import create_app

    client = create_app().test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    signed_in = client.post("/login", data={"username": "township.specialist", "password": PASSWORD,
                                             "csrf_token": token})
    if signed_in.status_code != 302:
        raise SystemExit(f"sign-in failed: {signed_in.status_code}")
    for path in paths:
        for _ in range(10):
            if client.get(path).status_code != 200:
                raise SystemExit(f"{path} does not answer 200")
    for number, path in enumerate(paths):
        _handshake(sync_dir, str(number))
        for _ in range(requests_per_page):
            client.get(path)
    _handshake(sync_dir, "end")


def _handshake(sync_dir: Path, name: str) -> None:
    (sync_dir / f"ready-{name}").touch()
    while not (sync_dir / f"go-{name}").exists():
        time.sleep(0.02)


def _wait_for(path: Path, child: subprocess.Popen) -> None:
    while not path.exists():
        if child.poll() is not None:
            raise SystemExit(f"the page server exited with {child.returncode}")
        time.sleep(0.1)


def count(data_dir: str, requests_per_page: int, paths: list[str]) -> dict[str, int]:
    """Instructions per request of each path, counted one path at a time (callgrind_control
    switches instrumentation on for that path's requests only and dumps the count after)."""
    work = Path(tempfile.mkdtemp(prefix="web-instructions-"))
    try:
        child = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={work}/out.%p",
             sys.executable, __file__, "--child", str(work), "--keep", data_dir, "--requests", str(requests_per_page),
             *paths], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        control = ["callgrind_control"]
        for number in range(len(paths)):
            _wait_for(work / f"ready-{number}", child)
            subprocess.run([*control, "--instr=on", str(child.pid)], check=True, capture_output=True)
            subprocess.run([*control, "--zero", str(child.pid)], check=True, capture_output=True)
            (work / f"go-{number}").touch()
            _wait_for(work / ("ready-end" if number == len(paths) - 1 else f"ready-{number + 1}"), child)
            subprocess.run([*control, f"--dump=page{number}", str(child.pid)], check=True, capture_output=True)
            subprocess.run([*control, "--instr=off", str(child.pid)], check=True, capture_output=True)
        (work / "go-end").touch()
        child.wait(timeout=300)
        return {path: _total(work, number) // requests_per_page for number, path in enumerate(paths)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _total(work: Path, number: int) -> int:
    for dump in work.glob("out.*"):
        text = dump.read_text(errors="replace")
        if re.search(rf"^desc: Trigger: .*\bpage{number}\b", text, re.M):
            return int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1))
    raise SystemExit(f"no callgrind dump for page {number}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help=f"pages to count (default: {' '.join(DEFAULT_PAGES)})")
    parser.add_argument("--keep", required=True, help="the data directory web_pages.py --keep built")
    parser.add_argument("--requests", type=int, default=20, help="requests per page")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        serve_pages(args.keep, Path(args.child), args.requests, args.paths)
        return
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    if not (Path(args.keep) / "referral.db").exists():
        raise SystemExit(f"no database in {args.keep}: build one with bench/web_pages.py --keep {args.keep}")
    paths = [STATIC, *(args.paths or DEFAULT_PAGES)]
    counts = count(args.keep, args.requests, paths)
    print(f"{'page':<30} {'instructions':>14} {'x static':>9}")
    for path, n in counts.items():
        print(f"{path:<30} {n:>14,} {n / counts[STATIC]:>9.2f}")


if __name__ == "__main__":
    main()
