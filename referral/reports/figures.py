"""The report's figures, computed in SQL from cases and hops.

Two kinds of fact, each counted in the period in which it began:

* **Cases** (the sending side), by the date they were first submitted and
  attributed to the facility that sent them: submitted, closed, managed
  locally, cancelled, and the open backlog (still waiting at a responding
  facility: submitted, in review or with information requested).
* **Hops** (the responding side: one stay of a case at one facility), by the
  date the case arrived there and attributed to that facility: received,
  claimed, advised, escalated, declined, still pending; time to claim
  (arrival to claim) and time to advice (arrival to advice), as median and
  90th percentile; and the SLA deadlines:

  - claim deadline: counted once the hop was claimed or the deadline passed
    while the hop was open; breached when the hop was claimed after it, or not
    claimed by then (still waiting, or left unclaimed past it);
  - advice deadline: counted once advice was given or the deadline passed
    while the hop was open; breached when the hop was still open at the
    deadline (advice given late, escalated or declined late, or still open).

  Deadlines that have not passed yet at the report's `now` are not counted.

A group (a tier, a facility, a month...) therefore shows both what it sent and
how it answered: the league table of facilities is the `facility` grouping.
Rates are ratios of these counts.

One scan per kind of fact, the same on both backends: each statement groups
the period's facts by every grouping's key at once (a facility's week within a
month, say: the finest groups, a few thousand for a year) and counts them; the
total and each grouping are then added up from those groups in Python (`_Rollup`,
with numpy). Percentiles cannot be added up, so the finest groups also hand over
their times, every one of them (packed 4-byte integers on PostgreSQL, text on
SQLite), and the median and 90th percentile are taken from all of a group's times
exactly as PostgreSQL's percentile_cont does (`percentiles`). Sorting a year of
times per grouping in SQL (percentile_cont over GROUPING SETS, or window
functions on SQLite) cost more than everything else together. Times are whole
seconds (fractions dropped on both backends). tests/reports checks the figures
against hand-computed values on both backends, and bench/reports_bench.py against
hand-written SQL (percentile_cont) on a million cases.

The scans read covering indexes (models/case.py: ix_cases_submitted_report and
ix_hops_opened_report), so a year of a million-case history is read from the
indexes alone; the diagnoses are counted per distinct list, each list read once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import bindparam, case, func, literal, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from ..domain.access import CaseScope
from ..domain.vocabulary import HopOutcome, Outcome
from ..domain.workflow import CaseStatus
from ..models import Case, Facility
from ..models import Hop as HopModel
from ..models.base import UTCDateTime
from ..services.access import case_filter
from . import sql

TOTAL = "total"
TOTAL_KEY = "all"
OPEN_STATUSES = (CaseStatus.SUBMITTED.value, CaseStatus.IN_REVIEW.value, CaseStatus.INFO_REQUESTED.value)
PERCENTILES = {"median": 0.5, "p90": 0.9}
DIMENSIONS = ("tier", "facility", "specialty", "urgency", "month", "week")
REPORT_WORK_MEM = "64MB"
MAX_CONCURRENT = 4  # statements of one report run side by side on at most this many connections


@dataclass
class Figures:
    """One group's figures. Counts come from SQL; rates and minutes are derived from them."""

    # cases, by the facility that sent them
    submitted: int = 0
    closed: int = 0
    managed_locally: int = 0
    cancelled: int = 0
    open_backlog: int = 0
    # hops, by the facility that received them
    received: int = 0
    claimed: int = 0
    advised: int = 0
    escalated: int = 0
    declined: int = 0
    pending: int = 0
    claim_sla_due: int = 0
    claim_sla_breached: int = 0
    advice_sla_due: int = 0
    advice_sla_breached: int = 0
    time_to_claim_median_s: float | None = None
    time_to_claim_p90_s: float | None = None
    time_to_advice_median_s: float | None = None
    time_to_advice_p90_s: float | None = None

    @property
    def managed_locally_share(self) -> float | None:
        return _ratio(self.managed_locally, self.closed)

    @property
    def escalation_rate(self) -> float | None:
        """Escalated hops among the hops that were answered (advised, escalated or declined)."""
        return _ratio(self.escalated, self.advised + self.escalated + self.declined)

    @property
    def claim_sla_breach_rate(self) -> float | None:
        return _ratio(self.claim_sla_breached, self.claim_sla_due)

    @property
    def advice_sla_breach_rate(self) -> float | None:
        return _ratio(self.advice_sla_breached, self.advice_sla_due)

    @property
    def sla_breaches(self) -> int:
        return self.claim_sla_breached + self.advice_sla_breached

    @property
    def sla_breach_rate(self) -> float | None:
        return _ratio(self.sla_breaches, self.claim_sla_due + self.advice_sla_due)

    def minutes(self, name: str) -> float | None:
        """A time figure in minutes, one decimal (`name` like "time_to_claim_median")."""
        seconds = getattr(self, f"{name}_s")
        return None if seconds is None else round(seconds / 60.0, 1)

    def as_dict(self) -> dict:
        """The figures as the API and the exports show them (times in minutes, rates 0..1)."""
        out = {k: v for k, v in asdict(self).items() if not k.endswith("_s")}
        for name in TIME_FIGURES:
            out[f"{name}_min"] = self.minutes(name)
        for name in RATE_FIGURES:
            out[name] = getattr(self, name)
        out["sla_breaches"] = self.sla_breaches
        return out


