"""The referral report for one year on N cases, against the same figures from hand-written SQL.

    python bench/reports_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/referral_bench
    python bench/reports_bench.py --sqlite                       # instance/bench.db
    python bench/reports_bench.py --cases 100000 --database-url ...

The database is created and filled as needed: the schema, the Yunxi demo, then
`seed-bulk` up to --cases cases (default 1,000,000). The period is the year
that ends on the last day with a submission, Asia/Shanghai, as the county
administrator sees it (the page's groupings: total, tier, facility, month and
week, with percentiles per tier, facility and month, and the top diagnoses).

Both sides run warm in the same process and the same database, `--repeat`
times each, alternating; the medians are compared. The hand-written SQL below
is what an expert would write by hand for the same figures (GROUPING SETS and
percentile_cont on PostgreSQL; UNION ALL and window functions on SQLite), with
the report's own SQL ideas (covering indexes, the scope check only for hops
outside the jurisdiction, date_part()/unixepoch() for whole seconds, diagnoses
counted per distinct list). The two results are checked to be identical before
any time is printed.
Goals: within 1.5x of hand-written SQL, and under 1 s on PostgreSQL (5 s on SQLite).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, inspect, select, text  # noqa: E402

from referral.db import Database  # noqa: E402
from referral.demo.bulk import seed_bulk  # noqa: E402
from referral.demo.seed import seed_demo  # noqa: E402
from referral.models import Base, Case, User  # noqa: E402
from referral.reports.filters import LOCAL_TZ, ReportFilter  # noqa: E402
from referral.services import reports as report_service  # noqa: E402
from referral.services.actors import facility_subtree  # noqa: E402

GOAL_RATIO = 1.5
GOAL_SECONDS = {"postgresql": 1.0, "sqlite": 5.0}

# ------------------------------------------------------------------ hand-written SQL: PostgreSQL

PG_SCOPE = ("(c.origin_facility_id = ANY(:j) OR EXISTS (SELECT 1 FROM hops x WHERE x.case_id = c.id "
            "AND x.facility_id = ANY(:j)))")

PG_CASES = f"""
SELECT f.tier, c.origin_facility_id AS facility,
       date_trunc('month', c.submitted_at AT TIME ZONE 'UTC' + interval '8 hours') AS month,
       date_trunc('week', c.submitted_at AT TIME ZONE 'UTC' + interval '8 hours') AS week,
       GROUPING(f.tier, c.origin_facility_id,
                date_trunc('month', c.submitted_at AT TIME ZONE 'UTC' + interval '8 hours'),
                date_trunc('week', c.submitted_at AT TIME ZONE 'UTC' + interval '8 hours')) AS g,
       count(*) AS submitted,
       count(*) FILTER (WHERE c.status = 'closed') AS closed,
       count(*) FILTER (WHERE c.status = 'closed' AND c.outcome = 'managed_locally') AS managed_locally,
       count(*) FILTER (WHERE c.status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE c.status IN ('submitted', 'in_review', 'info_requested')) AS open_backlog
FROM cases c JOIN facilities f ON f.id = c.origin_facility_id
WHERE c.submitted_at >= :start AND c.submitted_at < :end AND {PG_SCOPE}
GROUP BY GROUPING SETS ((), (f.tier), (c.origin_facility_id),
                        (date_trunc('month', c.submitted_at AT TIME ZONE 'UTC' + interval '8 hours')),
                        (date_trunc('week', c.submitted_at AT TIME ZONE 'UTC' + interval '8 hours')))
"""

# A hop at a facility of the jurisdiction is in scope by itself; only the others need their case
# (written as one OR, PostgreSQL hashes the whole cases table for the EXISTS).
PG_HOP_COLUMNS = """
  SELECT h.tier, h.facility_id AS facility,
         date_trunc('month', h.opened_at AT TIME ZONE 'UTC' + interval '8 hours') AS month,
         date_trunc('week', h.opened_at AT TIME ZONE 'UTC' + interval '8 hours') AS week,
         h.claimed_at, h.closed_at, h.outcome, h.due_claim_at, h.due_advice_at,
         CASE WHEN h.claimed_at IS NOT NULL
              THEN floor(date_part('epoch', h.claimed_at)) - floor(date_part('epoch', h.opened_at)) END AS claim_s,
         CASE WHEN h.outcome = 'advised'
              THEN floor(date_part('epoch', h.closed_at)) - floor(date_part('epoch', h.opened_at)) END AS advice_s
