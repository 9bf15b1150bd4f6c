"""Notifications created by the workflow: to the people who must act, in their language,
in the action's transaction; listed and marked read through the API."""

from __future__ import annotations

from sqlalchemy import select

from referral.models import Case, Notification, User
from referral.notifications import notify_consult_invite
from tests.conftest import DEMO_PASSWORD

PEOPLE = ["village.doctor", "village.doctor2", "township.specialist", "township.specialist2", "county.specialist",
          "county.specialist2", "county.obstetrician", "province.expert", "township.admin", "county.admin"]


def inbox(database, case_id: int | None = None) -> dict[str, list[Notification]]:
    """Everyone's notifications (about one case), read straight from the database."""
    with database.session() as s:
        names = dict(s.execute(select(User.id, User.username)).all())
        stmt = select(Notification).order_by(Notification.id)
        if case_id is not None:
            stmt = stmt.where(Notification.case_id == case_id)
        out: dict[str, list[Notification]] = {}
        for n in s.scalars(stmt):
            out.setdefault(names[n.recipient_id], []).append(n)
        return out


def kinds(box, username):
    return [n.kind for n in box.get(username, [])]


def test_each_step_tells_the_people_who_must_act_and_nobody_else(api, database):
    cid = api.new_case("village.doctor", specialty="cardiology", urgency="urgent")["id"]
    assert inbox(database, cid) == {}  # a draft asks nobody

    api.act("village.doctor", cid, "submit")
    box = inbox(database, cid)
    # T1's general practitioners (township.doctor is one too), whose queue shows it; not the author.
    assert set(box) == {"township.specialist", "township.doctor"}
    [n] = box["township.specialist"]
    assert n.kind == "case_queued" and n.link == f"/cases/{cid}" and n.read_at is None
    assert n.title.startswith("【紧急】新病例待接诊 YX-")

    api.act("township.specialist", cid, "claim")
    assert inbox(database, cid).keys() == {"township.specialist", "township.doctor"}  # claiming asks nobody

    api.act("township.specialist", cid, "request_info", message="请补充心电图")
    assert kinds(inbox(database, cid), "village.doctor") == ["info_requested"]
    api.act("village.doctor", cid, "provide_info", message="已上传")
    assert kinds(inbox(database, cid), "township.specialist") == ["case_queued", "info_provided"]

    api.act("township.specialist", cid, "escalate", reason="需要心内科")
    box = inbox(database, cid)
    # The county people's hospital's cardiologist, not the internal-medicine-only colleague.
    assert kinds(box, "county.specialist") == ["case_queued"]
    assert "county.specialist2" not in box
    assert kinds(box, "village.doctor") == ["info_requested", "case_escalated"]
    assert "郧西县人民医院" in box["village.doctor"][-1].title

    api.act("county.specialist", cid, "claim")
    advice = {"assessment": "稳定型心绞痛", "disposition": "manage_locally",
              "diagnoses": [{"code": "I20.9", "name": "心绞痛"}], "recommendations": []}
    api.act("county.specialist", cid, "issue_advice", advice=advice, password=DEMO_PASSWORD)
    box = inbox(database, cid)
    assert kinds(box, "village.doctor")[-1] == "advice_issued"
    api.act("village.doctor", cid, "follow_up", message="用药后仍胸闷")
    assert kinds(inbox(database, cid), "county.specialist")[-1] == "follow_up"

    assert set(inbox(database, cid)) == {"village.doctor", "township.specialist", "township.doctor",
                                         "county.specialist"}
    outsiders = set(PEOPLE) - {"village.doctor", "township.specialist", "county.specialist"}
    assert outsiders.isdisjoint(inbox(database, cid))


def test_a_refused_action_leaves_no_notification(api, database):
    cid = api.new_case("village.doctor", specialty="internal_medicine")["id"]
    api.act("village.doctor", cid, "submit")
    api.act("township.specialist", cid, "claim")
    before = {k: [n.id for n in v] for k, v in inbox(database, cid).items()}
    advice = {"assessment": "x", "disposition": "manage_locally", "diagnoses": [], "recommendations": []}
    r = api.act("township.specialist", cid, "issue_advice", advice=advice, password="wrong-password")
    assert r.status_code == 422
    assert {k: [n.id for n in v] for k, v in inbox(database, cid).items()} == before


def test_decline_and_resubmit(api, database):
    cid = api.new_case("village.doctor2", specialty="internal_medicine")["id"]
    api.act("village.doctor2", cid, "submit")
    api.act("township.specialist2", cid, "decline", reason="资料不全")
    assert kinds(inbox(database, cid), "village.doctor2") == ["case_declined"]
    api.act("village.doctor2", cid, "resubmit", note="已补充")
    assert kinds(inbox(database, cid), "township.specialist2") == ["case_queued", "case_queued"]


