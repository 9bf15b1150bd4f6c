"""Real media through the real server: two aiortc peers meet in a case's room via `referral serve`
and exchange video; a stranger is refused and cannot inject signalling."""

from __future__ import annotations

import asyncio
import os

import pytest
import socketio as sio_client

from referral.consult.agent import restrict_ice_hosts

from .media import CountingPeer

NS = "/consult"


@pytest.fixture(autouse=True)
def loopback_ice():
    restrict_ice_hosts(["127.0.0.1"])


def test_two_aiortc_peers_exchange_video_through_the_server(live_server):
    case_id = live_server.consult_case()

    async def scenario():
        red = CountingPeer(live_server.url, live_server.token("village.doctor"), case_id, (220, 30, 30))
        blue = CountingPeer(live_server.url, live_server.token("county.specialist"), case_id, (30, 30, 220))
        await red.join()
        joined = await blue.join()
        assert [p["user"]["name"] for p in joined["peers"]]
        await asyncio.gather(red.wait_frames(20), blue.wait_frames(20))
        red_sid = joined["peers"][0]["sid"]
        # Each sees the other's colour (VP8 shifts colours a little).
        assert abs(blue.colours[red_sid][0] - 220) < 30 and blue.colours[red_sid][2] < 80
        (blue_seen,) = red.colours.values()
        assert abs(blue_seen[2] - 220) < 30 and blue_seen[0] < 80
        await red.client.close()
        await blue.client.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_stranger_is_refused_and_cannot_inject(live_server):
    case_id = live_server.consult_case()

    async def scenario():
        member = sio_client.AsyncClient()
        got: list = []
        for event in ("offer", "answer", "ice", "chat"):
            member.on(event, (lambda name: (lambda data: got.append((name, data))))(event), namespace=NS)
        await member.connect(live_server.url, namespaces=[NS], auth={"token": live_server.token("village.doctor")},
                             transports=["websocket"])
        mine = await member.call("join", {"case_id": case_id}, namespace=NS)
        target = mine["self"]["sid"]

        stranger = sio_client.AsyncClient()
        await stranger.connect(live_server.url, namespaces=[NS],
                               auth={"token": live_server.token("village.doctor2")}, transports=["websocket"])
        refused = await stranger.call("join", {"case_id": case_id}, namespace=NS)
        assert refused == {"ok": False, "error": "not_found", "message": "no such case"}
        for event, payload in [("offer", {"to": target, "sdp": "v=0"}), ("answer", {"to": target, "sdp": "v=0"}),
                               ("ice", {"to": target, "candidate": None}), ("chat", {"text": "广告"})]:
            answer = await stranger.call(event, payload, namespace=NS)
            assert answer["ok"] is False and answer["error"] == "not_found", (event, answer)
        # Without any credentials there is no connection at all.
        anonymous = sio_client.AsyncClient()
        with pytest.raises(sio_client.exceptions.ConnectionError):
            await anonymous.connect(live_server.url, namespaces=[NS], transports=["websocket"], wait_timeout=5)
        await asyncio.sleep(0.5)
        assert got == []
        await stranger.disconnect()
        await member.disconnect()

    asyncio.run(asyncio.wait_for(scenario(), 60))


def make_video(path, seconds: float = 2.0, rgb=(20, 200, 20), fps: int = 15) -> None:
    """A small WebM of one colour, as a capture card or an ultrasound export would give."""
    import fractions

    import av
    import numpy as np

    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        image = np.zeros((240, 320, 3), dtype=np.uint8)
        image[:, :] = rgb
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, fractions.Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def test_the_agent_streams_a_video_file_into_the_room(live_server, tmp_path):
    import subprocess
    import sys

    case_id = live_server.consult_case()
    video = tmp_path / "ultrasound.webm"
    make_video(video)
    agent = subprocess.Popen(
        [sys.executable, "-m", "referral.cli", "consult-agent", "--url", live_server.url, "--ice-host", "127.0.0.1",
         "stream", "--case", str(case_id), "--source", str(video), "--loop", "--label", "超声"],
        env={**os.environ, "REFERRAL_AGENT_TOKEN": live_server.token("county.specialist")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        async def scenario():
            doctor = CountingPeer(live_server.url, live_server.token("village.doctor"), case_id, (0, 0, 0))
            for _ in range(100):  # the agent is in the room first
                joined = await doctor.join()
                if joined["peers"]:
                    break
                await doctor.client.close()
                doctor = CountingPeer(live_server.url, live_server.token("village.doctor"), case_id, (0, 0, 0))
                await asyncio.sleep(0.2)
            (streamer,) = joined["peers"]
            assert streamer["role"] == "streamer" and streamer["label"] == "超声"
            await doctor.wait_frames(20)
            (colour,) = doctor.colours.values()
            assert colour[1] > 150 and colour[0] < 80 and colour[2] < 80, colour
            await doctor.client.close()

        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        agent.terminate()
        out, _ = agent.communicate(timeout=20)
    assert b"Traceback" not in out, out.decode(errors="replace")