TIME_FIGURES = ("time_to_claim_median", "time_to_claim_p90", "time_to_advice_median", "time_to_advice_p90")
RATE_FIGURES = ("managed_locally_share", "escalation_rate", "claim_sla_breach_rate", "advice_sla_breach_rate",
                "sla_breach_rate")
# The order of the columns in tables, the API and the exports.
FIGURE_COLUMNS = (
    "submitted", "closed", "managed_locally", "managed_locally_share", "cancelled", "open_backlog",
    "received", "claimed", "advised", "escalated", "declined", "pending", "escalation_rate",
    "time_to_claim_median_min", "time_to_claim_p90_min", "time_to_advice_median_min", "time_to_advice_p90_min",
    "claim_sla_due", "claim_sla_breached", "claim_sla_breach_rate",
    "advice_sla_due", "advice_sla_breached", "advice_sla_breach_rate", "sla_breaches", "sla_breach_rate",
)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Slice:
    """A resolved filter, ready for SQL: UTC bounds, the caller's scope, and the slices chosen."""

    start: datetime
    end: datetime
    offset_seconds: int
    scope: CaseScope
    now: datetime
    tier: str | None = None
    facility_ids: frozenset[int] | None = None
    specialty: str | None = None
    urgency: str | None = None


@dataclass
class DiagnosisCount:
    code: str
    name: str
    cases: int


@dataclass
class Computed:
    """Figures per grouping: {"total": {"all": Figures}, "tier": {"village": Figures, ...}, ...}."""

    groups: dict[str, dict[str, Figures]] = field(default_factory=dict)
    diagnoses: list[DiagnosisCount] = field(default_factory=list)

    def group(self, grouping: str) -> dict[str, Figures]:
        return self.groups.get(grouping, {})

    @property
    def total(self) -> Figures:
        return self.groups[TOTAL][TOTAL_KEY]


# ---------------------------------------------------------------- the fact scans


def _case_facts(s: Slice, dialect: str, dims: Sequence[str]):
    """One row per case submitted in the period: its grouping keys, status and outcome."""
    origin = Facility.__table__.alias("origin")
    keys = {
        "tier": origin.c.tier,
        "facility": Case.origin_facility_id,
        "specialty": Case.specialty,
        "urgency": Case.urgency,
        "month": sql.local_month(Case.submitted_at, s.offset_seconds, dialect),
        "week": sql.local_week(Case.submitted_at, s.offset_seconds, dialect),
    }
    stmt = select(*[keys[d].label(f"k_{d}") for d in dims], Case.status, Case.outcome).select_from(Case)
    if "tier" in dims or s.tier:
        stmt = stmt.join(origin, origin.c.id == Case.origin_facility_id)
    stmt = stmt.where(Case.submitted_at >= _at(s.start), Case.submitted_at < _at(s.end), case_filter(s.scope))
    if s.tier:
        stmt = stmt.where(origin.c.tier == s.tier)
    if s.facility_ids is not None:
        stmt = stmt.where(Case.origin_facility_id.in_(sorted(s.facility_ids)))
    if s.specialty:
        stmt = stmt.where(Case.specialty == s.specialty)
    if s.urgency:
        stmt = stmt.where(Case.urgency == s.urgency)
    return stmt


