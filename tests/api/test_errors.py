"""Bad input gets its documented error code, changes nothing, and the server keeps serving."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_PASSWORD


@pytest.fixture
def submitted(api):
    cid = api.new_case("village.doctor")["id"]
    api.act("village.doctor", cid, "submit")
    return cid


def _case(api, cid, who="village.doctor"):
    return api.get(who, f"/api/v1/cases/{cid}").get_json()


def test_unknown_action_is_not_found_and_changes_nothing(api, submitted):
    before = _case(api, submitted)
    r = api.act("township.specialist", submitted, "approve")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"
    assert _case(api, submitted)["version"] == before["version"]


def test_wrong_state_is_invalid_transition_with_allowed_actions(api, submitted):
    r = api.act("village.doctor", submitted, "close", outcome="other")
    body = r.get_json()
    assert r.status_code == 409 and body["error"] == "invalid_transition"
    assert body["allowed_actions"] == ["cancel"]


def test_wrong_role_is_forbidden(api, submitted):
    r = api.act("village.doctor", submitted, "claim")
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    r = api.act("county.specialist", submitted, "claim")  # can see nothing of it yet
    assert r.status_code == 404


def test_stale_version_is_a_conflict(api, submitted):
    version = _case(api, submitted)["version"]
    assert api.post("township.specialist", f"/api/v1/cases/{submitted}/actions/claim",
                    json={"version": version}).status_code == 200
    r = api.post("township.specialist", f"/api/v1/cases/{submitted}/actions/release", json={"version": version})
    assert r.status_code == 409 and r.get_json()["error"] == "conflict"
    assert _case(api, submitted)["status"] == "in_review"


@pytest.mark.parametrize("body,field", [
    ({}, "urgency"),
    ({"urgency": "soon"}, "urgency"),
    ({"specialty": "astrology"}, "specialty"),
    ({"chief_complaint": ""}, "chief_complaint"),
    ({"patient": {"name": "张三", "sex": "x"}}, "patient.sex"),
    ({"patient": {"name": "张三", "sex": "male", "id_number": "123"}}, "patient.id_number"),
    ({"patient": {"name": "张三", "sex": "male", "birth_date": "2999-01-01"}}, "patient.birth_date"),
    ({"vitals": {"heart_rate": 5000}}, "vitals.heart_rate"),
    ({"diagnoses": [{"code": "not-icd"}]}, "diagnoses.0.code"),
    ({"unexpected": 1}, "unexpected"),
])
def test_invalid_case_fields_name_the_field(api, body, field):
    base = {"patient": {"name": "张三", "sex": "male"}, "urgency": "routine", "specialty": "cardiology",
            "chief_complaint": "胸痛", "clinical_question": "?"}
    if body == {}:
        base.pop("urgency")
    else:
        base.update(body)
    drafts = api.get("village.doctor", "/api/v1/cases?status=draft").get_json()["total"]
    r = api.post("village.doctor", "/api/v1/cases", json=base)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["fields"]
    assert api.get("village.doctor", "/api/v1/cases?status=draft").get_json()["total"] == drafts


def test_missing_action_fields_are_validation_errors(api, submitted):
    api.act("township.specialist", submitted, "claim")
    r = api.act("township.specialist", submitted, "decline")
    assert r.status_code == 422 and "reason" in r.get_json()["fields"]
    r = api.act("township.specialist", submitted, "escalate", reason="x", specialty="astrology")
    assert r.status_code == 422 and "specialty" in r.get_json()["fields"]
    assert _case(api, submitted)["status"] == "in_review"


@pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b'"text"', b"{", b"[" * 100_000 + b"]" * 100_000,
                                 b'{"a":' * 3000 + b"1" + b"}" * 3000])
def test_malformed_bodies_are_validation_errors(api, raw):
    r = api.client.post("/api/v1/cases", data=raw, headers={**api.headers("village.doctor"),
                                                          "Content-Type": "application/json"})
    assert r.status_code == 422 and r.get_json()["error"] == "validation"


def test_oversized_body_is_too_large(api):
    big = {"chief_complaint": "x" * 400_000}
    r = api.post("village.doctor", "/api/v1/cases", json=big)
    assert r.status_code == 413 and r.get_json()["error"] == "too_large"


def test_sql_and_html_in_text_are_stored_verbatim_and_harmless(api):
    hostile = "'); DROP TABLE cases; -- <script>alert(1)</script>"
    c = api.new_case("village.doctor", chief_complaint=hostile, clinical_question=hostile,
                     patient={"name": "<b>李四</b>", "sex": "male"})
    again = _case(api, c["id"])
    assert again["chief_complaint"] == hostile and again["patient"]["name"] == "<b>李四</b>"
    assert api.get("village.doctor", "/api/v1/cases").status_code == 200


def test_bad_query_parameters_are_validation_errors(api):
    for query in ("scope=everything", "status=lost", "urgency=soon", "page=0", "per_page=1000", "page=abc"):
        r = api.get("village.doctor", f"/api/v1/cases?{query}")
        assert r.status_code == 422, query


def test_unknown_api_route_and_method_are_json(api, client):
    r = api.get("village.doctor", "/api/v1/nothing-here")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"
    r = client.put("/api/v1/cases", headers=api.headers("village.doctor"))
    assert r.status_code == 405 and r.get_json()["error"] == "method_not_allowed"


def test_the_server_keeps_serving_after_bad_input(api, client):
    for _ in range(3):
        api.client.post("/api/v1/cases", data=b"\xff\xfe", headers=api.headers("village.doctor"))
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_a_crash_between_two_writes_leaves_no_half_done_transition(api, submitted, app, monkeypatch):
    """If anything fails after the hop was changed but before the event is written, nothing is kept."""
    from referral.services import cases as case_service

    api.act("township.specialist", submitted, "claim")
    before = _case(api, submitted)

    def explode(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(case_service, "_append_event", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = api.act("township.specialist", submitted, "escalate", reason="需要上级")
    assert r.status_code == 500 and r.get_json()["error"] == "internal"
    monkeypatch.undo()

    after = _case(api, submitted)
    assert after["status"] == "in_review" and after["version"] == before["version"]
    assert len(after["hops"]) == len(before["hops"]) and after["hops"][-1]["closed_at"] is None
    events = api.get("village.doctor", f"/api/v1/cases/{submitted}/events").get_json()["items"]
    assert [e["kind"] for e in events][-1] == "claim"


def test_issue_advice_needs_the_signers_password(api, submitted):
    api.act("township.specialist", submitted, "claim")
    r = api.act("township.specialist", submitted, "issue_advice",
                advice={"assessment": "x", "disposition": "manage_locally"}, password="guess")
    assert r.status_code == 422
    r = api.act("township.specialist", submitted, "issue_advice",
                advice={"assessment": "x", "disposition": "manage_locally"}, password=DEMO_PASSWORD)
    assert r.status_code == 200


def test_guessing_the_signing_password_is_rate_limited(api, submitted):
    """Five wrong passwords at signing, then even the right one waits: an unattended session
    cannot be used to guess the specialist's password."""
    api.act("township.specialist", submitted, "claim")
    advice = {"assessment": "x", "disposition": "manage_locally"}
    for attempt in range(5):
        r = api.act("township.specialist", submitted, "issue_advice", advice=advice, password=f"guess-{attempt}")
        assert r.status_code == 422
    r = api.act("township.specialist", submitted, "issue_advice", advice=advice, password=DEMO_PASSWORD)
    assert r.status_code == 429 and r.get_json()["error"] == "rate_limited"
    assert _case(api, submitted)["status"] == "in_review"  # nothing was signed


