"""When a hop's deadline warns and when it is breached: pure functions of the hop's clock.

A hop waiting to be claimed is measured against its claim deadline; a claimed hop
(in review) against its advice deadline. While the specialist waits for the
doctor's information (`info_requested`) the clock is the doctor's, and nothing
warns. The warning comes when 75% of the window has gone; the window is the
policy's length, or the time since the hop opened when that is shorter (a
deadline moved later by a follow-up or a reopening warns a quarter-window before
it, not at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ..domain.sla import WARNING_FRACTION, Window


class Deadline(StrEnum):
    CLAIM = "claim"
    ADVICE = "advice"


class Stage(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


@dataclass(frozen=True)
class HopClock:
    """What the timer needs to know of a hop and its case."""

    hop_id: int
    case_id: int
    status: str
    opened_at: datetime
    due_claim_at: datetime | None
    due_advice_at: datetime | None


@dataclass(frozen=True)
class Check:
    """One threshold of one deadline of one hop that has been reached."""

    hop_id: int
    case_id: int
    deadline: Deadline
    stage: Stage
    due_at: datetime

    @property
    def mark(self) -> str:
        """The key the timer records once it has handled this check, e.g. `claim_breach`."""
        return f"{self.deadline.value}_{self.stage.value}"


def watched_deadline(clock: HopClock) -> tuple[Deadline, datetime] | None:
    """The deadline that runs now for this hop, if any."""
    if clock.status == "submitted" and clock.due_claim_at is not None:
        return Deadline.CLAIM, clock.due_claim_at
    if clock.status == "in_review" and clock.due_advice_at is not None:
        return Deadline.ADVICE, clock.due_advice_at
    return None


def warn_at(due: datetime, opened_at: datetime, window_minutes: int) -> datetime:
    length = min(due - opened_at, timedelta(minutes=window_minutes))
    if length <= timedelta(0):
        return due
    return due - length * (1 - WARNING_FRACTION)


def reached(clock: HopClock, window: Window, now: datetime) -> Check | None:
    """The threshold reached at `now`: the breach once the deadline has passed (a warning
    is then pointless), the warning from 75% of the window, otherwise nothing."""
    watched = watched_deadline(clock)
    if watched is None:
        return None
    deadline, due = watched
    if now >= due:
        return Check(clock.hop_id, clock.case_id, deadline, Stage.BREACH, due)
    minutes = window.claim_minutes if deadline is Deadline.CLAIM else window.advice_minutes
    if now >= warn_at(due, clock.opened_at, minutes):
        return Check(clock.hop_id, clock.case_id, deadline, Stage.WARNING, due)
    return None


def deadline_state(clock: HopClock, window: Window, now: datetime) -> str:
    """For display: `overdue`, `near` (warning reached), `ok`, or `none` when no deadline runs."""
    if watched_deadline(clock) is None:
        return "none"
    check = reached(clock, window, now)
    if check is None:
        return "ok"
    return "overdue" if check.stage is Stage.BREACH else "near"
