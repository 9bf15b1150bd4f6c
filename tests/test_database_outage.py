"""The database out of reach (a restart, a network cut, a lock held too long): every request is
answered 503 `unavailable` with Retry-After, in JSON for programs and as a page in the user's
language, instead of "something went wrong"; `/healthz` stays up. The database here is a
PostgreSQL address where nothing listens."""

from __future__ import annotations

import pytest

from referral.app import create_app
from referral.config import Settings
from tests.consult.live import free_port
from tests.web.conftest import csrf_token


@pytest.fixture
def unreachable(tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key="x", session_cookie_secure=False,
                        database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/referral")
    app = create_app(settings)
    app.config["TESTING"] = True
    return app.test_client()


def test_programs_are_told_to_try_again(unreachable):
    r = unreachable.post("/api/v1/auth/token", json={"username": "village.doctor", "password": "whatever-2026"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "10"
    assert r.get_json()["error"] == "unavailable" and "try again" in r.get_json()["message"]
    r = unreachable.get("/api/v1/cases", headers={"Authorization": "Bearer some-token"})
    assert r.status_code == 503 and r.get_json()["error"] == "unavailable"
    assert unreachable.get("/healthz").status_code == 200


def test_people_see_a_page_that_says_what_happened(unreachable):
    login = unreachable.get("/login")
    r = unreachable.post("/login", data={"username": "village.doctor", "password": "whatever-2026",
                                         "csrf_token": csrf_token(login.data)})
    assert r.status_code == 503 and r.headers["Retry-After"] == "10"
    html = r.get_data(as_text=True)
    assert "暂时无法连接数据库" in html
    assert "<h1 class=\"page-title\">暂时无法使用</h1>" in html and "出错了" not in html  # not a failure of ours
