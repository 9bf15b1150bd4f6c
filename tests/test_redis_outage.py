"""Redis away, in the province setup (processes meeting through Redis): people go on signing in
(failed attempts are then counted per process, so guessing stays limited), cases go on moving,
and a process that cannot reach its Redis when it starts refuses with a sentence, not a
traceback. A real redis-server of the test's own, stopped in the middle."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
import redis
import requests
import socketio
from click.testing import CliRunner

from referral.cli import main
from tests.conftest import DEMO_PASSWORD
from tests.consult.live import LiveServer, free_port, seeded_copy

pytestmark = pytest.mark.redis


@pytest.fixture
def own_redis():
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server must be installed in CI")
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield port, proc
    proc.kill()
    proc.wait()


def _sign_in(server: LiveServer, password: str) -> requests.Response:
    return server.http.post(server.url + "/api/v1/auth/token",
                            json={"username": "village.doctor", "password": password}, timeout=30)


def test_signing_in_and_working_go_on_while_redis_is_away(own_redis, sqlite_template, tmp_path):
    port, redis_proc = own_redis
    server = LiveServer(tmp_path, seeded_copy(sqlite_template, tmp_path),
                        env={"REFERRAL_REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    try:
        assert _sign_in(server, DEMO_PASSWORD).status_code == 201
        redis_proc.kill()
        redis_proc.wait()

        assert _sign_in(server, DEMO_PASSWORD).status_code == 201, server.log()
        token = server.token("village.doctor")
        case = server.http.post(server.url + "/api/v1/cases", headers={"Authorization": f"Bearer {token}"}, json={
            "patient": {"name": "张伟", "sex": "male", "birth_date": "1958-04-12"}, "urgency": "urgent",
            "specialty": "respiratory", "chief_complaint": "咳嗽", "clinical_question": "肺部病变？"}, timeout=30)
        assert case.status_code == 201
        submitted = server.http.post(f"{server.url}/api/v1/cases/{case.json()['id']}/actions/submit",
                                     headers={"Authorization": f"Bearer {token}"}, json={}, timeout=30)
        assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"

        # The video consult's rooms live in Redis with several processes: joining says it cannot, for now.
        consult_case = server.consult_case()
        sio = socketio.Client()
        sio.connect(server.url, namespaces=["/consult"], auth={"token": server.token("county.specialist")},
                    transports=["websocket"])
        try:
            answer = sio.call("join", {"case_id": consult_case}, namespace="/consult", timeout=15)
        finally:
            sio.disconnect()
        assert answer["ok"] is False and answer["error"] == "unavailable", answer

        for _ in range(5):
            assert _sign_in(server, "wrong").status_code == 401
        refused = _sign_in(server, DEMO_PASSWORD)  # still limited, by this process alone meanwhile
        assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
        log = server.log_path.read_text(errors="replace")
        assert log.count("sign-in failures are counted per process meanwhile") == 1  # a line a minute, not one a sign-in
        assert "Traceback" not in log
    finally:
        server.stop()


def test_a_process_that_cannot_reach_its_redis_refuses_to_start(sqlite_template, tmp_path):
    closed = free_port()
    env = {"REFERRAL_DATABASE_URL": seeded_copy(sqlite_template, tmp_path), "REFERRAL_DATA_DIR": str(tmp_path),
           "REFERRAL_SECRET_KEY": "x", "REFERRAL_REDIS_URL": f"redis://:s3cret@127.0.0.1:{closed}/0"}
    result = CliRunner().invoke(main, ["serve", "--port", str(free_port())], env=env)
    assert result.exit_code == 2
    assert f"Redis at 127.0.0.1:{closed} cannot be reached" in result.output
    assert "unset REFERRAL_REDIS_URL" in result.output and "s3cret" not in result.output
    assert "Traceback" not in result.output
