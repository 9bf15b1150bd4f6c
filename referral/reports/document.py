"""The report laid out for reading: headline figures, charts and tables, shared by the page and the PDF.

Everything here is presentation of figures already computed in SQL: labels,
formatting, the zero-filled calendar for the trend charts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from .i18n import gettext as _

from ..domain.icd10 import lookup as icd10_lookup
from ..web.i18n import current_locale
from . import charts
from .figures import Figures
from .labels import display, duration, facility_label, group_label, header, title


@dataclass(frozen=True)
class Cell:
    text: str
    sort: str | float | int | None = None  # what the table sorts by (numbers as numbers)
    numeric: bool = True


@dataclass
class Table:
    key: str
    caption: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Card:
    name: str
    label: str
    value: str
    note: str = ""


@dataclass
class Document:
    cases: list[Card]
    responses: list[Card]
    charts: dict[str, object]
    tables: list[Table]


TIER_COLUMNS = ("submitted", "received", "claimed", "advised", "escalated", "declined", "pending", "escalation_rate",
                "time_to_claim_median_min", "time_to_claim_p90_min", "time_to_advice_median_min",
                "time_to_advice_p90_min", "claim_sla_breach_rate", "advice_sla_breach_rate")
LEAGUE_COLUMNS = ("submitted", "closed", "managed_locally_share", "received", "claimed", "advised", "escalated",
                  "declined", "pending", "time_to_claim_median_min", "time_to_advice_median_min", "sla_breaches",
                  "sla_breach_rate")
MONTH_COLUMNS = ("submitted", "closed", "managed_locally_share", "open_backlog", "received", "advised", "escalated",
                 "time_to_claim_median_min", "time_to_advice_median_min", "sla_breach_rate")


def build(report, *, font_family: str | None = None, max_facilities: int | None = None) -> Document:
    """The report laid out; the PDF passes its font and keeps the league table to the busiest facilities."""
    total = report.total
    d = total.as_dict()
    cases = [Card(n, title(n), display(n, d[n])) for n in ("submitted", "closed", "open_backlog")]
    cases.append(Card("managed_locally_share", title("managed_locally_share"), display("managed_locally_share",
                      d["managed_locally_share"]), _("%(n)s of %(total)s closed cases", n=total.managed_locally,
                                                     total=total.closed)))
    cases.append(Card("cancelled", title("cancelled"), display("cancelled", d["cancelled"])))
    responses = [Card(n, title(n), display(n, d[n])) for n in ("received", "claimed", "advised", "escalated",
                                                                 "declined")]
    responses.append(Card("time_to_claim", _("Time to claim"), duration(d["time_to_claim_median_min"]),
                          _("median; 90%% within %(p90)s", p90=duration(d["time_to_claim_p90_min"]))))
    responses.append(Card("time_to_advice", _("Time to advice"), duration(d["time_to_advice_median_min"]),
                          _("median; 90%% within %(p90)s", p90=duration(d["time_to_advice_p90_min"]))))
    responses.append(Card("sla_breaches", title("sla_breaches"), display("sla_breaches", total.sla_breaches),
                          _("%(rate)s of %(n)s deadlines", rate=display("sla_breach_rate", total.sla_breach_rate),
                            n=total.claim_sla_due + total.advice_sla_due)))
    return Document(cases, responses, _charts(report, font_family), _tables(report, max_facilities))


def _months(first: date, last: date) -> list[str]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _weeks(first: date, last: date) -> list[str]:
    monday = first - timedelta(days=first.weekday())
    out = []
    while monday <= last:
        out.append(monday.isoformat())
        monday += timedelta(days=7)
    return out


def _charts(report, font_family: str | None) -> dict[str, object]:
    f = report.filter
    out: dict[str, object] = {}
    if "month" in report.groupings:
        months = _months(f.date_from, f.date_to)
        by_month = report.computed.group("month")
        get = lambda m, n: getattr(by_month.get(m, Figures()), n)  # noqa: E731
        out["months"] = charts.trend_chart(months, [
            charts.Series(title("submitted"), [get(m, "submitted") for m in months], "bar"),
            charts.Series(title("advised"), [get(m, "advised") for m in months], "line"),
            charts.Series(title("escalated"), [get(m, "escalated") for m in months], "line", charts.PALETTE[2]),
        ], title=_("Cases by month"), font_family=font_family)
    if "week" in report.groupings:
        weeks = _weeks(f.date_from, f.date_to)
        by_week = report.computed.group("week")
        out["weeks"] = charts.trend_chart([w[5:] for w in weeks], [
            charts.Series(title("submitted"), [by_week.get(w, Figures()).submitted for w in weeks], "line"),
            charts.Series(title("received"), [by_week.get(w, Figures()).received for w in weeks], "line",
                          charts.PALETTE[4]),
        ], title=_("Cases by week (weeks start on Monday)"), font_family=font_family)
    if "tier" in report.groupings:
        rows = [(key, fig) for key, fig in report.rows("tier") if fig.received]
        out["claim_by_tier"] = charts.bar_list(
            [(group_label(report, "tier", k), fig.minutes("time_to_claim_median"), fig.minutes("time_to_claim_p90"))
             for k, fig in rows], title=_("Time to claim by tier"), value_format=duration,
            primary=_("median"), secondary=_("90th percentile"), font_family=font_family)
        out["advice_by_tier"] = charts.bar_list(
            [(group_label(report, "tier", k), fig.minutes("time_to_advice_median"),
              fig.minutes("time_to_advice_p90")) for k, fig in rows], title=_("Time to advice by tier"),
            value_format=duration, primary=_("median"), secondary=_("90th percentile"), font_family=font_family)
    if report.diagnoses:
        out["diagnoses"] = charts.bar_list(
            [(f"{d.code} {diagnosis_label(d)}", d.cases, None) for d in report.diagnoses],
            title=_("Top working diagnoses"), value_format=lambda v: f"{v:,.0f}", font_family=font_family)
    return out


def diagnosis_label(d) -> str:
    entry = icd10_lookup(d.code)
    return entry.name(current_locale()) if entry is not None else d.name


def _cells(figures: Figures, columns) -> list[Cell]:
    values = figures.as_dict()
    return [Cell(display(c, values[c]), values[c]) for c in columns]


def _tables(report, max_facilities: int | None) -> list[Table]:
    tables = []
    if "tier" in report.groupings:
        t = Table("tiers", _("By tier"), [title("tier"), *[header(c) for c in TIER_COLUMNS]])
        for key, fig in report.rows("tier"):
            t.rows.append([Cell(group_label(report, "tier", key), key, False), *_cells(fig, TIER_COLUMNS)])
        tables.append(t)
    if "facility" in report.groupings:
        rows = report.rows("facility")
        caption = _("Facilities: what they sent and how they answered")
        if max_facilities is not None and len(rows) > max_facilities:
            caption += " " + _("(the %(n)s busiest of %(total)s; every facility is in the Excel file)",
                               n=max_facilities, total=len(rows))
            rows = rows[:max_facilities]
        t = Table("facilities", caption, [title("facility"), title("tier"), *[header(c) for c in LEAGUE_COLUMNS]])
        for key, fig in rows:
            facility = report.facility_of(key)
            name = facility_label(facility) if facility else key
            tier = facility.tier if facility else ""
            t.rows.append([Cell(name, name, False), Cell(group_label(report, "tier", tier), tier, False),
                           *_cells(fig, LEAGUE_COLUMNS)])
        tables.append(t)
    if "month" in report.groupings:
        t = Table("months", _("By month"), [title("month"), *[header(c) for c in MONTH_COLUMNS]])
        for key, fig in report.rows("month"):
            t.rows.append([Cell(key, key, False), *_cells(fig, MONTH_COLUMNS)])
        tables.append(t)
    if report.diagnoses:
        t = Table("diagnoses", _("Top working diagnoses"), [_("Code"), title("diagnosis"), title("cases")])
        for d in report.diagnoses:
            t.rows.append([Cell(d.code, d.code, False), Cell(diagnosis_label(d), diagnosis_label(d), False),
                           Cell(f"{d.cases:,}", d.cases)])
        tables.append(t)
    return tables