def _case_measures(src) -> list:
    closed = src.c.status == CaseStatus.CLOSED.value
    return [
        func.count().label("submitted"),
        func.count().filter(closed).label("closed"),
        func.count().filter(closed & (src.c.outcome == Outcome.MANAGED_LOCALLY.value)).label("managed_locally"),
        func.count().filter(src.c.status == CaseStatus.CANCELLED.value).label("cancelled"),
        func.count().filter(src.c.status.in_(OPEN_STATUSES)).label("open_backlog"),
    ]


def _hop_facts(s: Slice, dialect: str, dims: Sequence[str]) -> list:
    """One row per hop that began in the period: its grouping keys, times, deadlines and outcome,
    as one or two SELECTs (their rows together are the hops).

    A hop at one of the scope's hop facilities puts its case in the scope by
    itself (the case has a hop there: this one), so only the other hops (a county
    case at its provincial partner, say) need their case looked up with
    `case_filter`: the same rows as filtering every hop through its case, with far
    fewer look-ups. The two parts are counted by statements of their own, which
    run side by side (see `compute`).
    """
    scope = s.scope
    wants_case = bool("urgency" in dims or s.urgency)
    if scope.everything:
        return [_hop_part(s, dialect, dims, joined=wants_case)]
    if not scope.hop_facility_ids:
        return [_hop_part(s, dialect, dims, joined=True, where=case_filter(scope))]
    inside = sorted(scope.hop_facility_ids)
    return [
        _hop_part(s, dialect, dims, joined=wants_case, where=HopFacts.facility_id.in_(inside)),
        _hop_part(s, dialect, dims, joined=True, where=HopFacts.facility_id.not_in(inside) & case_filter(scope)),
    ]


# An alias, so that the scope's EXISTS over hops (services.access.case_filter) is not correlated to it.
HopFacts = aliased(HopModel, name="h")


def _hop_part(s: Slice, dialect: str, dims: Sequence[str], *, joined: bool, where=None):
    h = HopFacts
    keys = {
        "tier": h.tier,
        "facility": h.facility_id,
        "specialty": h.specialty,
        "urgency": Case.urgency,
        "month": sql.local_month(h.opened_at, s.offset_seconds, dialect),
        "week": sql.local_week(h.opened_at, s.offset_seconds, dialect),
    }
    stmt = select(*[keys[d].label(f"k_{d}") for d in dims], h.opened_at, h.claimed_at, h.closed_at, h.outcome,
                  h.due_claim_at, h.due_advice_at).select_from(h)
    if joined:
        stmt = stmt.join(Case, Case.id == h.case_id)
    stmt = stmt.where(h.opened_at >= _at(s.start), h.opened_at < _at(s.end))
    if where is not None:
        stmt = stmt.where(where)
    if s.tier:
        stmt = stmt.where(h.tier == s.tier)
    if s.facility_ids is not None:
        stmt = stmt.where(h.facility_id.in_(sorted(s.facility_ids)))
    if s.specialty:
        stmt = stmt.where(h.specialty == s.specialty)
    if s.urgency:
        stmt = stmt.where(Case.urgency == s.urgency)
    return stmt


