"""The access rule in its predicate form."""

from __future__ import annotations

from referral.domain.access import case_scope
from referral.domain.workflow import ActorFacts


def actor(roles, facility=10):
    return ActorFacts(user_id=1, facility_id=facility, roles=frozenset(roles))


def test_doctor_sees_cases_their_facility_originated():
    scope = case_scope(actor({"doctor"}))
    assert scope.admits(10, [20])
    assert not scope.admits(11, [10])  # a case that merely passed through a doctor's facility


def test_specialist_sees_cases_that_are_or_were_at_their_facility():
    scope = case_scope(actor({"specialist"}, facility=20))
    assert scope.admits(10, [20, 30])
    assert not scope.admits(20, [30])


def test_admin_sees_their_jurisdiction():
    scope = case_scope(actor({"admin"}, facility=5), jurisdiction=frozenset({5, 6, 7}))
    assert scope.admits(6, [])
    assert scope.admits(99, [7])
    assert not scope.admits(99, [98])


def test_sysadmin_sees_everything_and_nobody_else_does():
    assert case_scope(actor({"sysadmin"})).admits(1, [])
    assert case_scope(actor(set())).empty


def test_an_invited_specialist_sees_the_case_they_were_invited_to():
    expert = ActorFacts(user_id=42, facility_id=99, roles=frozenset({"specialist"}))
    scope = case_scope(expert)
    assert scope.admits(10, [20], invited_user_ids=[42])
    assert not scope.admits(10, [20], invited_user_ids=[43])
    assert case_scope(actor({"doctor"})).invited_user_id is None  # only specialists are invited
