"""The fast lists of the home pages (`services/worklists.py`) answer exactly like
`cases.list_cases` on the demo data, for every account, filter and page: the same rows in
the same order, the same totals, and rows that show the same facts as the cases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from referral.domain.errors import ValidationFailed
from referral.models import Case, Facility, User
from referral.services import cases as case_service
from referral.services import worklists
from referral.services.actors import scope_of

PAGES = ((1, 100), (1, 2), (2, 2), (50, 20))


def _same_facts(summary: worklists.CaseSummary, case: Case) -> None:
    """A row shows what the case would: its patient, where it is, who has it, when it is due."""
    assert (summary.id, summary.reference, summary.urgency, summary.status, summary.specialty) == (
        case.id, case.reference, case.urgency, case.status, case.specialty)
    assert (summary.chief_complaint, summary.updated_at) == (case.chief_complaint, case.updated_at)
    assert (summary.patient.name, summary.patient.sex, summary.patient.birth_date) == (
        case.patient.name, case.patient.sex, case.patient.birth_date)
    assert (summary.origin_facility.name, summary.origin_facility.name_en) == (
        case.origin_facility.name, case.origin_facility.name_en or "")
    hop = case.current_hop
    if hop is None:
        assert summary.current_hop is None
        return
    got = summary.current_hop
    assert (got.facility.name, got.closed_at, got.due_at) == (hop.facility.name, hop.closed_at, hop.due_at)
    assert (got.assignee.display_name if got.assignee else None) == (
        hop.assignee.display_name if hop.assignee else None)


def _check(got: case_service.Page, expected: case_service.Page, what) -> None:
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


def test_my_cases_matches_list_cases_mine(session, users):
    for user in users.values():
        for status in (None, "submitted,in_review", "closed,cancelled", "draft"):
            for page, per_page in PAGES:
                expected = case_service.list_cases(session, user, scope="mine", status=status, page=page,
                                                   per_page=per_page)
                got = worklists.my_cases(session, user, status=status, page=page, per_page=per_page)
                _check(got, expected, (user.username, status, page))


def test_queue_matches_list_cases_queue(session, users):
    seen = 0
    for user in users.values():
        for urgency in (None, "routine", "urgent", "emergency"):
            for page, per_page in PAGES:
                expected = case_service.list_cases(session, user, scope="queue", urgency=urgency, page=page,
                                                   per_page=per_page)
                got = worklists.queue(session, user, urgency=urgency, page=page, per_page=per_page)
                _check(got, expected, (user.username, urgency, page))
                seen += len(got.items)
    assert seen  # the demo has cases waiting


def test_jurisdiction_cases_match_list_cases_all(session, users):
    people = [*users.values(), *_extra_admins(session)]
    for user in people:
        for status, urgency in ((None, None), ("closed", None), ("submitted,in_review", "urgent"),
                                (None, "emergency"), ("draft", None)):
            for page, per_page in PAGES:
                expected = case_service.list_cases(session, user, scope="all", status=status, urgency=urgency,
                                                   page=page, per_page=per_page)
                got = worklists.jurisdiction_cases(session, user, status=status, urgency=urgency, page=page,
                                                   per_page=per_page)
                _check(got, expected, (user.username, status, urgency, page))


def test_the_jurisdiction_total_is_the_same_from_either_side(session, users):
    for user in [*users.values(), *_extra_admins(session)]:
        scope = scope_of(session, user)
        for status, filters in ((None, []), ("closed", [Case.status.in_(["closed"])])):
            expected = case_service.list_cases(session, user, scope="all", status=status).total
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