def _hop_measures(src, now) -> list:
    """Counts over hop facts; the SLA rules of the module docstring, written once for both backends."""
    c = src.c
    claimed = c.claimed_at.is_not(None)
    advised = c.outcome == HopOutcome.ADVISED.value
    left_at = func.coalesce(c.closed_at, now)  # when the hop stopped (or `now` if it has not)
    return [
        func.count().label("received"),
        func.count().filter(claimed).label("claimed"),
        func.count().filter(advised).label("advised"),
        func.count().filter(c.outcome == HopOutcome.ESCALATED.value).label("escalated"),
        func.count().filter(c.outcome == HopOutcome.DECLINED.value).label("declined"),
        func.count().filter(c.closed_at.is_(None)).label("pending"),
        func.count().filter(c.due_claim_at.is_not(None) & (claimed | (c.due_claim_at < left_at))).label(
            "claim_sla_due"),
        func.count().filter(func.coalesce(c.claimed_at, c.closed_at, now) > c.due_claim_at).label("claim_sla_breached"),
        func.count().filter(c.due_advice_at.is_not(None) & (advised | (c.due_advice_at < left_at))).label(
            "advice_sla_due"),
        func.count().filter(left_at > c.due_advice_at).label("advice_sla_breached"),
    ]


def _durations(src, dialect: str) -> dict[str, object]:
    """Seconds from arrival to claim, and to advice (NULL when there was none)."""
    c = src.c
    return {
        "time_to_claim": case((c.claimed_at.is_not(None), sql.seconds_between(c.opened_at, c.claimed_at, dialect))),
        "time_to_advice": case((c.outcome == HopOutcome.ADVISED.value,
                                sql.seconds_between(c.opened_at, c.closed_at, dialect))),
    }


def _at(value: datetime, name: str | None = None):
    return bindparam(name, value, type_=UTCDateTime()) if name else literal(value, UTCDateTime())


# ---------------------------------------------------------------- grouping


def compute(
    session: Session,
    s: Slice,
    groupings: Sequence[str],
    *,
    percentiles_for: Sequence[str] | None = None,
    diagnoses: int = 0,
    native: bool | None = None,
    concurrent: bool = True,
) -> Computed:
    """Figures for the total and each grouping in `groupings` (names from DIMENSIONS), and the
    `diagnoses` most frequent working diagnoses.

    Percentiles are computed for the total and `percentiles_for` (default: every
    grouping). `native=False` makes PostgreSQL hand over the times as text, the
    way SQLite does, instead of packed binary; the tests use it to show that both
    give the same figures. The statements are independent of each other; with
    `concurrent` they run at the same time on connections of their own (a
    database server has more than one core), otherwise one after the other in
    `session`.
    """
    dialect = session.get_bind().dialect.name
    dims = [g for g in DIMENSIONS if g in groupings]
    timed = [g for g in dims if percentiles_for is None or g in percentiles_for]
    native = sql.is_postgres(dialect) if native is None else native
    now = _at(s.now, "now")
    # A case's tier is its facility's: grouped by facility, with the tiers looked up once
    # afterwards (cheaper than joining the facilities to every case).
    case_dims = [d for d in DIMENSIONS if (d in dims and d != "tier") or (d == "facility" and "tier" in dims)]
    hop_parts = _hop_facts(s, dialect, dims)
    statements = [_finest(_case_facts(s, dialect, case_dims).subquery("case_facts"), case_dims, _case_measures),
                  *[_finest(part.subquery("hop_facts"), dims,
                            lambda src: [*_hop_measures(src, now), *_time_lists(src, dialect, native)])
                    for part in hop_parts]]
    if diagnoses:
        statements.append(_diagnoses_query(s, dialect, diagnoses))
    results = _run(session, statements, concurrent)

    rollup = _Rollup(dims, timed)
    tiers = dict(session.execute(select(Facility.id, Facility.tier)).all()) if "tier" in dims else {}
    rollup.add(results[0], case_dims, CASE_COUNTS, tiers=tiers)
    for rows in results[1:1 + len(hop_parts)]:
        rollup.add(rows, dims, HOP_COUNTS, TIME_LISTS)
    out = rollup.computed()
    if diagnoses:
        out.diagnoses = [DiagnosisCount(code, name or "", int(cases)) for code, name, cases in results[-1]]
    return out


CASE_COUNTS = ("submitted", "closed", "managed_locally", "cancelled", "open_backlog")
HOP_COUNTS = ("received", "claimed", "advised", "escalated", "declined", "pending", "claim_sla_due",
              "claim_sla_breached", "advice_sla_due", "advice_sla_breached")
