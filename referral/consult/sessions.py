"""Consult sessions on the case's timeline: the first person in starts one, the last one out ends
it (with its duration and participants), and the chat of the room is kept as timeline events.

Who is connected right now lives in the presence store (shared through Redis across processes);
these functions take the live socket ids from it so that a connection lost with a crashed
process does not keep a session open forever.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain.consult import duration_seconds
from ..domain.errors import ValidationFailed
from ..models import Case, ConsultParticipant, ConsultSession, Event, User, utcnow
from ..services.access import record_read
from ..services.inputs import refuse_control_characters
from ..services.transaction import transactional
from .rooms import require_member
from .timeline import append_event

MAX_CHAT = 2000
ROLES = ("participant", "recorder", "streamer")


@dataclass(frozen=True)
class Joined:
    consult: ConsultSession
    participant: ConsultParticipant
    started: bool


def open_session(session: Session, case_id: int) -> ConsultSession | None:
    return session.scalars(select(ConsultSession).where(ConsultSession.open_case_id == case_id)).first()


def _start_session(session: Session, user: User, case_id: int, now: datetime) -> tuple[ConsultSession, bool]:
    """The open session of the case, starting one if none is open (at most one, even across processes)."""
    current = open_session(session, case_id)
    if current is not None:
        return current, False
    try:
        with session.begin_nested():
            current = ConsultSession(case_id=case_id, open_case_id=case_id, started_by_id=user.id, started_at=now)
            session.add(current)
    except IntegrityError:  # another process opened it a moment ago
        current = open_session(session, case_id)
        assert current is not None
        return current, False
    session.flush()
    return current, True


def _people(consult: ConsultSession) -> set[int]:
    return {p.user_id for p in consult.participants}


def _close_stale(session: Session, consult: ConsultSession, live_sids: Collection[str], now: datetime) -> None:
    """Mark as left the connections that are no longer live (their process went away)."""
    for p in consult.participants:
        if p.left_at is None and p.sid not in live_sids:
            p.left_at = now


@transactional
def join_session(session: Session, user: User, case_id: int, sid: str, *, role: str = "participant",
                 live_sids: Collection[str] = (), ip: str = "", now: datetime | None = None) -> Joined:
    """A member enters the room: the open session (or a new one) records the connection."""
    require_member(session, user, case_id)
    if role not in ROLES:
        raise ValidationFailed("unknown role", fields={"role": f"one of {', '.join(ROLES)}"})
    now = now or utcnow()
    consult, started = _start_session(session, user, case_id, now)
    _close_stale(session, consult, set(live_sids) | {sid}, now)
    before = _people(consult)
    participant = ConsultParticipant(session_id=consult.id, user_id=user.id, sid=sid, role=role, joined_at=now)
    session.add(participant)
    session.flush()
    session.refresh(consult, ["participants"])
    # A consult begins when a second person comes in: one person opening the room and leaving again
    # (to check the camera, say) is no event of the case.
    if len(before) == 1 and user.id not in before:
        append_event(session, case_id, session.get(User, consult.started_by_id), "consult_started", now,
                     session_id=consult.id)
    record_read(session, user, "consult.join", case=session.get(Case, case_id), ip=ip, role=role)
    return Joined(consult, participant, started)


@transactional
def leave_session(session: Session, case_id: int, sid: str, *, live_sids: Collection[str] = (),
                  now: datetime | None = None) -> ConsultSession | None:
    """A connection leaves; if nobody live is left, the session ends (returned) with its summary."""
    now = now or utcnow()
    consult = open_session(session, case_id)
    if consult is None:
        return None
    live = set(live_sids) - {sid}
    for p in consult.participants:
        if p.left_at is None and (p.sid == sid or p.sid not in live):
            p.left_at = now
    if any(p.left_at is None for p in consult.participants):
        return None
    duration = duration_seconds(consult.started_at, now)
    ended = session.execute(
        update(ConsultSession)
        .where(ConsultSession.id == consult.id, ConsultSession.ended_at.is_(None))
        .values(ended_at=now, open_case_id=None, duration_seconds=duration)
    ).rowcount
    if ended != 1:  # another process ended it first
        return None
    session.refresh(consult)
    if len(_people(consult)) < 2:
        return consult  # nobody met: no consult on the timeline (see `join_session`)
    append_event(session, case_id, None, "consult_ended", now, session_id=consult.id,
           started_at=consult.started_at.isoformat(), ended_at=now.isoformat(), duration_seconds=duration,
           participants=participant_summary(consult))
    return consult


def participant_summary(consult: ConsultSession) -> list[dict]:
    """Each person once: when they first joined, last left, and how long they were in the room."""
    people: dict[int, dict] = {}
    for p in consult.participants:
        entry = people.setdefault(p.user_id, {"user_id": p.user_id, "name": p.user.display_name,
                                              "roles": set(), "joined_at": p.joined_at, "left_at": p.left_at,
                                              "seconds": 0})
        entry["roles"].add(p.role)
        entry["joined_at"] = min(entry["joined_at"], p.joined_at)
        if p.left_at is not None:
            entry["left_at"] = max(entry["left_at"] or p.left_at, p.left_at)
            entry["seconds"] += duration_seconds(p.joined_at, p.left_at)
    return [
        {**e, "roles": sorted(e["roles"]), "joined_at": e["joined_at"].isoformat(),
         "left_at": e["left_at"].isoformat() if e["left_at"] else None}
        for e in people.values()
    ]


@transactional
def post_chat(session: Session, user: User, case_id: int, text: object, *, now: datetime | None = None) -> Event:
    """A chat line of the room, kept on the case's timeline."""
    require_member(session, user, case_id)
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("empty message", fields={"text": "write something"})
    text = text.strip()
    if len(text) > MAX_CHAT:
        raise ValidationFailed("message too long", fields={"text": f"at most {MAX_CHAT} characters"})
    refuse_control_characters(text=text)
    now = now or utcnow()
    consult = open_session(session, case_id)
    event = append_event(session, case_id, user, "consult_chat", now, session_id=consult.id if consult else None, text=text)
    session.flush()
    return event


def recent_chat(session: Session, user: User, case_id: int, limit: int = 100) -> list[Event]:
    """The room's latest chat lines, oldest first, for someone (re)joining."""
    require_member(session, user, case_id)
    rows = session.scalars(
        select(Event).where(Event.case_id == case_id, Event.kind == "consult_chat").order_by(Event.id.desc()).limit(limit)
    )
    return list(reversed(list(rows)))


def past_sessions(session: Session, user: User, case_id: int) -> list[ConsultSession]:
    """The consults of the case, newest first: sessions where at least two people met (and the one open now)."""
    require_member(session, user, case_id)
    met = (select(ConsultParticipant.session_id).group_by(ConsultParticipant.session_id)
           .having(func.count(func.distinct(ConsultParticipant.user_id)) > 1))
    return list(session.scalars(
        select(ConsultSession).where(ConsultSession.case_id == case_id)
        .where(ConsultSession.id.in_(met) | ConsultSession.ended_at.is_(None))
        .order_by(ConsultSession.id.desc())
    ))