def test_release_tells_the_pool_but_not_the_one_who_released(api, database, session, users):
    cid = api.new_case("village.doctor", specialty="internal_medicine")["id"]
    api.act("village.doctor", cid, "submit")
    api.act("township.specialist", cid, "claim")
    api.act("township.specialist", cid, "release", note="今天外出")
    # township.doctor (a general practitioner of T1 who also sends cases) is in the pool.
    box = inbox(database, cid)
    assert kinds(box, "township.specialist") == ["case_queued"]  # from the submit only
    assert kinds(box, "township.doctor") == ["case_queued", "case_queued"]


def test_titles_follow_the_recipients_language(api, database, session, users):
    session.get(User, users["township.specialist"].id).locale = "en"
    session.commit()
    cid = api.new_case("village.doctor", specialty="internal_medicine", urgency="emergency")["id"]
    api.act("village.doctor", cid, "submit")
    box = inbox(database, cid)
    assert box["township.specialist"][0].title.startswith("[emergency] New case in your queue: YX-")
    assert box["township.doctor"][0].title.startswith("【危急】")


def test_consult_invitations_reach_the_invitee_with_the_room_link(api, database, session, users):
    cid = api.new_case("village.doctor", specialty="cardiology")["id"]
    api.act("village.doctor", cid, "submit")
    case = session.get(Case, cid)
    inviter = session.get(User, users["township.specialist"].id)
    assert notify_consult_invite(session, case, session.get(User, users["village.doctor"].id), inviter)
    # An expert of another hospital: the invitation admits them to the room, so they hear of it.
    assert notify_consult_invite(session, case, session.get(User, users["province.expert"].id), inviter)
    assert notify_consult_invite(session, case, inviter, inviter) == []  # not to oneself
    session.commit()
    box = inbox(database, cid)
    assert kinds(box, "village.doctor") == ["consult_invite"] and kinds(box, "province.expert") == ["consult_invite"]
    assert box["village.doctor"][0].link == f"/cases/{cid}/consult"
    assert "张明邀请您参加远程会诊" in box["village.doctor"][0].title


def test_api_lists_and_marks_read(api, database):
    cid = api.new_case("village.doctor", specialty="internal_medicine")["id"]
    api.act("village.doctor", cid, "submit")
    cid2 = api.new_case("village.doctor", specialty="internal_medicine")["id"]
    api.act("village.doctor", cid2, "submit")

    body = api.get("township.specialist", "/api/v1/notifications?unread=1").get_json()
    mine = [i for i in body["items"] if i["case_id"] in (cid, cid2)]
    assert [i["case_id"] for i in mine] == [cid2, cid]  # newest first
    assert set(mine[0]) >= {"id", "kind", "case_id", "title", "created_at", "read_at", "link"}
    unread = body["unread"]
    assert body["total"] == unread >= 2

    r = api.post("township.specialist", f"/api/v1/notifications/{mine[0]['id']}/read")
    assert r.status_code == 200 and r.get_json() == {"unread": unread - 1}
    again = api.get("township.specialist", "/api/v1/notifications?unread=1").get_json()
    assert mine[0]["id"] not in [i["id"] for i in again["items"]]
    everything = api.get("township.specialist", "/api/v1/notifications").get_json()
    assert everything["total"] == unread and everything["unread"] == unread - 1

    # Someone else's notification does not exist for the caller; bad input is refused clearly.
    r = api.post("village.doctor2", f"/api/v1/notifications/{mine[1]['id']}/read")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"
    r = api.post("township.specialist", "/api/v1/notifications/read", json={"ids": ["x"]})
    assert r.status_code == 422 and r.get_json()["error"] == "validation"
    r = api.post("township.specialist", "/api/v1/notifications/read", json={})
    assert r.status_code == 422
    assert api.get("township.specialist", "/api/v1/notifications?unread=maybe").status_code == 422

    r = api.post("township.specialist", "/api/v1/notifications/read", json={"all": True})
    assert r.get_json() == {"unread": 0}
    assert api.get("township.specialist", "/api/v1/notifications?unread=1").get_json()["items"] == []
    assert api.client.get("/api/v1/notifications").status_code == 401


def test_the_operation_is_described(api):
    spec = api.client.get("/api/v1/openapi.json").get_json()
    assert "get" in spec["paths"]["/api/v1/notifications"]
    assert "post" in spec["paths"]["/api/v1/notifications/read"]
