"""Counting failures in a sliding window: in memory for one process, in Redis for several."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Protocol

log = logging.getLogger(__name__)


class RateLimiter(Protocol):
    def blocked(self, key: str) -> bool: ...

    def hit(self, key: str) -> None: ...

    def reset(self, key: str) -> None: ...


class MemoryRateLimiter:
    """Failures per key within `window` seconds, for the single-process default."""

    def __init__(self, limit: int, window: int, clock=time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        q = self._hits.setdefault(key, deque())
        cutoff = self.clock() - self.window
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key)) >= self.limit

    def hit(self, key: str) -> None:
        with self._lock:
            self._recent(key).append(self.clock())
            if len(self._hits) > 100_000:  # bound memory under a spray of usernames
                self._hits.clear()

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


class RedisRateLimiter:
    """The same counting shared by every process through Redis (fixed window per key).

    While Redis cannot be reached, each process counts on its own (`fallback`) instead of refusing
    every sign-in: a Redis outage must not lock the whole province out, and guessing passwords
    stays limited per process meanwhile. The administrator sees one warning a minute in the log.
    """

    def __init__(self, redis_client, limit: int, window: int, prefix: str = "referral:rl:",
                 fallback: RateLimiter | None = None, clock=time.monotonic) -> None:
        self.redis, self.limit, self.window, self.prefix = redis_client, limit, window, prefix
        self.fallback = fallback or MemoryRateLimiter(limit, window, clock)
        self.clock = clock
        self._warned_at: float | None = None

    def blocked(self, key: str) -> bool:
        try:
            value = self.redis.get(self.prefix + key)
        except Exception as exc:  # noqa: BLE001 - redis' errors and the connection's: Redis is away
            self._away(exc)
            return self.fallback.blocked(key)
        return value is not None and int(value) >= self.limit

    def hit(self, key: str) -> None:
        try:
            pipe = self.redis.pipeline()
            pipe.incr(self.prefix + key)
            pipe.expire(self.prefix + key, self.window, nx=True)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001
            self._away(exc)
            self.fallback.hit(key)

    def reset(self, key: str) -> None:
        self.fallback.reset(key)
        try:
            self.redis.delete(self.prefix + key)
        except Exception as exc:  # noqa: BLE001
            self._away(exc)

    def _away(self, exc: Exception) -> None:
        now = self.clock()
        if self._warned_at is None or now - self._warned_at >= 60:
            self._warned_at = now
            log.warning("Redis cannot be reached (%s): sign-in failures are counted per process meanwhile", exc)
