"""Creating, listing and reading notifications.

Creation happens inside the caller's transaction (the case action, the SLA tick,
the notice being sent): the rows are written with the change that caused them and
pushed only after the commit (see `delivery.py`). Recipients are chosen by the
rules table and then checked against the one access rule, so a notification never
names a case to someone who may not open it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ..domain.errors import NotFound, ValidationFailed
from ..domain.queue import shows_in_queue
from ..domain.vocabulary import Role
from ..models import Case, Event, Facility, Hop, Notification, User, utcnow
from ..services.actors import scope_of
from ..services.inputs import paging_problems
from ..services.transaction import transactional
from . import delivery
from .channels import Outbound
from .rules import LANGUAGES, Audience, Kind, case_link, goes_outbound, language, rules_for_event, title_for

READ_EVENT = "notifications_read"


def ts(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------ creating


@dataclass(frozen=True)
class Created:
    id: int
    recipient_id: int


class Recipient(Protocol):
    """What notifying a person needs: a `User`, or a `Person` read without loading the whole account."""

    id: int
    locale: str
    username: str
    display_name: str
    phone: str


@dataclass(frozen=True)
class Person:
    id: int
    facility_id: int
    locale: str
    username: str
    display_name: str
    phone: str


def people_at(session: Session, facility_ids: Sequence[int], *, exclude: int | None = None) -> dict[int, list[Person]]:
    """Active accounts of these facilities, by facility: the audience of an emergency notice.
    Reads only the columns notifying needs (a county has thousands of accounts)."""
    out: dict[int, list[Person]] = {}
    ids = list(facility_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(User.id, User.facility_id, User.locale, User.username, User.display_name, User.phone)
            .where(User.facility_id.in_(ids[start:start + 500]), User.active.is_(True)).order_by(User.id))
        for r in rows:
            if r.id != exclude:
                out.setdefault(r.facility_id, []).append(Person(r.id, r.facility_id, r.locale or "zh", r.username,
                                                                r.display_name, r.phone or ""))
    return out


def notify_users(
    session: Session,
    recipients: Sequence[Recipient],
    kind: Kind,
    facts: dict,
    *,
    link: str,
    case_id: int | None = None,
    event_id: int | None = None,
    notice_id: int | None = None,
    urgency: str | None = None,
    payload: dict | None = None,
    now: datetime | None = None,
) -> list[Created]:
    """Store one notification per recipient (title in each one's language) and queue the pushes.

    One multi-row INSERT whatever the number of recipients: an emergency notice to
    every village clinic costs one statement, not a thousand.
    """
    if not recipients:
        return []
    now = now or utcnow()
    titles = {lang: title_for(kind, lang, **facts) for lang in LANGUAGES}
    rows = [
        {"recipient_id": u.id, "kind": kind.value, "case_id": case_id, "event_id": event_id,
         "notice_id": notice_id, "title": titles[language(u.locale)], "link": link,
         "payload": payload or {}, "created_at": now}
        for u in recipients
    ]
    table = Notification.__table__
    ids = session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).all()
    created = [Created(i, row["recipient_id"]) for i, row in zip(ids, rows, strict=True)]
    stamp = ts(now)
    for c, row in zip(created, rows, strict=True):
        delivery.queue_push(session, c.recipient_id, delivery.NOTIFICATION_EVENT, {
            "id": c.id, "kind": kind.value, "case_id": case_id, "title": row["title"], "created_at": stamp,
            "notice_id": notice_id, "link": link,
        })
    if goes_outbound(kind, urgency):
        delivery.queue_outbound(session, [
            Outbound(u.id, u.username, u.display_name, u.phone or "", getattr(u, "email", "") or "", kind.value,
                     row["title"], link)
            for u, row in zip(recipients, rows, strict=True)
        ])
    return created


def notify_case_event(session: Session, case: Case, event: Event) -> list[Created]:
    """The notifications a timeline event calls for (see `rules.EVENT_RULES`), in the event's transaction."""
    rules = rules_for_event(event.kind)
    if not rules:
        return []
    if event.id is None:
        session.flush()
    created: list[Created] = []
    for rule in rules:
        people = case_audience(session, case, rule.audience, exclude=event.actor_id)
        created += notify_case(session, case, rule.kind, people, event=event, now=event.created_at)
    return created


def notify_case(
    session: Session,
    case: Case,
    kind: Kind,
    people: Iterable[User],
    *,
    event: Event | None = None,
    facts: dict | None = None,
    now: datetime | None = None,
) -> list[Created]:
    """Notify `people` about `case`, keeping only those the access rule lets open it."""
    hop = case.current_hop
    base = {"reference": case.reference or f"#{case.id}", "urgency": case.urgency}
    if hop is not None:
        base["facility"] = {"name": hop.facility.name, "name_en": hop.facility.name_en}
    base.update(facts or {})
    allowed = [u for u in _unique(people) if may_see(session, u, case)]
    return notify_users(
        session, allowed, kind, base, link=case_link(case.id, kind), case_id=case.id,
        event_id=event.id if event is not None else None, urgency=case.urgency, now=now,
        payload={"event": event.kind} if event is not None else None,
    )


def notify_consult_invite(session: Session, case: Case, invitee: User, inviter: User,
                          now: datetime | None = None) -> list[Created]:
    """For the consult rooms: tell `invitee` that `inviter` calls them into the case's live consult.

    Call inside the transaction that records the invitation. The invitation is what admits
    the invitee to the room (an expert of another hospital may see nothing else of the case),
    so the case's access rule is not applied here; the title names only the case reference.
    """
    if invitee.id == inviter.id or not invitee.active:
        return []
    facts = {"reference": case.reference or f"#{case.id}", "urgency": case.urgency, "inviter": inviter.display_name}
    return notify_users(session, [invitee], Kind.CONSULT_INVITE, facts, link=case_link(case.id, Kind.CONSULT_INVITE),
                        case_id=case.id, urgency=case.urgency, payload={"event": "consult_invited"}, now=now)


def may_see(session: Session, user: User, case: Case) -> bool:
    """The access rule of `services/access.py`, in its predicate form."""
    if not user.active:
        return False
    return scope_of(session, user).admits(case.origin_facility_id, (h.facility_id for h in case.hops))


def case_audience(session: Session, case: Case, audience: Audience, *, exclude: int | None = None) -> list[User]:
    """The people `audience` names for this case now."""
    hop = case.current_hop
    if audience is Audience.AUTHOR:
        people = [case.author]
    elif hop is None:
        people = []
    elif audience is Audience.ASSIGNEE:
        people = [hop.assignee] if hop.assignee is not None else []
    elif audience is Audience.QUEUE:
        people = queue_specialists(session, hop)
    elif audience is Audience.FACILITY_SPECIALISTS:
        people = [u for u in _staff(session, hop.facility_id) if Role.SPECIALIST.value in (u.roles or ())]
    elif audience is Audience.FACILITY_ADMIN:
        people = facility_admins(session, hop.facility)
    else:  # pragma: no cover - the enum is closed
        raise AssertionError(audience)
    return [u for u in people if u is not None and u.active and u.id != exclude]


def queue_specialists(session: Session, hop: Hop) -> list[User]:
    """Specialists whose queue shows the hop (`domain.queue`)."""
    return [u for u in _staff(session, hop.facility_id)
            if shows_in_queue(u.roles or (), u.specialties or (), hop.specialty)]


def facility_admins(session: Session, facility: Facility) -> list[User]:
    """The admins answerable for a facility: its own, or else those of the nearest facility above it."""
    current: Facility | None = facility
    while current is not None:
        admins = [u for u in _staff(session, current.id) if Role.ADMIN.value in (u.roles or ())]
        if admins:
            return admins
        current = current.parent
    return []


def _staff(session: Session, facility_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.facility_id == facility_id, User.active.is_(True))
                                .order_by(User.id)))


