"""Two `referral serve` processes sharing Redis: a participant on one and a participant on the other
find each other in the case's room, chat, and connect their media."""

from __future__ import annotations

import asyncio
import os

import pytest

from referral.consult.agent import restrict_ice_hosts

from .live import LiveServer, seeded_copy
from .media import CountingPeer

NS = "/consult"
pytestmark = pytest.mark.redis


@pytest.fixture
def two_servers(sqlite_template, tmp_path):
    redis_url = os.environ.get("REFERRAL_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("REFERRAL_TEST_REDIS_URL is not set")
    database_url = seeded_copy(sqlite_template, tmp_path)  # one database, as a deployment has
    env = {"REFERRAL_REDIS_URL": redis_url}
    first = LiveServer(tmp_path, database_url, env=env)
    second = LiveServer(tmp_path, database_url, env=env)
    yield first, second
    first.stop()
    second.stop()


def test_participants_on_two_processes_meet_through_redis(two_servers):
    first, second = two_servers
    restrict_ice_hosts(["127.0.0.1"])
    case_id = first.consult_case()
    chats: list[dict] = []

    async def scenario():
        doctor = CountingPeer(first.url, first.token("village.doctor"), case_id, (230, 20, 20))
        specialist = CountingPeer(second.url, second.token("county.specialist"), case_id, (20, 20, 230))
        doctor.client.sio.on("chat", chats.append, namespace=NS)
        mine = await doctor.join()
        theirs = await specialist.join()
        # The second process knows who is in the room on the first one.
        assert [p["sid"] for p in theirs["peers"]] == [mine["self"]["sid"]]
        assert theirs["session"]["id"] == mine["session"]["id"]
        await asyncio.gather(doctor.wait_frames(15), specialist.wait_frames(15))
        said = await specialist.client.sio.call("chat", {"text": "两地会诊，图像清晰"}, namespace=NS)
        assert said["ok"]
        for _ in range(50):
            if chats:
                break
            await asyncio.sleep(0.1)
        assert [c["text"] for c in chats] == ["两地会诊，图像清晰"]
        # An outsider connected to the second process cannot reach the doctor on the first one.
        stranger = CountingPeer(second.url, second.token("village.doctor2"), case_id, (0, 0, 0))
        await stranger.client.sio.connect(second.url, namespaces=[NS], auth={"token": second.token("village.doctor2")},
                                          transports=["websocket"])
        refused = await stranger.client.sio.call("offer", {"to": mine["self"]["sid"], "sdp": "v=0"}, namespace=NS)
        assert refused["error"] == "not_found"
        await stranger.client.sio.disconnect()
        await specialist.client.close()
        await doctor.client.close()

    asyncio.run(asyncio.wait_for(scenario(), 90))
    events = first.api("GET", "county.specialist", f"/api/v1/cases/{case_id}/events").json()
    items = events["items"] if isinstance(events, dict) else events
    kinds = [e["kind"] for e in items if e["kind"].startswith("consult_")]
    assert kinds.count("consult_started") == 1 and kinds[-1] == "consult_ended"