"""
PG_HOPS = f"""
WITH h AS MATERIALIZED (
  {PG_HOP_COLUMNS}
  FROM hops h
  WHERE h.opened_at >= :start AND h.opened_at < :end AND h.facility_id = ANY(:j)
  UNION ALL
  {PG_HOP_COLUMNS}
  FROM hops h JOIN cases c ON c.id = h.case_id
  WHERE h.opened_at >= :start AND h.opened_at < :end AND NOT h.facility_id = ANY(:j) AND {PG_SCOPE}
)
SELECT 'counts' AS part, tier, facility, month, week, GROUPING(tier, facility, month, week) AS g,
       count(*) AS received,
       count(claimed_at) AS claimed,
       count(*) FILTER (WHERE outcome = 'advised') AS advised,
       count(*) FILTER (WHERE outcome = 'escalated') AS escalated,
       count(*) FILTER (WHERE outcome = 'declined') AS declined,
       count(*) FILTER (WHERE closed_at IS NULL) AS pending,
       count(*) FILTER (WHERE claimed_at IS NOT NULL OR due_claim_at < coalesce(closed_at, :now)) AS claim_sla_due,
       count(*) FILTER (WHERE coalesce(claimed_at, closed_at, :now) > due_claim_at) AS claim_sla_breached,
       count(*) FILTER (WHERE outcome = 'advised' OR due_advice_at < coalesce(closed_at, :now)) AS advice_sla_due,
       count(*) FILTER (WHERE coalesce(closed_at, :now) > due_advice_at) AS advice_sla_breached,
       NULL::float8 AS claim_median, NULL::float8 AS claim_p90, NULL::float8 AS advice_median,
       NULL::float8 AS advice_p90
FROM h GROUP BY GROUPING SETS ((), (tier), (facility), (month), (week))
UNION ALL
SELECT 'times', tier, facility, month, NULL, GROUPING(tier, facility, month),
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY claim_s), percentile_cont(0.9) WITHIN GROUP (ORDER BY claim_s),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY advice_s), percentile_cont(0.9) WITHIN GROUP (ORDER BY advice_s)
FROM h WHERE claim_s IS NOT NULL OR advice_s IS NOT NULL
GROUP BY GROUPING SETS ((), (tier), (facility), (month))
"""

# Cases counted per distinct diagnosis list first: each list is read once.
PG_DIAGNOSES = f"""
SELECT d.code, min(d.name) AS name, sum(l.n) AS cases
FROM (SELECT c.diagnoses, count(*) AS n FROM cases c
      WHERE c.submitted_at >= :start AND c.submitted_at < :end AND {PG_SCOPE}
      GROUP BY c.diagnoses) l
CROSS JOIN LATERAL (
  SELECT (e->>'code') COLLATE "C" AS code, min(coalesce(e->>'name', '') COLLATE "C") AS name
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(l.diagnoses) = 'array' THEN l.diagnoses ELSE '[]' END) e
  WHERE jsonb_typeof(e) = 'object' AND coalesce(e->>'code', '') <> ''
  GROUP BY 1) d
