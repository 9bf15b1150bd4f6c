"""Starting the consult agent when a room needs it (the embedded default of `referral serve`).

The agent is a separate process (aiortc runs its own asyncio loop there, away from the web server's
threads). It acts for the specialist who asked for the recording, with a bearer token issued for
that purpose and revoked as soon as the agent exits; the token travels in the environment, never on
the command line.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from ..models import Recording, User
from ..services.auth import issue_token, revoke_token
from .recordings import fail_recording, recordings_root

log = logging.getLogger(__name__)
TOKEN_ENV = "REFERRAL_AGENT_TOKEN"
JOIN_TIMEOUT = 60  # seconds for a spawned recorder to join the room
MAX_RECORDING = timedelta(hours=4)


class AgentLauncher:
    """Spawns `referral consult-agent record ...` and watches it until it exits."""

    def __init__(self, on_failed=None) -> None:
        self.on_failed = on_failed  # callback(case_id, recording) when a recording could not be made
        self.processes: dict[int, subprocess.Popen] = {}

    def record(self, app, recording_id: int, case_id: int, user_id: int, base_url: str) -> None:
        rt = app.extensions["referral"]
        settings = rt.settings
        with rt.database.session() as session:
            token, _row = issue_token(session, session.get(User, user_id), MAX_RECORDING + timedelta(minutes=10))
        logs = recordings_root(settings.data_dir)
        logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, TOKEN_ENV: token, "REFERRAL_DATABASE_URL": settings.database_url,
               "REFERRAL_DATA_DIR": str(settings.data_dir), "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "referral.cli", "consult-agent", "--url", base_url, "record",
                   "--case", str(case_id), "--recording", str(recording_id)]
        log_path = logs / f"agent-{recording_id}.log"
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=str(Path(__file__).resolve().parents[2]))
        self.processes[recording_id] = proc
        threading.Thread(target=self._watch, args=(app, proc, recording_id, case_id, token, log_path),
                         name=f"consult-agent-{recording_id}", daemon=True).start()

    def _watch(self, app, proc: subprocess.Popen, recording_id: int, case_id: int, token: str,
               log_path: Path) -> None:
        rt = app.extensions["referral"]
        started = time.monotonic()
        while proc.poll() is None:
            time.sleep(0.5)
            if time.monotonic() - started > JOIN_TIMEOUT and self._status(rt, recording_id) == "starting":
                log.warning("consult agent for recording %s did not join in time", recording_id)
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.processes.pop(recording_id, None)
        with rt.database.session() as session:
            revoke_token(session, token)
            tail = _tail(log_path)
            failed = fail_recording(session, recording_id,
                                    f"the recorder stopped (exit code {proc.returncode}) before saving: {tail}")
            if failed is not None and self.on_failed is not None:
                self.on_failed(case_id, failed)

    @staticmethod
    def _status(rt, recording_id: int) -> str | None:
        with rt.database.session() as session:
            recording = session.get(Recording, recording_id)
            return recording.status if recording else None

    def stop_all(self) -> None:
        for proc in list(self.processes.values()):
            proc.terminate()


def _tail(path: Path, size: int = 400) -> str:
    try:
        data = path.read_bytes()[-size:]
    except OSError:
        return ""
    return data.decode("utf-8", "replace").strip().splitlines()[-1] if data.strip() else ""
