"""A real `referral serve` in a subprocess on a free port, against a copy of the seeded SQLite
database, and a small HTTP helper for it (tokens, cases, workflow actions)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, data_dir: Path, database_url: str, *, env: dict | None = None, port: int | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.database_url = database_url
        self.log_path = data_dir / f"serve-{self.port}.log"
        full_env = {**os.environ, "REFERRAL_DATABASE_URL": database_url, "REFERRAL_DATA_DIR": str(data_dir),
                    "REFERRAL_SECRET_KEY": "live-test-secret", "REFERRAL_AGENT_ICE_HOSTS": "127.0.0.1",
                    "PYTHONUNBUFFERED": "1", **(env or {})}
        if "REFERRAL_REDIS_URL" not in (env or {}):
            full_env.pop("REFERRAL_REDIS_URL", None)  # one process unless the test asks for Redis
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "referral.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
            env=full_env, cwd=str(ROOT), stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._tokens: dict[str, str] = {}
        self.http = requests.Session()
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    # ---------------------------------------------------------------- API helpers

    def token(self, username: str) -> str:
        if username not in self._tokens:
            r = self.http.post(self.url + "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 201, r.text
            self._tokens[username] = r.json()["token"]
        return self._tokens[username]

    def api(self, method: str, username: str, path: str, json=None):
        return self.http.request(method, self.url + path, json=json,
                                 headers={"Authorization": f"Bearer {self.token(username)}"})

    def consult_case(self) -> int:
        """Same story as `make_consult_case`: author, past assignee, current assignee."""
        body = {"patient": {"name": "视频患者", "sex": "male", "birth_date": "1958-02-03"}, "urgency": "urgent",
                "specialty": "cardiology", "chief_complaint": "胸痛2小时", "clinical_question": "是否需要转诊？"}
        r = self.api("POST", "village.doctor", "/api/v1/cases", body)
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        for user, action, fields in [("village.doctor", "submit", {}), ("township.specialist", "claim", {}),
                                     ("township.specialist", "escalate", {"reason": "心内科会诊"}),
                                     ("county.specialist", "claim", {})]:
            r = self.api("POST", user, f"/api/v1/cases/{cid}/actions/{action}", fields)
            assert r.status_code == 200, (action, r.text)
        return cid


def seeded_copy(template: Path, target_dir: Path, name: str = "live.db") -> str:
    target = target_dir / name
    shutil.copy(template, target)
    return f"sqlite:///{target}"
