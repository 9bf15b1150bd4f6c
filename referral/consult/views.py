"""The room page (`/cases/<id>/consult`), invitations from the case page, and recordings served with
range requests so that the browser's <video> element can seek. Each view parses, calls one service,
renders."""

from __future__ import annotations

from dataclasses import dataclass

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file,
                   url_for)

from ..domain.consult import may_invite, may_record
from ..domain.errors import DomainError, Forbidden, NotFound, Unauthorized
from ..models import Case, User
from ..runtime import db_session, runtime
from ..services.actors import actor_facts
from ..services.auth import user_for_token
from ..services.inputs import CONTROL_MESSAGE
from ..web.blueprint import page_headers
from ..web.forms import domain_message, translate_fields
from . import membership_changed
from .invitations import MAX_NOTE, invitable_specialists, invite_specialist, list_invitations, revoke_invitation
from .recordings import list_recordings, open_recording
from .rooms import member_case, room_facts, room_facts_and_recordings
from .sessions import MAX_CHAT, past_sessions

bp = Blueprint("consult", __name__)
bp.after_request(page_headers)
PRESETS = ("audio", "240p", "480p", "720p")


def signed_in_user() -> User | None:
    """The person behind this request: the login session (Flask-Login) or a bearer token."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            return user_for_token(db_session(), token.strip())
        except Unauthorized:
            return None
    if getattr(current_app, "login_manager", None) is None:
        return None
    from flask_login import current_user

    if getattr(current_user, "is_authenticated", False):
        user = db_session().get(User, int(current_user.get_id()))
        return user if user is not None and user.active else None
    return None


def _require_user() -> User:
    user = signed_in_user()
    if user is None:
        if request.accept_mimetypes.accept_html and request.method == "GET":
            abort(redirect(f"/login?next={request.full_path.rstrip('?')}"))
        abort(401)
    return user


@bp.context_processor
def _gettext_fallback():
    """Templates use `_()`; the web app installs Flask-Babel's, this only covers an app without it."""
    if "_" in current_app.jinja_env.globals:
        return {}
    return {"_": lambda s, **kw: s % kw if kw else s}


def _(text: str, **kwargs) -> str:
    try:
        from flask_babel import gettext

        return gettext(text, **kwargs)
    except (ImportError, KeyError, RuntimeError):
        return text % kwargs if kwargs else text


@bp.get("/cases/<int:id>/consult")
def room(id: int):
    """The case's consult room; open to its members only (404 for anyone else, as for no case)."""
    user = _require_user()
    session = db_session()
    try:
        case = member_case(session, user, id)
    except NotFound:
        abort(404)
    facts = room_facts(session, id)
    config = {
        "caseId": case.id,
        "namespace": "/consult",
        "me": {"id": user.id, "name": user.display_name or user.username},
        "mayRecord": may_record(facts, actor_facts(user)),
        "presets": list(PRESETS),
        "strings": client_strings(),
    }
    return render_template("consult/room.html", case=case, config=config, current_user=user,
                           recordings=list_recordings(session, user, id),
                           sessions=past_sessions(session, user, id)[:10])


def client_strings() -> dict:
    """The browser client's visible strings, translated on the server."""
    return {
        "connecting": _("Connecting…"), "connected": _("Connected"), "reconnecting": _("Reconnecting…"),
        "disconnected": _("Disconnected"), "you": _("You"), "recorder": _("Recorder"), "streamer": _("Video source"),
        "muted": _("muted"), "cameraOff": _("camera off"), "sharing": _("sharing screen"),
        "recording": _("Recording"), "recordingStarting": _("Recording is starting…"),
        "recordingStopping": _("Saving the recording…"), "recordingSaved": _("Recording saved to the case"),
        "recordingFailed": _("The recording failed"), "noCamera": _("No camera or microphone: joining without them"),
        "rtt": _("RTT"), "loss": _("loss"), "kbps": _("kbit/s"), "error": _("Error"),
        "startRecording": _("Record"), "stopRecording": _("Stop recording"), "audioOnly": _("Audio only"),
        "play": _("Play"), "mute": _("Mute"), "unmute": _("Unmute"), "cameraOffButton": _("Camera off"),
        "cameraOnButton": _("Camera on"), "shareScreen": _("Share screen"), "stopSharing": _("Stop sharing"),
        "peerLeft": _("%(name)s left", name="{name}"), "peerJoined": _("%(name)s joined", name="{name}"),
        "errors": _error_strings(),
    }


def _error_strings() -> dict:
    """What the room says when the server refuses something or the browser's media fail, by error
    code (or `event:code`), so that nobody reads the server's English messages on a Chinese page."""
    return {
        "join": _("You cannot enter this consult room: you are not a participant of this case, "
                  "or your invitation was withdrawn."),
        "not_found": _("You are no longer in this consult room. Reload the page to join again."),
        "unauthorized": _("The connection to the server was lost; reconnecting…"),
        "forbidden": _("You are not allowed to do this."),
        "rate_limited": _("Too many messages in a short time; wait a moment and try again."),
        "unavailable": _("The consult service is busy for a moment; try again shortly."),
        "chat": _("The message is empty or too long (at most %(n)s characters).", n=MAX_CHAT),
        "recordingRunning": _("A recording of this consult is already running."),
        "recordingForbidden": _("Only the specialists of the consult may record it."),
        "noRecording": _("No recording is running."),
        "mediaDenied": _("The browser does not allow the camera or microphone here. Allow them in the "
                         "site settings and reload the page."),
        "mediaBusy": _("The camera or microphone is in use by another program."),
        "failed": _("This could not be done. Try again; if it happens again, reload the page."),
    }