def test_version_must_be_a_number_not_a_boolean(api, submitted):
    r = api.post("township.specialist", f"/api/v1/cases/{submitted}/actions/claim", json={"version": True})
    assert r.status_code == 422 and "version" in r.get_json()["fields"]


def test_a_known_id_number_with_other_details_is_refused(api):
    first = {"name": "张桂兰", "sex": "female", "birth_date": "1950-02-03", "id_number": "420322195002030023"}
    a = api.new_case("village.doctor", patient=first)
    same = api.new_case("village.doctor", patient=first)
    assert same["patient"]["id"] == a["patient"]["id"]  # the same person is found again
    typo = {**first, "name": "王建华", "sex": "male"}
    r = api.post("village.doctor", "/api/v1/cases", json={
        "patient": typo, "urgency": "routine", "specialty": "cardiology", "chief_complaint": "x",
        "clinical_question": "?"})
    assert r.status_code == 422 and "张桂兰" in r.get_json()["fields"]["patient.id_number"]


@pytest.mark.parametrize("id_number,birth_date,message", [
    ("420322195002030028", None, "does not check out"),  # the last digit mistyped
    ("420322195002030203", None, "does not check out"),  # two digits swapped
    ("42032219500230002X", None, "not a birth date"),  # 30 February, though it checks out
    ("420322209901010012", None, "not a birth date"),  # born in 2099, though it checks out
    ("420322195002030023", "1950-03-02", "another birth date"),  # day and month the other way round
])
def test_a_mistyped_id_number_is_refused_with_the_reason(api, id_number, birth_date, message):
    """A resident ID number is checked where it is typed (GB 11643 check character, the birth date it
    holds): a wrong one would join this patient's referrals to somebody else's record."""
    patient = {"name": "张桂兰", "sex": "female", "id_number": id_number, **({"birth_date": birth_date} if birth_date
                                                                            else {})}
    r = api.post("village.doctor", "/api/v1/cases", json={
        "patient": patient, "urgency": "routine", "specialty": "cardiology", "chief_complaint": "x",
        "clinical_question": "?"})
    assert r.status_code == 422 and message in r.get_json()["fields"]["patient.id_number"]


