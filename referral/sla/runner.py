"""The periodic SLA timer of `referral serve` (a `periodic.PeriodicJob`).

With several processes sharing Redis, the one holding the lease runs the tick every
interval and keeps the lease between passes, so the timer stays with one process
until it dies; the lease outlives three missed renewals before another takes over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..db import Database
from ..models import utcnow
from ..periodic import Leadership, PeriodicJob, RedisLease, SoleProcess
from ..periodic import leadership_for as _lease
from .tick import TickReport, run_tick

__all__ = ["DEFAULT_INTERVAL", "LEASE_KEY", "RedisLease", "SlaRunner", "SoleProcess", "leadership_for",
           "start_sla_runner"]

log = logging.getLogger(__name__)

LEASE_KEY = "referral:sla:runner"
DEFAULT_INTERVAL = 30.0


class SlaRunner(PeriodicJob[TickReport]):
    """Runs `run_tick` every `interval` seconds while this process holds the leadership."""

    def __init__(self, database: Database, leadership: Leadership, interval: float = DEFAULT_INTERVAL,
                 on_tick: Callable[[TickReport], None] | None = None) -> None:
        super().__init__("sla-timer", database, leadership, interval, lambda session: run_tick(session, utcnow()),
                         self._report)
        self.on_tick = on_tick

    def _report(self, report: TickReport) -> None:
        if report.acted or report.failed:
            log.info(report.summary())
        if self.on_tick is not None:
            self.on_tick(report)


def leadership_for(redis_client, interval: float) -> Leadership:
    """The SLA lease outlives three missed renewals before another process takes over."""
    return _lease(redis_client, interval * 3, LEASE_KEY)


def start_sla_runner(app, interval: float = DEFAULT_INTERVAL) -> SlaRunner:
    """Start the timer thread of a serving process (`referral serve`)."""
    runtime = app.extensions["referral"]
    runner = SlaRunner(runtime.database, leadership_for(runtime.redis, interval), interval)
    runner.start()
    return runner
