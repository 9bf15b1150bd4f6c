"""coturn beside the app: the TURN credentials a room member receives in the `join` reply let two
peers connect through the relay alone, and a credential signed with another secret, or one whose
lifetime is over, gets no relay at all (docs/coturn.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import shutil
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from referral.consult.agent import ice_configuration
from referral.domain.consult import turn_credentials
from referral.models import utcnow
from referral.realtime import socketio

from .conftest import NS, make_consult_case

TURNSERVER = shutil.which("turnserver")
SECRET = "coturn-test-shared-secret"
pytestmark = pytest.mark.skipif(TURNSERVER is None,
                                reason="coturn is not installed (scripts/system-deps.sh installs it)")


def free_udp_port() -> int:
    """A loopback port no UDP socket uses (coturn listens on UDP only here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stun_answers(port: int) -> bool:
    """Whether something answers a STUN Binding request on the port (coturn is up)."""
    from aioice import stun

    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.sendto(bytes(request), ("127.0.0.1", port))
        try:
            return bool(s.recv(2048))
        except OSError:
            return False


@dataclasses.dataclass
class Coturn:
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


@pytest.fixture
def coturn(tmp_path):
    """turnserver on the loopback, with the TURN REST scheme of docs/coturn.md (`use-auth-secret`).

    Loopback peers are allowed here only because both test peers relay through 127.0.0.1; the
    production configuration denies them."""
    port = free_udp_port()
    low = random.randrange(40000, 60000, 200)
    log_path = tmp_path / "turnserver.log"
    command = [TURNSERVER, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
               "--use-auth-secret", f"--static-auth-secret={SECRET}", "--realm=referral.test",
               "--no-tls", "--no-dtls", "--no-tcp", "--no-tcp-relay", f"--min-port={low}", f"--max-port={low + 199}",
               "--allow-loopback-peers", "--no-cli", "--fingerprint", "--simple-log", "--log-file=stdout",
               f"--pidfile={tmp_path / 'turnserver.pid'}", f"--userdb={tmp_path / 'turndb'}"]
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Coturn(port, log_path)
    try:
        deadline = time.monotonic() + 15
        while not stun_answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"turnserver did not start: {server.log()}")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def turn_app(settings, coturn):
    """The app configured as docs/coturn.md says: the shared secret and the TURN URL."""
    from referral.app import create_app

    app = create_app(dataclasses.replace(settings, turn_secret=SECRET, turn_urls=(coturn.url,), turn_ttl_seconds=600))
    yield app
    app.extensions["referral"].database.engine.dispose()


def ice_servers_of_members(app, usernames: list[str]) -> tuple[int, dict[str, list[dict]]]:
    """Each member joins the case's room; what the `join` reply gives them to reach the others."""
    from tests.conftest import Api

    api = Api(app.test_client())
    case_id = make_consult_case(api)
    servers = {}
    for username in usernames:
        client = socketio.test_client(app, namespace=NS, auth={"token": api.token(username)})
        reply = client.emit("join", {"case_id": case_id}, namespace=NS, callback=True)
        assert reply["ok"], reply
        servers[username] = reply["ice_servers"]
        client.disconnect(namespace=NS)
    return case_id, servers


def relay_only(servers: list[dict]):
    """aiortc's configuration from a `join` reply's ICE servers, restricted to relayed candidates
    (what a browser does with `iceTransportPolicy: "relay"`)."""
    from aiortc import RTCIceTransportPolicy

    configuration = ice_configuration(servers)
    configuration.iceTransportPolicy = RTCIceTransportPolicy.RELAY
    return configuration


async def offered_candidates(servers: list[dict]) -> set[str]:
    """The candidate types one peer can offer with these ICE servers and the relay policy."""
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection(relay_only(servers))
    try:
        pc.createDataChannel("probe")
        await pc.setLocalDescription(await pc.createOffer())
        return candidate_types(pc.localDescription.sdp)
    finally:
        await pc.close()


async def relay_only_call(first: list[dict], second: list[dict], timeout: float = 20) -> dict:
    """Two aiortc peers allowed to use relay candidates only exchange a message over a data channel.

    Returns the final connection states, the candidate types each side offered and what arrived."""
    from aiortc import RTCPeerConnection

    caller, callee = RTCPeerConnection(relay_only(first)), RTCPeerConnection(relay_only(second))
    arrived: asyncio.Future = asyncio.get_running_loop().create_future()

    @callee.on("datachannel")
    def _channel(channel) -> None:
        channel.on("message", lambda text: arrived.done() or arrived.set_result(text))

    channel = caller.createDataChannel("chat")
    channel.on("open", lambda: channel.send("经中继转发"))
    try:
        await caller.setLocalDescription(await caller.createOffer())
        await callee.setRemoteDescription(caller.localDescription)
        await callee.setLocalDescription(await callee.createAnswer())
        await caller.setRemoteDescription(callee.localDescription)
        try:
            message = await asyncio.wait_for(asyncio.shield(arrived), timeout)
        except asyncio.TimeoutError:
            message = None
        return {"states": (caller.connectionState, callee.connectionState), "message": message,
                "candidates": (candidate_types(caller.localDescription.sdp),
                               candidate_types(callee.localDescription.sdp))}
    finally:
        await caller.close()
        await callee.close()


def candidate_types(sdp: str) -> set[str]:
    return {line.split(" typ ")[1].split()[0] for line in sdp.splitlines() if line.startswith("a=candidate:")}


def test_members_connect_through_coturn_with_their_own_credentials(turn_app, coturn, users):
    _case_id, servers = ice_servers_of_members(turn_app, ["village.doctor", "county.specialist"])
    for username, given in servers.items():
        (turn,) = given
        assert turn["urls"] == [coturn.url]
        expiry, user_id = turn["username"].split(":")
        assert int(user_id) == users[username].id
        assert 0 < int(expiry) - utcnow().timestamp() <= 600  # REFERRAL_TURN_TTL
    assert servers["village.doctor"][0]["credential"] != servers["county.specialist"][0]["credential"]

    result = asyncio.run(relay_only_call(servers["village.doctor"], servers["county.specialist"]))
    assert result["message"] == "经中继转发", (result, coturn.log())
    assert result["states"] == ("connected", "connected")
    assert result["candidates"] == ({"relay"}, {"relay"})  # nothing but the relay was offered


@pytest.mark.parametrize("kind", ["another secret", "expired"])
def test_a_wrong_or_expired_credential_gets_no_relay(turn_app, coturn, users, kind):
    _case_id, servers = ice_servers_of_members(turn_app, ["village.doctor", "county.specialist"])
    good = servers["county.specialist"]
    (turn,) = servers["village.doctor"]
    user_id = users["village.doctor"].id
    if kind == "another secret":
        username, credential, _ = turn_credentials("not-the-shared-secret", user_id, utcnow(), 600)
    else:  # signed with the right secret, but its lifetime ended a minute ago
        username, credential, _ = turn_credentials(SECRET, user_id, utcnow() - timedelta(seconds=660), 600)
    bad = [{**turn, "username": username, "credential": credential}]

    assert asyncio.run(offered_candidates(bad)) == set()  # coturn refused the allocation
    assert asyncio.run(offered_candidates(good)) == {"relay"}  # the member's own credential still works
    result = asyncio.run(relay_only_call(bad, good, timeout=8))
    assert result["message"] is None and "connected" not in result["states"]
    assert f"<{username}>" in coturn.log()  # refused by coturn itself, naming the credential
