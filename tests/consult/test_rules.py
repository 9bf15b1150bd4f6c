"""The membership rule and TURN credentials: pure functions, no database."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from referral.domain.consult import (RoomFacts, duration_seconds, is_member, may_be_invited, may_invite, may_record,
                                     turn_credentials)
from referral.domain.workflow import ActorFacts

ROOM = RoomFacts.of(case_id=7, author_id=1, assignee_ids=[2, None, 3], invited_ids=[4])


def actor(uid: int, *roles: str) -> ActorFacts:
    return ActorFacts(user_id=uid, facility_id=1, roles=frozenset(roles))


@pytest.mark.parametrize("uid,member", [(1, True), (2, True), (3, True), (4, True), (5, False), (0, False)])
def test_members_are_author_assignees_and_invited(uid, member):
    assert is_member(ROOM, uid) is member


def test_only_assignee_specialists_invite_and_only_specialists_outside_are_invitable():
    assert may_invite(ROOM, actor(2, "specialist"))
    assert not may_invite(ROOM, actor(1, "doctor"))  # the author
    assert not may_invite(ROOM, actor(4, "specialist"))  # an invited expert does not invite others
    assert may_be_invited(ROOM, actor(9, "specialist"))
    assert not may_be_invited(ROOM, actor(9, "doctor"))
    assert not may_be_invited(ROOM, actor(3, "specialist"))  # already a member
    assert not may_be_invited(ROOM, actor(9, "specialist"), active=False)


def test_recording_is_for_the_consult_specialists():
    assert may_record(ROOM, actor(3, "specialist")) and may_record(ROOM, actor(4, "specialist"))
    assert not may_record(ROOM, actor(1, "doctor", "specialist"))  # the author, not an assignee
    assert not may_record(ROOM, actor(5, "specialist"))


def test_turn_credentials_follow_the_coturn_rest_scheme():
    now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    username, credential, expiry = turn_credentials("s3cret", 42, now, 600)
    assert username == f"{int(now.timestamp()) + 600}:42" and expiry == int(now.timestamp()) + 600
    expected = base64.b64encode(hmac.new(b"s3cret", username.encode(), hashlib.sha1).digest()).decode()
    assert credential == expected
    with pytest.raises(ValueError):
        turn_credentials("s3cret", 42, now, 0)


def test_duration_is_whole_seconds_never_negative():
    a = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    b = datetime(2026, 3, 1, 8, 2, 5, 900000, tzinfo=UTC)
    assert duration_seconds(a, b) == 125 and duration_seconds(b, a) == 0