def test_the_birth_date_comes_from_the_id_number_when_not_typed(api):
    case = api.new_case("village.doctor", patient={"name": "张桂兰", "sex": "female", "id_number": "42032219500203012x"})
    shown = api.get("village.doctor", f"/api/v1/cases/{case['id']}").get_json()["patient"]
    assert shown["birth_date"] == "1950-02-03"


BEYOND = [2**31, 2**63, 10**20]  # past an integer column, past SQLite's 64 bits, past both


@pytest.mark.parametrize("number", BEYOND)
def test_numbers_no_row_can_have_name_nothing(api, client, submitted, number):
    """An id or a page past what a database column takes is a 404 or a 422, on every backend,
    wherever it comes: in the path, the query or the body."""
    doctor = api.headers("village.doctor")
    for path in (f"/api/v1/cases/{number}", f"/api/v1/cases/{submitted}/attachments/{number}/file",
                 f"/cases/{number}", f"/notices/{number}", f"/notifications/{number}"):
        r = client.get(path, headers=doctor)
        assert r.status_code == 404, (path, r.status_code)
    assert client.post(f"/api/v1/notifications/{number}/read", headers=doctor).status_code == 404
    for query in (f"/api/v1/cases?page={number}", f"/api/v1/notifications?page={number}",
                  f"/api/v1/facilities?parent={number}", f"/api/v1/facilities?parent=-{number}"):
        r = api.get("village.doctor", query)
        assert r.status_code == 422 and r.get_json()["error"] == "validation", query
    r = api.post("village.doctor", "/api/v1/cases", json={
        "patient_id": number, "urgency": "routine", "specialty": "internal_medicine", "chief_complaint": "c",
        "clinical_question": "q"})
    assert r.status_code == 422 and "patient_id" in r.get_json()["fields"]
    r = api.post("village.doctor", "/api/v1/notifications/read", json={"ids": [number]})
    assert r.status_code == 422
    r = api.post("village.doctor", f"/api/v1/cases/{submitted}/attachments/inbox", json={"study_id": number})
    assert r.status_code == 404
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_several_statuses_by_commas_or_by_repeating_the_parameter(api, submitted):
    draft = api.new_case("village.doctor")["id"]

    def ids(query: str) -> set[int]:
        return {c["id"] for c in api.get("village.doctor", f"/api/v1/cases?{query}&per_page=100").get_json()["items"]}

    assert draft in ids("status=draft") and submitted not in ids("status=draft")
    both = ids("status=draft,submitted")
    assert {draft, submitted} <= both
    assert ids("status=draft&status=submitted") == both
    r = api.get("village.doctor", "/api/v1/cases?status=draft&status=unheard_of")
    assert r.status_code == 422 and "status" in r.get_json()["fields"]
