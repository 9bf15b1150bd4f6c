"""The consult room over the API: invite a specialist into a case's video room, list, revoke."""

from __future__ import annotations

from flask import current_app, jsonify
from pydantic import Field

from ..consult import membership_changed
from ..consult.invitations import invitation_json, invite_specialist, list_invitations, revoke_invitation
from ..domain.errors import NotFound
from ..runtime import db_session
from ..services.inputs import RowId, Strict, parse, small_int
from . import current_user, endpoint, json_body


class ConsultInviteIn(Strict):
    username: str | None = Field(default=None, max_length=64, description="the specialist to invite")
    invitee_id: RowId | None = Field(default=None, description="or their user id (`username` wins when both)")
    note: str = Field(default="", max_length=500, description="why, shown on the case's timeline")


@endpoint("/cases/{id}/consult/invitations", "POST", "Invite a specialist into the case's video consult",
          tag="consult", body=ConsultInviteIn,
          description="Only a specialist who is or was assigned the case may invite (403 otherwise); the invitee "
          "must be an active specialist not already in the room (422). The invitee is notified with the room's "
          "link (`/cases/{id}/consult`) and may join it and read the case until the invitation is revoked. "
          "Inviting again after a revocation renews the invitation. Returns 201 with the invitation.")
def invite_to_consult(id: int):
    data: ConsultInviteIn = parse(ConsultInviteIn, json_body())  # type: ignore[assignment]
    invitation = invite_specialist(db_session(), current_user(), id, username=data.username,
                                   invitee_id=None if data.username else data.invitee_id, note=data.note)
    membership_changed(current_app, id)
    return jsonify(invitation_json(invitation)), 201


@endpoint("/cases/{id}/consult/invitations", "GET", "The live invitations of the case's video consult",
          tag="consult", description="For the room's members (404 for anyone else, as for no case).")
def list_consult_invitations(id: int):
    return jsonify(items=[invitation_json(i) for i in list_invitations(db_session(), current_user(), id)])


@endpoint("/cases/{id}/consult/invitations/{invitation_id}", "DELETE", "Revoke an invitation to the video consult",
          tag="consult", description="The invitee can no longer join or signal (within about 2 s on every server "
          "process) nor read the case through the invitation. 204.")
def revoke_consult_invitation(id: int, invitation_id: str):
    number = small_int(invitation_id)  # an id past what the column takes names no row either
    if not number:
        raise NotFound("no such invitation")
    revoke_invitation(db_session(), current_user(), id, number)
    membership_changed(current_app, id)
    return "", 204
