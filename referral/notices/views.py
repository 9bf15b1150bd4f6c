"""Emergency notice pages: compose and send, the live board, reading and acknowledging, files."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from ..domain.errors import DomainError, NotFound
from ..runtime import db_session, runtime
from ..web.blueprint import page_headers
from ..web.forms import domain_message, translate_fields, validate
from ..web.session import me
from ..services.inputs import small_int
from . import service
from .service import LEVELS, MAX_ATTACHMENT_BYTES, TARGET_TIERS, Upload

bp = Blueprint("notices", __name__)
bp.after_request(page_headers)


LEVEL_LABELS = {"blue": _l("Level IV (blue)"), "yellow": _l("Level III (yellow)"), "orange": _l("Level II (orange)"),
                "red": _l("Level I (red)")}


@bp.app_context_processor
def _notice_context() -> dict:
    return {"notice_level_label": lambda level: str(LEVEL_LABELS.get(level, level))}


def _ts(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@bp.get("/notices")
@login_required
def index():
    session = db_session()
    user = me()
    rows = service.notices_for(session, user)
    counts = service.notice_counts(session, [n.id for n, _t in rows])
    return render_template("notices/index.html", rows=rows, counts=counts, may_send=service.may_send(user),
                           manages={n.id for n, _t in rows if service.may_manage(session, user, n)})


def _compose(values: MultiDict, errors: dict, status: int = 200, message: str | None = None,
             repeat_of: int | None = None):
    user = me()
    if not service.may_send(user):
        abort(403)
    facilities = service.facilities_for_compose(db_session(), user)
    return render_template("notices/compose.html", values=values, errors=errors, message=message, levels=LEVELS,
                           tiers=[t.value for t in TARGET_TIERS], facilities=facilities,
                           max_mb=MAX_ATTACHMENT_BYTES // (1024 * 1024), repeat_of=repeat_of), status


@bp.route("/notices/new", methods=["GET", "POST"])
@login_required
def compose():
    if request.method == "GET":
        return _compose(MultiDict({"level": "yellow"}), {})
    form = request.form
    data = {
        "title": form.get("title", ""), "body": form.get("body", ""), "level": form.get("level", ""),
        "tiers": form.getlist("tiers"),
        "facility_ids": [n for n in map(small_int, form.getlist("facility_ids")) if n is not None],
    }
    _parsed, errors = validate(service.NoticeIn, data)
    if errors:
        if "patient" in errors:  # the model-level check: no audience chosen
            errors["audience"] = _("Choose at least one tier or facility to send the notice to.")
            del errors["patient"]
        for key in [k for k in errors if k.split(".")[0] in ("tiers", "facility_ids")]:
            errors.setdefault("audience", _("Choose the tiers or facilities from the list."))  # a tampered form
            del errors[key]
        return _compose(form.copy(), errors, status=422, message=_("Some fields are missing or invalid."))
    uploads = [Upload(f.filename or "", f.read(MAX_ATTACHMENT_BYTES + 1))
               for f in request.files.getlist("attachments") if f and (f.filename or "")]
    try:
        notice = service.send_notice(db_session(), me(), data, uploads, data_dir=runtime().settings.data_dir,
                                     repeat=form.get("repeat") == "1")
    except DomainError as exc:
        if exc.code == "forbidden":
            raise
        if exc.code == "conflict" and "notice_id" in exc.details:
            return _compose(form.copy(), {}, status=409, repeat_of=exc.details["notice_id"],
                            message=_("This notice was sent a few minutes ago. To send it again on purpose, tick "
                                      "the box below and send; to remind those who have not acknowledged it, use "
                                      "its board."))
        fields = translate_fields(getattr(exc, "fields", None) or exc.details.get("fields", {}) or {})
        fields = {("audience" if k in ("tiers", "facility_ids") else k): v for k, v in fields.items()}
        return _compose(form.copy(), fields, status=exc.status, message=domain_message(exc))
    reached = sum(t.recipients for t in notice.targets)
    flash(_("Notice sent to %(f)s facilities (%(p)s people).", f=len(notice.targets), p=reached), "success")
    return redirect(url_for("notices.board", notice_id=notice.id))


@bp.get("/notices/<int:notice_id>")
@login_required
def show(notice_id: int):
    session = db_session()
    user = me()
    notice, target = service.read_notice(session, user, notice_id)
    return render_template("notices/show.html", notice=notice, target=target,
                           manages=service.may_manage(session, user, notice))


@bp.post("/notices/<int:notice_id>/ack")
@login_required
def acknowledge(notice_id: int):
    target = service.acknowledge(db_session(), me(), notice_id)
    if target.acknowledged_by_id == me().id:
        flash(_("Acknowledged for %(facility)s.", facility=target.facility.name), "success")
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.get("/notices/<int:notice_id>/board")
@login_required
def board(notice_id: int):
    state = service.board(db_session(), me(), notice_id)
    return render_template("notices/board.html", board=state, notice=state.notice)


@bp.get("/notices/<int:notice_id>/board.json")
@login_required
def board_json(notice_id: int):
    """The board's state, for a page coming back online."""
    state = service.board(db_session(), me(), notice_id)
    return jsonify(
        notice_id=notice_id, acknowledged=len(state.acknowledged), outstanding=len(state.outstanding),
        facilities=[{"facility_id": t.facility_id, "facility": t.facility.name,
                     "acknowledged_at": _ts(t.acknowledged_at),
                     "by": t.acknowledged_by.display_name if t.acknowledged_by else None}
                    for t in state.acknowledged + state.outstanding])


@bp.post("/notices/<int:notice_id>/resend")
@login_required
def resend(notice_id: int):
    facilities, people = service.resend(db_session(), me(), notice_id)
    flash(_("Sent again to %(f)s outstanding facilities (%(p)s people).", f=facilities, p=people), "success")
    return redirect(url_for("notices.board", notice_id=notice_id))


@bp.get("/notices/<int:notice_id>/attachments/<int:attachment_id>")
@login_required
def attachment(notice_id: int, attachment_id: int):
    try:
        item, path = service.attachment(db_session(), me(), notice_id, attachment_id, runtime().settings.data_dir)
    except NotFound:
        abort(404)
    response = send_file(path, mimetype=item.content_type, as_attachment=True, download_name=item.filename,
                         max_age=0, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