GROUP BY d.code ORDER BY sum(l.n) DESC, d.code LIMIT 10
"""

# ------------------------------------------------------------------ hand-written SQL: SQLite

SQ_SCOPE = ("(c.origin_facility_id IN ({j}) OR EXISTS (SELECT 1 FROM hops x WHERE x.case_id = c.id "
            "AND x.facility_id IN ({j})))")

SQ_CASES = """
WITH c AS MATERIALIZED (
  SELECT f.tier, CAST(c.origin_facility_id AS TEXT) AS facility,
         strftime('%Y-%m', c.submitted_at, '+8 hours') AS month,
         date(c.submitted_at, '+8 hours', 'weekday 0', '-6 days') AS week,
         c.status = 'closed' AS closed, c.status = 'closed' AND c.outcome = 'managed_locally' AS managed_locally,
         c.status = 'cancelled' AS cancelled,
         c.status IN ('submitted', 'in_review', 'info_requested') AS open_backlog
  FROM cases c JOIN facilities f ON f.id = c.origin_facility_id
  WHERE c.submitted_at >= :start AND c.submitted_at < :end AND {scope}
)
SELECT 'total' AS g, 'all' AS k, count(*), sum(closed), sum(managed_locally), sum(cancelled), sum(open_backlog) FROM c
UNION ALL SELECT 'tier', tier, count(*), sum(closed), sum(managed_locally), sum(cancelled), sum(open_backlog)
  FROM c GROUP BY tier
UNION ALL SELECT 'facility', facility, count(*), sum(closed), sum(managed_locally), sum(cancelled),
  sum(open_backlog) FROM c GROUP BY facility
UNION ALL SELECT 'month', month, count(*), sum(closed), sum(managed_locally), sum(cancelled), sum(open_backlog)
  FROM c GROUP BY month
UNION ALL SELECT 'week', week, count(*), sum(closed), sum(managed_locally), sum(cancelled), sum(open_backlog)
  FROM c GROUP BY week
"""

SQ_HOP_FACTS = """
h AS MATERIALIZED (
  SELECT h.tier, CAST(h.facility_id AS TEXT) AS facility,
         strftime('%Y-%m', h.opened_at, '+8 hours') AS month,
         date(h.opened_at, '+8 hours', 'weekday 0', '-6 days') AS week,
         h.claimed_at IS NOT NULL AS claimed, h.outcome = 'advised' AS advised, h.outcome = 'escalated' AS escalated,
         h.outcome = 'declined' AS declined, h.closed_at IS NULL AS pending,
         (h.claimed_at IS NOT NULL OR h.due_claim_at < coalesce(h.closed_at, :now)) AS claim_sla_due,
         coalesce(h.claimed_at, h.closed_at, :now) > h.due_claim_at AS claim_sla_breached,
         (h.outcome = 'advised' OR h.due_advice_at < coalesce(h.closed_at, :now)) AS advice_sla_due,
         coalesce(h.closed_at, :now) > h.due_advice_at AS advice_sla_breached,
         CASE WHEN h.claimed_at IS NOT NULL THEN unixepoch(h.claimed_at) - unixepoch(h.opened_at) END AS claim_s,
         CASE WHEN h.outcome = 'advised' THEN unixepoch(h.closed_at) - unixepoch(h.opened_at) END AS advice_s
  FROM hops h
  WHERE h.opened_at >= :start AND h.opened_at < :end
    AND (h.facility_id IN ({j}) OR EXISTS (SELECT 1 FROM cases c WHERE c.id = h.case_id AND {scope}))
)"""

SQ_SUMS = ("count(*), sum(claimed), sum(advised), sum(escalated), sum(declined), sum(pending), sum(claim_sla_due), "
           "sum(claim_sla_breached), sum(advice_sla_due), sum(advice_sla_breached)")

SQ_HOPS = ("WITH" + SQ_HOP_FACTS + f"""
SELECT 'total', 'all', {SQ_SUMS} FROM h
UNION ALL SELECT 'tier', tier, {SQ_SUMS} FROM h GROUP BY tier
UNION ALL SELECT 'facility', facility, {SQ_SUMS} FROM h GROUP BY facility
UNION ALL SELECT 'month', month, {SQ_SUMS} FROM h GROUP BY month
UNION ALL SELECT 'week', week, {SQ_SUMS} FROM h GROUP BY week
""")

SQ_TIMES = ("WITH" + SQ_HOP_FACTS + """,
v AS (
  SELECT 'total' AS g, 'all' AS k, 'claim' AS m, claim_s AS s FROM h WHERE claim_s IS NOT NULL
  UNION ALL SELECT 'tier', tier, 'claim', claim_s FROM h WHERE claim_s IS NOT NULL
  UNION ALL SELECT 'facility', facility, 'claim', claim_s FROM h WHERE claim_s IS NOT NULL
  UNION ALL SELECT 'month', month, 'claim', claim_s FROM h WHERE claim_s IS NOT NULL
  UNION ALL SELECT 'total', 'all', 'advice', advice_s FROM h WHERE advice_s IS NOT NULL
  UNION ALL SELECT 'tier', tier, 'advice', advice_s FROM h WHERE advice_s IS NOT NULL
  UNION ALL SELECT 'facility', facility, 'advice', advice_s FROM h WHERE advice_s IS NOT NULL
  UNION ALL SELECT 'month', month, 'advice', advice_s FROM h WHERE advice_s IS NOT NULL
),
r AS (
  SELECT g, k, m, CAST(s AS REAL) AS s, row_number() OVER (PARTITION BY g, k, m ORDER BY s) AS rn,
         count(*) OVER (PARTITION BY g, k, m) AS n FROM v
)
SELECT g, k, m,
  max(CASE WHEN rn = CAST(0.5 * (n - 1) AS INTEGER) + 1 THEN s END)
    + (0.5 * (n - 1) - CAST(0.5 * (n - 1) AS INTEGER))
    * (coalesce(max(CASE WHEN rn = CAST(0.5 * (n - 1) AS INTEGER) + 2 THEN s END),
                max(CASE WHEN rn = CAST(0.5 * (n - 1) AS INTEGER) + 1 THEN s END))
       - max(CASE WHEN rn = CAST(0.5 * (n - 1) AS INTEGER) + 1 THEN s END)),
  max(CASE WHEN rn = CAST(0.9 * (n - 1) AS INTEGER) + 1 THEN s END)
    + (0.9 * (n - 1) - CAST(0.9 * (n - 1) AS INTEGER))
    * (coalesce(max(CASE WHEN rn = CAST(0.9 * (n - 1) AS INTEGER) + 2 THEN s END),
                max(CASE WHEN rn = CAST(0.9 * (n - 1) AS INTEGER) + 1 THEN s END))
       - max(CASE WHEN rn = CAST(0.9 * (n - 1) AS INTEGER) + 1 THEN s END))
