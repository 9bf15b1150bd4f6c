"""Finding the patients a doctor's facility already knows, so a new case reuses the record."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import Forbidden, NotFound
from ..domain.privacy import mask_id_number
from ..domain.vocabulary import Role
from ..models import Patient, User
from .access import record_read
from .transaction import transactional

_ID_QUERY = re.compile(r"^[0-9]{4,17}[0-9Xx]?$")
MAX_RESULTS = 20


def _require_doctor(user: User) -> None:
    if Role.DOCTOR.value not in (user.roles or ()):
        raise Forbidden("only doctors look up patients for new cases")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@transactional
def search_patients(session: Session, user: User, query: str, *, limit: int = MAX_RESULTS,
                    ip: str = "") -> list[Patient]:
    """Patients registered at the doctor's own facility, by name or resident ID number.

    A full ID number matches exactly; 4 to 17 digits match the end of the number
    (what a doctor reads off a card in a hurry); anything else matches the name.
    The search is a read of protected data and is recorded in the audit trail,
    with the query masked.
    """
    _require_doctor(user)
    q = (query or "").strip()
    if not q:
        return []
    stmt = select(Patient).where(Patient.facility_id == user.facility_id)
    if _ID_QUERY.match(q):
        q = q.upper()
        stmt = stmt.where(Patient.id_number == q) if len(q) == 18 else stmt.where(
            Patient.id_number.like("%" + _like_escape(q), escape="\\"))
        shown = mask_id_number(q) if len(q) == 18 else "*" * len(q)
    else:
        stmt = stmt.where(Patient.name.like("%" + _like_escape(q[:100]) + "%", escape="\\"))
        shown = q[:1] + "*" * (len(q) - 1)
    found = list(session.scalars(stmt.order_by(Patient.name, Patient.id).limit(max(1, min(limit, MAX_RESULTS)))))
    record_read(session, user, "patient.search", object_type="patient", ip=ip, query=shown, results=len(found))
    return found


def patient_of_facility(session: Session, user: User, patient_id: int) -> Patient:
    """One patient of the doctor's facility (for showing the chosen patient on a form)."""
    _require_doctor(user)
    patient = session.get(Patient, patient_id)
    if patient is None or patient.facility_id != user.facility_id:
        raise NotFound("no such patient at your facility")
    return patient