TIME_LISTS = ("time_to_claim", "time_to_advice")


def _finest(facts, dims: Sequence[str], measures: Callable) -> object:
    """Counts (and lists of times) per combination of every grouping's key: the finest groups,
    each row one facility's week within a month, say. Every grouping of the report is a union
    of these groups, so one scan and one GROUP BY serve them all (see `_Rollup`)."""
    keys = [facts.c[f"k_{d}"] for d in dims]
    return select(*keys, *measures(facts)).select_from(facts).group_by(*keys)


def _time_lists(src, dialect: str, native: bool) -> list:
    """Each finest group's times to claim and to advice, every one of them (percentiles need
    them all): PostgreSQL packs them as 4-byte integers, otherwise they come as text."""
    durations = _durations(src, dialect)
    return [sql.integer_list(seconds, dialect, native).label(name) for name, seconds in durations.items()]


class _Rollup:
    """Adds the finest groups up into the total and each grouping; percentiles from the times.

    Counts add up. Percentiles do not, so each group's times are gathered from its
    finest groups and the median and 90th percentile taken from all of them, exactly
    as PostgreSQL's percentile_cont does (see `percentiles`).
    """

    def __init__(self, dims: Sequence[str], timed: Sequence[str]) -> None:
        self.dims = list(dims)
        self.timed = {TOTAL, *timed}
        self.counts: dict[tuple[str, str], dict[str, int]] = {}
        self.times: dict[tuple[tuple[str, str], str], list] = {}

    def add(self, rows: Sequence[Sequence], key_dims: Sequence[str], counts: Sequence[str],
            lists: Sequence[str] = (), *, tiers: dict | None = None) -> None:
        """Rows of (one key per `key_dims`, the `counts`, the `lists`), summed per grouping with
        numpy: a year of a province is tens of thousands of finest groups. Without a tier key,
        the tier is the facility's, from `tiers`."""
        if not rows:
            return
        columns = list(zip(*rows))
        first = len(key_dims)
        keys_of = dict(zip(key_dims, columns[:first]))
        if "tier" in self.dims and "tier" not in keys_of:
            keys_of["tier"] = [tiers.get(facility) for facility in keys_of["facility"]]
        values = np.array(columns[first:first + len(counts)], dtype=np.int64).T  # one row per finest group
        chunks = columns[first + len(counts):]
        for grouping, raw_keys in [(TOTAL, None), *((d, keys_of[d]) for d in self.dims)]:
            if raw_keys is None:
                keys, codes = [TOTAL_KEY], np.zeros(len(rows), dtype=np.intp)
            else:
                index = {raw: i for i, raw in enumerate(dict.fromkeys(raw_keys))}
                codes = np.array([index[raw] for raw in raw_keys], dtype=np.intp)
                keys = [_key_text(grouping, raw) for raw in index]
            sums = np.zeros((len(keys), len(counts)), dtype=np.int64)
            np.add.at(sums, codes, values)
            for key, row in zip(keys, sums.tolist()):
                acc = self.counts.setdefault((grouping, key), {})
                for name, value in zip(counts, row):
                    acc[name] = acc.get(name, 0) + value
            if grouping in self.timed:
                for name, column in zip(lists, chunks):
                    for code, chunk in zip(codes.tolist(), column):
                        if chunk is not None:
                            self.times.setdefault(((grouping, keys[code]), name), []).append(chunk)

    def computed(self) -> Computed:
        out = Computed({g: {} for g in (TOTAL, *self.dims)})
        for (grouping, key), values in self.counts.items():
            out.groups[grouping][key] = Figures(**values)
        out.groups[TOTAL].setdefault(TOTAL_KEY, Figures())
        for ((grouping, key), name), chunks in self.times.items():
            values = sql.decode_integer_list(chunks)
            if values.size:
                fig = out.groups[grouping][key]
                for label, value in percentiles(values).items():
                    setattr(fig, f"{name}_{label}_s", value)
        return out


