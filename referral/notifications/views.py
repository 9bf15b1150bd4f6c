"""Notification pages: the list, opening one (which marks it read), marking read; the badge's count."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..notices.service import header_counts
from ..runtime import db_session
from ..web.blueprint import page_headers
from ..web.session import me, safe_next
from ..services.inputs import small_int
from . import service
from .rules import Kind

bp = Blueprint("notifications", __name__)
bp.after_request(page_headers)

PER_PAGE = 20

KIND_LABELS = {
    Kind.CASE_QUEUED: _l("New case in the queue"),
    Kind.INFO_REQUESTED: _l("Information requested"),
    Kind.INFO_PROVIDED: _l("Information provided"),
    Kind.FOLLOW_UP: _l("Follow-up question"),
    Kind.ADVICE_ISSUED: _l("Advice issued"),
    Kind.CASE_ESCALATED: _l("Escalated"),
    Kind.CASE_DECLINED: _l("Declined"),
    Kind.CONSULT_INVITE: _l("Consult invitation"),
    Kind.DEADLINE_NEAR: _l("Deadline near"),
    Kind.DEADLINE_PASSED: _l("Deadline passed"),
    Kind.EMERGENCY_NOTICE: _l("Emergency notice"),
}


@bp.app_context_processor
def _badge_context() -> dict:
    """`notification_unread()` and `notices_outstanding()` for the badges in the header of every page."""

    def counts() -> tuple[int, int]:
        if not getattr(current_user, "is_authenticated", False):
            return 0, 0
        if "header_counts" not in g:
            g.header_counts = header_counts(db_session(), me())
        return g.header_counts

    def notification_unread() -> int:
        return counts()[0]

    def notices_outstanding() -> int:
        return counts()[1]

    return {"notification_unread": notification_unread, "notices_outstanding": notices_outstanding,
            "notification_kind_label": kind_label}


def kind_label(kind: str) -> str:
    try:
        return str(KIND_LABELS[Kind(kind)])
    except ValueError:
        return kind


def _page_arg() -> int:
    value = small_int(request.args.get("page"))
    return max(1, min(value, 10_000)) if value is not None else 1


@bp.get("/notifications")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    page = service.list_notifications(db_session(), me(), unread_only=unread_only, page=_page_arg(),
                                      per_page=PER_PAGE)
    return render_template("notifications/index.html", page=page, unread_only=unread_only)


@bp.get("/notifications/count")
@login_required
def count():
    """The badge's counts, for a page that reconnects after being offline or hears of a new notice."""
    session = db_session()
    unread, notices = header_counts(session, me())
    return jsonify(unread=unread, notices=notices)


@bp.get("/notifications/<int:notification_id>")
@login_required
def open_one(notification_id: int):
    """Follow a notification to what it is about; it is read from then on."""
    user = me()
    session = db_session()
    item = service.own_notification(session, user, notification_id)
    service.mark_read(session, user, [item.id])
    return redirect(safe_next(item.link) or url_for("notifications.index"))


@bp.post("/notifications/read")
@login_required
def mark_read():
    user = me()
    if request.form.get("all") == "1":
        service.mark_read(db_session(), user, everything=True)
    else:
        ids = [n for n in map(small_int, request.form.getlist("id")) if n is not None]
        service.mark_read(db_session(), user, ids)
    return redirect(safe_next(request.form.get("next")) or url_for("notifications.index"))
