"""Signing in and out: sessions, their revocation, CSRF, rate limiting, cookie flags."""

from __future__ import annotations

from referral.config import Settings
from tests.conftest import DEMO_PASSWORD

from .conftest import csrf_token, post_form, sign_in


def test_pages_need_sign_in(client):
    r = client.get("/")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login")
    r = client.get("/cases/1")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_login_then_home_shows_the_doctor_her_cases(client):
    r = sign_in(client, "village.doctor")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "王秀兰" in page
    assert "我的病例" in page  # Chinese by default


def test_wrong_password_keeps_the_username_and_says_why(client):
    r = sign_in(client, "village.doctor", password="not-the-password")
    assert r.status_code == 401
    page = r.get_data(as_text=True)
    assert "用户名或密码错误" in page
    assert 'value="village.doctor"' in page
    assert client.get("/").status_code == 302


def test_login_rotates_the_session(client):
    client.get("/login")
    before = client.get_cookie("session").value
    client.post("/locale", data={"locale": "en", "csrf_token": csrf_token(client.get("/login").data)})
    sign_in(client, "village.doctor")
    after = client.get_cookie("session").value
    assert after != before
    # The token of the anonymous session is not valid for the signed-in one.
    r = client.post("/locale", data={"locale": "zh", "csrf_token": "stale"})
    assert r.status_code == 400


def test_session_cookie_flags(app, client):
    r = sign_in(client, "village.doctor")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the test settings run over plain HTTP


def test_secure_cookie_when_configured(db_url, tmp_path):
    from referral.app import create_app

    app = create_app(Settings(data_dir=tmp_path, database_url=db_url, secret_key="k", session_cookie_secure=True))
    client = app.test_client()
    r = sign_in(client, "village.doctor")
    assert r.status_code == 302
    assert "Secure" in r.headers["Set-Cookie"]
    app.extensions["referral"].database.engine.dispose()


def test_logout_revokes_the_session_even_when_the_cookie_is_replayed(app):
    client = app.test_client()
    sign_in(client, "village.doctor")
    stolen = client.get_cookie("session").value
    assert client.get("/").status_code == 200
    r = post_form(client, "/logout", {}, token_from="/")
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert client.get("/").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/").status_code == 302


def test_password_change_ends_other_sessions_and_keeps_this_one(app, signed_in):
    here, elsewhere = signed_in("village.doctor"), signed_in("village.doctor")
    r = post_form(here, "/account/password", {"current_password": DEMO_PASSWORD,
                                              "new_password": "a-new-pass-2026", "confirm_password": "a-new-pass-2026"})
    assert r.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    fresh = app.test_client()
    assert sign_in(fresh, "village.doctor").status_code == 401
    assert sign_in(fresh, "village.doctor", password="a-new-pass-2026").status_code == 302


