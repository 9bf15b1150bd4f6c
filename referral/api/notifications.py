"""Notifications: the caller's list, and marking them read."""

from __future__ import annotations

from flask import jsonify, request
from pydantic import Field, StrictBool

from ..domain.errors import ValidationFailed
from ..notifications import service
from ..runtime import db_session
from ..services.inputs import RowId, Strict, parse
from . import current_user, endpoint, int_arg, json_body


class MarkReadIn(Strict):
    ids: list[RowId] = Field(default_factory=list, max_length=500, description="notification ids to mark read")
    # A JSON boolean only: "yes", 1 or "false" marking everything read would be a surprise that cannot be undone.
    all: StrictBool = Field(default=False, description="mark every notification of the caller read")


def _flag(name: str) -> bool:
    value = (request.args.get(name) or "").lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValidationFailed("invalid query parameter", fields={name: "1 or 0"})


@endpoint("/notifications", "GET", "The caller's notifications, newest first", tag="notifications", query={
    "unread": "1 for unread only", "page": "1-based page number", "per_page": "1..100, default 20"},
    description="Each item: id, kind, case_id, notice_id, title (in the caller's language), link, created_at, "
    "read_at. The same items are pushed live as the Socket.IO `notification` event.")
def list_notifications():
    page = service.list_notifications(db_session(), current_user(), unread_only=_flag("unread"),
                                      page=int_arg("page", 1), per_page=int_arg("per_page", 20))
    return jsonify(items=[service.notification_json(n) for n in page.items], total=page.total, unread=page.unread,
                   page=page.page, per_page=page.per_page)


@endpoint("/notifications/read", "POST", "Mark notifications read", tag="notifications", body=MarkReadIn,
          description="`{\"ids\": [...]}` marks those, `{\"all\": true}` marks everything; returns the unread count.")
def mark_read():
    data: MarkReadIn = parse(MarkReadIn, json_body())  # type: ignore[assignment]
    remaining = service.mark_read(db_session(), current_user(), data.ids, everything=data.all)
    return jsonify(unread=remaining)


@endpoint("/notifications/{id}/read", "POST", "Mark one notification read", tag="notifications")
def mark_one_read(id: int):
    remaining = service.mark_read(db_session(), current_user(), [id])
    return jsonify(unread=remaining)
