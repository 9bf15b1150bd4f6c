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

One scan per kind of fact: PostgreSQL computes every grouping at once with
GROUPING SETS and its own percentile_cont; SQLite, which has neither, computes
the groupings as a UNION ALL over one materialized scan and the percentiles
with window functions. Both give the same numbers (tests/reports checks them
against hand-computed values on both backends, and the two paths against each
other on PostgreSQL). Times are whole seconds (fractions dropped on both
backends), so that interpolated percentiles agree to the last bit.

The scans read covering indexes (models/case.py: ix_cases_submitted_report and
ix_hops_opened_report), so a year of a million-case history is read from the
indexes alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import (Float, Integer, String, bindparam, case, cast, func, literal, literal_column, or_, select, text,
                        tuple_, union_all)
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


def _hop_facts(s: Slice, dialect: str, dims: Sequence[str]):
    """One row per hop that began in the period: its grouping keys, times, deadlines and outcome.

    A hop at one of the scope's hop facilities puts its case in the scope by
    itself (the case has a hop there: this one), so only the other hops (a county
    case at its provincial partner, say) need their case looked up with
    `case_filter`. The two parts are glued with UNION ALL: the same rows as
    filtering every hop through its case, with far fewer look-ups.
    """
    scope = s.scope
    wants_case = bool("urgency" in dims or s.urgency)
    if scope.everything:
        return _hop_part(s, dialect, dims, joined=wants_case)
    if not scope.hop_facility_ids:
        return _hop_part(s, dialect, dims, joined=True, where=case_filter(scope))
    inside = sorted(scope.hop_facility_ids)
    return union_all(
        _hop_part(s, dialect, dims, joined=wants_case, where=HopFacts.facility_id.in_(inside)),
        _hop_part(s, dialect, dims, joined=True, where=HopFacts.facility_id.not_in(inside) & case_filter(scope)),
    )


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


