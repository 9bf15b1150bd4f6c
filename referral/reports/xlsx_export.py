"""Excel exports with typed cells: counts as integers, rates as fractions shown as percentages,
minutes as decimals, months and weeks as dates, times as local (Shanghai) date-times.

Text that Excel would take for a formula is stored as a plain string.
"""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from .document import LEAGUE_COLUMNS, MONTH_COLUMNS, TIER_COLUMNS, diagnosis_label
from .figures import FIGURE_COLUMNS
from .filters import LOCAL_TZ
from .i18n import gettext as _
from .labels import MINUTES, RATES, facility_label, group_label, line_value, title
from .line_list import COLUMNS as LINE_COLUMNS

PERCENT = "0.0%"
MINUTES_FORMAT = "0.0"
INTEGER = "#,##0"
MONTH = "yyyy-mm"
DAY = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
BOLD = Font(bold=True)


def report_xlsx(report) -> bytes:
    """Summary, by tier, facilities, by month, by week and diagnoses, one sheet each."""
    wb = Workbook()
    summary = wb.active
    summary.title = _sheet(_("Summary"))
    _summary(summary, report)
    if "tier" in report.groupings:
        rows = [([group_label(report, "tier", k)], fig) for k, fig in report.rows("tier")]
        _figure_sheet(wb.create_sheet(_sheet(_("By tier"))), [title("tier")], rows, TIER_COLUMNS)
    if "facility" in report.groupings:
        rows = []
        for key, fig in report.rows("facility"):
            f = report.facility_of(key)
            rows.append(([f.code if f else key, facility_label(f) if f else key,
                          group_label(report, "tier", f.tier) if f else ""], fig))
        _figure_sheet(wb.create_sheet(_sheet(_("Facilities"))), [_("Code"), title("facility"), title("tier")], rows,
                      LEAGUE_COLUMNS)
    if "month" in report.groupings:
        rows = [([date(int(k[:4]), int(k[5:7]), 1)], fig) for k, fig in report.rows("month")]
        _figure_sheet(wb.create_sheet(_sheet(_("By month"))), [title("month")], rows, MONTH_COLUMNS, MONTH)
    if "week" in report.groupings:
        rows = [([date.fromisoformat(k)], fig) for k, fig in report.rows("week")]
        _figure_sheet(wb.create_sheet(_sheet(_("By week"))), [title("week")], rows,
                      ("submitted", "received", "claimed", "advised", "escalated", "declined"), DAY)
    if report.diagnoses:
        ws = wb.create_sheet(_sheet(_("Diagnoses")))
        _append(ws, [_("Code"), title("diagnosis"), title("cases")])
        for d in report.diagnoses:
            _append(ws, [d.code, diagnosis_label(d), d.cases])
            ws.cell(ws.max_row, 3).number_format = INTEGER
        _finish(ws)
    return _save(wb)


def _summary(ws, report) -> None:
    f = report.filter
    _append(ws, [_("Referral report")])
    ws["A1"].font = Font(bold=True, size=14)
    _append(ws, [_("From"), f.date_from])
    _append(ws, [_("To"), f.date_to])
    for row in (2, 3):
        ws.cell(row, 2).number_format = DAY
    _append(ws, [_("Time zone"), "Asia/Shanghai"])
    _append(ws, [_("Jurisdiction"), facility_label(report.jurisdiction) if report.jurisdiction else _("All")])
    for name, value in (("tier", f.tier and group_label(report, "tier", f.tier.value)),
                        ("facility", report.facility and facility_label(report.facility)),
                        ("specialty", f.specialty and group_label(report, "specialty", f.specialty)),
                        ("urgency", f.urgency and group_label(report, "urgency", f.urgency.value))):
        _append(ws, [title(name), value if value else _("All")])
    _append(ws, [_("Generated"), _local(report.generated_at)])
    ws.cell(ws.max_row, 2).number_format = DATETIME
    _append(ws, [])
    values = report.total.as_dict()
    for name in FIGURE_COLUMNS:
        _append(ws, [title(name), values[name]])
        _format(ws.cell(ws.max_row, 2), name)
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 18


def _figure_sheet(ws, key_titles: list[str], rows, columns, key_format: str | None = None) -> None:
    _append(ws, [*key_titles, *[title(c) for c in columns]])
    for keys, fig in rows:
        values = fig.as_dict()
        _append(ws, [*keys, *[values[c] for c in columns]])
        r = ws.max_row
        if key_format:
            ws.cell(r, 1).number_format = key_format
        for i, c in enumerate(columns, start=len(keys) + 1):
            _format(ws.cell(r, i), c)
    _finish(ws)


def _format(cell, name: str) -> None:
    if name in RATES:
        cell.number_format = PERCENT
    elif name in MINUTES:
        cell.number_format = MINUTES_FORMAT
    elif isinstance(cell.value, int):
        cell.number_format = INTEGER


def _finish(ws) -> None:
    for cell in ws[1]:
        cell.font = BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
    ws.freeze_panes = "B2"
    for i in range(1, ws.max_column + 1):
        ws.column_dimensions[get_column_letter(i)].width = 14 if i > 1 else 24


def line_list_xlsx(line_list) -> bytes:
    """The line list, streamed row by row (it may hold a hundred thousand cases)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet(_("Line list")))
    ws.freeze_panes = "B2"
    header = []
    for name in LINE_COLUMNS:
        cell = WriteOnlyCell(ws, value=title(name))
        cell.font = BOLD
        header.append(cell)
    ws.append(header)
    for item in line_list.items:
        row = []
        for name in LINE_COLUMNS:
            value = line_value(item, name)
            if isinstance(value, datetime):
                cell = WriteOnlyCell(ws, value=_local(value))
                cell.number_format = DATETIME
            elif isinstance(value, str):
                cell = _string_cell(ws, value)
            else:
                cell = WriteOnlyCell(ws, value=value)
            row.append(cell)
        ws.append(row)
    return _save(wb)


def _local(value: datetime) -> datetime:
    """Excel has no time zones: a naive Shanghai wall-clock time."""
    return value.astimezone(LOCAL_TZ).replace(tzinfo=None)


def _append(ws, values: list) -> None:
    """Append a row; text that starts with '=' stays text (openpyxl would otherwise write a formula)."""
    ws.append(values)
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"


def _string_cell(ws, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


def _sheet(name) -> str:
    bad = '[]:*?/\\'
    return "".join(c for c in str(name) if c not in bad)[:31]


def _save(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
