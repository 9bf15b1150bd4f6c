"""Counting failures in a sliding window: in memory for one process, in Redis for several."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol


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
    """The same counting shared by every process through Redis (fixed window per key)."""

    def __init__(self, redis_client, limit: int, window: int, prefix: str = "referral:rl:") -> None:
        self.redis, self.limit, self.window, self.prefix = redis_client, limit, window, prefix

    def blocked(self, key: str) -> bool:
        value = self.redis.get(self.prefix + key)
        return value is not None and int(value) >= self.limit

    def hit(self, key: str) -> None:
        pipe = self.redis.pipeline()
        pipe.incr(self.prefix + key)
        pipe.expire(self.prefix + key, self.window, nx=True)
        pipe.execute()

    def reset(self, key: str) -> None:
        self.redis.delete(self.prefix + key)
