"""JSON shapes of the API's objects."""

from __future__ import annotations

from datetime import date, datetime

from ..domain.privacy import mask_id_number
from ..domain.specialties import specialty
from ..models import Advice, Case, Event, Facility, Hop, Message, Patient, User
from ..services.cases import allowed_actions


def ts(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def facility_ref(f: Facility | None) -> dict | None:
    if f is None:
        return None
    return {"id": f.id, "code": f.code, "name": f.name, "tier": f.tier}


def facility_json(f: Facility) -> dict:
    return {**facility_ref(f), "name_en": f.name_en, "kind": f.kind, "parent_id": f.parent_id,
            "specialties": f.specialties or []}


def user_ref(u: User | None) -> dict | None:
    if u is None:
        return None
    return {"id": u.id, "username": u.username, "display_name": u.display_name, "title": u.title}


def user_json(u: User) -> dict:
    return {**user_ref(u), "roles": u.roles, "specialties": u.specialties, "facility": facility_ref(u.facility),
            "locale": u.locale}


def _age(birth: date | None) -> int | None:
    if birth is None:
        return None
    today = date.today()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def patient_json(p: Patient) -> dict:
    return {"id": p.id, "name": p.name, "sex": p.sex, "birth_date": p.birth_date.isoformat() if p.birth_date else None,
            "age": _age(p.birth_date), "id_number": mask_id_number(p.id_number), "phone": p.phone}


def hop_json(h: Hop) -> dict:
    return {"seq": h.seq, "tier": h.tier, "facility": facility_ref(h.facility), "specialty": h.specialty,
            "assignee": user_ref(h.assignee), "opened_at": ts(h.opened_at), "claimed_at": ts(h.claimed_at),
            "closed_at": ts(h.closed_at), "due_at": ts(h.due_at), "outcome": h.outcome, "routed_by": h.routed_by}


def specialty_json(code: str) -> dict:
    s = specialty(code)
    return {"code": code, "zh": s.zh if s else code, "en": s.en if s else code}


def case_summary(c: Case) -> dict:
    hop = c.current_hop
    return {
        "id": c.id, "reference": c.reference, "status": c.status, "urgency": c.urgency,
        "specialty": c.specialty, "chief_complaint": c.chief_complaint,
        "patient": {"name": c.patient.name, "sex": c.patient.sex, "age": _age(c.patient.birth_date)},
        "origin_facility": facility_ref(c.origin_facility),
        "current_hop": _current_hop(hop), "version": c.version,
        "created_at": ts(c.created_at), "updated_at": ts(c.updated_at),
    }


def _current_hop(hop: Hop | None) -> dict | None:
    if hop is None:
        return None
    return {"tier": hop.tier, "facility": facility_ref(hop.facility), "specialty": hop.specialty,
            "assignee": user_ref(hop.assignee), "due_at": ts(hop.due_at)}


def case_detail(c: Case, viewer: User) -> dict:
    return {
        **case_summary(c),
        "patient": patient_json(c.patient),
        "author": user_ref(c.author),
        "clinical_question": c.clinical_question, "history": c.history,
        "vitals": c.vitals or {}, "diagnoses": c.diagnoses or [],
        "outcome": c.outcome,
        "hops": [hop_json(h) for h in c.hops],
        "allowed_actions": allowed_actions(c, viewer),
        "submitted_at": ts(c.submitted_at), "closed_at": ts(c.closed_at),
    }


def event_json(e: Event) -> dict:
    return {"id": e.id, "kind": e.kind, "actor": user_ref(e.actor), "from_status": e.from_status,
            "to_status": e.to_status, "payload": e.payload or {}, "created_at": ts(e.created_at)}


def message_json(m: Message) -> dict:
    return {"id": m.id, "kind": m.kind, "author": user_ref(m.author), "body": m.body, "created_at": ts(m.created_at)}


def advice_json(a: Advice) -> dict:
    return {"version": a.version, "content": a.content, "signer": user_ref(a.signer),
            "signer_credentials": a.signer_credentials, "signed_at": ts(a.signed_at),
            "superseded_at": ts(a.superseded_at), "current": a.superseded_at is None,
            "pdf_sha256": a.pdf_sha256, "verify_code": a.verify_code}
