"""Who may be in a case's video consult room, and what they may do there.

The rule (one rule, used by every join and every relayed message):

- the case's author (the referring doctor, often with the patient beside her),
- every specialist who is or was the assignee of one of the case's hops,
- every specialist an assignee invited (until the invitation is revoked).

Nobody else, whatever else they may see: an administrator who may read the case
is not a participant in the patient's consultation.

Also here, because they are pure: TURN REST credentials (the scheme coturn's
`use-auth-secret` implements) and the lifetime of a consult session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .vocabulary import Role
from .workflow import ActorFacts


@dataclass(frozen=True)
class RoomFacts:
    """What the membership rule needs to know about a case."""

    case_id: int
    author_id: int
    assignee_ids: frozenset[int] = frozenset()
    invited_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, case_id: int, author_id: int, assignee_ids: Iterable[int | None] = (),
           invited_ids: Iterable[int] = ()) -> "RoomFacts":
        return cls(case_id, author_id, frozenset(a for a in assignee_ids if a is not None), frozenset(invited_ids))

    @property
    def members(self) -> frozenset[int]:
        return frozenset({self.author_id}) | self.assignee_ids | self.invited_ids


def is_member(room: RoomFacts, user_id: int) -> bool:
    """Whether the user may join the room and send anything into it."""
    return user_id in room.members


def may_invite(room: RoomFacts, actor: ActorFacts) -> bool:
    """An assignee (current or past) brings in another specialist, e.g. a provincial expert."""
    return actor.user_id in room.assignee_ids and actor.has_role(Role.SPECIALIST)


def may_be_invited(room: RoomFacts, invitee: ActorFacts, active: bool = True) -> bool:
    """Only an active specialist who is not already in the room."""
    return active and invitee.has_role(Role.SPECIALIST) and invitee.user_id not in room.members


def may_record(room: RoomFacts, actor: ActorFacts) -> bool:
    """Recording is the specialist's call: an assignee or an invited specialist, never a bystander."""
    return actor.has_role(Role.SPECIALIST) and (actor.user_id in room.assignee_ids or actor.user_id in room.invited_ids)


def turn_credentials(secret: str, user_id: int, now: datetime, ttl_seconds: int) -> tuple[str, str, int]:
    """TURN REST API credentials: username `<expiry>:<user_id>`, password base64(HMAC-SHA1(secret, username)).

    coturn (`use-auth-secret`, `static-auth-secret=<secret>`) recomputes the HMAC and refuses the
    username once its expiry (Unix seconds) has passed, so a leaked credential dies on its own.
    """
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    expiry = int(now.timestamp()) + ttl_seconds
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii"), expiry


def duration_seconds(started_at: datetime, ended_at: datetime) -> int:
    """Whole seconds of a consult, never negative (clocks of two processes may disagree slightly)."""
    return max(0, int((ended_at - started_at).total_seconds()))
