"""When a deadline warns and breaches: pure rules, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from referral.domain.sla import Window
from referral.sla.rules import Deadline, HopClock, Stage, deadline_state, reached, warn_at

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
EMERGENCY = Window(30, 120, "escalate")


def clock(status="submitted", opened=T0, claim=T0 + timedelta(minutes=30), advice=T0 + timedelta(minutes=120)):
    return HopClock(1, 1, status, opened, claim, advice)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_claim_deadline_warns_at_three_quarters_and_breaches_at_the_deadline():
    assert reached(clock(), EMERGENCY, at(22)) is None
    warning = reached(clock(), EMERGENCY, at(22.5))
    assert (warning.deadline, warning.stage, warning.mark) == (Deadline.CLAIM, Stage.WARNING, "claim_warning")
    breach = reached(clock(), EMERGENCY, at(30))
    assert (breach.stage, breach.due_at, breach.mark) == (Stage.BREACH, at(30), "claim_breach")


def test_a_claimed_hop_is_measured_against_the_advice_deadline():
    c = clock(status="in_review")
    assert reached(c, EMERGENCY, at(60)) is None
    assert reached(c, EMERGENCY, at(90)).mark == "advice_warning"
    assert reached(c, EMERGENCY, at(121)).mark == "advice_breach"


def test_no_clock_runs_while_the_doctor_is_asked_for_information_or_after_the_hop():
    for status in ("info_requested", "advised", "returned", "closed"):
        assert reached(clock(status=status), EMERGENCY, at(1000)) is None
        assert deadline_state(clock(status=status), EMERGENCY, at(1000)) == "none"


def test_a_deadline_moved_later_warns_a_quarter_window_before_it():
    # Reopened at minute 200 with a fresh 30-minute claim window: warn at 222.5, not at once.
    moved = clock(claim=at(230))
    assert warn_at(at(230), T0, 30) == at(222.5)
    assert reached(moved, EMERGENCY, at(210)) is None
    assert reached(moved, EMERGENCY, at(223)).stage is Stage.WARNING


def test_display_state():
    assert deadline_state(clock(), EMERGENCY, at(5)) == "ok"
    assert deadline_state(clock(), EMERGENCY, at(25)) == "near"
    assert deadline_state(clock(), EMERGENCY, at(31)) == "overdue"
