"""The county admin's SLA policy page: time to claim and to advise by urgency and tier."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from ..domain.errors import DomainError
from ..domain.sla import BREACH_ACTIONS
from ..domain.vocabulary import URGENCY_ORDER, Tier
from ..runtime import db_session
from ..services import sla as sla_service
from ..services.sla import MAX_MINUTES
from ..web.blueprint import page_headers
from ..web.forms import domain_message
from ..web.session import me
from ..services.inputs import small_int

bp = Blueprint("sla", __name__)
bp.after_request(page_headers)

# Cases wait at these tiers (a village clinic only sends).
RECEIVING_TIERS = (Tier.TOWNSHIP, Tier.COUNTY, Tier.PROVINCIAL)
FIELDS = ("claim_minutes", "advice_minutes", "on_breach")


def _values(policy) -> MultiDict:
    values = MultiDict()
    for row in sla_service.policy_rows(policy):
        key = f"{row['urgency']}.{row['tier'] or 'default'}"
        for name in FIELDS:
            values[f"{key}.{name}"] = str(row[name])
    return values


def _windows(form) -> tuple[list[dict], dict[str, str]]:
    """The form's cells as service input; an override row left blank means "as the default"."""
    windows, errors = [], {}
    for urgency in URGENCY_ORDER:
        for tier in (None, *RECEIVING_TIERS):
            key = f"{urgency.value}.{tier.value if tier else 'default'}"
            cells = {name: (form.get(f"{key}.{name}") or "").strip() for name in FIELDS}
            if tier is not None and not cells["claim_minutes"] and not cells["advice_minutes"]:
                continue
            row: dict = {"urgency": urgency.value, "tier": tier.value if tier else None,
                         "on_breach": cells["on_breach"]}
            for name in ("claim_minutes", "advice_minutes"):
                minutes = small_int(cells[name])
                if minutes is None or not 1 <= minutes <= MAX_MINUTES:
                    errors[key] = _("Enter whole minutes from 1 to %(most)s (30 days) for both deadlines.",
                                    most=MAX_MINUTES)
                row[name] = minutes or 0
            if row["on_breach"] not in BREACH_ACTIONS:
                errors[key] = _("Choose what happens on a breach.")
            if not errors.get(key) and row["advice_minutes"] < row["claim_minutes"]:
                errors[key] = _("The time to advise cannot be shorter than the time to claim.")
            windows.append(row)
    return windows, errors


def _render(values: MultiDict, errors: dict, status: int = 200, message: str | None = None):
    return render_template("sla/policy.html", values=values, errors=errors, message=message,
                           urgencies=URGENCY_ORDER, tiers=RECEIVING_TIERS, actions=BREACH_ACTIONS), status


@bp.route("/admin/sla", methods=["GET", "POST"])
@login_required
def policy():
    user = me()
    if not sla_service.is_county_admin(user):
        abort(403)
    session = db_session()
    if request.method == "GET":
        return _render(_values(sla_service.current_policy(session)), {})
    windows, errors = _windows(request.form)
    if errors:
        return _render(request.form.copy(), errors, 422, _("Some fields are missing or invalid."))
    try:
        sla_service.update_policy(session, user, {"windows": windows})
    except DomainError as exc:
        return _render(request.form.copy(), {}, exc.status, domain_message(exc))
    flash(_("The SLA policy is saved. New deadlines follow it; cases already waiting keep theirs."), "success")
    return redirect(url_for("sla.policy"))
