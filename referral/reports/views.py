"""`/reports`: the referral report page for administrators, and its exports.

Thin adapters: parse the filter, call the report service, render. Doctors and
specialists get the 403 page; a bad filter shows the form with the fields in
error (422) and no figures. The filter's field messages are the API's, in English;
`field_messages` puts them in the reader's language here, at the page.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template, request
from flask_login import login_required

from ..domain.errors import NotFound, ValidationFailed
from ..domain.specialties import all_specialties
from ..domain.vocabulary import URGENCY_ORDER, Tier
from ..runtime import db_session
from ..services import reports as report_service
from ..web.blueprint import page_headers
from ..web.i18n import current_locale, label
from ..web.session import me
from . import csv_export, document, xlsx_export
from . import filters as report_filters
from .filters import ReportFilter
from .i18n import gettext as _
from .i18n import init_template_i18n
from .i18n import lazy_gettext as _l
from .labels import facility_label

bp = Blueprint("reports", __name__)

EXPORTS = {"csv": csv_export.CONTENT_TYPE,
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "pdf": "application/pdf"}


bp.after_request(page_headers)


@bp.get("/reports")
@login_required
def page():
    user = me()
    session = db_session()
    report_service.require_admin(user)
    form = {k: request.args.get(k, "") for k in ("from", "to", "tier", "facility", "specialty", "urgency")}
    context = {"form": form, "errors": {}, "options": _options(session, user), "report": None, "doc": None}
    try:
        report_filter = ReportFilter.from_args(request.args)
        report = report_service.referral_report(session, user, report_filter)
    except ValidationFailed as exc:
        context["errors"] = field_messages(exc.fields)
        return render_template("reports/page.html", **context), 422
    form.update(report_filter.as_args())
    context.update(report=report, doc=document.build(report), export_args=report_filter.as_args(),
                   scope_name=facility_label(user.facility))
    return render_template("reports/page.html", **context)


@bp.get("/reports/export.<fmt>")
@login_required
def export(fmt: str):
    if fmt not in EXPORTS:
        raise NotFound("no such export")
    user = me()
    report_filter = ReportFilter.from_args(request.args)
    report = report_service.referral_report(db_session(), user, report_filter)
    if fmt == "csv":
        body = csv_export.report_csv(report, report_service.PAGE_GROUPINGS, titles=True, diagnoses=True)
    elif fmt == "xlsx":
        body = xlsx_export.report_xlsx(report)
    else:
        from .pdf_export import report_pdf

        body = report_pdf(report)
    return _download(body, fmt, f"referrals-{report_filter.date_from}-{report_filter.date_to}")


@bp.get("/reports/line-list.<fmt>")
@login_required
def line_list(fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise NotFound("no such export")
    report_filter = ReportFilter.from_args(request.args)
    listing = report_service.export_line_list(db_session(), me(), report_filter, fmt=fmt,
                                              ip=request.remote_addr or "")
    body = csv_export.line_list_csv(listing) if fmt == "csv" else xlsx_export.line_list_xlsx(listing)
    return _download(body, fmt, f"line-list-{report_filter.date_from}-{report_filter.date_to}")


def _download(body: bytes, fmt: str, stem: str) -> Response:
    return Response(body, content_type=EXPORTS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


# The field messages of a bad filter (English, from `filters` and the report service's `resolve_facility`)
# as the page shows them.
FIELD_MESSAGES = {
    report_filters.AFTER_TO: _l("The start date must not be after the end date."),
    report_filters.NOT_A_DATE: _l("Enter a date as YYYY-MM-DD."),
    report_filters.TOO_EARLY: _l("Choose a date from %(date)s on.", date=report_filters.EARLIEST.isoformat()),
    report_filters.TOO_LONG: _l("The period may span at most ten years."),
    report_filters.ZONE_CHANGED: _l("The time zone changed within the period; choose a shorter one."),
    report_filters.UNKNOWN_SPECIALTY: _l("Choose a specialty from the list."),
    report_filters.NOT_A_FACILITY: _l("Choose a facility from the list."),
    "no such facility": _l("Choose a facility from the list."),
}
CHOICES = ("tier", "urgency", "specialty", "facility")  # fields the form offers as a list of valid values


def field_messages(fields: dict[str, str]) -> dict[str, str]:
    """The field messages of a bad filter in the reader's language (the API keeps the English ones);
    a message not known here gets a general one for its field ("one of …": choose an option)."""

    def message(name: str, text: str) -> str:
        if text in FIELD_MESSAGES:
            return str(FIELD_MESSAGES[text])
        return _("Choose one of the options.") if name in CHOICES else _("Check this field.")

    return {name: message(name, text) for name, text in fields.items()}


def _options(session, user) -> dict:
    """Choices of the filter form: tiers, the facilities of the jurisdiction by tier, specialties, urgencies."""
    facilities = report_service.filter_facilities(session, user)
    by_tier = []
    for tier in Tier:
        group = [(str(f.id), facility_label(f)) for f in facilities if f.tier == tier.value]
        if group:
            by_tier.append((tier.value, group))
    locale = current_locale()
    return {
        "tiers": [(t.value, label("tier", t.value)) for t in Tier],
        "facilities": by_tier,
        "specialties": [(s.code, s.name(locale)) for s in all_specialties()],
        "urgencies": [(u.value, label("urgency", u.value)) for u in URGENCY_ORDER],
        "all": _("All"),
    }


def init_reports(app: Flask) -> None:
    init_template_i18n(app)  # the reports' templates translate with the reports' domain, the layout with the app's
    app.register_blueprint(bp)
