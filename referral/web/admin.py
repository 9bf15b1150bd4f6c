"""Administration of the admin's jurisdiction: facility tree, accounts, rules (read-only)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from ..domain.access import can_administer
from ..domain.errors import DomainError, ValidationFailed
from ..domain.routing import default_rules
from ..domain.specialties import all_specialties
from ..domain.vocabulary import URGENCY_ORDER, Role, Tier
from ..runtime import db_session
from ..services import admin as admin_service
from ..services.actors import actor_facts
from ..services.sla import current_policy
from ..services.inputs import small_int
from .blueprint import bp
from .forms import domain_message, translate_fields
from .session import me

GRANTABLE_ROLES = (Role.DOCTOR.value, Role.SPECIALIST.value, Role.ADMIN.value)


def _require_admin():
    user = me()
    if not can_administer(actor_facts(user)):
        abort(403)
    return user


def _roles_for(admin) -> tuple[str, ...]:
    return GRANTABLE_ROLES + ((Role.SYSADMIN.value,) if Role.SYSADMIN.value in (admin.roles or ()) else ())


@bp.get("/admin/facilities")
@login_required
def facilities():
    admin = _require_admin()
    return render_template("admin/facilities.html", tree=admin_service.facility_tree(db_session(), admin))


@bp.get("/admin/rules")
@login_required
def rules():
    _require_admin()
    policy = current_policy(db_session())
    overrides = sorted(policy.overrides.items(), key=lambda kv: (kv[0][0].rank, URGENCY_ORDER.index(kv[0][1])))
    return render_template("admin/rules.html", rules=default_rules(), policy=policy, urgencies=URGENCY_ORDER,
                           overrides=overrides, tiers=list(Tier))


@bp.get("/admin/users")
@login_required
def users():
    admin = _require_admin()
    session = db_session()
    facility = request.args.get("facility", "")
    accounts = admin_service.list_users(session, admin, query=request.args.get("q", "")[:100],
                                        facility_id=small_int(facility))
    return render_template("admin/users.html", accounts=accounts, query=request.args.get("q", ""),
                           facility=facility, facilities=admin_service.facilities_for_accounts(session, admin))


def _account_form(template: str, *, values: MultiDict, errors: dict, account=None, status: int = 200,
                  message: str | None = None):
    admin = me()
    return render_template(template, values=values, errors=errors, account=account, message=message,
                           facilities=admin_service.facilities_for_accounts(db_session(), admin),
                           roles=_roles_for(admin), specialties=all_specialties()), status


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    admin = _require_admin()
    if request.method == "GET":
        values = MultiDict({"facility_id": str(admin.facility_id)})
        return _account_form("admin/user_new.html", values=values, errors={})
    form = request.form
    facility = form.get("facility_id", "")
    try:
        account = admin_service.create_account(
            db_session(), admin, username=form.get("username", ""), password=form.get("password", ""),
            display_name=form.get("display_name", ""), facility_id=small_int(facility) or -1,
            roles=form.getlist("roles"), specialties=form.getlist("specialties"), title=form.get("title", ""),
        )
    except DomainError as exc:
        values = form.copy()
        values.poplist("password")
        fields = translate_fields(getattr(exc, "fields", None) or exc.details.get("fields", {}))
        return _account_form("admin/user_new.html", values=values, errors=fields, status=exc.status,
                             message=domain_message(exc))
    flash(_("Account %(name)s created.", name=account.username), "success")
    return redirect(url_for("web.user_detail", user_id=account.id))


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def user_detail(user_id: int):
    admin = _require_admin()
    session = db_session()
    account = admin_service.get_user(session, admin, user_id)
    if request.method == "GET":
        values = MultiDict({"display_name": account.display_name, "title": account.title})
        for r in account.roles or ():
            values.add("roles", r)
        for s in account.specialties or ():
            values.add("specialties", s)
        return _account_form("admin/user_edit.html", values=values, errors={}, account=account)
    form = request.form
    try:
        admin_service.update_account(session, admin, user_id, display_name=form.get("display_name", ""),
                                     title=form.get("title", ""), roles=form.getlist("roles"),
                                     specialties=form.getlist("specialties"))
    except (ValidationFailed, DomainError) as exc:
        if exc.code == "not_found":
            raise
        fields = translate_fields(getattr(exc, "fields", None) or {})
        return _account_form("admin/user_edit.html", values=form.copy(), errors=fields,
                             account=admin_service.get_user(session, admin, user_id), status=exc.status,
                             message=domain_message(exc))
    flash(_("Account %(name)s saved.", name=account.username), "success")
    return redirect(url_for("web.user_detail", user_id=user_id))


def _active_flag() -> bool:
    """The account page's deactivate and reactivate buttons send 1 or 0; anything else (a missing
    field, a script's mistake) is refused rather than read as "deactivate"."""
    value = request.form.get("active")
    if value not in ("0", "1"):
        abort(400)
    return value == "1"


@bp.post("/admin/users/<int:user_id>/active")
@login_required
def user_active(user_id: int):
    admin = _require_admin()
    active = _active_flag()
    try:
        account = admin_service.set_active(db_session(), admin, user_id, active)
    except DomainError as exc:
        if exc.code == "not_found":
            raise
        flash(domain_message(exc) + " " + " ".join(translate_fields(getattr(exc, "fields", {}) or {}).values()),
              "error")
        return redirect(url_for("web.user_detail", user_id=user_id))
    flash(_("Account %(name)s reactivated.", name=account.username) if active
          else _("Account %(name)s deactivated; its sessions have ended.", name=account.username), "success")
    return redirect(url_for("web.user_detail", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/password")
@login_required
def user_password(user_id: int):
    admin = _require_admin()
    session = db_session()
    try:
        account = admin_service.reset_password(session, admin, user_id, request.form.get("password", ""))
    except DomainError as exc:
        if exc.code == "not_found":
            raise
        account = admin_service.get_user(session, admin, user_id)
        values = MultiDict({"display_name": account.display_name, "title": account.title})
        for r in account.roles or ():
            values.add("roles", r)
        for s in account.specialties or ():
            values.add("specialties", s)
        fields = translate_fields(getattr(exc, "fields", None) or {})
        return _account_form("admin/user_edit.html", values=values, errors={"new_password": fields.get("password", "")},
                             account=account, status=exc.status, message=domain_message(exc))
    flash(_("A new password was set for %(name)s; their sessions have ended.", name=account.username), "success")
    return redirect(url_for("web.user_detail", user_id=user_id))
