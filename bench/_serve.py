"""What the benchmarks share: a free port and a `referral serve` process to measure."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REFERRAL = str(Path(sys.executable).with_name("referral"))
PASSWORD = "bench-pass-2026"  # every demo account's password in the benchmark databases


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int, *, wait: float = 30.0) -> subprocess.Popen:
    """`referral serve` on 127.0.0.1:`port`, once /healthz answers."""
    proc = subprocess.Popen([REFERRAL, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"referral serve exited with {proc.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("referral serve did not start")
