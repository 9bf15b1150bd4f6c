"""`/readyz`: what a monitor or the province's load balancer asks before sending people to a
process. `/healthz` stays the bare liveness check (it asks nothing of the database)."""

from __future__ import annotations

import os

import pytest

from referral.app import create_app
from referral.config import Settings
from tests.consult.live import LiveServer, free_port, seeded_copy


def test_ready_when_everything_answers(client):
    r = client.get("/readyz")
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "ok"
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "not configured"
    data = body["checks"]["data_directory"]
    assert data["writable"] is True and data["free_bytes"] > 0 and data["total_bytes"] >= data["free_bytes"]
    assert r.headers["Cache-Control"] == "no-store"


def test_not_ready_while_the_database_cannot_be_reached(tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key="x", session_cookie_secure=False,
                        database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/referral")
    client = create_app(settings).test_client()
    assert client.get("/healthz").status_code == 200  # alive all the same
    r = client.get("/readyz")
    assert r.status_code == 503 and r.get_json()["status"] == "unavailable"
    assert r.get_json()["checks"]["database"] == "unavailable"


@pytest.mark.redis
def test_redis_is_checked_when_processes_share_it(tmp_path, sqlite_template):
    redis_url = os.environ.get("REFERRAL_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("REFERRAL_TEST_REDIS_URL is not set")
    server = LiveServer(tmp_path, seeded_copy(sqlite_template, tmp_path), env={"REFERRAL_REDIS_URL": redis_url})
    try:
        r = server.http.get(server.url + "/readyz", timeout=30)
        assert r.status_code == 200 and r.json()["checks"]["redis"] == "ok"
    finally:
        server.stop()
