"""Consult fixtures: a case with a past and a current assignee, and Socket.IO test clients."""

from __future__ import annotations

import re

import pytest

from referral.realtime import socketio
from tests.conftest import DEMO_PASSWORD

NS = "/consult"


def make_consult_case(api) -> int:
    """village.doctor refers to T1; township.specialist claims and escalates to the county hospital,
    where county.specialist claims it: author + a past assignee + the current one."""
    case = api.new_case("village.doctor", specialty="cardiology")
    cid = case["id"]
    for user, action, fields in [
        ("village.doctor", "submit", {}),
        ("township.specialist", "claim", {}),
        ("township.specialist", "escalate", {"reason": "需要心内科会诊"}),
        ("county.specialist", "claim", {}),
    ]:
        r = api.act(user, cid, action, **fields)
        assert r.status_code == 200, (action, r.get_json())
    return cid


@pytest.fixture
def consult_case(api) -> int:
    return make_consult_case(api)


@pytest.fixture
def sock(app, api):
    """Open a /consult test client for a demo account: `sock("village.doctor")`."""
    opened = []

    def open_for(username: str):
        client = socketio.test_client(app, namespace=NS, auth={"token": api.token(username)})
        opened.append(client)
        return client

    yield open_for
    for client in opened:
        if client.is_connected(NS):
            client.disconnect(namespace=NS)


def received(client, name: str) -> list[dict]:
    return [m["args"][0] for m in client.get_received(NS) if m["name"] == name]


def events_named(messages: list[dict], name: str) -> list[dict]:
    return [m["args"][0] for m in messages if m["name"] == name]


CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class Browser:
    """A signed-in web session (the login form, its cookie, its CSRF token), as a person's browser."""

    def __init__(self, app, username: str) -> None:
        self.client = app.test_client()
        page = self.client.get("/login")
        r = self.client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                             "csrf_token": csrf_from(page.get_data(as_text=True))})
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        self.token = csrf_from(self.client.get("/").get_data(as_text=True))

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict | None = None, **kw):
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token}, **kw)


@pytest.fixture
def browser(app):
    return lambda username: Browser(app, username)


@pytest.fixture
def live_server(sqlite_template, tmp_path):
    """`referral serve` in a subprocess against a seeded SQLite copy (one per test)."""
    from .live import LiveServer, seeded_copy

    server = LiveServer(tmp_path, seeded_copy(sqlite_template, tmp_path))
    yield server
    server.stop()
