"""Helpers for the web app's tests: signing in through the real login form (with its CSRF
token), and a real server on 127.0.0.1 for the browser tests."""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = _TOKEN.search(text)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client, username: str, password: str = DEMO_PASSWORD, **extra):
    """Sign in through the login form, as a browser would."""
    token = csrf_token(client.get("/login").data)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, **extra})


def post_form(client, path: str, data: dict | list, *, token_from: str | None = None):
    """POST a form with the CSRF token of the page at `token_from` (default: the same path)."""
    token = csrf_token(client.get(token_from or path).data)
    items = list(data.items()) if isinstance(data, dict) else list(data)
    items.append(("csrf_token", token))
    from werkzeug.datastructures import MultiDict

    return client.post(path, data=MultiDict(items))


@pytest.fixture
def signed_in(app):
    """A factory: a fresh test client signed in as the given demo account."""

    def make(username: str):
        client = app.test_client()
        r = sign_in(client, username)
        assert r.status_code == 302, r.data[:500]
        return client

    return make


class LiveServer:
    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright (never a downloaded browser).

    Per module, not per session: while Playwright's sync API is open its event loop is the
    running loop of the main thread, so a longer-lived one would break every later test that
    uses asyncio or starts Playwright itself."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI (make system-deps installs it)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def keep_screenshot(path: Path, docs_name: str) -> None:
    """Copy a screenshot into docs/screenshots/ for the README."""
    target = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / docs_name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
