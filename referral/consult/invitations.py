"""Inviting a specialist into a case's consult room (e.g. a provincial expert) and revoking it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, bindparam, cast, select
from sqlalchemy.orm import Session

from ..domain.consult import RoomFacts, may_be_invited, may_invite
from ..domain.errors import Forbidden, NotFound, ValidationFailed
from ..domain.workflow import ActorFacts
from ..models import Case, ConsultInvitation, Facility, User, utcnow
from ..services.actors import actor_facts
from ..services.inputs import CONTROL_MESSAGE, MAX_SMALL_INT, has_control_character
from ..services.rows import FacilityLabel
from ..services.transaction import transactional
from .rooms import require_member
from .timeline import append_event

MAX_NOTE = 500


def consult_link(case_id: int) -> str:
    """The room's page, the link an invited specialist receives."""
    return f"/cases/{case_id}/consult"


def _invitee(session: Session, username: str | None, user_id: int | None) -> User:
    """The account named by id or else by username; the refusal names the field that was given.
    An id past what the column takes, or a name with a control character, names no account (and is
    not sent to the database, which would refuse it)."""
    if user_id is not None:
        invitee = session.get(User, user_id) if 1 <= user_id <= MAX_SMALL_INT else None
        if invitee is None:
            raise ValidationFailed("no such specialist", fields={"invitee_id": "no account with that id"})
        return invitee
    username = (username or "").strip()
    invitee = None
    if username and not has_control_character(username):
        invitee = session.scalars(select(User).where(User.username == username)).first()
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
    if has_control_character(note):
        raise ValidationFailed("the note contains a control character", fields={"note": CONTROL_MESSAGE})
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
    invitation = session.get(ConsultInvitation, invitation_id) if 1 <= invitation_id <= MAX_SMALL_INT else None
    if invitation is None or invitation.case_id != case_id or invitation.revoked_at is not None:
        raise NotFound("no such invitation")
    now = now or utcnow()
    invitation.revoked_at = now
    append_event(session, case_id, user, "consult_invitation_revoked", now, invitation_id=invitation.id,
           invitee_id=invitation.invitee_id, invitee=invitation.invitee.display_name)
    return invitation


def list_invitations(session: Session, user: User, case_id: int, *, facts: RoomFacts | None = None
                     ) -> list[ConsultInvitation]:
    """Live invitations of the room, for its members (`facts`: the room's, when the caller has just read them)."""
    require_member(session, user, case_id, facts)
    return list(session.scalars(
        select(ConsultInvitation)
        .where(ConsultInvitation.case_id == case_id, ConsultInvitation.revoked_at.is_(None))
        .order_by(ConsultInvitation.id)
    ))


def invitation_json(invitation: ConsultInvitation) -> dict:
    """An invitation as the API shows it: who, from which facility, by whom, the room's link."""
    invitee, inviter = invitation.invitee, invitation.inviter
    return {"id": invitation.id, "case_id": invitation.case_id,
            "invitee": {"id": invitee.id, "username": invitee.username, "display_name": invitee.display_name,
                        "title": invitee.title, "facility": invitee.facility.name if invitee.facility else None},
            "inviter": {"id": inviter.id, "username": inviter.username, "display_name": inviter.display_name},
            "note": invitation.note, "created_at": invitation.created_at.isoformat(),
            "revoked_at": invitation.revoked_at.isoformat() if invitation.revoked_at else None,
            "link": consult_link(invitation.case_id)}


MAX_INVITABLE = 500


@dataclass(frozen=True, slots=True)
class Invitable:
    """A specialist on the invite form: who, and where."""

    id: int
    username: str
    display_name: str
    title: str
    facility: FacilityLabel


def invitable_specialists(session: Session, user: User, case_id: int, *, facts: RoomFacts | None = None
                          ) -> list[Invitable]:
    """Active specialists the user could invite (none unless the user may invite)."""
    facts = require_member(session, user, case_id, facts)
    if not may_invite(facts, actor_facts(user)):
        return []
    # Narrowed in SQL (roles are a JSON list: its text form holds '"specialist"' on every backend),
    # so a page view does not load the province's whole staff; the rule itself still decides. Plain
    # rows: the form shows a name and a facility of each.
    rows = session.execute(_INVITABLE, {"members": sorted(facts.members), "limit": MAX_INVITABLE})
    return [
        Invitable(uid, username, name, title or "", FacilityLabel(fid, f_code, f_name, f_name_en or "", f_tier))
        for uid, username, name, title, roles, specialties, fid, f_code, f_name, f_name_en, f_tier in rows
        if may_be_invited(facts, ActorFacts(uid, fid, frozenset(roles or ()), frozenset(specialties or ())))
    ]


_INVITABLE = (
    select(User.id, User.username, User.display_name, User.title, User.roles, User.specialties, Facility.id,
           Facility.code, Facility.name, Facility.name_en, Facility.tier)
    .join(Facility, Facility.id == User.facility_id)
    .where(User.active.is_(True), cast(User.roles, String).like('%"specialist"%'),
           User.id.not_in(bindparam("members", expanding=True)))
    .order_by(User.facility_id, User.username)
    .limit(bindparam("limit"))
)


def _notify(session: Session, case_id: int, invitee: User, inviter: User, now: datetime) -> None:
    """Tell the invitee, with the room's link, in this transaction (pushed live after commit; the
    invitation admits them, so the case's access rule is not what decides who hears of it)."""
    from ..notifications import notify_consult_invite

    notify_consult_invite(session, session.get(Case, case_id), invitee, inviter, now=now)
