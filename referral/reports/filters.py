"""The report filter: a period of local dates and optional slices (tier, facility, specialty, urgency).

Report periods are calendar dates in Asia/Shanghai, while every timestamp is
stored in UTC. The conversion happens here and only here: a period
`from`..`to` (both inclusive) is the half-open UTC interval
[`from` 00:00 Shanghai, `to`+1 00:00 Shanghai), i.e. [`from`-1 16:00 UTC,
`to` 16:00 UTC). A case submitted at 23:30 Shanghai time on 31 March (15:30 UTC)
belongs to March.

Grouping by local week or month needs the same shift inside SQL. SQLite has no
time zone database, so both backends shift by the zone's UTC offset, which
`local_offset_seconds` reads from the zone database and checks is constant over
the period (Shanghai has kept UTC+8 without daylight saving since 1991; periods
before 1992 are refused rather than computed wrongly).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..domain.errors import ValidationFailed
from ..domain.specialties import specialty_codes
from ..domain.vocabulary import Tier, Urgency

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
EARLIEST = date(1992, 1, 1)
MAX_DAYS = 3660  # ten years: longer periods are a mistake in the form, not a report

# The field messages of a bad filter: English, as the API gives them (a program contract); the
# `/reports` page shows them in the reader's language (`views.field_messages`).
AFTER_TO = "must not be after `to`"
NOT_A_DATE = "a date as YYYY-MM-DD"
TOO_EARLY = f"must be {EARLIEST.isoformat()} or later"
TOO_LONG = "the period may span at most ten years"
ZONE_CHANGED = "the time zone changed within the period"
UNKNOWN_SPECIALTY = "unknown specialty; see GET /api/v1/specialties"
NOT_A_FACILITY = "a facility id or code"

GROUPINGS = ("tier", "facility", "specialty", "urgency", "month", "week")
API_GROUPINGS = ("tier", "facility", "specialty", "urgency", "month")


def local_today(now: datetime | None = None) -> date:
    """Today's date in Shanghai."""
    return (now or datetime.now(UTC)).astimezone(LOCAL_TZ).date()


def local_midnight_utc(day: date) -> datetime:
    """The UTC instant at which `day` begins in Shanghai."""
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)


@dataclass(frozen=True)
class ReportFilter:
    """What a report covers. `facility` is a facility id or code as the caller gave it;
    the service resolves it (and checks it against the caller's jurisdiction)."""

    date_from: date
    date_to: date
    tier: Tier | None = None
    facility: str | None = None
    specialty: str | None = None
    urgency: Urgency | None = None

    @property
    def start_utc(self) -> datetime:
        """First instant of the period (inclusive), UTC."""
        return local_midnight_utc(self.date_from)

    @property
    def end_utc(self) -> datetime:
        """First instant after the period (exclusive), UTC."""
        return local_midnight_utc(self.date_to + timedelta(days=1))

    def local_offset_seconds(self) -> int:
        """Shanghai's UTC offset over the period, for grouping by local week and month in SQL."""
        first = LOCAL_TZ.utcoffset(datetime.combine(self.date_from, time(0)))
        last = LOCAL_TZ.utcoffset(datetime.combine(self.date_to, time(23, 59)))
        if first != last:  # cannot happen from 1992 on; refuse rather than shift some rows wrongly
            raise ValidationFailed("invalid period", fields={"from": ZONE_CHANGED})
        return int(first.total_seconds())

    def with_period(self, date_from: date, date_to: date) -> "ReportFilter":
        return replace(self, date_from=date_from, date_to=date_to)

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (the inverse of `from_args`)."""
        args = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        for key, value in (("tier", self.tier), ("facility", self.facility), ("specialty", self.specialty),
                           ("urgency", self.urgency)):
            if value:
                args[key] = str(value)
        return args

    @classmethod
    def from_args(cls, args: Mapping[str, str | None], *, today: date | None = None) -> "ReportFilter":
        """Parse query-string style arguments; any bad value is a `validation` error naming the field.

        Without dates the period is the year that ends today (Shanghai).
        """
        today = today or local_today()
        fields: dict[str, str] = {}
        date_to = _date(args.get("to"), "to", fields) or today
        date_from = _date(args.get("from"), "from", fields) or (date_to - timedelta(days=364))
        if not fields:
            if date_from > date_to:
                fields["from"] = AFTER_TO
            elif date_from < EARLIEST:
                fields["from"] = TOO_EARLY
            elif (date_to - date_from).days >= MAX_DAYS:
                fields["to"] = TOO_LONG
        tier = _choice(args.get("tier"), "tier", Tier, fields)
        urgency = _choice(args.get("urgency"), "urgency", Urgency, fields)
        specialty = (args.get("specialty") or "").strip() or None
        if specialty is not None and specialty not in specialty_codes():
            fields["specialty"] = UNKNOWN_SPECIALTY
        facility = (args.get("facility") or "").strip() or None
        if facility is not None and len(facility) > 32:
            fields["facility"] = NOT_A_FACILITY
        if fields:
            raise ValidationFailed("invalid report filter", fields=fields)
        return cls(date_from, date_to, tier, facility, specialty, urgency)


def parse_grouping(value: str | None, allowed: tuple[str, ...] = API_GROUPINGS, default: str = "tier") -> str:
    value = (value or "").strip() or default
    if value not in allowed:
        raise ValidationFailed("invalid grouping", fields={"group_by": "one of " + ", ".join(allowed)})
    return value


def _date(raw: str | None, name: str, fields: dict[str, str]) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        fields[name] = NOT_A_DATE
        return None


def _choice(raw: str | None, name: str, enum, fields: dict[str, str]):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return enum(raw)
    except ValueError:
        fields[name] = "one of " + ", ".join(e.value for e in enum)
        return None
