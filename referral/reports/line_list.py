"""The case-level line list behind the aggregates: one row per case submitted in the period.

It carries no names or phone numbers; the patient's ID number is masked
(region prefix and last four characters). Only administrators get it, and every
export is written to the audit trail (services/reports.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ..domain.privacy import mask_id_number
from ..domain.vocabulary import HopOutcome
from ..models import Case, Facility, Hop, Patient
from .figures import Slice, case_cohort
from .filters import LOCAL_TZ

MAX_ROWS = 100_000


@dataclass(frozen=True)
class LineItem:
    reference: str
    submitted_at: datetime  # UTC; exporters show it in Shanghai time
    origin_facility: str
    origin_tier: str
    urgency: str
    specialty: str
    status: str
    outcome: str | None
    current_facility: str
    current_tier: str
    hops: int
    escalations: int
    closed_at: datetime | None
    patient_sex: str
    patient_age: int | None
    id_number_masked: str | None
    diagnoses: str  # "I10 原发性高血压; E11.9 ..."


COLUMNS = ("reference", "submitted_at", "origin_facility", "origin_tier", "urgency", "specialty", "status",
           "outcome", "current_facility", "current_tier", "hops", "escalations", "closed_at", "patient_sex",
           "patient_age", "id_number_masked", "diagnoses")


def line_items(session: Session, s: Slice, limit: int = MAX_ROWS) -> tuple[list[LineItem], bool]:
    """The cases of the period in submission order, at most `limit`; and whether there were more."""
    dialect = session.get_bind().dialect.name
    origin = aliased(Facility, name="sender")
    current = aliased(Hop, name="current")
    at = aliased(Facility, name="at_facility")
    hops = select(func.count()).where(Hop.case_id == Case.id).correlate(Case).scalar_subquery()
    escalations = (select(func.count()).where(Hop.case_id == Case.id, Hop.outcome == HopOutcome.ESCALATED.value)
                   .correlate(Case).scalar_subquery())
    stmt = (
        case_cohort(s, dialect)
        .with_only_columns(Case.reference, Case.submitted_at, origin.name, origin.tier, Case.urgency, Case.specialty,
                           Case.status, Case.outcome, at.name, at.tier, hops, escalations, Case.closed_at,
                           Patient.sex, Patient.birth_date, Patient.id_number, Case.diagnoses)
        .join(Patient, Patient.id == Case.patient_id)
        .join(origin, origin.id == Case.origin_facility_id)
        .outerjoin(current, current.id == Case.current_hop_id)
        .outerjoin(at, at.id == current.facility_id)
        .order_by(Case.submitted_at, Case.id)
        .limit(limit + 1)
    )
    items = []
    for row in session.execute(stmt):
        (reference, submitted_at, origin_name, origin_tier, urgency, specialty, status, outcome, at_name, at_tier,
         n_hops, n_escalations, closed_at, sex, birth_date, id_number, diagnoses) = row
        items.append(LineItem(
            reference or "", submitted_at, origin_name, origin_tier, urgency, specialty, status, outcome,
            at_name or "", at_tier or "", int(n_hops), int(n_escalations), closed_at, sex,
            _age_at(birth_date, submitted_at), mask_id_number(id_number), _diagnoses(diagnoses),
        ))
    return items[:limit], len(items) > limit


def _age_at(birth: date | None, when: datetime) -> int | None:
    if birth is None or when is None:
        return None
    day = when.astimezone(LOCAL_TZ).date()
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _diagnoses(items) -> str:
    if not isinstance(items, list):
        return ""
    parts = []
    for item in items:
        if isinstance(item, dict) and item.get("code"):
            parts.append(f"{item['code']} {item.get('name') or ''}".strip())
    return "; ".join(parts)