FROM r GROUP BY g, k, m
""")

SQ_DIAGNOSES = """
SELECT code, min(name), sum(n) FROM (
  SELECT CAST(json_extract(d.value, '$.code') AS TEXT) AS code,
         min(coalesce(CAST(json_extract(d.value, '$.name') AS TEXT), '')) AS name, max(l.n) AS n
  FROM (SELECT c.diagnoses, count(*) AS n FROM cases c
        WHERE c.submitted_at >= :start AND c.submitted_at < :end AND {scope} GROUP BY c.diagnoses) l,
       json_each(CASE WHEN json_type(l.diagnoses) = 'array' THEN l.diagnoses ELSE '[]' END) d
  WHERE d.type = 'object' AND coalesce(CAST(json_extract(d.value, '$.code') AS TEXT), '') <> ''
  GROUP BY l.diagnoses, code)
GROUP BY code ORDER BY sum(n) DESC, code LIMIT 10
"""

CASE_FIELDS = ("submitted", "closed", "managed_locally", "cancelled", "open_backlog")
HOP_FIELDS = ("received", "claimed", "advised", "escalated", "declined", "pending", "claim_sla_due",
              "claim_sla_breached", "advice_sla_due", "advice_sla_breached")
TIME_FIELDS = ("time_to_claim_median_s", "time_to_claim_p90_s", "time_to_advice_median_s", "time_to_advice_p90_s")
DIMS = ("tier", "facility", "month", "week")


def hand_written(session, start, end, now, jurisdiction: list[int]) -> dict:
    """The figures by hand-written SQL: {(grouping, key): {figure: value}} and the top diagnoses."""
    out: dict[tuple[str, str], dict] = {}

    def put(grouping, key, values):
        out.setdefault((grouping, str(key)), {}).update(values)

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        p = {"start": start, "end": end, "now": now, "j": jurisdiction}
        for row in session.execute(text(PG_CASES), p).mappings():
            grouping, key = _pg_set(row, 4)
            put(grouping, key, {f: row[f] for f in CASE_FIELDS})
        for row in session.execute(text(PG_HOPS), p).mappings():
            if row["part"] == "counts":  # GROUPING() over (tier, facility, month, week)
                grouping, key = _pg_set(row, 4)
                put(grouping, key, {f: row[f] for f in HOP_FIELDS})
            else:  # GROUPING() over (tier, facility, month)
                grouping, key = _pg_set(row, 3)
                put(grouping, key, dict(zip(TIME_FIELDS, (row["claim_median"], row["claim_p90"],
                                                            row["advice_median"], row["advice_p90"]))))
        session.execute(text("SET LOCAL enable_sort = off"))  # hash the diagnosis lists (as the report does)
        diagnoses = [tuple(r) for r in session.execute(text(PG_DIAGNOSES), p)]
        return {"groups": out, "diagnoses": diagnoses}
    ids = ",".join(str(i) for i in jurisdiction)
    scope = SQ_SCOPE.format(j=ids)
    p = {"start": _sqlite_ts(start), "end": _sqlite_ts(end), "now": _sqlite_ts(now)}
    for g, k, *values in session.execute(text(SQ_CASES.format(scope=scope)), p):
        put(g, k, dict(zip(CASE_FIELDS, values)))
    for g, k, *values in session.execute(text(SQ_HOPS.format(j=ids, scope=scope)), p):
        put(g, k, dict(zip(HOP_FIELDS, values)))
    for g, k, m, median, p90 in session.execute(text(SQ_TIMES.format(j=ids, scope=scope)), p):
        put(g, k, {f"time_to_{m}_median_s": median, f"time_to_{m}_p90_s": p90})
    diagnoses = [tuple(r) for r in session.execute(text(SQ_DIAGNOSES.format(scope=scope)), p)]
    return {"groups": out, "diagnoses": diagnoses}


def _pg_set(row, n: int) -> tuple[str, str]:
    """Which grouping set a GROUPING() bitmask over the first `n` of (tier, facility, month, week) names."""
    g = row["g"]
    for i, name in enumerate(DIMS[:n]):
        if not g & (1 << (n - 1 - i)):
            value = str(row[name])
            return name, value[:7] if name == "month" else value[:10] if name == "week" else value
    return "total", "all"


def _sqlite_ts(value) -> str:
    """How SQLAlchemy stores an aware UTC time in SQLite (naive UTC text), for comparisons in raw SQL."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def from_service(report) -> dict:
    out = {}
    for grouping in ("total", *DIMS):
        for key, fig in report.computed.group(grouping).items():
            values = {f: getattr(fig, f) for f in CASE_FIELDS + HOP_FIELDS}
            if grouping != "week":
                values.update({f: getattr(fig, f) for f in TIME_FIELDS})
            out[(grouping, key)] = values
    return {"groups": out, "diagnoses": [(d.code, d.name, d.cases) for d in report.diagnoses]}


