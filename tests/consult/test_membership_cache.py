"""The membership cache over the real database: fresh facts within the TTL, refreshed in the
background after it, reloaded before answering when too old or forgotten."""

from __future__ import annotations

import time

from referral.consult.invitations import invite_specialist, revoke_invitation
from referral.consult.rooms import MembershipCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_revocations_are_seen_within_the_ttl_and_at_once_after_forget(app, consult_case, users):
    database = app.extensions["referral"].database
    sessions = database.sessionmaker
    expert, specialist = users["province.expert"].id, users["county.specialist"]
    clock = Clock()
    cache = MembershipCache(ttl=2, max_age=10, clock=clock)
    with sessions() as s:
        invitation = invite_specialist(s, s.get(type(specialist), specialist.id), consult_case,
                                       username="province.expert").id
    assert cache.admits(sessions, consult_case, expert)
    with sessions() as s:  # revoked by another process: this one does not know yet
        revoke_invitation(s, s.get(type(specialist), specialist.id), consult_case, invitation)
    clock.now += 1
    assert cache.admits(sessions, consult_case, expert)  # within the TTL
    clock.now += 2
    assert cache.admits(sessions, consult_case, expert)  # stale: answered at once, refreshed behind
    for _ in range(200):
        if not cache.admits(sessions, consult_case, expert):
            break
        time.sleep(0.01)
    assert not cache.admits(sessions, consult_case, expert)
    with sessions() as s:
        invite_specialist(s, s.get(type(specialist), specialist.id), consult_case, username="province.expert")
    cache.forget(consult_case)  # this process changed it: seen at once
    assert cache.admits(sessions, consult_case, expert)
    assert not cache.admits(sessions, 999_999, expert)
