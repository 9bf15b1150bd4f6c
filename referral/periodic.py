"""Periodic jobs of `referral serve`, and the election of one runner among processes.

One process (the embedded default) simply runs a job every interval. Several
processes sharing Redis elect one runner per job with a lease: `SET key token NX
PX ttl` takes it when free, the holder renews it each interval (only if it still
holds it) and while a long pass runs, and when the holder dies the lease expires
and another process takes over. The jobs are idempotent anyway; the lease keeps
the other processes from doing the same work at the same time.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from .db import Database

log = logging.getLogger(__name__)
R = TypeVar("R")

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

    def __init__(self, client, ttl_ms: int, key: str) -> None:
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
            log.exception("cannot reach Redis for the lease %s", self.key)
            return False

    def release(self) -> None:
        try:
            self._release(keys=[self.key], args=[self.token])
        except Exception:
            log.exception("cannot release the lease %s", self.key)


def leadership_for(redis_client, ttl_seconds: float, key: str) -> Leadership:
    """Without Redis this process is the only one; with it, a lease of `ttl_seconds` under `key`."""
    if redis_client is None:
        return SoleProcess()
    return RedisLease(redis_client, ttl_ms=int(max(ttl_seconds, 1.0) * 1000), key=key)


class PeriodicJob(threading.Thread, Generic[R]):
    """Runs `work(session)` every `interval` seconds (the first time after `first_after`) while this
    process holds the leadership; `on_result` sees each pass's result."""

    def __init__(self, name: str, database: Database, leadership: Leadership, interval: float,
                 work: Callable[[Session], R], on_result: Callable[[R], None] | None = None, *,
                 first_after: float = 0.0) -> None:
        super().__init__(name=name, daemon=True)
        self.database, self.leadership, self.interval = database, leadership, interval
        self.work, self.on_result, self.first_after = work, on_result, first_after
        self._halt = threading.Event()

    def run(self) -> None:
        if not self._halt.wait(self.first_after):
            while not self._halt.is_set():
                self.run_once()
                self._halt.wait(self.interval)
        self.leadership.release()

    def run_once(self) -> R | None:
        """One pass, if this process is the runner; a failed pass is logged and the timer goes on."""
        if not self.leadership.acquire():
            return None
        keeper = _Renewal(self.leadership, self.name)
        try:
            with self.database.session() as session:
                result = self.work(session)
        except Exception:  # the timer must outlive one bad pass
            log.exception("%s: a pass failed", self.name)
            return None
        finally:
            keeper.stop()
        if self.on_result is not None:
            self.on_result(result)
        return result

    def stop(self, timeout: float | None = 5.0) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(timeout)


class _Renewal:
    """Keeps renewing the lease while a long pass runs, so no other process starts one meanwhile."""

    def __init__(self, leadership: Leadership, name: str) -> None:
        self.leadership = leadership
        self._done = threading.Event()
        self._thread = None
        if leadership.renew_every:
            self._thread = threading.Thread(target=self._run, name=f"{name}-lease", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self.leadership.renew_every):
            self.leadership.acquire()

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(5)
