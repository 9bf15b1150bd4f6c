"""One pass of the SLA timer: warn before deadlines, act on breaches, exactly once each.

`run_tick(session, now)` is idempotent: every threshold it handles is recorded as an
`SlaMark` keyed by (hop, kind, deadline) in the same transaction as what it did, so
a second pass at the same or a later `now` finds nothing left to do for it, and a
second runner racing the first fails on the unique key instead of acting twice.
Each threshold is its own transaction: one case that cannot move (a conflict with
a specialist acting at that moment) does not hold up the others; the next pass
retries it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.errors import DomainError, RoutingError
from ..domain.vocabulary import Tier, Urgency
from ..models import Case, Event, Hop, SlaMark
from ..notifications import Audience, Kind, case_audience, notify_case
from ..services.cases import system_escalate, system_release
from ..services.sla import current_policy
from ..services.transaction import transactional
from .rules import Check, Deadline, HopClock, Stage, reached

log = logging.getLogger(__name__)

WATCHED_STATUSES = ("submitted", "in_review")


@dataclass
class TickReport:
    now: datetime
    warnings: int = 0
    breaches: int = 0
    escalated: int = 0
    reopened: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def acted(self) -> int:
        return self.warnings + self.breaches

    def summary(self) -> str:
        return (f"SLA tick at {self.now.isoformat()}: {self.warnings} warnings, {self.breaches} breaches "
                f"({self.escalated} escalated, {self.reopened} reopened), {self.skipped} skipped"
                + (f", {len(self.failed)} failed" if self.failed else ""))


def run_tick(session: Session, now: datetime) -> TickReport:
    """Handle every warning and breach due at `now` that has not been handled yet."""
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    report = TickReport(now)
    policy = current_policy(session)
    clocks = _open_clocks(session)
    handled = _handled(session, [clock.hop_id for clock, _, _ in clocks])
    for clock, urgency, tier in clocks:
        check = reached(clock, policy.window(urgency, tier), now)
        if check is None or (check.hop_id, check.mark, check.due_at) in handled:
            continue
        try:
            outcome = _handle(session, check, now)
        except IntegrityError:  # another runner handled it a moment ago
            outcome = "skipped"
        except DomainError as exc:  # e.g. a specialist changed the case meanwhile: retried next pass
            log.warning("SLA %s on case %s not handled: %s", check.mark, check.case_id, exc.message)
            report.failed.append(f"case {check.case_id}: {exc.message}")
            continue
        _count(report, outcome)
    session.expire_all()
    return report


def _open_clocks(session: Session) -> list[tuple[HopClock, Urgency, Tier]]:
    """Every hop whose deadline is running: the current hop of a case waiting or in review."""
    rows = session.execute(
        select(Hop.id, Hop.case_id, Case.status, Hop.opened_at, Hop.due_claim_at, Hop.due_advice_at, Case.urgency,
               Hop.tier)
        .join(Case, Case.current_hop_id == Hop.id)
        .where(Hop.closed_at.is_(None), Case.status.in_(WATCHED_STATUSES))
        .order_by(Hop.id)
    ).all()
    return [(HopClock(r.id, r.case_id, r.status, r.opened_at, r.due_claim_at, r.due_advice_at), Urgency(r.urgency),
             Tier(r.tier)) for r in rows]


def _handled(session: Session, hop_ids: list[int]) -> set[tuple[int, str, datetime]]:
    """The marks already recorded for these hops, read once for the whole pass."""
    found: set[tuple[int, str, datetime]] = set()
    for start in range(0, len(hop_ids), 500):
        chunk = hop_ids[start:start + 500]
        marks = session.execute(select(SlaMark.hop_id, SlaMark.kind, SlaMark.due_at)
                                .where(SlaMark.hop_id.in_(chunk)))
        found |= {(m.hop_id, m.kind, m.due_at) for m in marks}
    return found


@transactional
def _handle(session: Session, check: Check, now: datetime) -> str:
    """Record the mark and do what it calls for, in one transaction; `skipped` when already done."""
    hop = session.get(Hop, check.hop_id, populate_existing=True)
    case = session.get(Case, check.case_id, populate_existing=True)
    if hop is None or case is None or case.current_hop_id != hop.id or hop.closed_at is not None:
        return "skipped"
    due = hop.due_claim_at if check.deadline is Deadline.CLAIM else hop.due_advice_at
    expected_status = "submitted" if check.deadline is Deadline.CLAIM else "in_review"
    if due != check.due_at or case.status != expected_status:
        return "skipped"  # the case moved since the scan
    if session.scalar(select(SlaMark.id).where(SlaMark.hop_id == hop.id, SlaMark.kind == check.mark,
                                               SlaMark.due_at == check.due_at)) is not None:
        return "skipped"
    mark = SlaMark(hop_id=hop.id, case_id=case.id, kind=check.mark, due_at=check.due_at, handled_at=now)
    session.add(mark)
    session.flush()
    if check.stage is Stage.WARNING:
        mark.action = "warn"
        audience = Audience.QUEUE if check.deadline is Deadline.CLAIM else Audience.ASSIGNEE
        notify_case(session, case, Kind.DEADLINE_NEAR, case_audience(session, case, audience),
                    facts={"deadline": check.deadline.value, "due": check.due_at}, now=now)
        return "warning"
    mark.action = _breach(session, case, hop, check, now)
    return {"escalate": "escalated", "reopen": "reopened"}.get(mark.action, "breach")


def _breach(session: Session, case: Case, hop: Hop, check: Check, now: datetime) -> str:
    """Tell the facility's admins, put the breach on the timeline, then follow the policy."""
    policy_action = current_policy(session).window(Urgency(case.urgency), Tier(hop.tier)).on_breach
    admins = case_audience(session, case, Audience.FACILITY_ADMIN)
    session.add(Event(case_id=case.id, hop_id=hop.id, actor_id=None, kind="sla_breach", from_status=case.status,
                      to_status=case.status, created_at=now,
                      payload={"deadline": check.deadline.value, "due_at": check.due_at.isoformat(),
                               "policy": policy_action,
                               "facility": {"id": hop.facility_id, "name": hop.facility.name, "tier": hop.tier}}))
    action = policy_action
    reason = f"{check.deadline.value} deadline passed ({check.due_at.isoformat()})"
    if action == "escalate":
        try:
            system_escalate(session, case, now, reason, sla=check.mark)
        except RoutingError:
            action = "notify"  # the top tier: nobody above to send it to
    elif action == "reopen":
        if check.deadline is Deadline.ADVICE:
            system_release(session, case, now, reason, sla=check.mark)
        else:
            # Unclaimed: already open to the pool its specialty reaches; call every specialist of the facility.
            notify_case(session, case, Kind.DEADLINE_PASSED,
                        case_audience(session, case, Audience.FACILITY_SPECIALISTS),
                        facts={"deadline": check.deadline.value, "action": action}, now=now)
    notify_case(session, case, Kind.DEADLINE_PASSED, admins,
                facts={"deadline": check.deadline.value, "action": action,
                       "facility": {"name": hop.facility.name, "name_en": hop.facility.name_en}}, now=now)
    return action


def _count(report: TickReport, outcome: str) -> None:
    if outcome == "skipped":
        report.skipped += 1
    elif outcome == "warning":
        report.warnings += 1
    else:
        report.breaches += 1
        if outcome == "escalated":
            report.escalated += 1
        elif outcome == "reopened":
            report.reopened += 1
