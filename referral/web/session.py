"""The signed-in browser session: Flask-Login over the signed session cookie.

The cookie carries the user id and the user's `session_epoch` at sign-in. The
epoch is bumped on sign-out, password change and deactivation, so every cookie
issued before then (on this or any other browser) stops working at once. Signing
in clears whatever the session held before (no fixation).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, flash, jsonify, redirect, request, session
from flask_login import LoginManager, current_user, login_url, login_user, logout_user
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from ..models import User
from ..runtime import db_session

EPOCH_KEY = "epoch"
SESSION_HOURS = 12

login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


# Every request signs its user in again: one statement, built once.
_USER_BY_ID = select(User).where(User.id == bindparam("uid"))


@login_manager.unauthorized_handler
def _not_signed_in():
    """Pages go to the sign-in page (and back afterwards); a page's script is told in JSON, so that it can
    say so instead of reading the sign-in page as an answer."""
    from .errors import wants_json

    if wants_json():
        return jsonify(error="unauthorized", message="not signed in (any more): sign in again"), 401
    flash(login_manager.login_message, login_manager.login_message_category)  # as Flask-Login would
    return redirect(login_url(login_manager.login_view, next_url=request.url))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user of this session, unless the account is inactive or the session was revoked."""
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        return None
    user = db_session().scalars(_USER_BY_ID, {"uid": uid}).first()
    if user is None or not user.active or session.get(EPOCH_KEY) != user.session_epoch:
        return None
    return user


def init_sessions(app: Flask) -> None:
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=SESSION_HOURS))
    app.config.setdefault("SESSION_REFRESH_EACH_REQUEST", True)
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    app.config["REMEMBER_COOKIE_SECURE"] = app.config.get("SESSION_COOKIE_SECURE", False)
    login_manager.init_app(app)


def sign_in(user: User) -> None:
    """Start a fresh session for `user`: nothing of the previous session survives but the language."""
    locale = session.get("locale")
    session.clear()
    session["sid"] = secrets.token_urlsafe(16)  # a new cookie value even for the same user and epoch
    session[EPOCH_KEY] = user.session_epoch
    if locale:
        session["locale"] = locale
    session.permanent = True
    login_user(user, remember=False)


def sign_out() -> None:
    logout_user()
    session.clear()


def me() -> User:
    """The signed-in user as the model object the services expect (not the proxy)."""
    return current_user._get_current_object()  # type: ignore[attr-defined]


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after sign-in; anything else is dropped."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target
