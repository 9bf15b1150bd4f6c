"""One case as plain rows, for a reader who changes nothing (the API's case detail, the case page).

`visible_case` loads the case as a model with its patient, facilities, author and every
hop with its facility and assignee: what a transition needs. A reader needs the same facts
but none of the ORM's bookkeeping, which costs more than the two queries themselves. Here
they come from one statement (the case joined to each of its hops) built once per access scope, as frozen dataclasses that use
the models' attribute names, so the serializers and `allowed_actions` take either.

The access rule is the same `case_filter`; the read is audited like `cases.read_case`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, bindparam, exists, select
from sqlalchemy.orm import Session

from ..domain.errors import NotFound
from ..models import Advice, Case, Facility, Hop, Patient, User
from .access import CaseRef, case_filter, record_read, remember_visible
from .actors import scope_of
from .transaction import transactional
from .statements import cached_statements, plain_rows
from .rows import FacilityLabel, HopRow, UserLabel, hop_columns, hop_row


@dataclass(frozen=True, slots=True)
class PatientView:
    id: int
    name: str
    sex: str
    birth_date: date | None
    id_number: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class CaseView:
    """What a reader sees of a case, by the names of `Case`."""

    id: int
    reference: str | None
    status: str
    urgency: str
    specialty: str
    chief_complaint: str
    clinical_question: str
    history: str
    vitals: dict
    diagnoses: list
    outcome: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    closed_at: datetime | None
    author_id: int
    origin_facility_id: int
    current_hop_id: int | None
    patient: PatientView
    origin_facility: FacilityLabel
    author: UserLabel
    hops: tuple[HopRow, ...]
    has_advice: bool  # whether any version of advice was issued (the page reads them only then)

    @property
    def current_hop(self) -> HopRow | None:
        return next((h for h in self.hops if h.id == self.current_hop_id), None)


# Aliases throughout: the access rule's EXISTS over hops must not correlate with the hops joined here.
_patients = Patient.__table__
_origin = Facility.__table__.alias("origin_facility")
_author = User.__table__.alias("author")
_hops = Hop.__table__.alias("hop")
_facilities = Facility.__table__.alias("hop_facility")
_users = User.__table__.alias("assignee")

_CASE_COLUMNS = (
    Case.id, Case.reference, Case.status, Case.urgency, Case.specialty, Case.chief_complaint, Case.clinical_question,
    Case.history, Case.vitals, Case.diagnoses, Case.outcome, Case.version, Case.created_at, Case.updated_at,
    Case.submitted_at, Case.closed_at, Case.author_id, Case.origin_facility_id, Case.current_hop_id,
    _patients.c.id, _patients.c.name, _patients.c.sex, _patients.c.birth_date, _patients.c.id_number,
    _patients.c.phone,
    _origin.c.code, _origin.c.name, _origin.c.name_en, _origin.c.tier,
    _author.c.username, _author.c.display_name, _author.c.title,
    exists().where(Advice.case_id == Case.id).label("has_advice"),
)
# One row per hop (one row with empty hop columns for a draft), in hop order.
_CASE_SELECT = (
    select(*_CASE_COLUMNS, *hop_columns(_hops, _facilities, _users)).select_from(Case)
    .join(_patients, _patients.c.id == Case.patient_id)
    .join(_origin, _origin.c.id == Case.origin_facility_id)
    .join(_author, _author.c.id == Case.author_id)
    .outerjoin(_hops, _hops.c.case_id == Case.id)
    .outerjoin(_facilities, _facilities.c.id == _hops.c.facility_id)
    .outerjoin(_users, _users.c.id == _hops.c.assignee_id)
    .where(Case.id == bindparam("case_id"))
    .order_by(_hops.c.seq)
)
_SPLIT = len(_CASE_COLUMNS)


@transactional
def read_case_view(session: Session, user: User, case_id: int, *, ip: str = "") -> CaseView:
    """The case for display if `user` may see it (`not_found` otherwise); the read is audited."""
    view = load_case_view(session, user, case_id)
    record_read(session, user, "case.read", case=view, ip=ip)
    return view


def load_case_view(session: Session, user: User, case_id: int) -> CaseView:
    """The case if `user` may see it, `not_found` otherwise, within the caller's transaction
    (which audits the read)."""
    scope = scope_of(session, user)
    (stmt,) = cached_statements(("case_view", scope), lambda: _visible(scope))
    rows = plain_rows(session, stmt, {"case_id": case_id}).all()
    if not rows:
        raise NotFound("no such case")
    hops = tuple(hop for row in rows if (hop := hop_row(row[_SPLIT:])) is not None)
    view = _case(rows[0][:_SPLIT], hops)
    remember_visible(session, user, CaseRef(view.id, view.origin_facility_id, view.author_id, view.status))
    return view


def _visible(scope) -> tuple[Select]:
    return (_CASE_SELECT.where(case_filter(scope)),)


def _case(row, hops: tuple[HopRow, ...]) -> CaseView:
    (cid, reference, status, urgency, specialty, complaint, question, history, vitals, diagnoses, outcome, version,
     created_at, updated_at, submitted_at, closed_at, author_id, origin_id, current_hop_id,
     p_id, p_name, p_sex, p_birth, p_id_number, p_phone,
     o_code, o_name, o_name_en, o_tier, a_username, a_name, a_title, has_advice) = row
    return CaseView(
        cid, reference, status, urgency, specialty, complaint, question, history or "", vitals or {}, diagnoses or [],
        outcome, version, created_at, updated_at, submitted_at, closed_at, author_id, origin_id, current_hop_id,
        PatientView(p_id, p_name, p_sex, p_birth, p_id_number, p_phone),
        FacilityLabel(origin_id, o_code, o_name, o_name_en or "", o_tier),
        UserLabel(author_id, a_username, a_name, a_title),
        hops, bool(has_advice),
    )
