"""Lists of cases, fast at any size: a specialist's queue, a person's own cases ("mine") and
every case the caller may see (an administrator's jurisdiction). The home pages and the
API's `GET /cases` both list through here.

Two things make them cheap (tests/web/test_worklists.py holds them to the plain ORM form
of the same questions: same rows, order and totals):

- Each row loads exactly the columns a list shows, as a `CaseSummary`, in one query: no
  ORM objects, no eager loads of the case's author, hops and their users.
- Each question starts from an index. "Mine" as one OR over the whole case table would
  scan it; here each half (cases by author, hops by assignee) is looked up on its own
  and the halves are united. The jurisdiction's total is counted in two disjoint parts
  (cases that originated in the jurisdiction, and the others that passed through it), the
  second from whichever side is smaller.

The one access rule (`case_filter`) is applied to every row and every count.

Building a statement and computing its cache key cost more than running it on these
small pages, so the statements of a list are built once per distinct question (the
caller's scope and facts, the filters, the page) and reused (`statements.py`); they carry
their values and are re-run against the database every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select, union
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from ..domain.access import CaseScope
from ..domain.errors import ValidationFailed
from ..domain.queue import queued_specialties
from ..domain.vocabulary import URGENCY_ORDER, Urgency
from ..domain.workflow import CaseStatus
from ..models import Case, Facility, Hop, Patient, User
from .access import case_filter
from .actors import scope_of
from .inputs import paging_problems
from .rows import HOP_WIDTH, FacilityLabel, HopRow, hop_columns, hop_row
from .statements import cached_statements, plain_rows

LIST_SCOPES = ("mine", "queue", "all")


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    page: int
    per_page: int


@dataclass(frozen=True, slots=True)
class PatientSummary:
    name: str
    sex: str
    birth_date: date | None


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """One row of a case list: the attributes of `Case` that the lists show, by the same names."""

    id: int
    reference: str | None
    urgency: str
    status: str
    specialty: str
    chief_complaint: str
    version: int
    created_at: datetime
    updated_at: datetime
    patient: PatientSummary
    origin_facility: FacilityLabel
    current_hop: HopRow | None


# The current hop and the facilities and person of a row, joined by alias.
_current = Hop.__table__.alias("current_hop")
_origin = Facility.__table__.alias("origin_facility")
_hop_facility = Facility.__table__.alias("hop_facility")
_assignee = User.__table__.alias("assignee")
_patients = Patient.__table__

_SUMMARY_COLUMNS = (
    Case.id, Case.reference, Case.urgency, Case.status, Case.specialty, Case.chief_complaint, Case.version,
    Case.created_at, Case.updated_at,
    _patients.c.name, _patients.c.sex, _patients.c.birth_date,
    _origin.c.id, _origin.c.code, _origin.c.name, _origin.c.name_en, _origin.c.tier,
    *hop_columns(_current, _hop_facility, _assignee),
)


_SUMMARY_SELECT = (
    select(*_SUMMARY_COLUMNS)
    .select_from(Case)
    .join(_patients, _patients.c.id == Case.patient_id)
    .join(_origin, _origin.c.id == Case.origin_facility_id)
    .outerjoin(_current, _current.c.id == Case.current_hop_id)
    .outerjoin(_hop_facility, _hop_facility.c.id == _current.c.facility_id)
    .outerjoin(_assignee, _assignee.c.id == _current.c.assignee_id)
)

def _summary(row) -> CaseSummary:
    (cid, reference, urgency, status, specialty, complaint, version, created_at, updated_at, p_name, p_sex, p_birth,
     o_id, o_code, o_name, o_name_en, o_tier) = row[:-HOP_WIDTH]
    return CaseSummary(cid, reference, urgency, status, specialty, complaint, version, created_at, updated_at,
                       PatientSummary(p_name, p_sex, p_birth), FacilityLabel(o_id, o_code, o_name, o_name_en or "", o_tier),
                       hop_row(row[-HOP_WIDTH:]))


def _summaries(session: Session, stmt: Select) -> list[CaseSummary]:
    return [_summary(row) for row in plain_rows(session, stmt, {})]


def _page(items: list[CaseSummary], page: int, per_page: int, count: Callable[[], int]) -> Page:
    """The page with its total. A page that is neither empty nor full is the last one, so the total is
    known without counting (a specialist's queue and "mine" usually fit on their first page)."""
    offset = (page - 1) * per_page
    if 0 < len(items) < per_page or (page == 1 and not items):
        return Page(items, offset + len(items), page, per_page)
    return Page(items, count(), page, per_page)


def _filter_errors(*, scope: str = "all", status: str | None = None, urgency: str | None = None, page: int = 1,
                   per_page: int = 20) -> dict[str, str]:
    """What is wrong with a list's filters, by field (empty when nothing is)."""
    fields = {}
    if scope not in LIST_SCOPES:
        fields["scope"] = f"one of {', '.join(LIST_SCOPES)}"
    if any(s not in CaseStatus.__members__.values() for s in (status or "").split(",") if s):
        fields["status"] = "unknown status"
    if urgency and urgency not in Urgency.__members__.values():
        fields["urgency"] = "one of routine, urgent, emergency"
    fields.update(paging_problems(page, per_page))
    return fields


def _check(**filters) -> list[str]:
    """Refuse bad filters, every wrong field at once; the statuses asked for."""
    if fields := _filter_errors(**filters):
        raise ValidationFailed("invalid filter", fields=fields)
    return [s for s in (filters.get("status") or "").split(",") if s]


def list_cases(session: Session, user: User, *, scope: str = "all", status: str | None = None,
               urgency: str | None = None, page: int = 1, per_page: int = 20) -> Page:
    """The cases `user` may see, by scope: "queue" (waiting for them), "mine" (written or held by
    them) or "all"; filtered by status (comma-separated) and urgency."""
    _check(scope=scope, status=status, urgency=urgency, page=page, per_page=per_page)
    lister = {"queue": queue, "mine": my_cases, "all": jurisdiction_cases}[scope]
    return lister(session, user, status=status, urgency=urgency, page=page, per_page=per_page)


# ---------------------------------------------------------------- the specialist's queue


def queue_filter(user: User, current) -> list:
    """The SQL form of `domain.queue`: waiting at the caller's facility in a specialty their
    queue shows (`current` is the current hop's table)."""
    queued = queued_specialties(user.roles or (), user.specialties or ())
    if queued is not None and not queued:
        return [False]
    conditions = [
        Case.status == CaseStatus.SUBMITTED.value,
        current.c.facility_id == user.facility_id,
        current.c.closed_at.is_(None),
    ]
    if queued is not None:
        conditions.append(current.c.specialty.in_(sorted(queued)))
    return conditions


def queue(session: Session, user: User, *, status: str | None = None, urgency: str | None = None, page: int = 1,
          per_page: int = 20) -> Page:
    """Cases waiting at the specialist's facility in their specialties, most urgent and soonest due first."""
    statuses = _check(status=status, urgency=urgency, page=page, per_page=per_page)
    scope = scope_of(session, user)

    def build() -> tuple[Select, Select]:
        conditions = [case_filter(scope), *queue_filter(user, _current)]
        if statuses:
            conditions.append(Case.status.in_(statuses))
        if urgency:
            conditions.append(Case.urgency == urgency)
        count = (select(func.count()).select_from(Case).outerjoin(_current, _current.c.id == Case.current_hop_id)
                 .where(*conditions))
        rank = sql_case({u.value: i for i, u in enumerate(URGENCY_ORDER)}, value=Case.urgency)
        due = func.coalesce(_current.c.due_claim_at, _current.c.opened_at)
        rows = (_SUMMARY_SELECT.where(*conditions).order_by(rank, due, Case.id)
                .offset((page - 1) * per_page).limit(per_page))
        return count, rows

    key = ("queue", scope, tuple(user.roles or ()), user.facility_id, tuple(user.specialties or ()), tuple(statuses),
           urgency, page, per_page)
    count, rows = cached_statements(key, build)
    return _page(_summaries(session, rows), page, per_page, lambda: plain_rows(session, count, {}).scalar() or 0)


# ---------------------------------------------------------------- "mine"


def my_cases(session: Session, user: User, *, status: str | None = None, urgency: str | None = None, page: int = 1,
             per_page: int = 20) -> Page:
    """The cases `user` wrote or is handling now, most recently changed first."""
    statuses = _check(status=status, urgency=urgency, page=page, per_page=per_page)
    scope = scope_of(session, user)

    def build() -> tuple[Select, Select]:
        authored = select(Case.id).where(Case.author_id == user.id)
        held = (select(Case.id).join(Hop, Hop.id == Case.current_hop_id)
                .where(Hop.assignee_id == user.id, Hop.closed_at.is_(None)))
        if statuses:
            authored = authored.where(Case.status.in_(statuses))
            held = held.where(Case.status.in_(statuses))
        if urgency:
            authored = authored.where(Case.urgency == urgency)
            held = held.where(Case.urgency == urgency)
        ids = union(authored, held).subquery()
        visible = select(Case.id).where(Case.id.in_(select(ids.c.id)), case_filter(scope))
        count = select(func.count()).select_from(visible.subquery())
        rows = (_SUMMARY_SELECT.where(Case.id.in_(visible)).order_by(Case.updated_at.desc(), Case.id.desc())
                .offset((page - 1) * per_page).limit(per_page))
        return count, rows

    count, rows = cached_statements(("mine", user.id, scope, tuple(statuses), urgency, page, per_page), build)
    return _page(_summaries(session, rows), page, per_page, lambda: plain_rows(session, count, {}).scalar() or 0)


# ---------------------------------------------------------------- an administrator's jurisdiction


def jurisdiction_cases(session: Session, user: User, *, status: str | None = None, urgency: str | None = None,
                       page: int = 1, per_page: int = 20) -> Page:
    """Every case `user` may see, most recently changed first.

    The page walks the index on `updated_at`; the total is the expensive part (see `_count_visible`)."""
    statuses = _check(status=status, urgency=urgency, page=page, per_page=per_page)
    scope = scope_of(session, user)
    filters = []
    if statuses:
        filters.append(Case.status.in_(statuses))
    if urgency:
        filters.append(Case.urgency == urgency)

    def build() -> tuple[Select]:
        return (_SUMMARY_SELECT.where(case_filter(scope), *filters)
                .order_by(Case.updated_at.desc(), Case.id.desc()).offset((page - 1) * per_page).limit(per_page)),

    (rows,) = cached_statements(("all", scope, tuple(statuses), urgency, page, per_page), build)
    return _page(_summaries(session, rows), page, per_page, lambda: _count_visible(session, scope, filters))


def _count(session: Session, stmt: Select) -> int:
    return session.scalar(stmt) or 0


ESTIMATE_CAP = 5000  # enough to tell a small side from a large one


def _count_visible(session: Session, scope: CaseScope, filters: list, *, lead: str | None = None) -> int:
    """The number of cases in `scope` that pass `filters`.

    One count over `origin IN (...) OR EXISTS (hop IN ...)` probes the hops of every case in
    the table. Instead the visible cases are counted in two disjoint parts, each still under
    `case_filter`: those that originated in the scope's facilities (an index range), and those
    that originated elsewhere, i.e. at one of the other facilities (`origin_facility_id` is a
    foreign key, so "elsewhere" is an index range too). The second part is looked up from its
    smaller side: from the cases of the other facilities (a county's jurisdiction: almost none),
    or from the hops at the scope's facilities (a township's jurisdiction: few). `lead` ("hops"
    or "origins") sets the side instead; both give the same number.
    """
    visible = case_filter(scope)
    origins = sorted(scope.origin_facility_ids)
    hop_facilities = sorted(scope.hop_facility_ids)
    if scope.everything or not origins or not hop_facilities:
        return _count(session, select(func.count()).select_from(Case).where(visible, *filters))
    inside = _count(session, select(func.count()).select_from(Case)
                    .where(Case.origin_facility_id.in_(origins), visible, *filters))
    elsewhere = sorted(set(session.scalars(select(Facility.id))) - scope.origin_facility_ids)
    if not elsewhere:
        return inside
    from_elsewhere = Case.origin_facility_id.in_(elsewhere)
    passed = select(Hop.case_id).where(Hop.facility_id.in_(hop_facilities))
    if lead is None:
        cases_elsewhere = _count(session, select(func.count()).select_from(
            select(Case.id).where(from_elsewhere).limit(ESTIMATE_CAP).subquery()))
        hops_inside = _count(session, select(func.count()).select_from(passed.limit(ESTIMATE_CAP).subquery()))
        lead = "hops" if hops_inside < cases_elsewhere else "origins"
    if lead == "hops":  # (NOT IN: the hops lead, not the index of origins)
        others = select(func.count()).select_from(Case).where(
            Case.id.in_(passed), Case.origin_facility_id.not_in(origins), visible, *filters)
    else:
        others = select(func.count()).select_from(Case).where(from_elsewhere, visible, *filters)
    return inside + _count(session, others)
