"""Socket.IO: one server object bound in the app factory; authentication on connect;
a room per user so that every open session of a person receives their pushes.

Feature modules (notifications, consult rooms) register their own namespaces or
handlers on `socketio` and push with `push_to_user`.
"""

from __future__ import annotations

import logging

from flask import Flask, request
from flask_socketio import SocketIO, join_room

from .domain.errors import Unauthorized
from .models import User
from .runtime import db_session
from .services.auth import user_for_token

log = logging.getLogger(__name__)

socketio = SocketIO()


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def init_realtime(app: Flask) -> None:
    settings = app.extensions["referral"].settings
    socketio.init_app(
        app,
        async_mode="threading",
        message_queue=settings.redis_url,
        # Leaving cors_allowed_origins unset keeps Engine.IO's same-origin check
        # (an empty list would switch the check off).
        max_http_buffer_size=256 * 1024,
        ping_interval=20,
        ping_timeout=20,
    )


def socket_user(auth: dict | None) -> User:
    """The user of a connecting socket: a bearer token in `auth`, or the login session cookie."""
    token = (auth or {}).get("token") if isinstance(auth, dict) else None
    if token:
        return user_for_token(db_session(), str(token))
    session_user = _session_user()
    if session_user is not None:
        return session_user
    raise Unauthorized("connect with the login session cookie or auth={'token': ...}")


def _session_user() -> User | None:
    """The signed-in user of the web session, when the web app's login is set up."""
    try:
        from flask_login import current_user
    except ImportError:  # pragma: no cover - flask-login is a dependency
        return None
    if getattr(current_user, "is_authenticated", False):
        return db_session().get(User, int(current_user.get_id()))
    return None


@socketio.on("connect")
def on_connect(auth=None):
    try:
        user = socket_user(auth)
    except Unauthorized:
        log.info("refused socket connection from %s", request.remote_addr)
        return False
    request.environ["referral.user_id"] = user.id
    join_room(user_room(user.id))
    return True


def connected_user_id() -> int | None:
    """The user id of the socket handling the current event."""
    return request.environ.get("referral.user_id")


def push_to_user(user_id: int, event: str, payload: dict, namespace: str = "/") -> None:
    """Send `event` to every open session of the user, in this process or (through Redis) any other."""
    socketio.emit(event, payload, to=user_room(user_id), namespace=namespace)



SESSION_ENDED = "session_ended"


def end_user_pushes(user_id: int) -> None:
    """After sign-out, a password change or deactivation: tell every open socket of the user
    (in any process) that its session has ended and stop pushing to it."""
    room = user_room(user_id)
    socketio.emit(SESSION_ENDED, {}, to=room)
    socketio.close_room(room)
