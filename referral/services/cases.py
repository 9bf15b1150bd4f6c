"""Case use cases: create a draft, read, and move a case through the workflow (lists: worklists.py).

Every change of status goes through `perform_action`, which checks the
transition table, applies the action's effect, bumps the version (optimistic
lock) and appends the timeline event, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..advice.issuing import sign_and_render
from ..domain import routing, workflow
from ..domain.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from ..domain.routing import FacilityRef
from ..domain.vocabulary import HopOutcome, Role, Tier, Urgency
from ..domain.workflow import Action, CaseFacts, CaseStatus
from ..models import Advice, Case, Event, Facility, Hop, Message, Patient, User, utcnow
from ..notifications import notify_case_event
from . import inputs
from .access import record_read, visible_case
from .actors import actor_facts
from .auth import reentered_password_matches
from .directory import DbDirectory, ref
from .sla import current_policy
from .transaction import transactional

REFERENCE_PREFIX = "YX"


# ---------------------------------------------------------------- reading


def case_facts(case: Case) -> CaseFacts:
    hop = case.current_hop
    return CaseFacts(
        status=CaseStatus(case.status),
        author_id=case.author_id,
        origin_facility_id=case.origin_facility_id,
        hop_facility_id=hop.facility_id if hop is not None and hop.closed_at is None else None,
        hop_tier=Tier(hop.tier) if hop is not None else None,
        assignee_id=hop.assignee_id if hop is not None and hop.closed_at is None else None,
    )


def allowed_actions(case: Case, user: User) -> list[str]:
    return workflow.allowed_actions(case_facts(case), actor_facts(user))


@transactional
def read_case(session: Session, user: User, case_id: int, *, ip: str = "") -> Case:
    """One case for display; the read is recorded in the audit trail."""
    case = visible_case(session, user, case_id)
    record_read(session, user, "case.read", case=case, ip=ip)
    return case


@transactional
def read_events(session: Session, user: User, case_id: int, *, ip: str = "") -> list[Event]:
    """The timeline, oldest first; the read is recorded in the audit trail."""
    case = visible_case(session, user, case_id)
    record_read(session, user, "case.events.read", case=case, ip=ip)
    return list(session.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.id)))


@transactional
def read_messages(session: Session, user: User, case_id: int, *, ip: str = "") -> list[Message]:
    case = visible_case(session, user, case_id)
    record_read(session, user, "case.messages.read", case=case, ip=ip)
    return list(session.scalars(select(Message).where(Message.case_id == case.id).order_by(Message.id)))


@transactional
def read_advice(session: Session, user: User, case_id: int, *, ip: str = "") -> list[Advice]:
    case = visible_case(session, user, case_id)
    record_read(session, user, "case.advice.read", case=case, ip=ip)
    return list(session.scalars(select(Advice).where(Advice.case_id == case.id).order_by(Advice.version)))


# ---------------------------------------------------------------- creating


@transactional
def create_draft(session: Session, user: User, data: inputs.CaseIn, *, now: datetime | None = None) -> Case:
    """A new case in `draft`, for a patient of the author's facility."""
    if Role.DOCTOR.value not in (user.roles or ()):
        raise Forbidden("only doctors create cases")
    now = now or utcnow()
    patient = _patient_for(session, user, data)
    case = Case(
        patient=patient,
        origin_facility_id=user.facility_id,
        author_id=user.id,
        urgency=data.urgency.value,
        specialty=data.specialty,
        chief_complaint=data.chief_complaint,
        clinical_question=data.clinical_question,
        history=data.history,
        vitals=data.vitals.model_dump(exclude_none=True),
        diagnoses=[d.model_dump() for d in data.diagnoses],
        status=CaseStatus.DRAFT.value,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    case.reference = f"{REFERENCE_PREFIX}-{now.year}-{case.id:06d}"
    _append_event(session, case, user, "created", None, CaseStatus.DRAFT, {}, now)
    return case


def _patient_for(session: Session, user: User, data: inputs.CaseIn) -> Patient:
    if data.patient_id is not None:
        patient = session.get(Patient, data.patient_id)
        if patient is None or patient.facility_id != user.facility_id:
            raise NotFound("no such patient at your facility")
        return patient
    p = data.patient
    if p.id_number:
        existing = session.scalars(
            select(Patient).where(Patient.facility_id == user.facility_id, Patient.id_number == p.id_number)
        ).first()
        if existing is not None:
            if _same_person(existing, p):
                return existing
            # Never attach a case to someone else because of a mistyped ID number.
            raise ValidationFailed(
                "this ID number is already registered to another patient",
                fields={"patient.id_number": f"already registered as {existing.name}; choose the existing patient "
                                             "or check the number"},
            )
    patient = Patient(
        facility_id=user.facility_id, name=p.name, sex=p.sex.value, birth_date=p.birth_date,
        id_number=p.id_number, phone=p.phone,
    )
    session.add(patient)
    return patient


def _same_person(existing: Patient, p: inputs.PatientIn) -> bool:
    """The details typed agree with the registered patient (blanks agree with anything)."""
    return (
        existing.name == p.name
        and existing.sex == p.sex.value
        and (p.birth_date is None or existing.birth_date in (None, p.birth_date))
    )


# ---------------------------------------------------------------- the workflow


@transactional
def perform_action(
    session: Session,
    user: User,
    case_id: int,
    action: str,
    data: dict | None = None,
    *,
    version: int | None = None,
    now: datetime | None = None,
) -> Case:
    """Take a workflow action on a case, atomically, or refuse it with the precise reason."""
    case = visible_case(session, user, case_id)
    if version is not None and version != case.version:
        raise Conflict(
            f"the case has changed since you loaded it (now version {case.version}); reload and try again",
            version=case.version,
        )
    transition = workflow.check(action, case_facts(case), actor_facts(user))
    fields = inputs.parse(inputs.ACTION_INPUTS[transition.action.value], data or {})
    now = now or utcnow()
    before = CaseStatus(case.status)
    payload = _EFFECTS[transition.action](session, case, user, fields, now) or {}
    case.status = transition.target.value
    case.version += 1
    case.updated_at = now
    event = _append_event(session, case, user, transition.action.value, before, transition.target, payload, now)
    notify_case_event(session, case, event)
    return case


def _append_event(session, case, actor, kind, before, after, payload, now) -> Event:
    event = Event(
        case_id=case.id,
        hop_id=case.current_hop_id,
        actor_id=actor.id if actor is not None else None,
        kind=kind,
        from_status=before.value if before else None,
        to_status=after.value if after else None,
        payload=payload,
        created_at=now,
    )
    session.add(event)
    return event


def _open_hop(session: Session, case: Case, target: FacilityRef, specialty: str, rule: str, now: datetime) -> Hop:
    window = current_policy(session).window(Urgency(case.urgency), target.tier)
    due_claim, due_advice = window.due(now)
    seq = len(case.hops) + 1
    hop = Hop(
        case_id=case.id, seq=seq, tier=target.tier.value, facility_id=target.id, specialty=specialty,
        routed_by=rule, opened_at=now, due_claim_at=due_claim, due_advice_at=due_advice,
    )
    session.add(hop)
    session.flush()
    case.hops.append(hop)
    case.current_hop = hop
    case.current_hop_id = hop.id
    return hop


def _close_hop(case: Case, outcome: HopOutcome, now: datetime) -> None:
    hop = case.current_hop
    if hop is not None and hop.closed_at is None:
        hop.closed_at = now
        hop.outcome = outcome.value


def _route_from(session: Session, case: Case, origin: Facility, specialty: str, now: datetime) -> dict:
    target, rule = routing.next_facility(ref(origin), specialty, Urgency(case.urgency), DbDirectory(session))
    hop = _open_hop(session, case, target, specialty, rule.name, now)
    return {"to_facility": {"id": target.id, "name": target.name, "tier": target.tier.value}, "rule": rule.name,
            "due_at": hop.due_claim_at.isoformat()}


def _submit(session, case, user, fields, now):
    case.submitted_at = case.submitted_at or now
    return _route_from(session, case, case.origin_facility, case.specialty, now)


def _resubmit(session, case, user, fields, now):
    return {"note": fields.note, **_route_from(session, case, case.origin_facility, case.specialty, now)}


def _cancel(session, case, user, fields, now):
    _close_hop(case, HopOutcome.CANCELLED, now)
    case.closed_at = now
    return {"reason": fields.reason}


def _claim(session, case, user, fields, now):
    hop = case.current_hop
    hop.assignee = user
    hop.claimed_at = now
    return {"hop": hop.seq}


def _release(session, case, user, fields, now):
    hop = case.current_hop
    hop.assignee = None
    hop.claimed_at = None
    # A fresh claim window: the case rejoins the pool now, not when it first arrived.
    hop.due_claim_at, hop.due_advice_at = current_policy(session).window(Urgency(case.urgency), Tier(hop.tier)).due(now)
    return {"note": fields.note, "due_at": hop.due_claim_at.isoformat()}


def _message(kind: str):
    def effect(session, case, user, fields, now):
        msg = Message(case_id=case.id, author_id=user.id, kind=kind, body=fields.message, created_at=now)
        session.add(msg)
        session.flush()
        if kind == "follow_up":
            hop = case.current_hop
            hop.closed_at, hop.outcome = None, None
            hop.due_advice_at = current_policy(session).window(Urgency(case.urgency), Tier(hop.tier)).due(now)[1]
        return {"message_id": msg.id, "message": fields.message}

    return effect


def _escalate(session, case, user, fields, now):
    hop = case.current_hop
    specialty = fields.specialty or hop.specialty
    from_facility = hop.facility
    _close_hop(case, HopOutcome.ESCALATED, now)
    routed = _route_from(session, case, from_facility, specialty, now)
    return {"reason": fields.reason, "specialty": specialty,
            "from_facility": {"id": from_facility.id, "name": from_facility.name, "tier": from_facility.tier}, **routed}


def _decline(session, case, user, fields, now):
    _close_hop(case, HopOutcome.DECLINED, now)
    return {"reason": fields.reason}


def _issue_advice(session, case, user, fields, now):
    if not reentered_password_matches(user, fields.password):
        raise ValidationFailed("signing needs your password", fields={"password": "the password does not match"})
    hop = case.current_hop
    previous = session.scalars(
        select(Advice).where(Advice.case_id == case.id).order_by(Advice.version.desc())
    ).first()
    advice = Advice(
        case_id=case.id, hop_id=hop.id, version=(previous.version + 1) if previous else 1,
        content=fields.advice.model_dump(mode="json"), signer_id=user.id, signed_at=now,
        signer_credentials={"name": user.display_name, "title": user.title, "specialties": list(user.specialties),
                            "facility": user.facility.name},
    )
    # The signed PDF is rendered and stored before anything is written: a failed render raises
    # `render_failed` and the transaction rolls back, leaving the advice unissued.
    signed = sign_and_render(session, case, advice, user, now)
    if previous is not None:
        previous.superseded_at = now
    session.add(advice)
    session.flush()
    _close_hop(case, HopOutcome.ADVISED, now)
    return {"advice_version": advice.version, "disposition": fields.advice.disposition,
            "supersedes": previous.version if previous is not None else None, **signed.payload()}


def _close(session, case, user, fields, now):
    case.outcome = fields.outcome.value
    case.closed_at = now
    return {"outcome": fields.outcome.value, "note": fields.note}


# ---------------------------------------------------------------- the system (SLA timer)


def system_escalate(session: Session, case: Case, now: datetime, reason: str, **details) -> Event:
    """Send a case that waited too long to the next tier, on behalf of the SLA timer (no actor).

    Outside the transition table's parties: the system acts when no person did. The
    routing is the same as a specialist's escalation. With no tier above it refuses
    with `RoutingError` before changing anything. The caller's transaction commits.
    """
    hop = case.current_hop
    before = CaseStatus(case.status)
    if hop is None or hop.closed_at is not None or before not in (CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW):
        raise InvalidTransition("only a case waiting at or reviewed by a facility can be escalated", allowed_actions=[])
    from_facility = hop.facility
    routing.next_facility(ref(from_facility), hop.specialty, Urgency(case.urgency), DbDirectory(session))
    _close_hop(case, HopOutcome.ESCALATED, now)
    routed = _route_from(session, case, from_facility, hop.specialty, now)
    case.status = CaseStatus.SUBMITTED.value
    case.version += 1
    case.updated_at = now
    payload = {"reason": reason, "system": True, "specialty": hop.specialty,
               "from_facility": {"id": from_facility.id, "name": from_facility.name, "tier": from_facility.tier},
               **routed, **details}
    event = _append_event(session, case, None, Action.ESCALATE.value, before, CaseStatus.SUBMITTED, payload, now)
    notify_case_event(session, case, event)
    return event


def system_release(session: Session, case: Case, now: datetime, reason: str, **details) -> Event:
    """Take a case back from a specialist who did not answer in time and reopen it to the
    facility's whole pool, with a fresh claim window (otherwise it would be overdue the
    moment it reopens). On behalf of the SLA timer; the caller's transaction commits."""
    hop = case.current_hop
    before = CaseStatus(case.status)
    if hop is None or hop.closed_at is not None or before is not CaseStatus.IN_REVIEW or hop.assignee is None:
        raise InvalidTransition("only a case in review can be released", allowed_actions=[])
    released = hop.assignee
    hop.assignee = None
    hop.claimed_at = None
    hop.due_claim_at, hop.due_advice_at = current_policy(session).window(Urgency(case.urgency), Tier(hop.tier)).due(now)
    case.status = CaseStatus.SUBMITTED.value
    case.version += 1
    case.updated_at = now
    payload = {"reason": reason, "system": True, "released": {"id": released.id, "name": released.display_name},
               "due_at": hop.due_claim_at.isoformat(), **details}
    event = _append_event(session, case, None, Action.RELEASE.value, before, CaseStatus.SUBMITTED, payload, now)
    notify_case_event(session, case, event)
    return event


Effect = Callable[[Session, Case, User, inputs.Strict, datetime], dict | None]

_EFFECTS: dict[Action, Effect] = {
    Action.SUBMIT: _submit,
    Action.CANCEL: _cancel,
    Action.CLAIM: _claim,
    Action.RELEASE: _release,
    Action.REQUEST_INFO: _message("info_request"),
    Action.PROVIDE_INFO: _message("info_response"),
    Action.ESCALATE: _escalate,
    Action.DECLINE: _decline,
    Action.RESUBMIT: _resubmit,
    Action.ISSUE_ADVICE: _issue_advice,
    Action.FOLLOW_UP: _message("follow_up"),
    Action.CLOSE: _close,
}

assert set(_EFFECTS) == set(Action), "every action in the transition table needs an effect"
