"""The SLA timer against a real database: with `now` moved past each threshold the warning,
the breach and the escalation happen exactly once, and re-running changes nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from referral.domain.errors import Forbidden, ValidationFailed
from referral.models import Case, Event, Notification, SlaMark, User
from referral.services import cases as case_service
from referral.services.inputs import CaseIn, parse
from referral.services.sla import current_policy, update_policy
from referral.sla import run_tick
from referral.domain.vocabulary import Tier, Urgency

T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)  # after every seeded deadline's warning


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def new_case(session, users, urgency: str, specialty: str = "internal_medicine", author: str = "village.doctor",
             submit_at: datetime = T0) -> int:
    user = session.get(User, users[author].id)
    data = parse(CaseIn, {"patient": {"name": "测试", "sex": "male"}, "urgency": urgency, "specialty": specialty,
                          "chief_complaint": "发热", "clinical_question": "如何处理？"})
    case = case_service.create_draft(session, user, data, now=submit_at - timedelta(minutes=1))
    case_service.perform_action(session, user, case.id, "submit", now=submit_at)
    return case.id


def act(session, users, username, case_id, action, when, **fields):
    return case_service.perform_action(session, session.get(User, users[username].id), case_id, action, fields,
                                       now=when)


def timeline(session, case_id) -> list[tuple[str, int | None]]:
    session.expire_all()
    return [(e.kind, e.actor_id) for e in session.scalars(select(Event).where(Event.case_id == case_id)
                                                          .order_by(Event.id))]


def received(session, users, case_id) -> dict[str, list[str]]:
    session.expire_all()
    names = {u.id: name for name, u in users.items()}
    out: dict[str, list[str]] = {}
    for n in session.scalars(select(Notification).where(Notification.case_id == case_id).order_by(Notification.id)):
        out.setdefault(names[n.recipient_id], []).append(n.kind)
    return out


def tick(session, when: datetime, case_id: int) -> list[str]:
    """One pass at `when`; what it did to this case (the seeded demo cases have deadlines of their own).
    A second pass at the same time must do nothing at all."""
    before = set(session.scalars(select(SlaMark.id).where(SlaMark.case_id == case_id)))
    run_tick(session, when)
    assert run_tick(session, when).acted == 0, "a second pass at the same time changes nothing"
    session.expire_all()
    marks = session.scalars(select(SlaMark).where(SlaMark.case_id == case_id).order_by(SlaMark.id)).all()
    return [f"{m.kind}:{m.action}" for m in marks if m.id not in before]


def test_an_unclaimed_emergency_warns_then_escalates_by_itself_tier_by_tier(session, users):
    cid = new_case(session, users, "emergency")
    assert tick(session, at(20), cid) == []

    assert tick(session, at(23), cid) == ["claim_warning:warn"]  # 75% of the 30-minute claim window
    assert received(session, users, cid) == {"township.specialist": ["case_queued", "deadline_near"],
                                             "township.doctor": ["case_queued", "deadline_near"]}
    assert tick(session, at(29), cid) == []

    assert tick(session, at(31), cid) == ["claim_breach:escalate"]
    case = session.get(Case, cid)
    assert case.status == "submitted" and case.current_hop.tier == "county"
    assert case.current_hop.facility.code == "YX-RMYY"
    assert [h.outcome for h in case.hops] == ["escalated", None]
    assert timeline(session, cid)[-2:] == [("sla_breach", None), ("escalate", None)]
    got = received(session, users, cid)
    assert got["township.admin"] == ["deadline_passed"]  # the facility's admin
    assert got["village.doctor"] == ["case_escalated"]  # the author
    assert got["county.specialist"] == ["case_queued"] and got["county.specialist2"] == ["case_queued"]
    assert "county.admin" not in got
    for later in (40, 53):
        assert tick(session, at(later), cid) == []  # exactly once; the county's clock started at 31

    assert tick(session, at(54), cid) == ["claim_warning:warn"]
    assert received(session, users, cid)["county.specialist"] == ["case_queued", "deadline_near"]
    assert tick(session, at(62), cid) == ["claim_breach:escalate"]
    case = session.get(Case, cid)
    assert case.current_hop.tier == "provincial"
    assert received(session, users, cid)["county.admin"] == ["deadline_passed"]  # the hospital's admins: the county's

    assert tick(session, at(62 + 23), cid) == ["claim_warning:warn"]
    # The top tier: nowhere to escalate; the breach is recorded and reported.
    assert tick(session, at(62 + 31), cid) == ["claim_breach:notify"]
    assert session.get(Case, cid).current_hop.tier == "provincial"
    kinds = [k for k, _ in timeline(session, cid)]
    assert kinds.count("sla_breach") == 3 and kinds.count("escalate") == 2
    assert all(actor is None for kind, actor in timeline(session, cid) if kind in ("sla_breach", "escalate"))
    assert tick(session, at(10_000), cid) == []


def test_an_unanswered_urgent_case_is_taken_back_and_reopened_to_the_pool(session, users):
    cid = new_case(session, users, "urgent")
    act(session, users, "township.specialist", cid, "claim", at(10))
    assert tick(session, at(18 * 60 - 1), cid) == []
    assert tick(session, at(18 * 60), cid) == ["advice_warning:warn"]  # 75% of 24 h to advise
    assert received(session, users, cid)["township.specialist"] == ["case_queued", "deadline_near"]

    assert tick(session, at(24 * 60 + 1), cid) == ["advice_breach:reopen"]
    case = session.get(Case, cid)
    assert case.status == "submitted" and case.current_hop.assignee_id is None
    assert case.current_hop.due_claim_at == at(24 * 60 + 1 + 240)  # a fresh claim window
    assert timeline(session, cid)[-2:] == [("sla_breach", None), ("release", None)]
    got = received(session, users, cid)
    assert got["township.admin"] == ["deadline_passed"]
    assert got["township.doctor"] == ["case_queued", "case_queued"]
    assert tick(session, at(24 * 60 + 2), cid) == []
    # The fresh window warns and breaches in its turn; an unclaimed urgent case then calls every specialist.
    assert tick(session, at(24 * 60 + 1 + 180), cid) == ["claim_warning:warn"]
    assert tick(session, at(24 * 60 + 1 + 241), cid) == ["claim_breach:reopen"]
    got = received(session, users, cid)
    assert got["township.admin"] == ["deadline_passed", "deadline_passed"]
    assert got["township.specialist"][-1] == "deadline_passed"


def test_a_routine_breach_only_tells_the_admin(session, users):
    cid = new_case(session, users, "routine", author="village.doctor2")
    assert tick(session, at(24 * 60), cid) == ["claim_breach:notify"]
    case = session.get(Case, cid)
    assert case.status == "submitted" and len(case.hops) == 1
    # T2 has no admin of its own: the county's answers for it.
    assert received(session, users, cid)["county.admin"] == ["deadline_passed"]
    assert timeline(session, cid)[-1] == ("sla_breach", None)


def test_the_clock_stops_while_the_doctor_is_asked_for_information(session, users):
    cid = new_case(session, users, "urgent")
    act(session, users, "township.specialist", cid, "claim", at(5))
    act(session, users, "township.specialist", cid, "request_info", at(6), message="请补充")
    assert tick(session, at(3 * 24 * 60), cid) == []
    act(session, users, "village.doctor", cid, "provide_info", at(3 * 24 * 60), message="已补充")
    assert tick(session, at(3 * 24 * 60 + 1), cid) == ["advice_breach:reopen"]  # it had passed meanwhile


def test_two_runners_at_once_act_once(database, session, users):
    cid = new_case(session, users, "emergency")
    run_tick(session, at(-60 * 24 * 30))  # the seeded cases' own thresholds first, so the race is about this one
    run_tick(session, at(29))
    reports = []

    def runner():
        with database.session() as own:
            reports.append(run_tick(own, at(31)))

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.escalated for r in reports) >= 1
    kinds = [k for k, _ in timeline(session, cid)]
    assert kinds.count("escalate") == 1 and kinds.count("sla_breach") == 1
    assert len(session.get(Case, cid).hops) == 2


def test_the_policy_comes_from_the_database_once_the_county_admin_edits_it(session, users):
    assert current_policy(session).window(Urgency.URGENT, Tier.TOWNSHIP).claim_minutes == 240  # the file's default
    admin = session.get(User, users["county.admin"].id)
    windows = [
        {"urgency": "emergency", "claim_minutes": 15, "advice_minutes": 60, "on_breach": "escalate"},
        {"urgency": "urgent", "claim_minutes": 120, "advice_minutes": 720, "on_breach": "reopen"},
        {"urgency": "routine", "claim_minutes": 1440, "advice_minutes": 4320, "on_breach": "notify"},
        {"urgency": "urgent", "tier": "provincial", "claim_minutes": 480, "advice_minutes": 2880,
         "on_breach": "notify"},
    ]
    with pytest.raises(Forbidden):
        update_policy(session, session.get(User, users["township.admin"].id), {"windows": windows})
    with pytest.raises(ValidationFailed) as bad:
        update_policy(session, admin, {"windows": windows[1:]})
    assert "emergency" in str(bad.value.fields)
    with pytest.raises(ValidationFailed):
        update_policy(session, admin, {"windows": [dict(windows[0], advice_minutes=5), *windows[1:]]})
    assert current_policy(session).window(Urgency.URGENT, Tier.TOWNSHIP).claim_minutes == 240  # unchanged

    update_policy(session, admin, {"windows": windows})
    policy = current_policy(session)
    assert policy.window(Urgency.URGENT, Tier.TOWNSHIP).claim_minutes == 120
    assert policy.window(Urgency.URGENT, Tier.PROVINCIAL).on_breach == "notify"
    cid = new_case(session, users, "emergency")
    hop = session.get(Case, cid).current_hop
    assert hop.due_claim_at == T0 + timedelta(minutes=15)
    assert tick(session, at(12), cid) == ["claim_warning:warn"]


def test_the_command_line_runs_one_pass(db_url, tmp_path, session, users, monkeypatch):
    from referral.cli import main

    cid = new_case(session, users, "emergency")
    run_tick(session, at(29))
    monkeypatch.setenv("REFERRAL_DATABASE_URL", db_url)
    monkeypatch.setenv("REFERRAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REFERRAL_REDIS_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["sla-tick", "--now", at(31).astimezone(UTC).isoformat()])
    assert result.exit_code == 0, result.output
    assert "breaches (" in result.output and "escalated" in result.output
    again = runner.invoke(main, ["sla-tick", "--now", at(31).isoformat().replace("+00:00", "Z")])
    assert "0 warnings, 0 breaches" in again.output
    session.expire_all()
    assert session.get(Case, cid).current_hop.tier == "county"
    bad = runner.invoke(main, ["sla-tick", "--now", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output
    assert session.scalar(select(func.count(Event.id)).where(Event.case_id == cid, Event.kind == "escalate")) == 1
