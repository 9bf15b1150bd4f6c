"""A real server on a free port and real python-socketio clients over the network, for the
tests where delivery timing matters (the test client delivers synchronously)."""

from __future__ import annotations

import gc
import re
import socket
import threading
import time
from dataclasses import dataclass, field

import requests
import socketio as socketio_client
from werkzeug.serving import make_server

from tests.conftest import DEMO_PASSWORD


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The app served as `referral serve` serves it (Werkzeug, threaded, Socket.IO middleware)."""

    def __init__(self, app) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "LiveServer":
        # As `referral serve` does after start-up: what is loaded by now is kept out of the collector's
        # walks. Here that is the whole test run's heap, whose full collection could stall a timed push.
        gc.collect()
        gc.freeze()
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the live server did not start")

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._thread.join(5)
        gc.unfreeze()

    def token(self, username: str) -> str:
        r = requests.post(self.url + "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD},
                          timeout=10)
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def browser_session(self, username: str) -> requests.Session:
        """Signed in through the login page, as a browser is: the session cookie authenticates."""
        s = requests.Session()
        page = s.get(self.url + "/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = s.post(self.url + "/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
                   allow_redirects=False, timeout=10)
        assert r.status_code in (302, 303), r.text[:500]
        return s

    def act(self, token: str, case_id: int, action: str, **fields) -> dict:
        r = requests.post(f"{self.url}/api/v1/cases/{case_id}/actions/{action}", json=fields,
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()


@dataclass
class Listener:
    """A python-socketio client recording every event it receives, with the time it arrived."""

    client: socketio_client.Client
    received: list[tuple[float, str, dict]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def events(self, name: str = "notification") -> list[dict]:
        return [payload for _, event, payload in self.received if event == name]

    def wait_for(self, name: str = "notification", count: int = 1, timeout: float = 5.0) -> list[tuple[float, dict]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [(t, p) for t, e, p in self.received if e == name]
            if len(found) >= count:
                return found
            time.sleep(0.01)
        return [(t, p) for t, e, p in self.received if e == name]

    def close(self) -> None:
        self.client.disconnect()


def close_all(listeners) -> None:
    """Disconnect in parallel: each websocket close waits for the peer's close frame."""
    threads = [threading.Thread(target=listener.close) for listener in listeners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)


def listen(url: str, *, token: str | None = None, cookies: requests.Session | None = None) -> Listener:
    client = socketio_client.Client(reconnection=False)
    listener = Listener(client)

    def record(event):
        def handler(payload=None):
            listener.received.append((time.monotonic(), event, payload))
            listener.arrived.set()
        return handler

    for name in ("notification", "notifications_read", "notice_ack"):
        client.on(name, record(name))
    headers = {}
    if cookies is not None:
        headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in cookies.cookies)
    client.connect(url, auth={"token": token} if token else None, headers=headers, transports=["websocket"],
                   wait_timeout=10)
    return listener
