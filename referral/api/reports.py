"""Aggregate referral reports for administrators (JSON or CSV)."""

from __future__ import annotations

from flask import Response, jsonify, request

from ..domain.errors import ValidationFailed
from ..reports.csv_export import CONTENT_TYPE, report_csv
from ..reports.filters import GROUPINGS, ReportFilter, parse_grouping
from ..reports.json_export import report_json
from ..runtime import db_session
from ..services import reports as report_service
from . import current_user, endpoint

FORMATS = ("json", "csv")


@endpoint("/reports/referrals", "GET", "Referral figures for the caller's jurisdiction", tag="reports", query={
    "from": "first day, YYYY-MM-DD, Asia/Shanghai (default: a year before `to`)",
    "to": "last day, YYYY-MM-DD, inclusive (default: today in Asia/Shanghai)",
    "group_by": "tier (default), facility, specialty, urgency, month or week (Monday-based, Asia/Shanghai)",
    "format": "json (default) or csv (UTF-8 with a byte-order mark)",
    "tier": "only this tier: village, township, county or provincial",
    "facility": "only this facility and those below it (id or code)",
    "specialty": "only this specialty (code)",
    "urgency": "only this urgency: routine, urgent or emergency",
}, response="application/json", description=(
    "Administrators only (others get `forbidden`); figures cover the cases of the caller's jurisdiction. "
    "Cases count in the period in which they were first submitted and belong to the facility that sent them; "
    "hops (a case's stay at one facility) count in the period in which the case arrived and belong to the "
    "facility that received it. Times are in minutes (median and 90th percentile), rates between 0 and 1. "
    "No patient identifiers."))
def referral_figures():
    args = request.args
    group_by = parse_grouping(args.get("group_by"), GROUPINGS)
    fmt = (args.get("format") or "json").strip()
    if fmt not in FORMATS:
        raise ValidationFailed("invalid format", fields={"format": "json or csv"})
    report_filter = ReportFilter.from_args(args)
    report = report_service.referral_report(db_session(), current_user(), report_filter, groupings=(group_by,),
                                            percentiles_for=(group_by,), diagnoses=0)
    if fmt == "csv":
        name = f"referrals-{report_filter.date_from}-{report_filter.date_to}-{group_by}.csv"
        return Response(report_csv(report, (group_by,)), content_type=CONTENT_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return jsonify(report_json(report, group_by))