def _back(case_id: int) -> str:
    target = request.form.get("next", "")
    if target.startswith("/cases/") and "//" not in target:
        return target
    return url_for("consult.room", id=case_id)


@bp.post("/cases/<int:id>/consult/invitations")
def invite(id: int):
    """An assignee invites a specialist; the specialist is notified with the room's link."""
    user = _require_user()
    session = db_session()
    try:
        invitation = invite_specialist(session, user, id, username=request.form.get("username", ""),
                                       note=request.form.get("note", ""))
    except NotFound:
        abort(404)
    except DomainError as exc:
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error=exc.code, message=exc.message, **exc.details), exc.status
        flash(_("Could not invite: %(reason)s", reason=_describe(exc)), "error")
        return redirect(_back(id))
    membership_changed(current_app, id)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(id=invitation.id, invitee=invitation.invitee.username), 201
    flash(_("%(name)s is invited to the consult", name=invitation.invitee.display_name), "success")
    return redirect(_back(id))


def _describe(exc: DomainError) -> str:
    """Why an invitation could not be made or revoked, in the user's language."""
    fields = getattr(exc, "fields", None) or {}
    if fields.get("note") == CONTROL_MESSAGE:
        return translate_fields(fields)["note"]  # the web app's sentence for it (its catalog is merged in)
    if "note" in fields:
        return _("The note is too long: at most %(n)s characters.", n=MAX_NOTE)
    reasons = {
        "no account with that username": _("No account has that user name."),
        "already in the room": _("This specialist is already in the room."),
        "only active specialists can be invited": _("Only active specialists can be invited."),
    }
    if fields.get("invitee") in reasons:
        return reasons[fields["invitee"]]
    if isinstance(exc, Forbidden):
        return _("Only a specialist who is or was assigned this case may do this.")
    return domain_message(exc)


@bp.post("/cases/<int:id>/consult/invitations/<int:invitation_id>/revoke")
def revoke(id: int, invitation_id: int):
    user = _require_user()
    try:
        revoke_invitation(db_session(), user, id, invitation_id)
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(_("Could not revoke: %(reason)s", reason=_describe(exc)), "error")
        return redirect(_back(id))
    membership_changed(current_app, id)
    flash(_("Invitation revoked"), "success")
    return redirect(_back(id))


@bp.get("/cases/<int:id>/recordings/<int:recording_id>")
def recording(id: int, recording_id: int):
    """A recording for the <video> element (range requests: seeking, resuming)."""
    user = _require_user()
    range_header = request.headers.get("Range", "")
    first_request = not range_header or range_header.replace(" ", "").startswith("bytes=0-")
    try:
        rec, path = open_recording(db_session(), user, id, recording_id, runtime().settings.data_dir,
                                   audit=first_request, ip=request.remote_addr or "")
    except NotFound:
        abort(404)
    download = request.args.get("download") == "1"
    response = send_file(path, mimetype=rec.content_type, conditional=True, etag=rec.sha256 or True,
                         as_attachment=download, download_name=f"consult-{id}-{rec.id}.webm", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@dataclass
class ConsultPanel:
    """What the case page shows of the consult: the room link, the invite form, the recordings."""

    member: bool
    may_invite: bool
    invitable: list
    invitations: list
    recordings: list
    link: str


def consult_panel(case: Case, user) -> ConsultPanel | None:
    """For the case page's partial (`consult/_link.html`); None when the viewer sees nothing of it."""
    if case is None or user is None or not getattr(user, "is_authenticated", True):
        return None
    session = db_session()
    person = session.get(User, int(user.get_id()) if hasattr(user, "get_id") else user.id)
    if person is None:
        return None
    facts, has_recordings = room_facts_and_recordings(session, case.id)  # once, for every question below
    member = facts is not None and person.id in facts.members
    if not (member or has_recordings):
        return None
    try:
        recordings = ([r for r in list_recordings(session, person, case.id, facts=facts) if r.status == "ready"]
                      if has_recordings else [])
    except NotFound:
        return None
    inviting = member and may_invite(facts, actor_facts(person))
    return ConsultPanel(
        member=member, may_invite=inviting,
        invitable=invitable_specialists(session, person, case.id, facts=facts) if inviting else [],
        invitations=list_invitations(session, person, case.id, facts=facts) if member else [],
        recordings=recordings, link=url_for("consult.room", id=case.id),
    )


@bp.app_template_global("consult_panel")
def _consult_panel_global(case, user):
    return consult_panel(case, user)



