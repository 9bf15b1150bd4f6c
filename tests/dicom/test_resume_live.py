"""A real server and a link that breaks in the middle of a chunk: the upload resumes where
it broke and the study arrives whole."""

from __future__ import annotations

import json
import socket
import time

import pytest

from .conftest import new_case
from .test_resume import _study_zip


@pytest.fixture
def backend() -> str:
    """The dropped-connection test needs a real server; it runs on SQLite."""
    return "sqlite"


def _raw_put(port: int, path: str, token: str, offset: int, declared: int, body: bytes) -> None:
    """Send a chunk's headers promising `declared` bytes, then only `body`, then drop the connection."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        head = (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Upload-Offset: {offset}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {declared}\r\n\r\n").encode()
        sock.sendall(head)
        for i in range(0, len(body), 32 * 1024):
            sock.sendall(body[i:i + 32 * 1024])
            time.sleep(0.002)
        time.sleep(0.3)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def test_a_dropped_connection_resumes_where_it_broke(app, api, samples):
    from tests.web.conftest import LiveServer

    data = _study_zip(samples)
    cid = new_case(api)
    token = api.token("village.doctor")
    with LiveServer(app) as server:
        port = server.server.server_port
        upload = api.post("village.doctor", f"/api/v1/cases/{cid}/uploads",
                          json={"filename": "chest-ct.zip", "size": len(data)}).get_json()
        # The link breaks after 1.5 MB of a 4 MB chunk.
        _raw_put(port, upload["url"], token, 0, 4_000_000, data[:1_500_000])
        deadline = time.time() + 10
        while True:
            offset = api.get("village.doctor", upload["url"]).get_json()["offset"]
            if offset >= 1_400_000 or time.time() > deadline:
                break
            time.sleep(0.1)
        assert 1_400_000 <= offset <= 1_500_000, offset  # what arrived is kept, to within one piece
        import urllib.request

        while offset < len(data):
            request = urllib.request.Request(
                server.url + upload["url"], data=data[offset:offset + 4_000_000], method="PUT",
                headers={"Authorization": f"Bearer {token}", "Upload-Offset": str(offset),
                         "Content-Type": "application/octet-stream"})
            with urllib.request.urlopen(request, timeout=30) as response:
                offset = json.load(response)["offset"]
        request = urllib.request.Request(server.url + upload["url"] + "/complete", data=b"", method="POST",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            body = json.load(response)
    assert body["studies"][0]["instances_added"] == 48