def test_password_change_refusals_keep_the_user_informed(signed_in):
    client = signed_in("village.doctor")
    r = post_form(client, "/account/password", {"current_password": "wrong-password",
                                                "new_password": "a-new-pass-2026", "confirm_password": "a-new-pass-2026"})
    assert r.status_code == 422
    assert "当前密码不正确" in r.get_data(as_text=True)
    r = post_form(client, "/account/password", {"current_password": DEMO_PASSWORD,
                                                "new_password": "short", "confirm_password": "short"})
    assert r.status_code == 422
    assert "至少8个字符" in r.get_data(as_text=True)
    # Nothing typed: each empty field says it is required, at once, and nobody is told their password is wrong.
    r = post_form(client, "/account/password", {"current_password": "", "new_password": "",
                                                "confirm_password": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and html.count("必填。") == 2 and "当前密码不正确" not in html


def test_guessing_the_current_password_is_rate_limited(signed_in):
    client = signed_in("village.doctor")
    change = {"new_password": "a-new-pass-2026", "confirm_password": "a-new-pass-2026"}
    for attempt in range(5):
        r = post_form(client, "/account/password", {"current_password": f"guess-{attempt}", **change})
        assert r.status_code == 422
    r = post_form(client, "/account/password", {"current_password": DEMO_PASSWORD, **change})
    assert r.status_code == 429
    assert sign_in(client.application.test_client(), "village.doctor").status_code == 302  # the old password still works


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(signed_in):
    client = signed_in("village.doctor")
    r = client.post("/account/password", data={"current_password": DEMO_PASSWORD, "new_password": "x" * 12,
                                                "confirm_password": "x" * 12})
    assert r.status_code == 400
    assert "表单已过期" in r.get_data(as_text=True)
    r = client.post("/logout")
    assert r.status_code == 400
    assert client.get("/").status_code == 200  # still signed in: the forged sign-out did nothing


def test_the_api_needs_no_csrf_token(client):
    r = client.post("/api/v1/auth/token", json={"username": "village.doctor", "password": DEMO_PASSWORD})
    assert r.status_code == 201


def test_repeated_failures_are_rate_limited_like_the_api(client):
    for _ in range(5):
        assert sign_in(client, "village.doctor", password="wrong-password").status_code == 401
    r = sign_in(client, "village.doctor")  # even the right password is refused for a while
    assert r.status_code == 429
    assert "尝试次数过多" in r.get_data(as_text=True)
    # The API shares the limiter.
    r = client.post("/api/v1/auth/token", json={"username": "village.doctor", "password": DEMO_PASSWORD})
    assert r.status_code == 429 and r.get_json()["error"] == "rate_limited"


def test_next_only_goes_to_paths_on_this_site(client):
    r = sign_in(client, "village.doctor", next="/cases/new")
    assert r.headers["Location"] == "/cases/new"
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = sign_in(client.application.test_client(), "village.doctor", next=target)
        assert r.headers["Location"] == "/"


def test_language_switch_is_remembered_on_the_account(app, signed_in):
    client = signed_in("township.specialist")
    r = post_form(client, "/locale", {"locale": "en", "next": "/"}, token_from="/")
    assert r.status_code == 302
    assert "Queue" in client.get("/").get_data(as_text=True)
    other = signed_in("township.specialist")  # another browser: the choice follows the account
    assert "Queue" in other.get("/").get_data(as_text=True)
    assert other.get("/nope").status_code == 404
    assert "Not found" in other.get("/nope").get_data(as_text=True)


def test_a_password_is_taken_whole_at_sign_in(app, signed_in):
    """The longest password allowed (200 characters) signs in; one character more is wrong, not cut
    back to the 200 that would match."""
    longest = "长" * 150 + "p" * 50
    r = post_form(signed_in("village.doctor"), "/account/password", {
        "current_password": DEMO_PASSWORD, "new_password": longest, "confirm_password": longest})
    assert r.status_code == 302
    assert sign_in(app.test_client(), "village.doctor", password=longest).status_code == 302
    assert sign_in(app.test_client(), "village.doctor", password=longest + "x").status_code == 401


def test_the_language_chosen_on_the_sign_in_page_stays_after_signing_in(app, client, signed_in):
    client.post("/locale", data={"locale": "en", "csrf_token": csrf_token(client.get("/login").data)})
    assert "Sign in" in client.get("/login").get_data(as_text=True)
    sign_in(client, "township.specialist")  # an account that had Chinese
    assert "Queue" in client.get("/").get_data(as_text=True)
    assert "Queue" in signed_in("township.specialist").get("/").get_data(as_text=True)  # and remembered


def test_deactivated_account_is_signed_out_at_once(app, signed_in, users):
    doctor = signed_in("village.doctor")
    admin = signed_in("township.admin")
    uid = users["village.doctor"].id
    r = post_form(admin, f"/admin/users/{uid}/active", {"active": "0"}, token_from=f"/admin/users/{uid}")
    assert r.status_code == 302
    assert doctor.get("/").status_code == 302
    assert sign_in(app.test_client(), "village.doctor").status_code == 401