TIME_ATTRIBUTES = {f"{figure}_{label}_s" for figure in ("time_to_claim", "time_to_advice") for label in PERCENTILES}


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
    grouping). `native=False` forces the portable path (UNION ALL and window
    functions) on PostgreSQL too; the tests use it to show that both paths agree.
    The statements are independent of each other; with `concurrent` they run at
    the same time on connections of their own (a database server has more than
    one core), otherwise one after the other in `session`.
    """
    dialect = session.get_bind().dialect.name
    dims = [g for g in DIMENSIONS if g in groupings]
    timed = [g for g in dims if percentiles_for is None or g in percentiles_for]
    native = sql.is_postgres(dialect) if native is None else native
    now = _at(s.now, "now")
    cases = _materialized(_case_facts(s, dialect, dims).cte("case_facts"), bool(dims) and not native)
    hops = _materialized(_hop_facts(s, dialect, dims).cte("hop_facts"), bool(dims) or native)
    if native:
        queries = [_grouping_sets(cases, dims, _case_measures(cases)),
                   _hops_in_one_pass(hops, dims, timed, now, dialect)]
    else:
        queries = [_by_union(cases, dims, _case_measures(cases)), _by_union(hops, dims, _hop_measures(hops, now)),
                   _window_times(hops, timed, dialect)]
    if diagnoses:
        queries.append(_diagnoses_query(s, dialect, diagnoses))
    results = _run(session, [q.statement for q in queries], concurrent)

    out = Computed({g: {} for g in (TOTAL, *dims)})

    def figures(grouping: str, key) -> Figures:
        return out.groups[grouping].setdefault(_key_text(grouping, key), Figures())

    for query, rows in zip(queries, results):
        if query.kind == "diagnoses":
            out.diagnoses = [DiagnosisCount(r["code"], r["name"] or "", int(r["cases"])) for r in rows]
            continue
        for grouping, key, values in query.read(rows):
            fig = figures(grouping, key)
            for name, value in values.items():
                if name in TIME_ATTRIBUTES:
                    if value is not None:
                        setattr(fig, name, float(value))
                elif value is not None:
                    setattr(fig, name, int(value))
    figures(TOTAL, TOTAL_KEY)
    return out


@dataclass
class _Query:
    statement: object
    read: Callable[[list], Iterable[tuple[str, object, dict]]] | None = None
    kind: str = "figures"


def _run(session: Session, statements: list, concurrent: bool) -> list[list]:
    """Each statement's rows (as mappings), in order."""
    engine = session.get_bind()
    if not concurrent or len(statements) < 2 or not isinstance(engine, Engine):
        tune_for_reports(session)
        return [session.execute(stmt).mappings().all() for stmt in statements]

    def one(stmt) -> list:
        with engine.connect() as conn:
            _tune(conn)
            rows = conn.execute(stmt).mappings().all()
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
    scans take) and room to sort and hash a year of rows in memory."""
    _tune(session)


def _tune(conn) -> None:
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    if bind.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL jit = off"))
        conn.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))


def _materialized(cte, wanted: bool):
    """A CTE that several UNION ALL branches read is computed once (SQLite and PostgreSQL syntax)."""
    return cte.prefix_with("MATERIALIZED") if wanted else cte


def _key(source, grouping: str):
    return literal(TOTAL_KEY, String) if grouping == TOTAL else cast(source.c[f"k_{grouping}"], String)


def _by_union(source, dims, measures) -> _Query:
    """Portable: one GROUP BY per grouping, glued with UNION ALL over the materialized facts."""
    names = [m.name for m in measures]
    branches = []
    for grouping in (TOTAL, *dims):
        branch = select(literal(grouping, String).label("grouping"), _key(source, grouping).label("key"), *measures)
        if grouping != TOTAL:
            branch = branch.group_by(source.c[f"k_{grouping}"])
        branches.append(branch.select_from(source))

    def read(rows):
        for row in rows:
            yield row["grouping"], row["key"], {n: row[n] for n in names}

    return _Query(branches[0] if len(branches) == 1 else union_all(*branches), read)


def _which_set(row, dims) -> tuple[str, object]:
    """The grouping a GROUPING SETS row belongs to, from its GROUPING() flags."""
    grouped = [d for d in dims if row[f"g_{d}"] == 0]
    if not grouped:
        return TOTAL, TOTAL_KEY
    return grouped[0], row[f"k_{grouped[0]}"]


def _read_sets(dims, names):
    def read(rows):
        for row in rows:
            grouping, key = _which_set(row, dims)
            yield grouping, key, {n: row[n] for n in names}

    return read


def _grouping_sets(source, dims, measures) -> _Query:
    """PostgreSQL: every grouping in one pass with GROUPING SETS; GROUPING() tells the sets apart."""
    keys = [source.c[f"k_{d}"] for d in dims]
    flags = [func.grouping(k).label(f"g_{d}") for d, k in zip(dims, keys)]
    stmt = select(*keys, *flags, *measures).select_from(source)
    if dims:
        stmt = stmt.group_by(func.grouping_sets(tuple_(), *[tuple_(k) for k in keys]))
    return _Query(stmt, _read_sets(dims, [m.name for m in measures]))


def _hops_in_one_pass(hops, dims, timed, now, dialect) -> _Query:
    """PostgreSQL: the hop counts (hashed GROUPING SETS over every grouping) and the times
    (percentile_cont over the timed groupings) in one statement over one scan of the hops."""
    counts = _hop_measures(hops, now)
    durations = _durations(hops, dialect)
    times = [sql.percentile_aggregate(fraction, durations[figure]).label(f"{figure}_{label}_s")
             for figure in durations for label, fraction in PERCENTILES.items()]
    no_counts = [cast(literal(None), Integer).label(c.name) for c in counts]
    no_times = [cast(literal(None), Float).label(t.name) for t in times]
    keys = [hops.c[f"k_{d}"] for d in dims]

    def part(chosen, measures):
        columns = [k if d in chosen else literal_column("NULL").label(k.name) for d, k in zip(dims, keys)]
        flags = [func.grouping(k).label(f"g_{d}") if d in chosen else literal(1).label(f"g_{d}")
                 for d, k in zip(dims, keys)]
        stmt = select(*columns, *flags, *measures).select_from(hops)
        if dims:
            stmt = stmt.group_by(func.grouping_sets(tuple_(), *[tuple_(hops.c[f"k_{d}"]) for d in chosen]))
        return stmt

    timed_rows = or_(hops.c.claimed_at.is_not(None), hops.c.outcome == HopOutcome.ADVISED.value)
    stmt = union_all(part(dims, [*counts, *no_times]), part(timed, [*no_counts, *times]).where(timed_rows))
    return _Query(stmt, _read_sets(dims, [c.name for c in counts] + [t.name for t in times]))


def _window_times(hops, dims, dialect) -> _Query:
    """Portable: median and 90th percentile of the times with window functions (sql.percentile_by_window)."""
    durations = _durations(hops, dialect)
    branches = []
    for grouping in (TOTAL, *dims):
        for figure, seconds in durations.items():
            values = select(_key(hops, grouping).label("k"), seconds.label("v")).where(seconds.is_not(None)).subquery()
            pct = sql.percentile_by_window(values, "k", "v", PERCENTILES, dialect).subquery()
            branches.append(select(literal(grouping, String).label("grouping"), literal(figure, String).label("figure"),
                                   pct.c.key, pct.c.median, pct.c.p90))

    def read(rows):
        for row in rows:
            yield row["grouping"], row["key"], {f"{row['figure']}_median_s": row["median"],
                                                f"{row['figure']}_p90_s": row["p90"]}

    return _Query(union_all(*branches), read)


# ---------------------------------------------------------------- diagnoses


def top_diagnoses(session: Session, s: Slice, limit: int = 10) -> list[DiagnosisCount]:
    """The working diagnoses most often given on the cases submitted in the period (see `_diagnoses_query`)."""
    rows = session.execute(_diagnoses_query(s, session.get_bind().dialect.name, limit).statement).mappings()
    return [DiagnosisCount(r["code"], r["name"] or "", int(r["cases"])) for r in rows]


def _diagnoses_query(s: Slice, dialect: str, limit: int) -> _Query:
    """Counts cases, not mentions: a code listed twice on one case counts once. The name
    shown is the smallest by code point among the names given for the code (a stable
    choice, the same on both backends)."""
    mentions = sql.diagnosis_mentions(_case_facts(s, dialect, ()), Case.__table__, dialect).subquery("mentions")
    count = func.count()
    stmt = (
        select(mentions.c.code, func.min(mentions.c.name).label("name"), count.label("cases"))
        .group_by(mentions.c.code)
        .order_by(count.desc(), sql.binary_collation(mentions.c.code, dialect))
        .limit(limit)
    )
    return _Query(stmt, kind="diagnoses")


def case_cohort(s: Slice, dialect: str):
    """The cases submitted in the period with the case-side slices applied, as a SELECT to give
    columns to (`with_only_columns`) and join further."""
    return _case_facts(s, dialect, ())
