"""Who gets reports, and over which cases: administrators only, each over their own jurisdiction."""

from __future__ import annotations

import pytest

from referral.domain.errors import Forbidden
from referral.reports.filters import ReportFilter
from referral.services import reports as report_service
from tests.reports.conftest import MARCH, REPORT_NOW


def report(session, user, args=MARCH, groupings=("tier", "facility", "specialty", "urgency", "month", "week")):
    return report_service.referral_report(session, user, ReportFilter.from_args(args), groupings=groupings,
                                          now=REPORT_NOW)


def codes(r) -> set[str]:
    return {r.facility_of(k).code for k, _ in r.rows("facility")}


def test_a_township_admin_sees_only_their_township(session, users, march):
    r = report(session, users["township.admin"])
    # A B D E G H originate in T1 or its village clinics; C (T2) is not theirs
    assert r.total.submitted == 6
    assert r.total.received == 8  # every stay of their cases, wherever the case went: A1 A2 B1 D1 E1 E2 G1 H1
    assert r.total.declined == 0  # the one decline (of C, at T2) is not theirs
    assert not {"YX-T02", "YX-T02-V01"} & codes(r)
    assert {"YX-T01", "YX-T01-V01"} <= codes(r)
    assert [d.code for d in r.diagnoses if d.code == "I10"] and next(
        d for d in r.diagnoses if d.code == "I10").cases == 2  # A and H; C's I10 is T2's


def test_narrowing_to_another_township_shows_nothing(session, users, march):
    r = report(session, users["township.admin"], {**MARCH, "facility": "YX-T02"})
    assert r.total.submitted == 0 and r.total.received == 0
    assert r.computed.group("facility") == {} and r.diagnoses == []
    listing = report_service.export_line_list(session, users["township.admin"],
                                              ReportFilter.from_args({**MARCH, "facility": "YX-T02-V01"}), fmt="csv")
    assert listing.items == []


def test_the_county_admin_sees_the_county(session, users, march):
    r = report(session, users["county.admin"])
    assert r.total.submitted == 7
    assert {"YX-T01", "YX-T02", "YX-RMYY", "WH-TONGJI"} <= codes(r)


@pytest.mark.parametrize("username", ["village.doctor", "township.specialist", "county.specialist", "province.expert",
                                      "township.doctor"])
def test_doctors_and_specialists_are_refused(session, users, username):
    with pytest.raises(Forbidden):
        report(session, users[username])
    with pytest.raises(Forbidden):
        report_service.export_line_list(session, users[username], ReportFilter.from_args(MARCH), fmt="csv")


@pytest.mark.parametrize("username", ["village.doctor", "township.specialist", "county.specialist"])
def test_the_api_refuses_them_with_forbidden(api, username):
    r = api.get(username, "/api/v1/reports/referrals?group_by=tier")
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"


def test_the_api_needs_a_token(client):
    r = client.get("/api/v1/reports/referrals")
    assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"