def percentiles(values) -> dict[str, float]:
    """The median and 90th percentile of `values` (a numpy array of integers, not empty) as
    PostgreSQL's percentile_cont computes them, to the last bit: with n values in order and
    pos = p * (n - 1), the value at floor(pos), plus (pos - floor(pos)) times the step to the
    next. Only the values at those places are put in order (a partial sort, in place: `values`
    is reordered)."""
    n = len(values)
    places = {label: fraction * (n - 1) for label, fraction in PERCENTILES.items()}
    wanted = sorted({k for pos in places.values() for k in (int(pos), min(int(pos) + 1, n - 1))})
    ordered = values if values.flags.writeable else values.copy()
    ordered.partition(wanted)  # in place
    out = {}
    for label, pos in places.items():
        low = int(pos)
        first = float(ordered[low])
        out[label] = first if pos == low else first + (pos - low) * (float(ordered[low + 1]) - first)
    return out


def _run(session: Session, statements: list, concurrent: bool) -> list[list]:
    """Each statement's rows, in order."""
    engine = session.get_bind()
    if not concurrent or len(statements) < 2 or not isinstance(engine, Engine):
        tune_for_reports(session)
        rows = [session.execute(stmt).all() for stmt in statements]
        if engine.dialect.name == "postgresql":
            session.execute(text("RESET enable_sort"))  # the rest of the caller's transaction plans as usual
        return rows

    def one(stmt) -> list:
        with engine.connect() as conn:
            _tune(conn)
            rows = conn.execute(stmt).all()
            conn.rollback()
            return rows

    with ThreadPoolExecutor(max_workers=min(len(statements), MAX_CONCURRENT), thread_name_prefix="report") as pool:
        return list(pool.map(one, statements))


def _key_text(grouping: str, key) -> str:
    """Grouping keys as text, the same from both backends: months 'YYYY-MM', weeks their Monday."""
    if grouping == TOTAL or key is None:
        return TOTAL_KEY if grouping == TOTAL else ""
    text_key = str(key)  # a PostgreSQL timestamp reads '2026-03-01 00:00:00'
    if grouping == "month":
        return text_key[:7]
    if grouping == "week":
        return text_key[:10]
    return text_key


def tune_for_reports(session: Session) -> None:
    """PostgreSQL, for this transaction only: no JIT compilation (it costs more than these
    scans take), room to hash a year of rows in memory, and hashing rather than sorting
    to group them. PostgreSQL cannot estimate how many groups computed keys such as
    date_trunc(...) make, guesses hundreds of thousands, and sorts the year's rows
    (on text keys, in the database's linguistic collation): four times slower than
    hashing the few thousand groups there really are."""
    _tune(session)


def _tune(conn) -> None:
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    if bind.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL jit = off"))
        conn.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
        conn.execute(text("SET LOCAL enable_sort = off"))  # still sorts where nothing else can (ORDER BY)


# ---------------------------------------------------------------- diagnoses


def top_diagnoses(session: Session, s: Slice, limit: int = 10) -> list[DiagnosisCount]:
    """The working diagnoses most often given on the cases submitted in the period (see `_diagnoses_query`)."""
    rows = session.execute(_diagnoses_query(s, session.get_bind().dialect.name, limit)).mappings()
    return [DiagnosisCount(r["code"], r["name"] or "", int(r["cases"])) for r in rows]


def _diagnoses_query(s: Slice, dialect: str, limit: int):
    """Counts cases, not mentions: a code listed twice on one case counts once. The name
    shown is the smallest by code point among the names given for the code (a stable
    choice, the same on both backends)."""
    mentions = sql.diagnosis_mentions(_case_facts(s, dialect, ()), Case.__table__, dialect).subquery("mentions")
    count = func.sum(mentions.c.cases)
    return (
        select(mentions.c.code, func.min(mentions.c.name).label("name"), count.label("cases"))
        .group_by(mentions.c.code)
        .order_by(count.desc(), sql.binary_collation(mentions.c.code, dialect))
        .limit(limit)
    )


def case_cohort(s: Slice, dialect: str):
    """The cases submitted in the period with the case-side slices applied, as a SELECT to give
    columns to (`with_only_columns`) and join further."""
    return _case_facts(s, dialect, ())
