"""The whole record of one case for its reader: the case, its timeline, messages and advice.

The case page shows all four. Reading them through `cases.read_case`, `read_events`,
`read_messages` and `read_advice` checks access four times and commits four times; here
access is checked once, the same four reads are written to the audit trail, and one
transaction commits them. The case is read as plain rows (`case_view.py`), the timeline and
the messages as rows with the name of their author (the page shows nothing else of them);
the advice stays models, for the advice partial of the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, bindparam, cast, literal, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from ..models import Advice, Event, Message, User
from .access import record_reads
from .case_view import CaseView, load_case_view
from .transaction import transactional
from .rows import PersonLabel
from .statements import plain_rows

AUDITED_READS = ("case.read", "case.events.read", "case.messages.read", "case.advice.read")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event of the timeline; `actor` is None for the system."""

    id: int
    kind: str
    from_status: str | None
    to_status: str | None
    payload: dict
    created_at: datetime
    actor_id: int | None
    actor: PersonLabel | None


@dataclass(frozen=True, slots=True)
class MessageEntry:
    id: int
    kind: str
    body: str
    created_at: datetime
    author_id: int
    author: PersonLabel


@dataclass(frozen=True)
class CaseRecord:
    case: CaseView
    events: list[TimelineEntry]  # oldest first
    messages: list[MessageEntry]  # oldest first
    advice: list[Advice]  # every version, oldest first


@transactional
def read_case_record(session: Session, user: User, case_id: int, *, ip: str = "") -> CaseRecord:
    """Everything the reader may see of one case; `not_found` when out of scope. Audited."""
    case = load_case_view(session, user, case_id)
    record_reads(session, user, list(AUDITED_READS), case=case, ip=ip)
    params = {"case_id": case.id}
    events: list[TimelineEntry] = []
    messages: list[MessageEntry] = []
    for source, rid, kind, before, after, payload, body, at, person_id, name in plain_rows(session, _TIMELINE, params):
        if source == _EVENT:
            events.append(TimelineEntry(rid, kind, before, after, payload or {}, at, person_id,
                                        PersonLabel(name) if person_id is not None and name is not None else None))
        else:
            messages.append(MessageEntry(rid, kind, body or "", at, person_id, PersonLabel(name)))
    advice = list(session.scalars(_ADVICE, params)) if case.has_advice else []
    return CaseRecord(case, events, messages, advice)


# Built once: a statement's cache key is worked out once, not on every page view.
_events, _messages, _users = Event.__table__, Message.__table__, User.__table__
# The timeline and the messages in one statement (one row shape, a column saying which), oldest first.
_EVENT, _MESSAGE = 0, 1
_TIMELINE = union_all(
    select(literal(_EVENT).label("source"), _events.c.id.label("row_id"), _events.c.kind, _events.c.from_status, _events.c.to_status,
           _events.c.payload, cast(null(), Text).label("body"), _events.c.created_at,
           _events.c.actor_id.label("person_id"), _users.c.display_name)
    .select_from(_events).outerjoin(_users, _users.c.id == _events.c.actor_id)
    .where(_events.c.case_id == bindparam("case_id")),
    select(literal(_MESSAGE), _messages.c.id, _messages.c.kind, null(), null(), null(), _messages.c.body,
           _messages.c.created_at, _messages.c.author_id, _users.c.display_name)
    .select_from(_messages).join(_users, _users.c.id == _messages.c.author_id)
    .where(_messages.c.case_id == bindparam("case_id")),
).order_by(literal_column("source"), literal_column("row_id"))
_ADVICE = select(Advice).where(Advice.case_id == bindparam("case_id")).order_by(Advice.version)
