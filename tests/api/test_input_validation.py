"""Input the server must not store or guess at: control characters in text, page sizes out of
range, bodies that are not JSON, flags that are not booleans. Each is a 422 naming what is wrong,
never a 500 and never a silent change, on SQLite and PostgreSQL alike (PostgreSQL refuses NUL in
text, so there a NUL that got through was a crash)."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_PASSWORD

CONTROL = "contains a control character"
# NUL; a backspace; an ANSI escape; DEL; a C1 control; a right-to-left override; a bidi isolate.
HOSTILE = ["胸闷\x003天", "a\x08b", "a\x1b[31mb", "a\x7fb", "a\x85b", "a\u202eb", "a\u2066b"]


def _case_body(**overrides) -> dict:
    body = {"patient": {"name": "张三", "sex": "male"}, "urgency": "routine", "specialty": "cardiology",
            "chief_complaint": "胸痛", "clinical_question": "?"}
    body.update(overrides)
    return body


def _drafts(api) -> int:
    return api.get("village.doctor", "/api/v1/cases?status=draft").get_json()["total"]


@pytest.fixture
def claimed(api):
    cid = api.new_case("village.doctor")["id"]
    assert api.act("village.doctor", cid, "submit").status_code == 200
    assert api.act("township.specialist", cid, "claim").status_code == 200
    return cid


@pytest.mark.parametrize("text", HOSTILE)
def test_a_control_character_in_a_new_case_is_refused_and_named(api, text):
    before = _drafts(api)
    r = api.post("village.doctor", "/api/v1/cases", json=_case_body(chief_complaint=text))
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["fields"] == {"chief_complaint": CONTROL}
    assert _drafts(api) == before


@pytest.mark.parametrize("overrides,field", [
    ({"patient": {"name": "张\x00三", "sex": "male"}}, "patient.name"),
    ({"diagnoses": [{"code": "I10", "name": "高血压\x00"}]}, "diagnoses.0.name"),
    ({"history": "x\x0cy"}, "history"),
])
def test_a_control_character_in_nested_text_is_named_by_its_path(api, overrides, field):
    r = api.post("village.doctor", "/api/v1/cases", json=_case_body(**overrides))
    assert r.status_code == 422 and r.get_json()["fields"] == {field: CONTROL}, r.get_json()


def test_tabs_and_line_breaks_are_text(api):
    text = "第一行\r\n第二行\n\t缩进"
    case = api.new_case("village.doctor", chief_complaint=text, history=text)
    again = api.get("village.doctor", f"/api/v1/cases/{case['id']}").get_json()
    assert again["chief_complaint"] == text.strip() and again["history"] == text.strip()


def test_a_control_character_in_an_action_is_refused(api, claimed):
    r = api.act("township.specialist", claimed, "request_info", message="请补充心电图\x00")
    assert r.status_code == 422 and r.get_json()["fields"] == {"message": CONTROL}
    advice = {"assessment": "稳定型心绞痛\x00", "disposition": "manage_locally"}
    r = api.act("township.specialist", claimed, "issue_advice", advice=advice, password=DEMO_PASSWORD)
    assert r.status_code == 422 and r.get_json()["fields"] == {"advice.assessment": CONTROL}
    advice = {"assessment": "x", "disposition": "manage_locally", "recommendations": [{"text": "休息\u202e"}],
              "key_images": []}
    r = api.act("township.specialist", claimed, "issue_advice", advice=advice, password=DEMO_PASSWORD)
    assert r.status_code == 422 and r.get_json()["fields"] == {"advice.recommendations.0.text": CONTROL}
    case = api.get("township.specialist", f"/api/v1/cases/{claimed}").get_json()
    assert case["status"] == "in_review"
    assert api.get("township.specialist", f"/api/v1/cases/{claimed}/messages").get_json()["items"] == []


def test_a_control_character_in_an_upload_is_refused(api):
    cid = api.new_case("village.doctor")["id"]
    path = f"/api/v1/cases/{cid}/uploads"
    r = api.post("village.doctor", path, json={"filename": "ct\x00.dcm", "size": 10})
    assert r.status_code == 422 and r.get_json()["fields"] == {"filename": CONTROL}, r.get_json()
    assert api.post("village.doctor", path, json={"filename": "ct.dcm", "size": 10}).status_code == 201
    r = api.post("village.doctor", f"/api/v1/cases/{cid}/studies/1.2.3/confirm", json={"note": "同一患者\x00"})
    assert r.status_code == 422 and r.get_json()["fields"] == {"note": CONTROL}


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/notifications"])
@pytest.mark.parametrize("per_page", ["-1", "0", "101"])
def test_a_page_size_out_of_range_names_per_page(api, path, per_page):
    r = api.get("village.doctor", f"{path}?per_page={per_page}")
    assert r.status_code == 422 and set(r.get_json()["fields"]) == {"per_page"}, r.get_json()


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/notifications"])
def test_a_page_out_of_range_names_page_and_both_are_named_at_once(api, path):
    r = api.get("village.doctor", f"{path}?page=0")
    assert r.status_code == 422 and set(r.get_json()["fields"]) == {"page"}
    r = api.get("village.doctor", f"{path}?page=0&per_page=500")
    assert r.status_code == 422 and set(r.get_json()["fields"]) == {"page", "per_page"}
    r = api.get("village.doctor", f"{path}?page=1&per_page=100")
    assert r.status_code == 200 and r.get_json()["per_page"] == 100


@pytest.mark.parametrize("raw,expected", [
    (b"{bad json", "not valid JSON"), (b"not json", "not valid JSON"), (b"{", "not valid JSON"),
    (b'{"a": 1,}', "not valid JSON"), (b"\xff\xfe", "not valid JSON"),
    (b"[1,2]", "expected a JSON object"), (b'"text"', "expected a JSON object"), (b"null", "expected a JSON object"),
])
def test_a_body_that_is_not_json_is_told_apart_from_json_of_the_wrong_shape(api, raw, expected):
    r = api.client.post("/api/v1/cases", data=raw, headers={**api.headers("village.doctor"),
                                                          "Content-Type": "application/json"})
    body = r.get_json()
    assert r.status_code == 422 and body["error"] == "validation" and body["fields"] == {"body": expected}, body


def _unread(api, who: str) -> int:
    return api.get(who, "/api/v1/notifications").get_json()["unread"]


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "", None, [True], {"x": 1}])
def test_marking_everything_read_takes_a_json_boolean_only(api, value):
    cid = api.new_case("village.doctor")["id"]
    api.act("village.doctor", cid, "submit")  # the township's specialists hear of it
    before = _unread(api, "township.specialist")
    assert before > 0
    r = api.post("township.specialist", "/api/v1/notifications/read", json={"all": value})
    assert r.status_code == 422 and set(r.get_json()["fields"]) == {"all"}, r.get_json()
    assert _unread(api, "township.specialist") == before
    r = api.post("township.specialist", "/api/v1/notifications/read", json={"all": True})
    assert r.status_code == 200 and r.get_json()["unread"] == 0
