"""Referral reports for administrators: the aggregate report and the case-level line list.

Only administrators (and system administrators) get reports; doctors and
specialists are refused with `forbidden`. Every figure is computed over the
cases the administrator may see (`services.access.case_filter` of their scope:
their facility and everything below it), so a township administrator's numbers
never include another township's cases. Aggregates carry no patient
identifiers; the line list masks ID numbers, and each export of it is recorded
in the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.access import CaseScope, can_administer
from ..domain.errors import Forbidden, ValidationFailed
from ..models import Facility, Partnership, User, utcnow
from ..reports import figures as fig
from ..reports.filters import GROUPINGS, ReportFilter
from ..reports.line_list import MAX_ROWS, LineItem, line_items
from .access import record_read
from .actors import actor_facts, facility_subtree, scope_of
from .inputs import small_int
from .transaction import transactional

PAGE_GROUPINGS = ("tier", "facility", "month", "week")
PAGE_PERCENTILES = ("tier", "facility", "month")
LINE_LIST_FORMATS = ("csv", "xlsx")


@dataclass
class Report:
    """An aggregate report: the filter it answers, its figures per grouping, and the labels they need."""

    filter: ReportFilter
    generated_at: datetime
    computed: fig.Computed
    diagnoses: list[fig.DiagnosisCount]
    facility: Facility | None  # the facility the report is narrowed to, if any
    jurisdiction: Facility | None  # the administrator's facility (None: the whole system)
    facilities: dict[int, object] = field(default_factory=dict)  # id, code, name, name_en, tier of each facility key
    groupings: tuple[str, ...] = ()

    @property
    def total(self) -> fig.Figures:
        return self.computed.total

    def rows(self, grouping: str) -> list[tuple[str, fig.Figures]]:
        """(key, figures) of a grouping, in a stable order: time ascending, otherwise by key."""
        items = self.computed.group(grouping).items()
        if grouping == "tier":
            order = {t: i for i, t in enumerate(("village", "township", "county", "provincial"))}
            return sorted(items, key=lambda kv: (order.get(kv[0], 9), kv[0]))
        if grouping == "facility":
            return sorted(items, key=lambda kv: (-kv[1].received - kv[1].submitted, self._code(kv[0])))
        if grouping == "urgency":
            order = {u: i for i, u in enumerate(("emergency", "urgent", "routine"))}
            return sorted(items, key=lambda kv: (order.get(kv[0], 9), kv[0]))
        return sorted(items)

    def facility_of(self, key: str) -> Facility | None:
        try:
            return self.facilities.get(int(key))
        except (TypeError, ValueError):
            return None

    def _code(self, key: str) -> str:
        f = self.facility_of(key)
        return f.code if f is not None else key


def require_admin(user: User) -> None:
    if not can_administer(actor_facts(user)):
        raise Forbidden("reports are for administrators")


def referral_report(
    session: Session,
    user: User,
    report_filter: ReportFilter,
    *,
    groupings: Sequence[str] = PAGE_GROUPINGS,
    percentiles_for: Sequence[str] | None = PAGE_PERCENTILES,
    diagnoses: int = 10,
    now: datetime | None = None,
) -> Report:
    """The aggregate report for an administrator's jurisdiction (read-only: no patient identifiers)."""
    require_admin(user)
    return _report(session, scope_of(session, user), user.facility, report_filter, groupings=groupings,
                   percentiles_for=percentiles_for, diagnoses=diagnoses, now=now)


def system_report(
    session: Session,
    report_filter: ReportFilter,
    *,
    groupings: Sequence[str] = PAGE_GROUPINGS,
    percentiles_for: Sequence[str] | None = PAGE_PERCENTILES,
    diagnoses: int = 10,
    now: datetime | None = None,
) -> Report:
    """The report over every case, for the operator's command line (who holds the database anyway)."""
    return _report(session, CaseScope(everything=True), None, report_filter, groupings=groupings,
                   percentiles_for=percentiles_for, diagnoses=diagnoses, now=now)


