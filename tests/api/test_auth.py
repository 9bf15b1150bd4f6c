"""Bearer tokens (issue, use, revoke, expire) and login rate limiting."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from referral.models import ApiToken, utcnow
from tests.conftest import DEMO_PASSWORD


def test_token_round_trip(client):
    r = client.post("/api/v1/auth/token", json={"username": "county.admin", "password": DEMO_PASSWORD})
    assert r.status_code == 201
    body = r.get_json()
    assert body["user"]["username"] == "county.admin" and body["expires_at"]
    headers = {"Authorization": f"Bearer {body['token']}"}
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["roles"] == ["admin"] and me["facility"]["code"] == "YX-WJJ"
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 200
    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"


def test_no_or_bad_token_is_unauthorized(client):
    assert client.get("/api/v1/cases").status_code == 401
    assert client.get("/api/v1/cases", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert client.get("/api/v1/cases", headers={"Authorization": "Basic abc"}).status_code == 401


def test_expired_token_is_refused(client, database):
    token = client.post("/api/v1/auth/token", json={"username": "village.doctor", "password": DEMO_PASSWORD}
                        ).get_json()["token"]
    with database.session() as s:
        for row in s.scalars(select(ApiToken)):
            row.expires_at = utcnow() - timedelta(seconds=1)
        s.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_only_the_token_hash_is_stored(client, database):
    token = client.post("/api/v1/auth/token", json={"username": "village.doctor", "password": DEMO_PASSWORD}
                        ).get_json()["token"]
    with database.session() as s:
        stored = [row.token_hash for row in s.scalars(select(ApiToken))]
    assert token not in stored and len(stored) == 1


def test_wrong_password_then_rate_limited(client):
    for _ in range(5):
        r = client.post("/api/v1/auth/token", json={"username": "village.doctor", "password": "wrong"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "village.doctor", "password": DEMO_PASSWORD})
    assert r.status_code == 429 and r.get_json()["error"] == "rate_limited"
    assert r.headers["Retry-After"] == "900"  # the limiter's window: after it the failures are forgotten
    # another account is not locked out by it
    r = client.post("/api/v1/auth/token", json={"username": "village.doctor2", "password": DEMO_PASSWORD})
    assert r.status_code == 201


def test_unknown_user_and_wrong_password_look_the_same(client):
    a = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"}).get_json()
    b = client.post("/api/v1/auth/token", json={"username": "village.doctor", "password": "x"}).get_json()
    assert a == b


def test_deactivated_user_cannot_sign_in_or_use_tokens(client, database):
    from referral.models import User

    token = client.post("/api/v1/auth/token", json={"username": "village.doctor", "password": DEMO_PASSWORD}
                        ).get_json()["token"]
    with database.session() as s:
        s.scalars(select(User).where(User.username == "village.doctor")).one().active = False
        s.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "village.doctor", "password": DEMO_PASSWORD})
    assert r.status_code == 401
