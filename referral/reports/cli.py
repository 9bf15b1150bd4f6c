"""`referral report`: the same report as the page and the API, written to a file or stdout.

Runs inside an application request context so that labels and the PDF template
resolve exactly as they do on the page (in the language asked for).
"""

from __future__ import annotations

import json

from flask import session as web_session
from sqlalchemy import select

from ..config import Settings
from ..domain.errors import NotFound
from ..models import User
from ..services import reports as report_service
from .filters import ReportFilter


def run_report(settings: Settings, args: dict, *, group_by: str, fmt: str, username: str | None,
               lang: str = "zh") -> bytes:
    """The report as bytes in `fmt` (json, csv: the `group_by` rows; xlsx, pdf: the full report)."""
    from ..app import create_app

    app = create_app(settings)
    with app.test_request_context("/reports"):
        web_session["locale"] = lang
        database = app.extensions["referral"].database
        with database.session() as session:
            report_filter = ReportFilter.from_args(args)
            full = fmt in ("xlsx", "pdf")
            groupings = report_service.PAGE_GROUPINGS if full else (group_by,)
            percentiles = report_service.PAGE_PERCENTILES if full else (group_by,)
            kwargs = {"groupings": groupings, "percentiles_for": percentiles, "diagnoses": 10 if full else 0}
            if username:
                user = session.scalars(select(User).where(User.username == username)).first()
                if user is None:
                    raise NotFound(f"no account named {username}")
                report = report_service.referral_report(session, user, report_filter, **kwargs)
            else:
                report = report_service.system_report(session, report_filter, **kwargs)
            return _render(report, group_by, fmt)


def _render(report, group_by: str, fmt: str) -> bytes:
    if fmt == "json":
        from .json_export import report_json

        return (json.dumps(report_json(report, group_by), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "csv":
        from .csv_export import report_csv

        return report_csv(report, (group_by,))
    if fmt == "xlsx":
        from .xlsx_export import report_xlsx

        return report_xlsx(report)
    from .pdf_export import report_pdf

    return report_pdf(report)
