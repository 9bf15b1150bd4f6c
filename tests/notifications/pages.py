"""Signing in through the login page with the Flask test client, as a browser does."""

from __future__ import annotations

import re

from tests.conftest import DEMO_PASSWORD

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page carries a CSRF token"
    return match.group(1) or match.group(2)


class Browser:
    """One signed-in browser: a test client with its own cookie jar."""

    def __init__(self, app, username: str) -> None:
        self.client = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        r = self.client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                             "csrf_token": csrf_of(page)})
        assert r.status_code in (302, 303), r.get_data(as_text=True)[:300]
        self.token = csrf_of(self.client.get("/").get_data(as_text=True))

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict | None = None, **kw):
        body = dict(data or {})
        body.setdefault("csrf_token", self.token)
        return self.client.post(path, data=body, **kw)
