"""Live delivery over the network: a real server, real python-socketio clients."""

from __future__ import annotations

import time

import pytest

from referral.realtime import socketio
from tests.notifications.live import LiveServer, close_all, listen


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server


def test_a_submitted_case_reaches_every_open_session_of_the_specialist_within_a_second(live, api):
    specialist_token = live.token("township.specialist")
    by_token = listen(live.url, token=specialist_token)
    by_cookie = listen(live.url, cookies=live.browser_session("township.specialist"))  # the same person, a browser
    outsiders = {name: listen(live.url, token=live.token(name))
                 for name in ("township.specialist2", "village.doctor2", "county.specialist", "county.admin")}
    author = listen(live.url, token=live.token("village.doctor"))
    try:
        doctor_token = live.token("village.doctor")
        cid = api.new_case("village.doctor", specialty="internal_medicine", urgency="emergency")["id"]

        started = time.monotonic()
        live.act(doctor_token, cid, "submit")
        got = by_token.wait_for("notification", timeout=5)
        got_too = by_cookie.wait_for("notification", timeout=5)
        assert got and got_too, "both sessions of the specialist receive the push"
        assert got[0][0] - started < 1.0 and got_too[0][0] - started < 1.0
        payload = got[0][1]
        assert set(payload) >= {"id", "kind", "case_id", "title", "created_at"}
        assert payload["kind"] == "case_queued" and payload["case_id"] == cid
        assert payload["title"].startswith("【危急】新病例待接诊 YX-")
        assert got_too[0][1]["id"] == payload["id"]

        live.act(specialist_token, cid, "claim")
        started = time.monotonic()
        live.act(specialist_token, cid, "request_info", message="请补充血压记录")
        [(arrived, info)] = author.wait_for("notification", timeout=5)
        assert info["kind"] == "info_requested" and arrived - started < 1.0

        time.sleep(0.5)  # anything misrouted would have arrived by now
        for name, listener in outsiders.items():
            assert listener.events() == [], f"{name} is outside the case and must hear nothing"
        assert len(by_token.events()) == 1 and len(author.events()) == 1  # exactly once each
    finally:
        close_all([by_token, by_cookie, author, *outsiders.values()])


def test_marking_read_updates_the_other_sessions(live):
    token = live.token("township.specialist")
    listener = listen(live.url, token=token)
    try:
        import requests

        r = requests.post(live.url + "/api/v1/notifications/read", json={"all": True},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200
        [(_, payload)] = listener.wait_for("notifications_read", timeout=5)
        assert payload == {"unread": 0}
    finally:
        listener.close()


def test_pushes_wait_for_the_commit(app, api, session, users):
    """Nothing is announced for a transaction that rolls back."""
    from referral.models import User
    from referral.notifications import Kind, notify_users

    client = socketio.test_client(app, auth={"token": api.token("township.specialist")})
    try:
        specialist = session.get(User, users["township.specialist"].id)
        notify_users(session, [specialist], Kind.CASE_QUEUED, {"reference": "R", "urgency": "routine"}, link="/")
        assert client.get_received() == []  # queued, not sent
        session.rollback()
        assert client.get_received() == []
        notify_users(session, [specialist], Kind.CASE_QUEUED, {"reference": "R2", "urgency": "routine"}, link="/")
        session.commit()
        received = [m["args"][0] for m in client.get_received() if m["name"] == "notification"]
        assert [p["title"] for p in received] == ["【普通】新病例待接诊 R2"]
    finally:
        client.disconnect()
