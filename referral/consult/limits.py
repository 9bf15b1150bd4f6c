"""Rate limits of the consult signalling: a token bucket per connection and kind of message.

A connection lives in exactly one process, so its buckets do too; what crosses processes (rooms,
presence) is elsewhere.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


# Generous for a real call (a burst of ICE candidates, a few renegotiations), tight for abuse.
RATES: dict[str, Rate] = {
    "join": Rate(0.5, 5),
    "signal": Rate(50, 300),
    "chat": Rate(1, 10),
    "status": Rate(2, 10),  # quality reports and media state
    "record": Rate(0.2, 3),
}
STRIKES_BEFORE_DISCONNECT = 200


class Buckets:
    """Token buckets of one connection."""

    def __init__(self, rates: dict[str, Rate] | None = None, clock=time.monotonic) -> None:
        self.rates = rates or RATES
        self.clock = clock
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self.strikes = 0

    def allow(self, kind: str) -> bool:
        rate = self.rates[kind]
        now = self.clock()
        with self._lock:
            tokens, last = self._state.get(kind, (float(rate.burst), now))
            tokens = min(float(rate.burst), tokens + (now - last) * rate.per_second)
            if tokens < 1:
                self._state[kind] = (tokens, now)
                self.strikes += 1
                return False
            self._state[kind] = (tokens - 1, now)
            return True

    @property
    def abusive(self) -> bool:
        return self.strikes >= STRIKES_BEFORE_DISCONNECT
