"""Appending the consult's events to the case timeline (in the caller's transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..models import Case, Event, User


def append_event(session: Session, case_id: int, actor: User | None, kind: str, now: datetime, **payload) -> Event:
    """One timeline event of kind `consult_*` attached to the case's current hop."""
    case = session.get(Case, case_id)
    event = Event(case_id=case_id, hop_id=case.current_hop_id if case else None,
                  actor_id=actor.id if actor else None, kind=kind, payload=payload, created_at=now)
    session.add(event)
    return event
