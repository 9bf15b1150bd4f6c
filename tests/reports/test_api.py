"""`GET /api/v1/reports/referrals` as API.md describes it."""

from __future__ import annotations

import csv
import io

import pytest

from tests.reports.conftest import MARCH

URL = "/api/v1/reports/referrals"


def query(**args) -> str:
    return URL + "?" + "&".join(f"{k}={v}" for k, v in {**MARCH, **args}.items())


def test_json_by_tier(api, march):
    r = api.get("county.admin", query(group_by="tier"))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["filter"] == {"from": "2024-03-01", "to": "2024-03-31", "timezone": "Asia/Shanghai", "tier": None,
                              "facility": None, "specialty": None, "urgency": None}
    assert body["group_by"] == "tier"
    assert body["total"]["submitted"] == 7 and body["total"]["received"] == 9
    rows = {row["key"]: row for row in body["rows"]}
    assert list(rows) == ["village", "township", "county", "provincial"]
    assert rows["county"]["time_to_claim_median_min"] == 300.0
    assert rows["county"]["escalation_rate"] == 0.3333
    assert rows["village"]["label"] == "村卫生室"
    assert "patient" not in r.get_data(as_text=True)


@pytest.mark.parametrize("group_by, keys", [
    ("urgency", ["emergency", "urgent", "routine"]),
    ("month", ["2024-03"]),
    ("specialty", ["cardiology", "dermatology", "internal_medicine", "obstetrics"]),
])
def test_other_groupings(api, march, group_by, keys):
    body = api.get("county.admin", query(group_by=group_by)).get_json()
    assert [row["key"] for row in body["rows"]] == keys


def test_by_facility_names_the_facilities(api, march):
    body = api.get("county.admin", query(group_by="facility")).get_json()
    labels = {row["label"] for row in body["rows"]}
    assert {"郧西县人民医院", "郧西县城关镇卫生院"} <= labels


def test_csv_with_bom_and_chinese(api, march):
    r = api.get("county.admin", query(group_by="facility", format="csv"))
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert list(rows[0])[:6] == ["group_by", "key", "label", "submitted", "closed", "managed_locally"]
    assert rows[0]["group_by"] == "total" and rows[0]["submitted"] == "7"
    people = next(row for row in rows if row["label"] == "郧西县人民医院")
    assert people["received"] == "2" and people["time_to_advice_median_min"] == "805.0"


@pytest.mark.parametrize("args, field", [
    ({"group_by": "doctor"}, "group_by"),
    ({"format": "xml"}, "format"),
    ({"from": "2024-13-01"}, "from"),
    ({"from": "2024-04-01", "to": "2024-03-01"}, "from"),
    ({"tier": "hamlet"}, "tier"),
    ({"urgency": "whenever"}, "urgency"),
    ({"specialty": "astrology"}, "specialty"),
    ({"facility": "NO-SUCH"}, "facility"),
    ({"from": "1980-01-01"}, "from"),
])
def test_bad_input_is_a_validation_error(api, args, field):
    r = api.get("county.admin", query(**args))
    assert r.status_code == 422
    body = r.get_json()
    assert body["error"] == "validation" and field in body["fields"]


def test_described_in_openapi(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/reports/referrals"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"from", "to", "group_by", "format"}
    assert "403" in op["responses"]
