"""The room of a case: who is in it (the membership rule applied to the database) and the ICE
servers a member gets. Every join, every relayed message and every page of the room asks here."""

from __future__ import annotations

import queue
import threading
import time
from datetime import datetime

from sqlalchemy import bindparam, literal, select, true, union_all
from sqlalchemy.orm import Session

from ..config import Settings
from ..domain.consult import RoomFacts, is_member, turn_credentials
from ..domain.errors import NotFound
from ..models import Case, ConsultInvitation, Hop, Recording, User
from ..services.statements import plain_rows


def room_facts(session: Session, case_id: int) -> RoomFacts | None:
    """The membership facts of a case (None if there is no such case): author, assignees of every hop,
    live invitations. A deactivated account is nobody's member any more."""
    return _facts(case_id, plain_rows(session, _ROOM_PEOPLE, {"case_id": case_id}).all())


def room_facts_and_recordings(session: Session, case_id: int) -> tuple[RoomFacts | None, bool]:
    """`room_facts` and whether the case has a ready recording, in the same statement: the case
    page shows the consult panel to members, and to everyone else only when there is a recording."""
    rows = plain_rows(session, _ROOM_PEOPLE_AND_RECORDINGS, {"case_id": case_id}).all()
    return _facts(case_id, rows), any(role == "recording" for role, _uid, _active in rows)


def _facts(case_id: int, rows) -> RoomFacts | None:
    author = next(((uid, active) for role, uid, active in rows if role == "author"), None)
    if author is None:
        return None
    assignees = {uid for role, uid, active in rows if role == "assignee" and active}
    invited = {uid for role, uid, active in rows if role == "invited" and active}
    return RoomFacts(case_id, author[0] if author[1] else -1, frozenset(assignees), frozenset(invited))


# Everyone the room admits, with whether their account is active: one statement (every join, every
# relayed message's cache refresh and every case page asks this).
_PEOPLE = (
    select(literal("author"), Case.author_id, User.active)
    .join(User, User.id == Case.author_id).where(Case.id == bindparam("case_id")),
    select(literal("assignee"), Hop.assignee_id, User.active)
    .join(User, User.id == Hop.assignee_id).where(Hop.case_id == bindparam("case_id")),
    select(literal("invited"), ConsultInvitation.invitee_id, User.active)
    .join(User, User.id == ConsultInvitation.invitee_id)
    .where(ConsultInvitation.case_id == bindparam("case_id"), ConsultInvitation.revoked_at.is_(None)),
)
_ROOM_PEOPLE = union_all(*_PEOPLE)
_ROOM_PEOPLE_AND_RECORDINGS = union_all(*_PEOPLE, select(literal("recording"), Recording.id, true()).where(
    Recording.case_id == bindparam("case_id"), Recording.status == "ready"))


def require_member(session: Session, user: User, case_id: int, facts: RoomFacts | None = None) -> RoomFacts:
    """The room's facts if `user` is a member; `not_found` otherwise, exactly as for an absent case.
    `facts`: the room's facts when the caller has just read them (one page asks several questions)."""
    facts = facts if facts is not None and facts.case_id == case_id else room_facts(session, case_id)
    if facts is None or not user.active or not is_member(facts, user.id):
        raise NotFound("no such case")
    return facts


def member_case(session: Session, user: User, case_id: int) -> Case:
    """The case of a room `user` may enter (an invited specialist may not otherwise see the case)."""
    require_member(session, user, case_id)
    case = session.get(Case, case_id)
    assert case is not None
    return case


class MembershipCache:
    """Room facts kept for a couple of seconds, so that checking membership on every relayed ICE
    candidate does not cost a query each.

    Within `ttl` the facts are used as they are; after it they are still used while one background
    refresh reloads them (so a relayed message never waits for the database), up to `max_age`, past
    which a check waits for fresh facts. `forget` drops a case at once when this process changes its
    invitations; another process's change is seen within about `ttl` seconds.
    """

    def __init__(self, ttl: float = 2.0, max_age: float = 10.0, clock=time.monotonic) -> None:
        self.ttl, self.max_age, self.clock = ttl, max_age, clock
        self._facts: dict[int, tuple[float, RoomFacts | None]] = {}
        self._refreshing: set[int] = set()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._worker: threading.Thread | None = None

    def _load(self, session_factory, case_id: int) -> RoomFacts | None:
        loaded_at = self.clock()
        with session_factory() as session:
            facts = room_facts(session, case_id)
        with self._lock:
            if len(self._facts) > 10_000:
                self._facts.clear()
            current = self._facts.get(case_id)
            if current is None or current[0] <= loaded_at:
                self._facts[case_id] = (loaded_at, facts)
            self._refreshing.discard(case_id)
        return facts

    def _refresh(self, session_factory, case_id: int) -> None:
        try:
            self._load(session_factory, case_id)
        except Exception:  # noqa: BLE001 - the next check loads synchronously once max_age passes
            with self._lock:
                self._refreshing.discard(case_id)

    def facts(self, session_factory, case_id: int) -> RoomFacts | None:
        now = self.clock()
        with self._lock:
            hit = self._facts.get(case_id)
            age = now - hit[0] if hit is not None else None
            refresh = age is not None and self.ttl <= age < self.max_age and case_id not in self._refreshing
            if refresh:
                self._refreshing.add(case_id)
        if age is None or age >= self.max_age:
            return self._load(session_factory, case_id)
        if refresh:
            self._queue.put((session_factory, case_id))
            self._ensure_worker()
        return hit[1]

    def _ensure_worker(self) -> None:
        """One refreshing thread per cache, started on first need."""
        with self._lock:
            if self._worker is not None:
                return
            self._worker = threading.Thread(target=self._work, name="consult-membership", daemon=True)
        self._worker.start()

    def _work(self) -> None:
        while True:
            session_factory, case_id = self._queue.get()
            self._refresh(session_factory, case_id)

    def admits(self, session_factory, case_id: int, user_id: int) -> bool:
        facts = self.facts(session_factory, case_id)
        return facts is not None and is_member(facts, user_id)

    def prime(self, facts: RoomFacts) -> None:
        """Facts just read (at a join) serve the next checks."""
        with self._lock:
            self._facts[facts.case_id] = (self.clock(), facts)

    def forget(self, case_id: int) -> None:
        with self._lock:
            self._facts.pop(case_id, None)


def ice_servers_for(settings: Settings, user_id: int, now: datetime) -> list[dict]:
    """The RTCIceServer list for a room member: the configured servers, plus TURN with short-lived
    credentials of this user when coturn's shared secret is configured."""
    servers = [dict(s) for s in settings.ice_servers]
    if settings.turn_secret and settings.turn_urls:
        username, credential, _expiry = turn_credentials(settings.turn_secret, user_id, now,
                                                        settings.turn_ttl_seconds)
        servers.append({"urls": list(settings.turn_urls), "username": username, "credential": credential})
    return servers
