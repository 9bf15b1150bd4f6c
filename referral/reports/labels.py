"""What the report's groups and figures are called, in the reader's language, and how values read.

Message ids are English and go through Flask-Babel; coded values (tiers,
urgencies, specialties, facilities) use the application's own labels. Outside a
request (the command line) the message ids themselves are used.
"""

from __future__ import annotations

from .i18n import lazy_gettext as _l

from ..domain.specialties import specialty
from ..web.i18n import current_locale, label
from .figures import TOTAL

COLUMN_TITLES = {"group_by": _l("Grouping"), "key": _l("Key"), "label": _l("Name")}

GROUPING_TITLES = {
    TOTAL: _l("All"),
    "tier": _l("Tier"),
    "facility": _l("Facility"),
    "specialty": _l("Specialty"),
    "urgency": _l("Urgency"),
    "month": _l("Month"),
    "week": _l("Week starting"),
    "diagnosis": _l("Diagnosis"),
}

FIGURE_TITLES = {
    "submitted": _l("Cases submitted"),
    "closed": _l("Closed"),
    "managed_locally": _l("Managed locally"),
    "managed_locally_share": _l("Share managed locally"),
    "cancelled": _l("Cancelled"),
    "open_backlog": _l("Open backlog"),
    "received": _l("Received"),
    "claimed": _l("Claimed"),
    "advised": _l("Advised"),
    "escalated": _l("Escalated"),
    "declined": _l("Declined"),
    "pending": _l("Still pending"),
    "escalation_rate": _l("Escalation rate"),
    "time_to_claim_median_min": _l("Time to claim, median (min)"),
    "time_to_claim_p90_min": _l("Time to claim, 90th percentile (min)"),
    "time_to_advice_median_min": _l("Time to advice, median (min)"),
    "time_to_advice_p90_min": _l("Time to advice, 90th percentile (min)"),
    "claim_sla_due": _l("Claim deadlines"),
    "claim_sla_breached": _l("Claim deadlines missed"),
    "claim_sla_breach_rate": _l("Claim deadlines missed (rate)"),
    "advice_sla_due": _l("Advice deadlines"),
    "advice_sla_breached": _l("Advice deadlines missed"),
    "advice_sla_breach_rate": _l("Advice deadlines missed (rate)"),
    "sla_breaches": _l("Deadlines missed"),
    "sla_breach_rate": _l("Deadlines missed (rate)"),
    "cases": _l("Cases"),
}

# Shorter column titles for the page's and the PDF's tables, where times read "4.3 h" rather than minutes.
SHORT_TITLES = {
    "time_to_claim_median_min": _l("Claim, median"),
    "time_to_claim_p90_min": _l("Claim, 90th percentile"),
    "time_to_advice_median_min": _l("Advice, median"),
    "time_to_advice_p90_min": _l("Advice, 90th percentile"),
    "claim_sla_breach_rate": _l("Claim deadlines missed"),
    "advice_sla_breach_rate": _l("Advice deadlines missed"),
    "sla_breach_rate": _l("Deadlines missed (rate)"),
}

LINE_LIST_TITLES = {
    "reference": _l("Reference"),
    "submitted_at": _l("Submitted"),
    "origin_facility": _l("Sending facility"),
    "origin_tier": _l("Sending tier"),
    "urgency": _l("Urgency"),
    "specialty": _l("Specialty"),
    "status": _l("Status"),
    "outcome": _l("Outcome"),
    "current_facility": _l("Last facility"),
    "current_tier": _l("Last tier"),
    "hops": _l("Facilities involved"),
    "escalations": _l("Escalations"),
    "closed_at": _l("Closed"),
    "patient_sex": _l("Sex"),
    "patient_age": _l("Age"),
    "id_number_masked": _l("ID number (masked)"),
    "diagnoses": _l("Working diagnoses"),
}

RATES = {"managed_locally_share", "escalation_rate", "claim_sla_breach_rate", "advice_sla_breach_rate",
         "sla_breach_rate"}
MINUTES = {"time_to_claim_median_min", "time_to_claim_p90_min", "time_to_advice_median_min", "time_to_advice_p90_min"}


def title(name: str) -> str:
    found = (FIGURE_TITLES.get(name) or GROUPING_TITLES.get(name) or LINE_LIST_TITLES.get(name)
             or COLUMN_TITLES.get(name))
    return str(found or name)


def header(name: str) -> str:
    """A table column title as the page and the PDF show it."""
    return str(SHORT_TITLES.get(name) or title(name))


def facility_label(facility) -> str:
    if facility is None:
        return ""
    if current_locale() == "en" and facility.name_en:
        return facility.name_en
    return facility.name


def group_label(report, grouping: str, key: str) -> str:
    """The readable name of a group: a tier, a facility's name, a specialty, a month..."""
    if grouping == TOTAL:
        return str(GROUPING_TITLES[TOTAL])
    if grouping == "tier":
        return label("tier", key)
    if grouping == "urgency":
        return label("urgency", key)
    if grouping == "specialty":
        found = specialty(key)
        return found.name(current_locale()) if found else key
    if grouping == "facility":
        found = report.facility_of(key)
        return facility_label(found) if found is not None else key
    return key


def display(name: str, value) -> str:
    """A figure as a person reads it: rates as percentages, times in minutes or hours."""
    if value is None:
        return "–"
    if name in RATES:
        return f"{value * 100:.1f}%"
    if name in MINUTES:
        return duration(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def duration(minutes: float | None) -> str:
    if minutes is None:
        return "–"
    if minutes < 90:
        return str(_l("%(n)s min", n=f"{minutes:.0f}" if minutes >= 10 else f"{minutes:.1f}"))
    hours = minutes / 60
    if hours < 48:
        return str(_l("%(n)s h", n=f"{hours:.1f}"))
    return str(_l("%(n)s d", n=f"{hours / 24:.1f}"))


_LINE_CODES = {"origin_tier": "tier", "current_tier": "tier", "urgency": "urgency", "status": "status",
               "outcome": "outcome", "patient_sex": "sex"}


def line_value(item, name: str):
    """A line-list cell as people read it: coded values by their names; numbers and times as they are."""
    value = getattr(item, name)
    if value is None or value == "":
        return value
    if name in _LINE_CODES:
        return label(_LINE_CODES[name], value)
    if name == "specialty":
        found = specialty(value)
        return found.name(current_locale()) if found else value
    return value