def normalise(result: dict) -> dict:
    groups = {}
    for key, values in result["groups"].items():
        clean = {}
        for f in CASE_FIELDS + HOP_FIELDS:
            clean[f] = int(values.get(f) or 0)
        for f in TIME_FIELDS:
            if key[0] != "week":
                v = values.get(f)
                clean[f] = None if v is None else round(float(v), 3)
        groups[key] = clean
    return {"groups": groups, "diagnoses": [(c, n, int(k)) for c, n, k in result["diagnoses"]]}


# ------------------------------------------------------------------ the run


def prepare(database: Database, cases: int, years: float) -> None:
    if not inspect(database.engine).has_table("facilities"):
        print("creating the schema and loading the demo ...", flush=True)
        Base.metadata.create_all(database.engine)
    with database.session() as session:
        if session.scalar(select(func.count(User.id))) == 0:
            seed_demo(session, "bench-password-2026")
        have = session.scalar(select(func.count(Case.id))) or 0
        if have < cases:
            print(f"adding {cases - have:,} cases with seed-bulk (this takes a while, once) ...", flush=True)
            started = time.monotonic()
            seed_bulk(session, cases - have, years=years,
                      progress=lambda done, total: print(f"  {done:,} / {total:,}", flush=True)
                      if done % 100_000 == 0 or done == total else None)
            print(f"  done in {time.monotonic() - started:.0f} s", flush=True)
    for table in Base.metadata.sorted_tables:  # a database made by an older version lacks newer indexes
        for index in table.indexes:
            index.create(database.engine, checkfirst=True)
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE cases"))
            conn.execute(text("VACUUM ANALYZE hops"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/referral_bench")
    parser.add_argument("--sqlite", action="store_true", help="use sqlite:///instance/bench.db")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--years", type=float, default=5.0, help="history the cases spread over (when seeding)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--user", default="county.admin")
    args = parser.parse_args()
    url = f"sqlite:///{ROOT / 'instance' / 'bench.db'}" if args.sqlite else args.database_url
    if url.startswith("sqlite"):
        (ROOT / "instance").mkdir(exist_ok=True)
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgresql"):
        _create_pg_database(url)
    database = Database(url)
    dialect = database.engine.dialect.name
    prepare(database, args.cases, args.years)

    with database.session() as session:
        admin = session.scalars(select(User).where(User.username == args.user)).one()
        total = session.scalar(select(func.count(Case.id)))
        last = session.scalar(select(func.max(Case.submitted_at)))
        to = last.astimezone(LOCAL_TZ).date()
        report_filter = ReportFilter.from_args({"from": (to - timedelta(days=364)).isoformat(), "to": to.isoformat()})
        jurisdiction = sorted(facility_subtree(session, admin.facility_id))
        now = last + timedelta(hours=1)
        session.rollback()

        def ours():
            report = report_service.referral_report(session, admin, report_filter, now=now)
            session.rollback()
            return report

        def theirs():
            result = hand_written(session, report_filter.start_utc, report_filter.end_utc, now, jurisdiction)
            session.rollback()
            return result

        report, baseline = ours(), theirs()  # warm both
        a, b = normalise(from_service(report)), normalise(baseline)
        if a != b:
            diff = [k for k in set(a["groups"]) | set(b["groups"]) if a["groups"].get(k) != b["groups"].get(k)]
            print("MISMATCH between the report and the hand-written SQL:", sorted(diff)[:10])
            for k in sorted(diff)[:3]:
                print(k, a["groups"].get(k), b["groups"].get(k))
            if a["diagnoses"] != b["diagnoses"]:
                print("diagnoses:", a["diagnoses"], b["diagnoses"])
            sys.exit(1)
        times_ours, times_theirs = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            ours()
            times_ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            theirs()
            times_theirs.append(time.perf_counter() - started)

    t_ours, t_theirs = statistics.median(times_ours), statistics.median(times_theirs)
    ratio = t_ours / t_theirs
    goal = GOAL_SECONDS[dialect]
    print(f"database        {dialect}, {total:,} cases")
    print(f"period          {report_filter.date_from} .. {report_filter.date_to} (Asia/Shanghai), as {args.user}: "
          f"{report.total.submitted:,} cases submitted, {report.total.received:,} hops")
    print("figures         identical to the hand-written SQL's")
    print(f"report          median {t_ours:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in times_ours)})")
    print(f"hand-written    median {t_theirs:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in times_theirs)})")
    print(f"ratio           {ratio:.2f}x  (goal <= {GOAL_RATIO}x: {'met' if ratio <= GOAL_RATIO else 'NOT met'}; "
          f"under {goal:.0f} s: {'met' if t_ours < goal else 'NOT met'})")


def _create_pg_database(url: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


if __name__ == "__main__":
    main()