def _report(session, scope, jurisdiction, report_filter, *, groupings, percentiles_for, diagnoses, now) -> Report:
    unknown = [g for g in groupings if g not in GROUPINGS]
    if unknown:
        raise ValidationFailed("invalid grouping", fields={"group_by": "one of " + ", ".join(GROUPINGS)})
    now = now or utcnow()
    facility = resolve_facility(session, report_filter.facility)
    slice_ = _slice(session, report_filter, scope, facility, now)
    computed = fig.compute(session, slice_, groupings, percentiles_for=percentiles_for, diagnoses=diagnoses)
    top = computed.diagnoses
    ids = {int(k) for k in computed.group("facility")}
    named = {}
    if ids:  # names for the league table: plain rows, not entities (a county has hundreds of facilities)
        rows = session.execute(select(Facility.id, Facility.code, Facility.name, Facility.name_en, Facility.tier)
                               .where(Facility.id.in_(sorted(ids))))
        named = {row.id: row for row in rows}
    return Report(report_filter, now, computed, top, facility, jurisdiction, named, tuple(groupings))


def _slice(session, report_filter: ReportFilter, scope, facility: Facility | None, now: datetime) -> fig.Slice:
    return fig.Slice(
        start=report_filter.start_utc,
        end=report_filter.end_utc,
        offset_seconds=report_filter.local_offset_seconds(),
        scope=scope,
        now=now,
        tier=report_filter.tier.value if report_filter.tier else None,
        facility_ids=facility_subtree(session, facility.id) if facility is not None else None,
        specialty=report_filter.specialty,
        urgency=report_filter.urgency.value if report_filter.urgency else None,
    )


def resolve_facility(session: Session, given: str | None) -> Facility | None:
    """The facility a filter names by id or code; a clear `validation` error when there is none."""
    if not given:
        return None
    number = small_int(given)
    stmt = select(Facility).where(Facility.id == number if number is not None else Facility.code == given)
    found = session.scalars(stmt).first()
    if found is None:
        raise ValidationFailed("invalid report filter", fields={"facility": "no such facility"})
    return found


def filter_facilities(session: Session, user: User) -> list[Facility]:
    """The facilities an administrator can narrow a report to: the jurisdiction and its provincial partners."""
    require_admin(user)
    scope = scope_of(session, user)
    stmt = select(Facility)
    if not scope.everything:
        ids = facility_subtree(session, user.facility_id)
        partners = select(Partnership.partner_id).where(Partnership.facility_id.in_(sorted(ids)))
        stmt = stmt.where(Facility.id.in_(sorted(ids)) | Facility.id.in_(partners))
    return list(session.scalars(stmt.order_by(Facility.code)))


# ---------------------------------------------------------------- the line list


@dataclass
class LineList:
    filter: ReportFilter
    generated_at: datetime
    items: list[LineItem]


@transactional
def export_line_list(
    session: Session,
    user: User,
    report_filter: ReportFilter,
    *,
    fmt: str,
    ip: str = "",
    now: datetime | None = None,
) -> LineList:
    """The case-level line list for an administrator, ID numbers masked; the export is audit-logged."""
    require_admin(user)
    if fmt not in LINE_LIST_FORMATS:
        raise ValidationFailed("invalid format", fields={"format": "one of " + ", ".join(LINE_LIST_FORMATS)})
    now = now or utcnow()
    facility = resolve_facility(session, report_filter.facility)
    slice_ = _slice(session, report_filter, scope_of(session, user), facility, now)
    items, more = line_items(session, slice_)
    if more:
        raise ValidationFailed(
            f"the line list has more than {MAX_ROWS} cases; choose a shorter period or a narrower filter",
            fields={"from": "period too long for a line list"},
        )
    record_read(session, user, "reports.line_list.export", object_type="line_list", ip=ip,
                filter=report_filter.as_args(), format=fmt, rows=len(items))
    return LineList(report_filter, now, items)
