"""The /consult signalling through Flask-SocketIO's test client: who gets in, what is relayed, what
is refused, and what lands on the case's timeline."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from referral.models import ConsultSession, Event, Notification
from referral.realtime import socketio

from .conftest import NS, received


def join(client, case_id, **extra):
    return client.emit("join", {"case_id": case_id, **extra}, namespace=NS, callback=True)


def test_connection_needs_credentials(app):
    assert not socketio.test_client(app, namespace=NS).is_connected(NS)
    assert not socketio.test_client(app, namespace=NS, auth={"token": "forged"}).is_connected(NS)


def test_author_and_past_and_current_assignees_join_and_see_each_other(sock, consult_case):
    doctor, past, current = sock("village.doctor"), sock("township.specialist"), sock("county.specialist")
    a = join(doctor, consult_case)
    assert a["ok"] and a["peers"] == [] and a["ice_servers"] == []
    b = join(past, consult_case)
    assert b["ok"] and [p["sid"] for p in b["peers"]] == [a["self"]["sid"]]
    assert b["peers"][0]["user"]["name"]
    c = join(current, consult_case)
    assert {p["sid"] for p in c["peers"]} == {a["self"]["sid"], b["self"]["sid"]}
    joined = [m["user"]["id"] for m in received(doctor, "peer-joined")]
    assert len(joined) == 2


def test_people_outside_the_room_are_refused_even_if_they_may_see_the_case(sock, consult_case, api):
    # county.specialist2 works where the case is (sees it), county.admin sees the whole county: neither
    # is a participant of this consult. village.doctor2 sees nothing of it.
    assert api.get("county.specialist2", f"/api/v1/cases/{consult_case}").status_code == 200
    for username in ("county.specialist2", "county.admin", "village.doctor2", "province.expert"):
        answer = join(sock(username), consult_case)
        assert answer == {"ok": False, "error": "not_found", "message": "no such case"}, username
    assert join(sock("village.doctor2"), 999_999)["error"] == "not_found"


def test_offers_answers_and_candidates_reach_only_the_addressed_member(sock, consult_case):
    doctor, specialist, bystander = sock("village.doctor"), sock("county.specialist"), sock("township.specialist")
    d = join(doctor, consult_case)["self"]["sid"]
    s = join(specialist, consult_case)["self"]["sid"]
    join(bystander, consult_case)
    for c in (doctor, specialist, bystander):
        c.get_received(NS)
    ack = specialist.emit("offer", {"to": d, "sdp": "v=0 offer", "pc": "abc", "extra": "dropped"}, namespace=NS,
                          callback=True)
    assert ack == {"ok": True}
    assert received(doctor, "offer") == [{"sdp": "v=0 offer", "pc": "abc", "from": s}]
    doctor.emit("answer", {"to": s, "sdp": "v=0 answer", "pc": "abc"}, namespace=NS)
    cand = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    doctor.emit("ice", {"to": s, "candidate": cand, "pc": "abc"}, namespace=NS)
    doctor.emit("ice", {"to": s, "candidate": None, "pc": "abc"}, namespace=NS)
    got = specialist.get_received(NS)
    assert [m["name"] for m in got] == ["answer", "ice", "ice"]
    assert got[1]["args"][0]["candidate"]["candidate"] == cand["candidate"] and got[2]["args"][0]["candidate"] is None
    assert bystander.get_received(NS) == []


def test_an_outsider_cannot_inject_signalling_into_the_room(sock, consult_case, api):
    doctor = sock("village.doctor")
    d = join(doctor, consult_case)["self"]["sid"]
    doctor.get_received(NS)
    outsider = sock("village.doctor2")
    # Not joined anywhere: refused.
    ack = outsider.emit("offer", {"to": d, "sdp": "v=0 evil"}, namespace=NS, callback=True)
    assert ack["ok"] is False and ack["error"] == "not_found"
    # Joined a room of their own case: the doctor is not in it, so still refused.
    own = api.new_case("village.doctor2")["id"]
    assert join(outsider, own)["ok"]
    for event in ("offer", "answer"):
        assert outsider.emit(event, {"to": d, "sdp": "v=0 evil"}, namespace=NS, callback=True)["error"] == "not_found"
    assert outsider.emit("ice", {"to": d, "candidate": None}, namespace=NS, callback=True)["error"] == "not_found"
    assert outsider.emit("chat", {"text": "hello"}, namespace=NS, callback=True)["ok"]  # in their own room
    assert doctor.get_received(NS) == []


def test_malformed_messages_are_refused_without_harm(sock, consult_case):
    doctor = sock("village.doctor")
    specialist = sock("county.specialist")
    d = join(doctor, consult_case)["self"]["sid"]
    join(specialist, consult_case)
    bad = [
        ("join", "not an object"), ("join", {"case_id": "1"}), ("join", {"case_id": True}),
        ("join", {"case_id": consult_case, "role": "admin"}),
        ("offer", {"to": d}), ("offer", {"to": d, "sdp": "x" * 70_000}), ("offer", {"to": "../../etc", "sdp": "x"}),
        ("answer", ["list"]), ("ice", {"to": d, "candidate": "text"}),
        ("ice", {"to": d, "candidate": {"candidate": 5}}), ("ice", {"to": d, "candidate": {"sdpMLineIndex": -1}}),
        ("chat", {"text": ""}), ("chat", {"text": "长" * 2001}), ("chat", None),
        ("media", {"audio": "yes"}), ("media", {"preset": "4k"}), ("quality", {"stats": {"x": {"loss": 2}}}),
        ("quality", {"stats": {"x": {"rtt_ms": float("nan")}}}),
        ("recording-saved", {"recording_id": 1}),
    ]
    for event, payload in bad:
        ack = specialist.emit(event, payload, namespace=NS, callback=True)
        assert ack["ok"] is False and ack["error"] in ("validation", "not_found"), (event, payload, ack)
    assert specialist.is_connected(NS)
    assert received(doctor, "offer") == [] and received(doctor, "chat") == []
    # Unknown events are ignored; the room still works afterwards.
    specialist.emit("nonsense", {"a": 1}, namespace=NS)
    assert specialist.emit("offer", {"to": d, "sdp": "v=0 fine"}, namespace=NS, callback=True) == {"ok": True}
    assert len(received(doctor, "offer")) == 1


def test_a_chat_line_with_a_control_character_is_refused(sock, consult_case):
    doctor = sock("village.doctor")
    join(doctor, consult_case)
    answer = doctor.emit("chat", {"text": "血压\u0000150/90"}, namespace=NS, callback=True)
    assert not answer["ok"] and answer["error"] == "validation" and "text" in answer["fields"]


def test_chat_is_rate_limited(sock, consult_case):
    doctor = sock("village.doctor")
    join(doctor, consult_case)
    answers = [doctor.emit("chat", {"text": f"第{i}条"}, namespace=NS, callback=True) for i in range(14)]
    assert sum(a["ok"] for a in answers) == 10
    assert {a["error"] for a in answers if not a["ok"]} == {"rate_limited"}
    assert doctor.is_connected(NS)


def test_one_person_alone_in_the_room_is_no_consult(sock, consult_case, session):
    """Opening the room to check the camera, twice, and leaving: nobody met, the timeline stays quiet."""
    for _ in range(2):
        doctor = sock("village.doctor")
        join(doctor, consult_case)
        doctor.emit("leave", {}, namespace=NS, callback=True)
        doctor.disconnect(namespace=NS)
    session.expire_all()
    kinds = session.scalars(select(Event.kind).where(Event.case_id == consult_case, Event.kind.like("consult_%"))).all()
    assert kinds == []
    assert len(session.scalars(select(ConsultSession).where(ConsultSession.case_id == consult_case)).all()) == 2


def test_a_session_starts_ends_and_keeps_its_chat_on_the_timeline(sock, consult_case, session):
    doctor, specialist = sock("village.doctor"), sock("county.specialist")
    join(doctor, consult_case)
    join(specialist, consult_case)
    assert specialist.emit("chat", {"text": "请把心电图对准摄像头"}, namespace=NS, callback=True)["ok"]
    line = received(doctor, "chat")[-1]
    assert line["text"] == "请把心电图对准摄像头" and line["from"]["name"]
    doctor.emit("leave", {}, namespace=NS, callback=True)
    assert received(specialist, "peer-left")
    specialist.disconnect(namespace=NS)
    session.expire_all()
    kinds = [(e.kind, e.payload) for e in session.scalars(select(Event).where(Event.case_id == consult_case)
                                                          .where(Event.kind.like("consult_%")).order_by(Event.id))]
    assert [k for k, _ in kinds] == ["consult_started", "consult_chat", "consult_ended"]
    ended = kinds[-1][1]
    assert ended["duration_seconds"] >= 0 and len(ended["participants"]) == 2
    assert all(p["joined_at"] <= p["left_at"] for p in ended["participants"])
    consult = session.scalars(select(ConsultSession).where(ConsultSession.case_id == consult_case)).one()
    assert consult.ended_at is not None and consult.open_case_id is None
    # The next joiner opens a new session; the chat history comes along.
    again = join(sock("township.specialist"), consult_case)
    assert again["session"]["id"] != consult.id and again["chat"][-1]["text"] == "请把心电图对准摄像头"


def test_an_assignee_invites_a_provincial_expert_who_may_then_join(sock, consult_case, browser, session, users):
    expert = sock("province.expert")
    assert join(expert, consult_case)["error"] == "not_found"
    r = browser("township.specialist").post(f"/cases/{consult_case}/consult/invitations",
                                            {"username": "province.expert", "note": "请协助判读心电图"})
    assert r.status_code == 302
    answer = join(expert, consult_case)
    assert answer["ok"]
    note = session.scalars(select(Notification).where(Notification.recipient_id == users["province.expert"].id)
                           .where(Notification.kind == "consult_invite")).one()
    assert note.link == f"/cases/{consult_case}/consult" and note.case_id == consult_case
    invited = session.scalars(select(Event).where(Event.case_id == consult_case, Event.kind == "consult_invited")).one()
    assert invited.payload["invitee_id"] == users["province.expert"].id and invited.payload["note"] == "请协助判读心电图"


def test_only_assignees_invite_and_only_specialists_are_invited(consult_case, browser, session):
    doctor = browser("village.doctor")
    assert doctor.post(f"/cases/{consult_case}/consult/invitations", {"username": "county.specialist2"},
                       headers={"Accept": "application/json"}).status_code == 403
    specialist = browser("county.specialist")
    r = specialist.post(f"/cases/{consult_case}/consult/invitations", {"username": "village.doctor2"},
                        headers={"Accept": "application/json"})
    assert r.status_code == 422 and r.get_json()["error"] == "validation"
    r = specialist.post(f"/cases/{consult_case}/consult/invitations", {"username": "nobody.at.all"},
                        headers={"Accept": "application/json"})
    assert r.status_code == 422
    # Outside the room the case does not exist, whatever the form says.
    assert browser("county.specialist2").post(f"/cases/{consult_case}/consult/invitations",
                                              {"username": "province.expert"}).status_code == 404
    assert not session.scalars(select(Event).where(Event.case_id == consult_case,
                                                   Event.kind == "consult_invited")).all()


def test_revoking_an_invitation_stops_the_expert_signalling_at_once(sock, consult_case, browser):
    specialist = browser("county.specialist")
    r = specialist.post(f"/cases/{consult_case}/consult/invitations", {"username": "province.expert"},
                        headers={"Accept": "application/json"})
    invitation = r.get_json()["id"]
    doctor, expert = sock("village.doctor"), sock("province.expert")
    d = join(doctor, consult_case)["self"]["sid"]
    assert join(expert, consult_case)["ok"]
    assert expert.emit("offer", {"to": d, "sdp": "v=0"}, namespace=NS, callback=True)["ok"]
    r = specialist.post(f"/cases/{consult_case}/consult/invitations/{invitation}/revoke")
    assert r.status_code == 302
    refused = expert.emit("offer", {"to": d, "sdp": "v=0 again"}, namespace=NS, callback=True)
    assert refused["error"] == "not_found"
    assert len(received(doctor, "offer")) == 1
    assert join(expert, consult_case)["error"] == "not_found"


def test_turn_credentials_go_to_members_only(settings, api):
    from referral.app import create_app

    app = create_app(dataclasses.replace(settings, turn_secret="coturn-shared", turn_urls=("turn:127.0.0.1:3478",),
                                         ice_servers=({"urls": "stun:127.0.0.1:3478"},)))
    api_ = type(api)(app.test_client())
    case_id = api_.new_case("village.doctor")["id"]
    member = socketio.test_client(app, namespace=NS, auth={"token": api_.token("village.doctor")})
    ack = join(member, case_id)
    stun, turn = ack["ice_servers"]
    assert stun == {"urls": "stun:127.0.0.1:3478"} and turn["urls"] == ["turn:127.0.0.1:3478"]
    expiry, uid = turn["username"].split(":")
    assert int(uid) == ack["self"]["user"]["id"] and int(expiry) > 0 and turn["credential"]
    outsider = socketio.test_client(app, namespace=NS, auth={"token": api_.token("village.doctor2")})
    assert "ice_servers" not in join(outsider, case_id)
    member.disconnect(namespace=NS)
    outsider.disconnect(namespace=NS)
    app.extensions["referral"].database.engine.dispose()
