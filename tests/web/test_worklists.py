"""The fast lists (`services/worklists.py`, behind the home pages and `GET /api/v1/cases`)
answer exactly like the plain ORM form of the same questions on the demo data, for every
account, filter and page: the same rows in the same order, the same totals, and rows that
show the same facts as the cases."""

from __future__ import annotations

import pytest
from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select

from referral.domain.errors import ValidationFailed
from referral.domain.vocabulary import URGENCY_ORDER
from referral.models import Case, Facility, Hop, User
from referral.services import worklists
from referral.services.access import case_filter
from referral.services.actors import scope_of

PAGES = ((1, 100), (1, 2), (2, 2), (50, 20))


def _plain(session, user, *, scope="all", status=None, urgency=None, page=1, per_page=20) -> worklists.Page:
    """The lists written the obvious way: ORM cases under the one access rule, one OR for
    "mine", a COUNT(*) of the whole filtered set."""
    stmt = select(Case).where(case_filter(scope_of(session, user)))
    current = Hop.__table__.alias("current_hop")
    stmt = stmt.outerjoin(current, current.c.id == Case.current_hop_id)
    if scope == "mine":
        stmt = stmt.where(or_(Case.author_id == user.id, (current.c.assignee_id == user.id) & current.c.closed_at.is_(None)))
    elif scope == "queue":
        stmt = stmt.where(*worklists.queue_filter(user, current))
    if status:
        stmt = stmt.where(Case.status.in_(status.split(",")))
    if urgency:
        stmt = stmt.where(Case.urgency == urgency)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if scope == "queue":
        rank = sql_case({u.value: i for i, u in enumerate(URGENCY_ORDER)}, value=Case.urgency)
        stmt = stmt.order_by(rank, func.coalesce(current.c.due_claim_at, current.c.opened_at), Case.id)
    else:
        stmt = stmt.order_by(Case.updated_at.desc(), Case.id.desc())
    items = list(session.scalars(stmt.offset((page - 1) * per_page).limit(per_page)).unique())
    return worklists.Page(items, total or 0, page, per_page)


def _same_facts(summary: worklists.CaseSummary, case: Case) -> None:
    """A row shows what the case would: its patient, where it is, who has it, when it is due."""
    assert (summary.id, summary.reference, summary.urgency, summary.status, summary.specialty) == (
        case.id, case.reference, case.urgency, case.status, case.specialty)
    assert (summary.chief_complaint, summary.updated_at, summary.created_at, summary.version) == (
        case.chief_complaint, case.updated_at, case.created_at, case.version)
    assert (summary.patient.name, summary.patient.sex, summary.patient.birth_date) == (
        case.patient.name, case.patient.sex, case.patient.birth_date)
    origin = summary.origin_facility
    assert (origin.id, origin.code, origin.name, origin.name_en, origin.tier) == (
        case.origin_facility.id, case.origin_facility.code, case.origin_facility.name,
        case.origin_facility.name_en or "", case.origin_facility.tier)
    hop = case.current_hop
    if hop is None:
        assert summary.current_hop is None
        return
    got = summary.current_hop
    assert (got.facility.id, got.facility.code, got.facility.name, got.facility.tier) == (
        hop.facility.id, hop.facility.code, hop.facility.name, hop.facility.tier)
    assert (got.tier, got.specialty, got.opened_at, got.closed_at, got.due_at) == (
        hop.tier, hop.specialty, hop.opened_at, hop.closed_at, hop.due_at)
    person = (lambda u: (u.id, u.username, u.display_name, u.title) if u else None)
    assert person(got.assignee) == person(hop.assignee)


def _check(got: worklists.Page, expected: worklists.Page, what) -> None:
    assert [c.id for c in got.items] == [c.id for c in expected.items], what
    assert (got.total, got.page, got.per_page) == (expected.total, expected.page, expected.per_page), what
    for summary, case in zip(got.items, expected.items):
        _same_facts(summary, case)


