"""`seed-bulk` writes around the services; its rows must be what the services would have written."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from referral.demo.bulk import seed_bulk
from referral.domain.routing import next_facility
from referral.domain.vocabulary import Tier, Urgency
from referral.domain.workflow import CaseStatus, transition_for
from referral.models import Advice, Case, Event, Facility, Message, User
from referral.reports.filters import ReportFilter
from referral.services import cases as case_service
from referral.services import reports as report_service
from referral.services.directory import DbDirectory, ref
from referral.services.sla import current_policy

END = datetime(2026, 1, 15, 4, 0, tzinfo=UTC)
PAYLOAD_KEYS = {
    "created": set(),
    "submit": {"to_facility", "rule", "due_at"},
    "resubmit": {"note", "to_facility", "rule", "due_at"},
    "claim": {"hop"},
    "release": {"note"},
    "request_info": {"message_id", "message"},
    "provide_info": {"message_id", "message"},
    "follow_up": {"message_id", "message"},
    "escalate": {"reason", "specialty", "from_facility", "to_facility", "rule", "due_at"},
    "decline": {"reason"},
    "issue_advice": {"advice_version", "disposition"},
    "close": {"outcome", "note"},
    "cancel": {"reason"},
}


@pytest.fixture
def bulk(session):
    before = session.scalar(select(func.max(Case.id)))
    report = seed_bulk(session, 400, years=0.1, seed=7, end=END)  # five weeks: some still open at END
    assert report.cases == 400
    return before


def test_the_history_follows_the_workflow(session, bulk):
    cases = session.scalars(select(Case).where(Case.id > bulk).order_by(Case.id)).unique().all()
    events = defaultdict(list)
    for e in session.scalars(select(Event).where(Event.case_id > bulk).order_by(Event.id)):
        events[e.case_id].append(e)
    statuses = {c.status for c in cases}
    assert len(statuses) >= 5
    for case in cases:
        timeline = events[case.id]
        assert timeline[0].kind == "created" and timeline[0].to_status == "draft"
        status = "draft"
        for e in timeline[1:]:
            assert e.from_status == status, (case.id, [x.kind for x in timeline])
            t = transition_for(e.kind)
            assert CaseStatus(status) in t.sources and e.to_status == t.target.value
            assert set(e.payload) == PAYLOAD_KEYS[e.kind], (e.kind, e.payload)
            assert e.created_at >= timeline[0].created_at and e.created_at <= END
            status = e.to_status
        assert case.status == status
        assert case.version == len(timeline)  # 1 for the draft, +1 per action
        assert case.reference == f"YX-{case.created_at.year}-{case.id:06d}"
        assert (case.submitted_at is None) == (case.status == "draft")
        assert (case.closed_at is not None) == (case.status in ("closed", "cancelled"))


def test_hops_are_routed_and_timed_as_the_services_would(session, bulk):
    policy = current_policy(session)
    directory = DbDirectory(session)
    cases = session.scalars(select(Case).where(Case.id > bulk, Case.submitted_at.is_not(None))).unique().all()
    tiers = set()
    for case in cases:
        hops = case.hops
        assert [h.seq for h in hops] == list(range(1, len(hops) + 1))
        assert case.current_hop_id == hops[-1].id
        assert all(h.closed_at is not None for h in hops[:-1])
        origin = session.get(Facility, case.origin_facility_id)
        for i, hop in enumerate(hops):
            tiers.add(hop.tier)
            escalated_from = hops[i - 1].facility_id if i and hops[i - 1].outcome == "escalated" else None
            source = session.get(Facility, escalated_from) if escalated_from else origin
            target, rule = next_facility(ref(source), hop.specialty, Urgency(case.urgency), directory)
            assert (hop.facility_id, hop.tier, hop.routed_by) == (target.id, target.tier.value, rule.name)
            window = policy.window(Urgency(case.urgency), Tier(hop.tier))
            assert hop.due_claim_at == window.due(hop.opened_at)[0]
            if hop.claimed_at is not None:
                assert hop.claimed_at >= hop.opened_at and hop.assignee_id is not None
            if hop.closed_at is not None:
                assert hop.outcome in ("advised", "escalated", "declined", "cancelled")
                assert hop.closed_at >= hop.opened_at
    assert tiers == {"township", "county", "provincial"}
    advice = session.scalars(select(Advice).where(Advice.case_id > bulk)).all()
    issued = session.scalar(select(func.count()).where(Event.case_id > bulk, Event.kind == "issue_advice"))
    assert len(advice) == issued and issued > 0
    messages = session.scalar(select(func.count(Message.id)).where(Message.case_id > bulk))
    asked = session.scalar(select(func.count()).where(Event.case_id > bulk, Event.kind.in_(
        ("request_info", "provide_info", "follow_up"))))
    assert messages == asked


def test_the_services_carry_on_with_bulk_cases(session, users, bulk):
    """A waiting bulk case can be claimed through the service, and new cases get fresh ids."""
    waiting = session.scalars(select(Case).where(Case.id > bulk, Case.status.in_(("submitted", "in_review")))
                              .order_by(Case.id)).unique().first()
    assert waiting is not None
    hop = waiting.current_hop
    if waiting.status == "submitted":
        staff = session.scalars(select(User).where(User.facility_id == hop.facility_id)).all()
        actor, action, data = next(u for u in staff if "specialist" in u.roles), "claim", {}
        expected = "in_review"
    else:
        actor, action, data = hop.assignee, "request_info", {"message": "请补充检查结果"}
        expected = "info_requested"
    case = case_service.perform_action(session, actor, waiting.id, action, data, now=END + timedelta(minutes=5))
    assert case.status == expected and case.version == len(
        session.scalars(select(Event).where(Event.case_id == waiting.id)).all())
    from referral.services.inputs import CaseIn, parse

    draft = case_service.create_draft(session, users["village.doctor"], parse(CaseIn, {
        "patient": {"name": "新患者", "sex": "male"}, "urgency": "routine", "specialty": "internal_medicine",
        "chief_complaint": "咳嗽", "clinical_question": "？"}))
    assert draft.id > session.scalar(select(func.max(Case.id)).where(Case.id != draft.id))


def test_the_report_runs_on_bulk_history(session, users, bulk):
    f = ReportFilter.from_args({"from": "2025-11-15", "to": "2026-01-15"})
    r = report_service.referral_report(session, users["county.admin"], f, now=END)
    expected = session.scalar(select(func.count(Case.id)).where(Case.id > bulk, Case.submitted_at >= f.start_utc,
                                                                 Case.submitted_at < f.end_utc))
    assert r.total.submitted == expected > 300
    assert r.total.escalated > 0 and r.total.claim_sla_breached > 0 and r.total.time_to_claim_median_s > 0
    assert r.total.managed_locally > 0 and r.diagnoses
