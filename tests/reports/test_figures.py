"""Every figure of the report against values computed by hand from the March 2024 history
(tests/reports/conftest.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from referral.reports.filters import ReportFilter
from referral.services import reports as report_service
from tests.reports.conftest import MARCH, REPORT_NOW


def report(session, user, args=MARCH, groupings=("tier", "facility", "specialty", "urgency", "month", "week"),
           **kw):
    return report_service.referral_report(session, user, ReportFilter.from_args(args), groupings=groupings,
                                          percentiles_for=None, now=REPORT_NOW, **kw)


def check(figures, **expected):
    got = figures.as_dict()
    assert {k: got[k] for k in expected} == expected


def facility_key(session, code: str) -> str:
    from sqlalchemy import select

    from referral.models import Facility

    return str(session.scalar(select(Facility.id).where(Facility.code == code)))


def test_totals(session, users, march):
    r = report(session, users["county.admin"])
    check(
        r.total,
        # cases submitted in March (A B C D E G H; F is a draft, I is February, J is April)
        submitted=7, closed=4, managed_locally=2, managed_locally_share=0.5, cancelled=1, open_backlog=1,
        # hops that began in March: A1 A2 B1 C1 D1 E1 E2 G1 H1
        received=9, claimed=6, advised=4, escalated=2, declined=1, pending=1,
        escalation_rate=round(2 / 7, 4),
        # claims after 30 300 120 10 1440 30 minutes; advice after 1560 240 50 180 minutes
        time_to_claim_median_min=75.0, time_to_claim_p90_min=870.0,
        time_to_advice_median_min=210.0, time_to_advice_p90_min=1164.0,
        # claim deadlines: all but G1 (cancelled before it); missed by A2 (late), C1 (declined after it), E2 (never)
        claim_sla_due=8, claim_sla_breached=3, claim_sla_breach_rate=0.375,
        # advice deadlines: the four advised hops and E2 (open past it); missed by A2 and E2
        advice_sla_due=5, advice_sla_breached=2, advice_sla_breach_rate=0.4,
        sla_breaches=5, sla_breach_rate=round(5 / 13, 4),
    )


def test_by_tier(session, users, march):
    r = report(session, users["county.admin"], groupings=("tier",))
    tiers = dict(r.rows("tier"))
    assert list(tiers) == ["village", "township", "county", "provincial"]
    check(tiers["village"], submitted=6, closed=4, managed_locally=2, cancelled=1, open_backlog=0, received=0,
          escalation_rate=None, time_to_claim_median_min=None)
    check(tiers["township"], submitted=1, open_backlog=1, received=5, claimed=3, advised=2, escalated=1, declined=1,
          pending=0, escalation_rate=0.25, time_to_claim_median_min=30.0, time_to_claim_p90_min=102.0,
          time_to_advice_median_min=210.0, time_to_advice_p90_min=234.0, claim_sla_due=4, claim_sla_breached=1,
          advice_sla_due=2, advice_sla_breached=0)
    check(tiers["county"], submitted=0, received=3, claimed=3, advised=2, escalated=1, declined=0,
          escalation_rate=round(1 / 3, 4), time_to_claim_median_min=300.0, time_to_claim_p90_min=1212.0,
          time_to_advice_median_min=805.0, time_to_advice_p90_min=1409.0, claim_sla_due=3, claim_sla_breached=1,
          advice_sla_due=2, advice_sla_breached=1)
    check(tiers["provincial"], received=1, claimed=0, pending=1, escalation_rate=None, time_to_claim_median_min=None,
          claim_sla_due=1, claim_sla_breached=1, advice_sla_due=1, advice_sla_breached=1)


def test_league_table_of_facilities(session, users, march):
    r = report(session, users["county.admin"], groupings=("facility",))
    rows = {r.facility_of(key).code: figures for key, figures in r.rows("facility")}
    assert set(rows) == {"YX-T01-V01", "YX-T02-V01", "YX-T01", "YX-T02", "YX-RMYY", "YX-FYBJY", "WH-TONGJI"}
    check(rows["YX-T01-V01"], submitted=5, closed=3, managed_locally=2, cancelled=1, received=0)
    check(rows["YX-T02-V01"], submitted=1, closed=1, managed_locally=0, received=0)
    # T1 both sends (case E, from its own doctor) and answers (A1 B1 G1 H1)
    check(rows["YX-T01"], submitted=1, open_backlog=1, received=4, claimed=3, advised=2, escalated=1, declined=0,
          time_to_claim_median_min=30.0, claim_sla_due=3, claim_sla_breached=0)
    check(rows["YX-T02"], received=1, claimed=0, declined=1, claim_sla_due=1, claim_sla_breached=1,
          escalation_rate=0.0)
    check(rows["YX-RMYY"], received=2, claimed=2, advised=2, time_to_claim_median_min=155.0,
          time_to_advice_median_min=805.0, claim_sla_breached=1, advice_sla_breached=1)
    check(rows["YX-FYBJY"], received=1, claimed=1, escalated=1, escalation_rate=1.0, time_to_claim_median_min=1440.0,
          claim_sla_due=1, claim_sla_breached=0)
    check(rows["WH-TONGJI"], received=1, pending=1, claim_sla_breached=1, advice_sla_breached=1)


def test_by_specialty_and_urgency(session, users, march):
    r = report(session, users["county.admin"], groupings=("specialty", "urgency"))
    specialties = dict(r.rows("specialty"))
    # cases by the specialty requested; hops by the specialty asked of that facility
    check(specialties["cardiology"], submitted=2, received=3, claimed=3, advised=2, escalated=1)
    check(specialties["internal_medicine"], submitted=3, received=3, claimed=2, declined=1)
    check(specialties["obstetrics"], submitted=1, received=2, escalated=1, pending=1)
    check(specialties["dermatology"], submitted=1, cancelled=1, received=1, claimed=0)
    urgencies = dict(r.rows("urgency"))
    assert list(urgencies) == ["emergency", "urgent", "routine"]
    check(urgencies["emergency"], submitted=1, received=1, time_to_claim_median_min=10.0,
          time_to_advice_median_min=50.0, claim_sla_breached=0, advice_sla_breached=0)
    check(urgencies["urgent"], submitted=3, received=4, claimed=3, time_to_claim_median_min=30.0,
          claim_sla_due=4, claim_sla_breached=2)
    check(urgencies["routine"], submitted=3, received=4, claimed=2, claim_sla_due=3, claim_sla_breached=1)


def test_trends_by_month_and_week_in_shanghai_time(session, users, march):
    """I (29 Feb 23:30), D (31 Mar 23:30) and J (1 Apr 00:10, still 31 Mar in UTC) fall in their local months."""
    r = report(session, users["county.admin"], {"from": "2024-02-01", "to": "2024-04-30"},
               groupings=("month", "week"))
    months = {k: (f.submitted, f.received) for k, f in r.rows("month")}
    assert months == {"2024-02": (1, 1), "2024-03": (7, 9), "2024-04": (1, 1)}
    weeks = {k: f.submitted for k, f in r.rows("week")}
    assert weeks == {
        "2024-02-26": 1,  # I: Thursday 29 February
        "2024-03-04": 4,  # A (Mon 4), B, C and E (Sunday 10 March ends the week)
        "2024-03-11": 1,  # G
        "2024-03-18": 1,  # H
        "2024-03-25": 1,  # D: Sunday 31 March 23:30
        "2024-04-01": 1,  # J: Monday 1 April 00:10 local, still Sunday in UTC
    }


def test_a_case_submitted_at_2330_shanghai_belongs_to_that_local_day(session, users, march):
    last_day = report(session, users["county.admin"], {"from": "2024-03-31", "to": "2024-03-31"}, groupings=())
    check(last_day.total, submitted=1, received=1, claimed=1, advised=1, time_to_claim_median_min=10.0)
    next_day = report(session, users["county.admin"], {"from": "2024-04-01", "to": "2024-04-01"}, groupings=())
    check(next_day.total, submitted=1, received=1, claimed=0)  # J only; D's advice on 1 April stays with D's hop


def test_top_diagnoses_count_cases_not_mentions(session, users, march):
    r = report(session, users["county.admin"], groupings=())
    got = [(d.code, d.name, d.cases) for d in r.diagnoses]
    assert got == [
        ("I10", "原发性高血压", 3),  # A, C ("高血压"), H (listed twice); the name is the smallest by code point
        ("E11.9", "2型糖尿病", 1), ("I20.0", "不稳定型心绞痛", 1), ("I21.9", "急性心肌梗死", 1),
        ("J44.1", "慢性阻塞性肺病伴有急性加重", 1), ("L20.9", "特应性皮炎", 1), ("O14.1", "重度子痫前期", 1),
    ]


@pytest.mark.parametrize("args, expected", [
    ({"tier": "township"}, {"submitted": 1, "received": 5, "claimed": 3}),
    ({"urgency": "emergency"}, {"submitted": 1, "received": 1, "advised": 1}),
    ({"specialty": "cardiology"}, {"submitted": 2, "received": 3, "escalated": 1}),
    ({"facility": "YX-RMYY"}, {"submitted": 0, "received": 2, "advised": 2}),
    ({"facility": "YX-T01"}, {"submitted": 6, "received": 4, "declined": 0}),  # T1 and its village clinics
    ({"facility": "YX-T02-V01"}, {"submitted": 1, "received": 0}),
])
def test_filters(session, users, march, args, expected):
    r = report(session, users["county.admin"], {**MARCH, **args}, groupings=())
    check(r.total, **expected)


def test_the_portable_sql_gives_postgresql_the_same_numbers(session, users, march, backend):
    """PostgreSQL hands the times over packed as binary integers; as text, the way SQLite does,
    they must give exactly the same figures."""
    from referral.reports import figures
    from referral.services.actors import scope_of

    f = ReportFilter.from_args(MARCH)
    s = figures.Slice(f.start_utc, f.end_utc, f.local_offset_seconds(), scope_of(session, users["county.admin"]),
                      REPORT_NOW)
    groupings = ("tier", "facility", "specialty", "urgency", "month", "week")
    native = figures.compute(session, s, groupings)
    portable = figures.compute(session, s, groupings, native=False)
    assert native.groups == portable.groups
    assert native.groups["tier"]["county"].time_to_advice_p90_s == 1409 * 60


def test_percentiles_are_postgresql_percentile_cont_to_the_last_bit(session, backend):
    """The medians and 90th percentiles are computed from the times in Python; they must be
    exactly what percentile_cont gives, for any number of values, ties and spreads."""
    import random

    import numpy as np
    from sqlalchemy import text

    from referral.reports.figures import percentiles

    if backend != "postgresql":
        pytest.skip("percentile_cont is PostgreSQL's")
    rng = random.Random(2024)
    for n in [1, 2, 3, 4, 5, 9, 10, 11, 99, 100, 101, 1000, *[rng.randint(1, 3000) for _ in range(40)]]:
        values = [rng.randint(0, 10 ** rng.randint(1, 7)) for _ in range(n)]
        expected = session.execute(text(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v), percentile_cont(0.9) WITHIN GROUP (ORDER BY v) "
            "FROM unnest(CAST(:values AS bigint[])) AS v"), {"values": values}).one()
        got = percentiles(np.array(values, dtype=np.int64))
        assert (got["median"], got["p90"]) == tuple(expected), n
