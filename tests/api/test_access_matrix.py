"""Nothing leaks: each demo account against every case and every case-scoped route."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from referral.models import AuditEntry, Case, Facility, Hop, User
from referral.services.actors import facility_subtree

DEMO = ["village.doctor", "village.doctor2", "township.specialist", "township.specialist2", "county.specialist",
        "county.specialist2", "county.obstetrician", "province.expert", "township.admin", "county.admin"]


def expected_visible(session, user: User) -> set[int]:
    """The access rule of DESIGN.md, written out independently of referral/domain/access.py."""
    facilities = {user.facility_id}
    if "admin" in user.roles:
        facilities = set(facility_subtree(session, user.facility_id))
    visible = set()
    for case in session.scalars(select(Case)):
        hop_facilities = {h.facility_id for h in session.scalars(select(Hop).where(Hop.case_id == case.id))}
        if "doctor" in user.roles and case.origin_facility_id == user.facility_id:
            visible.add(case.id)
        if "specialist" in user.roles and user.facility_id in hop_facilities:
            visible.add(case.id)
        if "admin" in user.roles and (case.origin_facility_id in facilities or hop_facilities & facilities):
            visible.add(case.id)
    return visible


def listed(api, username: str) -> set[int]:
    ids, page = set(), 1
    while True:
        body = api.get(username, f"/api/v1/cases?scope=all&per_page=100&page={page}").get_json()
        ids |= {item["id"] for item in body["items"]}
        if page * 100 >= body["total"]:
            return ids
        page += 1


@pytest.mark.parametrize("username", DEMO)
def test_each_account_sees_exactly_its_cases(api, session, users, username):
    user = users[username]
    expected = expected_visible(session, user)
    assert listed(api, username) == expected
    all_ids = set(session.scalars(select(Case.id)))
    for cid in sorted(all_ids):
        for suffix in ("", "/events", "/messages", "/advice"):
            r = api.get(username, f"/api/v1/cases/{cid}{suffix}")
            assert r.status_code == (200 if cid in expected else 404), (username, cid, suffix)
            if cid not in expected:
                assert r.get_json()["error"] == "not_found"


def test_the_matrix_is_not_trivial(session, users):
    """Every demo account sees something and nobody but the county sees everything."""
    total = len(set(session.scalars(select(Case.id))))
    counts = {name: len(expected_visible(session, users[name])) for name in DEMO}
    assert all(counts.values()), counts
    assert counts["county.admin"] == total
    assert counts["township.admin"] < total and counts["village.doctor"] < counts["township.admin"]


def test_out_of_scope_and_absent_look_the_same(api, session, users):
    foreign = next(iter(set(session.scalars(select(Case.id))) - expected_visible(session, users["village.doctor"])))
    a = api.get("village.doctor", f"/api/v1/cases/{foreign}")
    b = api.get("village.doctor", "/api/v1/cases/999999")
    assert (a.status_code, a.get_json()) == (b.status_code, b.get_json())


CASE_ROUTE = re.compile(r"/cases/<int:(\w+)>")


def _fill(rule: str, case_id: int) -> str:
    path = CASE_ROUTE.sub(f"/cases/{case_id}", rule)
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "x", path)


def test_every_case_scoped_route_answers_404_out_of_scope(app, api, session, users):
    """Walk the URL map: every route under /cases/<id> (API, pages, files, DICOMweb, consult)
    must refuse a case outside the caller's scope exactly as an absent one."""
    from tests.web.conftest import sign_in

    foreign = min(set(session.scalars(select(Case.id))) - expected_visible(session, users["village.doctor2"]))
    app.config["WTF_CSRF_ENABLED"] = False  # reach the access check itself, not the CSRF refusal
    browser = app.test_client()
    assert sign_in(browser, "village.doctor2").status_code == 302
    checked = []
    for rule in app.url_map.iter_rules():
        if not CASE_ROUTE.search(rule.rule):
            continue
        path = _fill(rule.rule, foreign)
        is_api = rule.rule.startswith("/api/") or rule.rule.startswith("/dicomweb")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if is_api:
                r = api.client.open(path, method=method, headers=api.headers("village.doctor2"), json={})
            else:
                r = browser.open(path, method=method, data={})
            assert r.status_code == 404, (method, rule.rule, r.status_code)
            checked.append((method, rule.rule))
    assert len(checked) >= 5, checked


def test_reading_a_case_is_audited(api, session, users):
    cid = next(iter(expected_visible(session, users["county.admin"])))
    api.get("county.admin", f"/api/v1/cases/{cid}")
    api.get("county.admin", f"/api/v1/cases/{cid}/events")
    session.expire_all()
    entries = session.scalars(select(AuditEntry).where(AuditEntry.case_id == cid)).all()
    assert [(e.action, e.actor_id) for e in entries] == [
        ("case.read", users["county.admin"].id), ("case.events.read", users["county.admin"].id)]
    assert entries[0].created_at is not None


def test_facility_directory_is_open_to_every_signed_in_user(api):
    body = api.get("village.doctor", "/api/v1/facilities?tier=village").get_json()
    assert body["total"] == 286
    townships = api.get("village.doctor", "/api/v1/facilities?tier=township").get_json()
    assert townships["total"] == 18
    t1 = next(f for f in townships["items"] if f["code"] == "YX-T01")
    children = api.get("village.doctor", f"/api/v1/facilities?parent={t1['id']}").get_json()
    assert children["total"] == 16 and all(f["tier"] == "village" for f in children["items"])
    provincial = api.get("village.doctor", "/api/v1/facilities?tier=provincial").get_json()
    assert {f["code"] for f in provincial["items"]} == {"SY-TAIHE", "WH-TONGJI", "WH-UNION"}
    assert api.get("village.doctor", "/api/v1/facilities?tier=galaxy").status_code == 422


def test_specialties_have_both_languages(api):
    items = api.get("village.doctor", "/api/v1/specialties").get_json()["items"]
    cardiology = next(s for s in items if s["code"] == "cardiology")
    assert cardiology == {"code": "cardiology", "zh": "心血管内科", "en": "Cardiology"}


def test_queue_shows_only_my_facility_and_specialties(api, session, users):
    for username in ("township.specialist", "county.specialist2", "county.obstetrician", "province.expert"):
        user = users[username]
        items = api.get(username, "/api/v1/cases?scope=queue&per_page=100").get_json()["items"]
        for item in items:
            case = session.get(Case, item["id"])
            assert case.status == "submitted" and case.current_hop.facility_id == user.facility_id
            if "general_practice" not in user.specialties:
                assert case.current_hop.specialty in user.specialties
        urgency_rank = [["emergency", "urgent", "routine"].index(i["urgency"]) for i in items]
        assert urgency_rank == sorted(urgency_rank)
    assert api.get("village.doctor", "/api/v1/cases?scope=queue").get_json()["total"] == 0
    assert session.scalar(select(Facility.id).where(Facility.code == "YX-T01"))
