"""The periodic timer: it runs on its own in one process; with Redis, among several processes
exactly one runs it, and another takes over when that one dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from referral.sla.runner import RedisLease, SlaRunner, SoleProcess, leadership_for
from tests.conftest import REDIS_ENV

RUNNER = r"""
import sys, time
import redis
from referral.db import Database
from referral.sla.runner import RedisLease, SlaRunner

db_url, redis_url, key, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
runner = SlaRunner(Database(db_url), RedisLease(redis.Redis.from_url(redis_url), ttl_ms=1000, key=key), interval=0.2,
                   on_tick=lambda report: print(f"tick {time.time():.3f}", flush=True))
print("ready", flush=True)
runner.start()
time.sleep(seconds)
runner.stop()
print("stopped", flush=True)
"""


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    return url


def start(db_url: str, redis_url: str, key: str, seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUNNER, db_url, redis_url, key, str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def ticks(output: str) -> list[float]:
    return [float(line.split()[1]) for line in output.splitlines() if line.startswith("tick ")]


def test_a_single_process_runs_the_timer_periodically(database):
    reports = []
    done = threading.Event()

    def collect(report):
        reports.append(report)
        if len(reports) >= 3:
            done.set()

    runner = SlaRunner(database, SoleProcess(), interval=0.05, on_tick=collect)
    runner.start()
    try:
        assert done.wait(30), "the timer ticks again and again"
    finally:
        runner.stop()
    assert not runner.is_alive()
    assert reports[-1].acted == 0  # everything due was handled by the first pass
    assert isinstance(leadership_for(None, 30), SoleProcess)


@pytest.mark.redis
def test_two_processes_on_redis_elect_one_runner_and_fail_over(db_url, redis_url):
    key = f"referral:test:sla:{uuid.uuid4().hex}"
    first = start(db_url, redis_url, key, 30)
    assert first.stdout.readline().strip() == "ready"
    time.sleep(1.0)  # the first holds the lease
    second = start(db_url, redis_url, key, 4)
    out2, err2 = second.communicate(timeout=60)
    assert second.returncode == 0, err2
    assert ticks(out2) == [], "while the first process lives, the second never runs the timer"

    killed_at = time.time()
    first.send_signal(signal.SIGKILL)  # dies holding the lease: no release
    out1, _ = first.communicate(timeout=30)
    assert len(ticks(out1)) >= 5

    third = start(db_url, redis_url, key, 4)
    out3, err3 = third.communicate(timeout=60)
    assert third.returncode == 0, err3
    taken_over = ticks(out3)
    assert taken_over, "once the lease of the dead runner expires another process takes over"
    assert taken_over[0] - killed_at < 4.0


@pytest.mark.redis
def test_the_lease_is_held_by_one_holder_and_renewed_only_by_it(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    key = f"referral:test:sla:{uuid.uuid4().hex}"
    a, b = RedisLease(client, 500, key), RedisLease(client, 500, key)
    try:
        assert a.acquire() and not b.acquire()
        assert a.acquire(), "the holder renews"
        a.release()
        assert b.acquire() and not a.acquire()
        time.sleep(0.7)  # b stops renewing: the lease expires
        assert a.acquire()
    finally:
        client.delete(key)
