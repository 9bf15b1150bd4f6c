"""The periodic SLA timer of `referral serve`, and the election of one runner among processes.

One process (the embedded default) simply runs the tick every interval. Several
processes sharing Redis elect one runner with a lease: `SET key token NX PX ttl`
takes it when free, the holder renews it each interval (only if it still holds it),
and when the holder dies the lease expires and another process takes over. The tick
is idempotent anyway; the lease keeps the other processes from doing the same work.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Protocol

from ..db import Database
from ..models import utcnow
from .tick import TickReport, run_tick

log = logging.getLogger(__name__)

LEASE_KEY = "referral:sla:runner"
DEFAULT_INTERVAL = 30.0

# Renew or release only a lease we hold: compare the token and act in one step.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class Leadership(Protocol):
    renew_every: float | None  # seconds between renewals while a pass runs; None: nothing to renew

    def acquire(self) -> bool:
        """True while this process is the runner (taking or renewing the lease)."""

    def release(self) -> None: ...


class SoleProcess:
    """No Redis: this process is the only one, so it always runs."""

    renew_every = None

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class RedisLease:
    """A lease in Redis held by at most one process at a time."""

    def __init__(self, client, ttl_ms: int, key: str = LEASE_KEY) -> None:
        self.client, self.ttl_ms, self.key = client, int(ttl_ms), key
        self.renew_every = ttl_ms / 3000
        self.token = uuid.uuid4().hex
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def acquire(self) -> bool:
        try:
            if self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
                return True
            return bool(self._renew(keys=[self.key], args=[self.token, self.ttl_ms]))
        except Exception:  # Redis away: do not run, another process may still hold the lease
            log.exception("cannot reach Redis for the SLA runner lease")
            return False

    def release(self) -> None:
        try:
            self._release(keys=[self.key], args=[self.token])
        except Exception:
            log.exception("cannot release the SLA runner lease")


class SlaRunner(threading.Thread):
    """Runs `run_tick` every `interval` seconds while this process holds the leadership."""

    def __init__(self, database: Database, leadership: Leadership, interval: float = DEFAULT_INTERVAL,
                 on_tick: Callable[[TickReport], None] | None = None) -> None:
        super().__init__(name="sla-timer", daemon=True)
        self.database, self.leadership, self.interval = database, leadership, interval
        self.on_tick = on_tick
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.tick_once()
            self._halt.wait(self.interval)
        self.leadership.release()

    def tick_once(self) -> TickReport | None:
        if not self.leadership.acquire():
            return None
        keeper = _Renewal(self.leadership)
        try:
            with self.database.session() as session:
                report = run_tick(session, utcnow())
        except Exception:  # the timer must outlive one bad pass
            log.exception("SLA tick failed")
            return None
        finally:
            keeper.stop()
        if report.acted or report.failed:
            log.info(report.summary())
        if self.on_tick is not None:
            self.on_tick(report)
        return report

    def stop(self, timeout: float | None = 5.0) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(timeout)


class _Renewal:
    """Keeps renewing the lease while a long pass runs, so no other process starts one meanwhile."""

    def __init__(self, leadership: Leadership) -> None:
        self.leadership = leadership
        self._done = threading.Event()
        self._thread = None
        if leadership.renew_every:
            self._thread = threading.Thread(target=self._run, name="sla-lease", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self.leadership.renew_every):
            self.leadership.acquire()

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(5)


def leadership_for(redis_client, interval: float) -> Leadership:
    """The lease outlives three missed renewals before another process takes over."""
    if redis_client is None:
        return SoleProcess()
    return RedisLease(redis_client, ttl_ms=int(max(interval * 3, 1.0) * 1000))


def start_sla_runner(app, interval: float = DEFAULT_INTERVAL) -> SlaRunner:
    """Start the timer thread of a serving process (`referral serve`)."""
    runtime = app.extensions["referral"]
    runner = SlaRunner(runtime.database, leadership_for(runtime.redis, interval), interval)
    runner.start()
    return runner
