"""`referral serve` runs the timer by itself: two server processes share Redis; the one with the
timer escalates an overdue case on its own, and the push reaches a client of the other process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from referral.models import Case, Event, Hop, utcnow
from tests.conftest import DEMO_PASSWORD, REDIS_ENV
from tests.notifications.live import close_all, free_port, listen

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parents[2]


class Serve:
    """`referral serve` in a subprocess."""

    def __init__(self, db_url: str, data_dir: Path, redis_url: str, sla_interval: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / f"serve-{self.port}.log"
        env = {**os.environ, "REFERRAL_DATABASE_URL": db_url, "REFERRAL_DATA_DIR": str(data_dir),
               "REFERRAL_SECRET_KEY": "serve-test", "REFERRAL_REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "referral.cli", "serve", "--port", str(self.port), "--sla-interval",
             str(sla_interval)], env=env, cwd=str(ROOT), stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError(self.log.read_text())

    def token(self, username: str) -> str:
        r = requests.post(self.url + "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD},
                          timeout=10)
        return r.json()["token"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    return url


def test_the_timer_of_one_process_escalates_and_the_other_process_delivers(db_url, tmp_path, redis_url, session):
    import redis

    redis.Redis.from_url(redis_url).delete("referral:sla:runner")  # no lease left by an earlier run
    with_timer = Serve(db_url, tmp_path, redis_url, sla_interval=0.5)
    without = Serve(db_url, tmp_path, redis_url, sla_interval=0)
    listeners = []
    try:
        doctor = with_timer.token("village.doctor")
        headers = {"Authorization": f"Bearer {doctor}"}
        case = requests.post(with_timer.url + "/api/v1/cases", headers=headers, timeout=10, json={
            "patient": {"name": "测试", "sex": "male"}, "urgency": "emergency", "specialty": "internal_medicine",
            "chief_complaint": "高热", "clinical_question": "是否转诊？"}).json()
        county = listen(without.url, token=without.token("county.specialist"))
        admin = listen(without.url, token=without.token("township.admin"))
        listeners = [county, admin]
        requests.post(f"{with_timer.url}/api/v1/cases/{case['id']}/actions/submit", headers=headers, json={},
                      timeout=10)

        # Nobody claims it: move its claim deadline into the past, as if half an hour had gone by.
        hop = session.scalars(select(Hop).where(Hop.case_id == case["id"])).one()
        hop.opened_at = utcnow() - timedelta(minutes=31)
        hop.due_claim_at = utcnow() - timedelta(minutes=1)
        session.commit()

        queued = [p for _, p in county.wait_for("notification", timeout=10) if p["case_id"] == case["id"]]
        passed = [p for _, p in admin.wait_for("notification", timeout=10) if p["case_id"] == case["id"]]
        assert [p["kind"] for p in queued] == ["case_queued"]
        assert [p["kind"] for p in passed] == ["deadline_passed"]
        assert "已自动上转" in passed[0]["title"]
        session.expire_all()
        escalated = session.get(Case, case["id"])
        assert escalated.current_hop.facility.code == "YX-RMYY"
        kinds = [(e.kind, e.actor_id) for e in session.scalars(select(Event).where(Event.case_id == case["id"])
                                                                .order_by(Event.id))]
        assert kinds[-2:] == [("sla_breach", None), ("escalate", None)]
    finally:
        close_all(listeners)
        with_timer.stop()
        without.stop()
