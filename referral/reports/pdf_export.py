"""The PDF report: the page's figures, charts (the same SVG) and tables, and the filter used.

Rendered by `referral.pdf` (WeasyPrint in a limited child process, the embedded
CJK font, nothing fetched from outside). Every text reaches the template as a
plain string and is escaped by Jinja; the charts are our own SVG markup.
"""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from ..pdf import font_face_css, render_pdf
from ..pdf.fonts import FAMILY_STACK
from . import document
from .labels import facility_label, group_label, title

TEMPLATE = "reports/report_pdf.html"
RENDER_TIMEOUT_S = 60.0
RENDER_MEMORY_MB = 1024
MAX_FACILITIES = 60  # a longer league table makes a slow, unreadable PDF; the Excel file has them all


def report_html(report) -> str:
    f = report.filter
    filters = [
        (title("tier"), group_label(report, "tier", f.tier.value) if f.tier else None),
        (title("facility"), facility_label(report.facility) if report.facility else None),
        (title("specialty"), group_label(report, "specialty", f.specialty) if f.specialty else None),
        (title("urgency"), group_label(report, "urgency", f.urgency.value) if f.urgency else None),
    ]
    doc = document.build(report, font_family=FAMILY_STACK, max_facilities=MAX_FACILITIES)
    return render_template(TEMPLATE, report=report, doc=doc, filters=filters,
                           jurisdiction=facility_label(report.jurisdiction) if report.jurisdiction else None,
                           font_css=Markup(font_face_css()))


def report_pdf(report) -> bytes:
    return render_pdf(report_html(report), timeout_s=RENDER_TIMEOUT_S, memory_mb=RENDER_MEMORY_MB)
