"""Signing in and out, changing one's password, choosing the language."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..domain.errors import RateLimited, Unauthorized, ValidationFailed
from ..runtime import db_session, runtime
from ..services import auth as auth_service
from ..services import users as user_service
from .blueprint import bp
from .errors import error_page
from .forms import translate_fields
from .i18n import LOCALES
from .session import me, safe_next, sign_in, sign_out


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("web.home"))
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("auth/login.html", username="", error=None, next_url=next_url)
    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    if not username or not password:
        return render_template("auth/login.html", username=username, next_url=next_url,
                               error=_("Enter your username and password.")), 400
    try:
        if len(password) > user_service.MAX_PASSWORD:  # no password is longer: wrong, and not worth hashing
            raise Unauthorized("wrong username or password")
        user = auth_service.check_credentials(db_session(), runtime().login_limiter, username, password,
                                              request.remote_addr or "")
    except RateLimited as exc:
        return error_page(exc)
    except Unauthorized:
        return render_template("auth/login.html", username=username, next_url=next_url,
                               error=_("Wrong username or password.")), 401
    chosen = session.get("locale")  # set only by choosing a language while signed out, i.e. on this page
    if chosen in LOCALES and chosen != user.locale:
        user_service.set_locale(db_session(), user, chosen)
    sign_in(user)
    return redirect(next_url or url_for("web.home"))


@bp.post("/logout")
def logout():
    """Sign out: this account's sessions end on every browser."""
    if current_user.is_authenticated:
        user_service.end_web_sessions(db_session(), me())
    sign_out()
    flash(_("You have signed out."), "info")
    return redirect(url_for("web.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    if request.method == "GET":
        return render_template("auth/password.html", errors={})
    current, new_password = request.form.get("current_password") or "", request.form.get("new_password") or ""
    errors = {}
    if not current:
        errors["current_password"] = _("Required.")
    if not new_password:
        errors["new_password"] = _("Required.")
    elif new_password != (request.form.get("confirm_password") or ""):
        errors["confirm_password"] = _("The two new passwords differ.")
    if errors:  # every field's problem at once, and an empty field is not a wrong password
        return render_template("auth/password.html", errors=errors), 422
    try:
        user_service.change_own_password(db_session(), me(), current, new_password)
    except ValidationFailed as exc:
        return render_template("auth/password.html", errors=translate_fields(exc.fields)), 422
    sign_in(me())  # this browser stays signed in with the new epoch; every other session has ended
    flash(_("Your password has been changed. Other browsers signed in to your account have been signed out."),
          "success")
    return redirect(url_for("web.home"))


@bp.post("/locale")
def set_locale():
    """Switch the interface language; remembered on the account when signed in."""
    locale = request.form.get("locale")
    if locale in LOCALES:
        session["locale"] = locale
        if current_user.is_authenticated:
            user_service.set_locale(db_session(), me(), locale)
    return redirect(safe_next(request.form.get("next")) or url_for("web.home"))
