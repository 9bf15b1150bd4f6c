"""Inviting a specialist into a case's consult room (e.g. a provincial expert) and revoking it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from ..domain.consult import may_be_invited, may_invite
from ..domain.errors import Forbidden, NotFound, ValidationFailed
from ..models import Case, ConsultInvitation, User, utcnow
from ..services.actors import actor_facts
from ..services.transaction import transactional
from .rooms import require_member
from .timeline import append_event

MAX_NOTE = 500


def consult_link(case_id: int) -> str:
    """The room's page, the link an invited specialist receives."""
    return f"/cases/{case_id}/consult"


def _invitee(session: Session, username: str | None, user_id: int | None) -> User:
    invitee = None
    if user_id is not None:
        invitee = session.get(User, user_id)
    elif username and username.strip():
        invitee = session.scalars(select(User).where(User.username == username.strip())).first()
    if invitee is None:
        raise ValidationFailed("no such specialist", fields={"invitee": "no account with that username"})
    return invitee


@transactional
def invite_specialist(
    session: Session,
    user: User,
    case_id: int,
    *,
    username: str | None = None,
    invitee_id: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> ConsultInvitation:
    """An assignee invites another specialist; the invitation is on the case's timeline."""
    facts = require_member(session, user, case_id)
    if not may_invite(facts, actor_facts(user)):
        raise Forbidden("only a specialist who is or was assigned this case may invite others")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed("the note is too long", fields={"note": f"at most {MAX_NOTE} characters"})
    invitee = _invitee(session, username, invitee_id)
    if not may_be_invited(facts, actor_facts(invitee), invitee.active):
        reason = "already in the room" if invitee.id in facts.members else "only active specialists can be invited"
        raise ValidationFailed("this person cannot be invited", fields={"invitee": reason})
    now = now or utcnow()
    invitation = session.scalars(
        select(ConsultInvitation).where(ConsultInvitation.case_id == case_id, ConsultInvitation.invitee_id == invitee.id)
    ).first()
    if invitation is None:
        invitation = ConsultInvitation(case_id=case_id, invitee_id=invitee.id, inviter_id=user.id)
        session.add(invitation)
    invitation.inviter_id, invitation.note, invitation.created_at, invitation.revoked_at = user.id, note, now, None
    session.flush()
    _notify(session, case_id, invitee, user, now)
    append_event(session, case_id, user, "consult_invited", now, invitation_id=invitation.id, invitee_id=invitee.id,
           invitee=invitee.display_name, facility=invitee.facility.name, note=note, link=consult_link(case_id))
    return invitation


@transactional
def revoke_invitation(session: Session, user: User, case_id: int, invitation_id: int,
                      now: datetime | None = None) -> ConsultInvitation:
    """An assignee takes an invitation back; the specialist can no longer join or signal."""
    facts = require_member(session, user, case_id)
    if not may_invite(facts, actor_facts(user)):
        raise Forbidden("only a specialist who is or was assigned this case may revoke invitations")
    invitation = session.get(ConsultInvitation, invitation_id)
    if invitation is None or invitation.case_id != case_id or invitation.revoked_at is not None:
        raise NotFound("no such invitation")
    now = now or utcnow()
    invitation.revoked_at = now
    append_event(session, case_id, user, "consult_invitation_revoked", now, invitation_id=invitation.id,
           invitee_id=invitation.invitee_id, invitee=invitation.invitee.display_name)
    return invitation


def list_invitations(session: Session, user: User, case_id: int) -> list[ConsultInvitation]:
    """Live invitations of the room, for its members."""
    require_member(session, user, case_id)
    return list(session.scalars(
        select(ConsultInvitation)
        .where(ConsultInvitation.case_id == case_id, ConsultInvitation.revoked_at.is_(None))
        .order_by(ConsultInvitation.id)
    ))


MAX_INVITABLE = 500


def invitable_specialists(session: Session, user: User, case_id: int) -> list[User]:
    """Active specialists the user could invite (none unless the user may invite)."""
    facts = require_member(session, user, case_id)
    if not may_invite(facts, actor_facts(user)):
        return []
    # Narrowed in SQL (roles are a JSON list: its text form holds '"specialist"' on every backend),
    # so a page view does not load the province's whole staff; the rule itself still decides.
    people = session.scalars(
        select(User)
        .where(User.active.is_(True), cast(User.roles, String).like('%"specialist"%'), User.id.not_in(facts.members))
        .order_by(User.facility_id, User.username)
        .limit(MAX_INVITABLE)
    )
    return [p for p in people if may_be_invited(facts, actor_facts(p), p.active)]


def _notify(session: Session, case_id: int, invitee: User, inviter: User, now: datetime) -> None:
    """Tell the invitee, with the room's link, in this transaction (pushed live after commit).

    Not through `notify_consult_invite`: that keeps only people the case's access rule lets see the
    case, and an invited expert of another hospital usually is not one of them; the invitation is
    what admits them to the room (and only the room).
    """
    from ..notifications import Kind, notify_users

    case = session.get(Case, case_id)
    facts = {"reference": case.reference or f"#{case.id}", "urgency": case.urgency, "inviter": inviter.display_name}
    notify_users(session, [invitee], Kind.CONSULT_INVITE, facts, link=consult_link(case_id), case_id=case_id,
                 urgency=case.urgency, payload={"event": "consult_invited"}, now=now)
