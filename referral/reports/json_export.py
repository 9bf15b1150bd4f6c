"""The report as JSON: the shape of `GET /api/v1/reports/referrals` and `referral report --format json`."""

from __future__ import annotations

from datetime import datetime

from .filters import ReportFilter
from .labels import group_label


def _ts(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def filter_json(f: ReportFilter) -> dict:
    return {"from": f.date_from.isoformat(), "to": f.date_to.isoformat(), "timezone": "Asia/Shanghai",
            "tier": f.tier.value if f.tier else None, "facility": f.facility, "specialty": f.specialty,
            "urgency": f.urgency.value if f.urgency else None}


def report_json(report, grouping: str) -> dict:
    """Totals and one row per group of `grouping`; times in minutes, rates between 0 and 1."""
    return {
        "filter": filter_json(report.filter),
        "group_by": grouping,
        "generated_at": _ts(report.generated_at),
        "total": report.total.as_dict(),
        "rows": [{"key": key, "label": group_label(report, grouping, key), **figures.as_dict()}
                 for key, figures in report.rows(grouping)],
    }
