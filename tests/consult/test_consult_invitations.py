"""Inviting a specialist into a case's video consult over the API (POST/GET/DELETE
/api/v1/cases/{id}/consult/invitations): who may, what the invitee gets, and revoking."""

from __future__ import annotations

from referral.realtime import socketio
from tests.consult.conftest import NS, make_consult_case


def test_an_assignee_invites_an_expert_who_is_notified_and_may_join(api, app):
    case_id = make_consult_case(api)
    r = api.post("county.specialist", f"/api/v1/cases/{case_id}/consult/invitations",
                 json={"username": "province.expert", "note": "请协助判读心电图"})
    assert r.status_code == 201, r.get_json()
    invitation = r.get_json()
    assert invitation["invitee"]["username"] == "province.expert" and invitation["link"] == f"/cases/{case_id}/consult"
    notes = api.get("province.expert", "/api/v1/notifications?unread=1").get_json()["items"]
    assert [n["link"] for n in notes if n["kind"] == "consult_invite"] == [f"/cases/{case_id}/consult"]
    expert = socketio.test_client(app, namespace=NS, auth={"token": api.token("province.expert")})
    assert expert.emit("join", {"case_id": case_id}, namespace=NS, callback=True)["ok"]
    listed = api.get("village.doctor", f"/api/v1/cases/{case_id}/consult/invitations").get_json()["items"]
    assert [i["id"] for i in listed] == [invitation["id"]]

    # Revoked: out of the room at once.
    r = api.client.delete(f"/api/v1/cases/{case_id}/consult/invitations/{invitation['id']}",
                          headers=api.headers("county.specialist"))
    assert r.status_code == 204
    assert expert.emit("chat", {"text": "还在吗"}, namespace=NS, callback=True)["error"] == "not_found"
    assert api.get("province.expert", f"/api/v1/cases/{case_id}/consult/invitations").status_code == 404
    expert.disconnect(namespace=NS)


def test_only_assignees_invite_and_only_specialists_are_invited(api):
    case_id = make_consult_case(api)
    path = f"/api/v1/cases/{case_id}/consult/invitations"
    assert api.post("village.doctor", path, json={"username": "province.expert"}).status_code == 403
    assert api.post("county.specialist2", path, json={"username": "province.expert"}).status_code == 404
    bad = api.post("county.specialist", path, json={"username": "village.doctor2"})
    assert bad.status_code == 422 and bad.get_json()["error"] == "validation"
    assert api.post("county.specialist", path, json={}).status_code == 422
    assert api.post("county.specialist", path, json={"username": "province.expert", "extra": 1}).status_code == 422
    assert api.client.delete(f"{path}/999999", headers=api.headers("county.specialist")).status_code == 404
    assert api.client.delete(f"{path}/abc", headers=api.headers("county.specialist")).status_code == 404


BEYOND = [2**31, 2**63, 10**20]  # past an integer column, past SQLite's 64 bits, past both


def test_an_invitee_id_names_invitee_id_whatever_is_wrong_with_it(api):
    case_id = make_consult_case(api)
    path = f"/api/v1/cases/{case_id}/consult/invitations"
    for value in (*BEYOND, 0, -1, -(2**63)):
        r = api.post("county.specialist", path, json={"invitee_id": value})
        assert r.status_code == 422 and set(r.get_json()["fields"]) == {"invitee_id"}, (value, r.get_json())
    r = api.post("county.specialist", path, json={"invitee_id": 999_999})
    assert r.status_code == 422 and r.get_json()["fields"] == {"invitee_id": "no account with that id"}
    expert_id = api.get("province.expert", "/api/v1/me").get_json()["id"]
    r = api.post("county.specialist", path, json={"invitee_id": expert_id})
    assert r.status_code == 201 and r.get_json()["invitee"]["username"] == "province.expert"


def test_an_invitation_id_no_row_can_have_is_not_found(api):
    case_id = make_consult_case(api)
    path = f"/api/v1/cases/{case_id}/consult/invitations"
    invitation = api.post("county.specialist", path, json={"username": "province.expert"}).get_json()
    for value in (*BEYOND, 0, "²", "-1", "1.0"):
        r = api.client.delete(f"{path}/{value}", headers=api.headers("county.specialist"))
        assert r.status_code == 404 and r.get_json()["error"] == "not_found", (value, r.get_json())
    assert [i["id"] for i in api.get("county.specialist", path).get_json()["items"]] == [invitation["id"]]


def test_a_control_character_in_an_invitation_is_refused(api, browser):
    case_id = make_consult_case(api)
    path = f"/api/v1/cases/{case_id}/consult/invitations"
    r = api.post("county.specialist", path, json={"username": "province.expert", "note": "请会诊\x00"})
    assert r.status_code == 422 and r.get_json()["fields"] == {"note": "contains a control character"}
    r = api.post("county.specialist", path, json={"username": "province.expert\x00"})
    assert r.status_code == 422 and r.get_json()["fields"] == {"username": "contains a control character"}
    # The case page's form: the same refusals, said in the page's language (no database error).
    specialist = browser("county.specialist")
    for form in ({"username": "province.expert", "note": "请会诊\x00"}, {"username": "province\x00.expert"}):
        page = specialist.post(f"/cases/{case_id}/consult/invitations", form, follow_redirects=True)
        assert page.status_code == 200 and "邀请失败" in page.get_data(as_text=True), form
    assert api.get("county.specialist", path).get_json()["items"] == []