def _unique(people: Iterable[User]) -> list[User]:
    seen, out = set(), []
    for u in people:
        if u.id not in seen:
            seen.add(u.id)
            out.append(u)
    return out


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    total: int
    unread: int
    page: int
    per_page: int


def list_notifications(session: Session, user: User, *, unread_only: bool = False, page: int = 1,
                       per_page: int = 20) -> NotificationPage:
    """The user's own notifications, newest first."""
    if fields := paging_problems(page, per_page):
        raise ValidationFailed("invalid page", fields=fields)
    stmt = select(Notification).where(Notification.recipient_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(session.scalars(stmt.order_by(Notification.id.desc()).offset((page - 1) * per_page).limit(per_page)))
    return NotificationPage(items, total, unread_count(session, user), page, per_page)


def own_notification(session: Session, user: User, notification_id: int) -> Notification:
    """One of the user's notifications; anyone else's answers `not_found`."""
    item = session.get(Notification, notification_id)
    if item is None or item.recipient_id != user.id:
        raise NotFound("no such notification")
    return item


def unread_count(session: Session, user: User) -> int:
    return session.scalar(select(func.count(Notification.id)).where(
        Notification.recipient_id == user.id, Notification.read_at.is_(None))) or 0


@transactional
def mark_read(session: Session, user: User, ids: Sequence[int] | None = None, *, everything: bool = False,
              now: datetime | None = None) -> int:
    """Mark the user's notifications read (the listed ones, or all); returns how many are still unread.

    An id that is not the caller's answers `not_found`, as if it did not exist.
    """
    if not everything:
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ValidationFailed("say which notifications", fields={"ids": "a non-empty list of notification ids"})
        owned = set(session.scalars(select(Notification.id).where(
            Notification.recipient_id == user.id, Notification.id.in_(list(ids)))))
        if owned != set(ids):
            raise NotFound("no such notification")
    stmt = update(Notification).where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
    if not everything:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    session.execute(stmt.values(read_at=now or utcnow()), execution_options={"synchronize_session": "fetch"})
    remaining = unread_count(session, user)
    delivery.queue_push(session, user.id, READ_EVENT, {"unread": remaining})
    return remaining


def notification_json(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "case_id": n.case_id, "notice_id": n.notice_id, "title": n.title,
            "link": n.link, "created_at": ts(n.created_at), "read_at": ts(n.read_at) if n.read_at else None}