def _extra_admins(session) -> list[User]:
    """Administrators whose jurisdiction cases pass through without starting there (a county
    hospital's), and one who is a doctor too: the counts' second part is not empty for them."""
    hospital = session.scalars(select(Facility).where(Facility.code == "YX-RMYY")).one()
    village = session.scalars(select(Facility).where(Facility.code == "YX-T01-V01")).one()
    extra = [
        User(username="hospital.admin", display_name="院办", password_hash="x", facility_id=hospital.id,
             roles=["admin"], specialties=[]),
        User(username="village.admin", display_name="村医兼管理", password_hash="x", facility_id=village.id,
             roles=["admin", "doctor", "specialist"], specialties=["general_practice"]),
    ]
    session.add_all(extra)
    session.flush()
    return extra


def test_my_cases_match_the_plain_query(session, users):
    for user in users.values():
        for status in (None, "submitted,in_review", "closed,cancelled", "draft"):
            for page, per_page in PAGES:
                expected = _plain(session, user, scope="mine", status=status, page=page, per_page=per_page)
                got = worklists.my_cases(session, user, status=status, page=page, per_page=per_page)
                _check(got, expected, (user.username, status, page))


def test_queue_matches_the_plain_query(session, users):
    seen = 0
    for user in users.values():
        for urgency in (None, "routine", "urgent", "emergency"):
            for page, per_page in PAGES:
                expected = _plain(session, user, scope="queue", urgency=urgency, page=page, per_page=per_page)
                got = worklists.queue(session, user, urgency=urgency, page=page, per_page=per_page)
                _check(got, expected, (user.username, urgency, page))
                seen += len(got.items)
    assert seen  # the demo has cases waiting


def test_jurisdiction_cases_match_the_plain_query(session, users):
    people = [*users.values(), *_extra_admins(session)]
    for user in people:
        for status, urgency in ((None, None), ("closed", None), ("submitted,in_review", "urgent"),
                                (None, "emergency"), ("draft", None)):
            for page, per_page in PAGES:
                expected = _plain(session, user, scope="all", status=status, urgency=urgency, page=page,
                                  per_page=per_page)
                got = worklists.jurisdiction_cases(session, user, status=status, urgency=urgency, page=page,
                                                   per_page=per_page)
                _check(got, expected, (user.username, status, urgency, page))


def test_the_jurisdiction_total_is_the_same_from_either_side(session, users):
    for user in [*users.values(), *_extra_admins(session)]:
        scope = scope_of(session, user)
        for status, filters in ((None, []), ("closed", [Case.status.in_(["closed"])])):
            expected = _plain(session, user, scope="all", status=status).total
            for lead in (None, "hops", "origins"):
                assert worklists._count_visible(session, scope, filters, lead=lead) == expected, (user.username, lead)


def test_lists_refuse_bad_filters(session, users):
    user = users["county.admin"]
    with pytest.raises(ValidationFailed):
        worklists.jurisdiction_cases(session, user, status="lost")
    with pytest.raises(ValidationFailed):
        worklists.jurisdiction_cases(session, user, urgency="soon")
    with pytest.raises(ValidationFailed):
        worklists.queue(session, users["township.specialist"], per_page=101)
    with pytest.raises(ValidationFailed):
        worklists.my_cases(session, users["village.doctor"], page=0)


def test_every_scope_takes_every_filter(session, users):
    """The API passes status and urgency to every scope; each list applies both."""
    for user in users.values():
        for scope in worklists.LIST_SCOPES:
            for status, urgency in (("submitted", "urgent"), ("closed,cancelled", "routine"), ("draft", "emergency")):
                got = worklists.list_cases(session, user, scope=scope, status=status, urgency=urgency, per_page=100)
                expected = _plain(session, user, scope=scope, status=status, urgency=urgency, per_page=100)
                _check(got, expected, (user.username, scope, status, urgency))


def test_bad_filters_are_named_together(session, users):
    with pytest.raises(ValidationFailed) as caught:
        worklists.list_cases(session, users["county.admin"], scope="everyone", status="lost", urgency="soon", page=0,
                             per_page=0)
    assert set(caught.value.details["fields"]) == {"scope", "status", "urgency", "page", "per_page"}
