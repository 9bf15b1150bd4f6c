"""A specialist records the consult: the agent joins the room visibly, and the file it leaves on the
case is real, decodable video of the expected length, served with range requests to those allowed."""

from __future__ import annotations

import asyncio
import time

import av
import pytest
import requests

from referral.consult.agent import restrict_ice_hosts

from .media import CountingPeer

NS = "/consult"
RECORD_SECONDS = 4.0


@pytest.fixture(autouse=True)
def loopback_ice():
    restrict_ice_hosts(["127.0.0.1"])


def test_the_agent_records_the_consult_onto_the_case(live_server, tmp_path):
    case_id = live_server.consult_case()
    states: list[dict] = []
    peers_seen: list[dict] = []

    async def scenario() -> dict:
        doctor = CountingPeer(live_server.url, live_server.token("village.doctor"), case_id, (200, 40, 40))
        specialist = CountingPeer(live_server.url, live_server.token("county.specialist"), case_id, (40, 40, 200))
        specialist.client.sio.on("recording", states.append, namespace=NS)
        doctor.client.sio.on("peer-joined", peers_seen.append, namespace=NS)
        await doctor.join()
        await specialist.join()
        await asyncio.gather(doctor.wait_frames(10), specialist.wait_frames(10))
        refused = await doctor.client.sio.call("record-start", {}, namespace=NS)
        assert refused["ok"] is False and refused["error"] == "forbidden"  # the doctor does not record
        started = await specialist.client.sio.call("record-start", {}, namespace=NS)
        assert started["ok"], started
        await wait_for(lambda: any(s["state"] == "recording" for s in states), 45, states)
        # The file begins with the first picture the recorder receives, once its connections are up.
        await wait_for(lambda: any(p["role"] == "recorder" for p in peers_seen), 10, peers_seen)
        recorder = next(p["sid"] for p in peers_seen if p["role"] == "recorder")
        await wait_for(lambda: all(c.client.connection_states.get(recorder) == "connected"
                                   for c in (doctor, specialist)), 30, recorder)
        t0 = time.monotonic()
        await asyncio.sleep(RECORD_SECONDS)
        stopped = await specialist.client.sio.call("record-stop", {}, namespace=NS)
        assert stopped["ok"], stopped
        await wait_for(lambda: any(s["state"] in ("ready", "failed") for s in states), 45, states)
        elapsed = time.monotonic() - t0
        await doctor.client.close()
        await specialist.client.close()
        return {"elapsed": elapsed, "final": states[-1]}

    result = asyncio.run(asyncio.wait_for(scenario(), 150))
    final = result["final"]
    assert final["state"] == "ready", (final, live_server.log())
    # Everyone in the room saw the recorder arrive, by name.
    recorder = [p for p in peers_seen if p["role"] == "recorder"]
    assert recorder and recorder[0]["user"]["name"]
    assert [s["state"] for s in states][:2] == ["starting", "recording"]

    # The file is on the case, behind the access rule, with range requests.
    headers = {"Authorization": f"Bearer {live_server.token('county.specialist')}"}
    url = live_server.url + final["url"]
    whole = requests.get(url, headers=headers, timeout=10)
    assert whole.status_code == 200 and whole.headers["Content-Type"] == "video/webm"
    assert whole.headers.get("Accept-Ranges") == "bytes"
    part = requests.get(url, headers={**headers, "Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206 and part.content == whole.content[100:200]
    outsider = {"Authorization": f"Bearer {live_server.token('village.doctor2')}"}
    assert requests.get(url, headers=outsider, timeout=10).status_code == 404
    # A county admin may see the case, so may play what was recorded on it.
    admin = {"Authorization": f"Bearer {live_server.token('county.admin')}"}
    assert requests.get(url, headers=admin, timeout=10).status_code == 200

    path = tmp_path / "downloaded.webm"
    path.write_bytes(whole.content)
    with av.open(str(path)) as container:
        kinds = {s.type for s in container.streams}
        assert kinds == {"video", "audio"}
        video = container.streams.video[0]
        frames = [f for f in container.decode(video)]
    assert frames and frames[0].width == 640 and frames[0].height == 360
    duration = float(frames[-1].pts * video.time_base)
    # Recording runs from the first picture to the stop request: about RECORD_SECONDS.
    assert RECORD_SECONDS - 1.0 <= duration <= result["elapsed"] + 2.0, (duration, result)
    assert len(frames) >= duration * 5  # 15 fps composite, fewer on a busy machine
    # Both participants are in the picture: a red tile and a blue tile side by side.
    middle = frames[-1].to_ndarray(format="rgb24")[180]
    tiles = sorted([tuple(int(v) for v in middle[160]), tuple(int(v) for v in middle[480])])
    assert tiles[0][2] > 120 and tiles[0][0] < 100 and tiles[1][0] > 120 and tiles[1][2] < 100, tiles

    events = live_server.api("GET", "county.specialist", f"/api/v1/cases/{case_id}/events").json()
    items = events["items"] if isinstance(events, dict) else events
    actions = [e["payload"].get("action") for e in items if e["kind"] == "consult_recording"]
    assert actions == ["requested", "started", "stop_requested", "saved"]
    assert not list((live_server.data_dir / "recordings").rglob("*.part"))


async def wait_for(predicate, timeout: float, what) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting; saw {what}")
