"""Delivery after commit: a notification is pushed only once the row that records it is durable.

Services queue deliveries on the session (`session.info`); a session listener sends
them when the transaction commits and forgets them when it rolls back. So a push
never announces something that did not happen, and the pushing never holds the
transaction open.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import Session

from .channels import Dispatcher, Outbound

log = logging.getLogger(__name__)

PENDING = "referral.notifications.pending"
NOTIFICATION_EVENT = "notification"

dispatcher = Dispatcher()


@dataclass(frozen=True)
class Push:
    """A Socket.IO event for every open session of one user."""

    user_id: int
    event: str
    payload: dict


@dataclass
class Pending:
    pushes: list[Push] = field(default_factory=list)
    outbound: list[Outbound] = field(default_factory=list)


def pending(session: Session) -> Pending:
    found = session.info.get(PENDING)
    if found is None:
        found = session.info[PENDING] = Pending()
    return found


def queue_push(session: Session, user_id: int, event_name: str, payload: dict) -> None:
    pending(session).pushes.append(Push(user_id, event_name, payload))


def queue_session_end(session: Session, user_id: int) -> None:
    """Once committed, end the live pushes to every open socket of the user (see realtime)."""
    from ..realtime import SESSION_ENDED

    queue_push(session, user_id, SESSION_ENDED, {})


def queue_outbound(session: Session, messages: Iterable[Outbound]) -> None:
    pending(session).outbound.extend(messages)


def push_now(pushes: Iterable[Push]) -> int:
    """Emit to the users' rooms (through Redis to other processes when configured).

    Without a bound Socket.IO server (a CLI job without the app), the stored rows are
    all there is: the users see them when they next open a page.
    """
    from ..realtime import SESSION_ENDED, end_user_pushes, push_to_user, socketio

    if getattr(socketio, "server", None) is None:
        return 0
    sent = 0
    for push in pushes:
        try:
            if push.event == SESSION_ENDED:
                end_user_pushes(push.user_id)
                continue
            push_to_user(push.user_id, push.event, push.payload)
            sent += 1
        except Exception:  # one broken connection or queue must not hide the others' notifications
            log.exception("push of %s to user %s failed", push.event, push.user_id)
    return sent


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    found: Pending | None = session.info.pop(PENDING, None)
    if found is None:
        return
    if found.pushes:
        push_now(found.pushes)
    if found.outbound:
        dispatcher.submit(found.outbound)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)
