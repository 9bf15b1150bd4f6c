"""Socket.IO connections are authenticated and land in the user's room."""

from __future__ import annotations

from referral.realtime import push_to_user, socketio


def test_connection_without_credentials_is_refused(app):
    client = socketio.test_client(app)
    assert not client.is_connected()


def test_connection_with_a_bad_token_is_refused(app):
    client = socketio.test_client(app, auth={"token": "nope"})
    assert not client.is_connected()


def test_token_connection_receives_pushes_for_its_user_only(app, api, users):
    mine = socketio.test_client(app, auth={"token": api.token("village.doctor")})
    mine_again = socketio.test_client(app, auth={"token": api.token("village.doctor")})
    other = socketio.test_client(app, auth={"token": api.token("village.doctor2")})
    assert mine.is_connected() and other.is_connected()
    with app.app_context():
        push_to_user(users["village.doctor"].id, "notification", {"title": "测试"})
    assert [m["args"][0]["title"] for m in mine.get_received() if m["name"] == "notification"] == ["测试"]
    assert [m["name"] for m in mine_again.get_received()] == ["notification"]
    assert other.get_received() == []


def test_signing_out_ends_the_live_pushes(app, api, users):
    from tests.web.conftest import post_form, sign_in

    browser = app.test_client()
    assert sign_in(browser, "village.doctor").status_code == 302
    by_cookie = socketio.test_client(app, flask_test_client=browser)
    by_token = socketio.test_client(app, auth={"token": api.token("village.doctor")})
    assert by_cookie.is_connected() and by_token.is_connected()
    post_form(browser, "/logout", {}, token_from="/")
    assert [m["name"] for m in by_cookie.get_received()] == ["session_ended"]
    with app.app_context():
        push_to_user(users["village.doctor"].id, "notification", {"title": "after"})
    assert [m["name"] for m in by_cookie.get_received() + by_token.get_received()
            if m["name"] == "notification"] == []
