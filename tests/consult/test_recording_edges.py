"""Recording when things go wrong: the recorder's signalling drops and comes back (also while someone
asks to stop), the recorder is left alone in the room, and people who may not stop a recording try."""

from __future__ import annotations

import asyncio
import time

import av
import pytest
from sqlalchemy import select

from referral.config import Settings
from referral.consult.agent import RoomClient, record, restrict_ice_hosts
from referral.consult.recordings import request_recording
from referral.db import Database
from referral.models import Event, Recording, User

from .conftest import NS, events_named, received
from .media import CountingPeer
from .test_recording import wait_for


def join(client, case_id, **extra):
    return client.emit("join", {"case_id": case_id, **extra}, namespace=NS, callback=True)


class SpawnLog:
    """Stands in for the process launcher in the in-process tests: the tests play the recorder."""

    def __init__(self) -> None:
        self.recordings: list[int] = []

    def record(self, app, recording_id: int, case_id: int, user_id: int, base_url: str) -> None:
        self.recordings.append(recording_id)


@pytest.fixture
def spawned(app) -> SpawnLog:
    log = SpawnLog()
    app.extensions["referral.consult"].launcher = log
    return log


def recording_actions(session, case_id: int) -> list[str]:
    session.expire_all()
    rows = session.scalars(select(Event).where(Event.case_id == case_id, Event.kind == "consult_recording")
                           .order_by(Event.id))
    return [e.payload["action"] for e in rows]


def test_a_recorder_back_after_a_drop_carries_on_and_gets_the_stop_it_missed(sock, consult_case, spawned, session):
    doctor, specialist = sock("village.doctor"), sock("county.specialist")
    join(doctor, consult_case)
    join(specialist, consult_case)
    rid = specialist.emit("record-start", {}, namespace=NS, callback=True)["recording"]["id"]
    assert spawned.recordings == [rid]
    recorder = sock("county.specialist")
    assert join(recorder, consult_case, role="recorder", recording_id=rid)["ok"]
    doctor.get_received(NS)

    # The recorder's connection drops and comes back: the same recording goes on, visibly.
    recorder.disconnect(namespace=NS)
    assert received(doctor, "peer-left")
    back = sock("county.specialist")
    answer = join(back, consult_case, role="recorder", recording_id=rid)
    assert answer["ok"] and answer["recording"]["state"] == "recording"
    seen = doctor.get_received(NS)
    assert [p["role"] for p in events_named(seen, "peer-joined")] == ["recorder"]
    assert [r["state"] for r in events_named(seen, "recording")] == ["recording"]

    # It drops again, and the specialist presses stop while it is away: nobody can hear the stop...
    back.disconnect(namespace=NS)
    stopped = specialist.emit("record-stop", {}, namespace=NS, callback=True)
    assert stopped["ok"] and stopped["recording"]["state"] == "stopping"
    doctor.get_received(NS)
    # ...so it is handed to the recorder when it returns, and the room keeps showing "stopping".
    third = sock("county.specialist")
    assert join(third, consult_case, role="recorder", recording_id=rid)["ok"]
    assert received(third, "record-stop") == [{"recording_id": rid}]
    assert [r["state"] for r in received(doctor, "recording")] == ["stopping"]
    assert join(sock("township.specialist"), consult_case)["recording"]["state"] == "stopping"
    # One recording, started once, whatever the connection did.
    assert recording_actions(session, consult_case) == ["requested", "started", "stop_requested"]


def test_only_the_consults_specialists_may_stop_a_recording(sock, consult_case, spawned, session, api):
    doctor, specialist = sock("village.doctor"), sock("county.specialist")
    join(doctor, consult_case)
    join(specialist, consult_case)
    rid = specialist.emit("record-start", {}, namespace=NS, callback=True)["recording"]["id"]
    recorder = sock("county.specialist")
    assert join(recorder, consult_case, role="recorder", recording_id=rid)["ok"]
    for c in (doctor, specialist, recorder):
        c.get_received(NS)

    # The referring doctor is in the room but recording is the specialists' call.
    refused = doctor.emit("record-stop", {}, namespace=NS, callback=True)
    assert refused["ok"] is False and refused["error"] == "forbidden"
    # A colleague of the specialist who may read the case is not in the consult: no such room.
    colleague = sock("county.specialist2")
    assert api.get("county.specialist2", f"/api/v1/cases/{consult_case}").status_code == 200
    assert join(colleague, consult_case)["error"] == "not_found"
    assert colleague.emit("record-stop", {}, namespace=NS, callback=True)["error"] == "not_found"
    # Nor can the doctor pose as the recorder, or announce a recording as saved.
    assert join(sock("village.doctor"), consult_case, role="recorder", recording_id=rid)["error"] == "not_found"
    saved = doctor.emit("recording-saved", {"recording_id": rid}, namespace=NS, callback=True)
    assert saved["ok"] is False and saved["error"] == "not_found"

    # The recording runs on, untouched: no stop reached the recorder, nobody saw "stopping".
    assert received(recorder, "record-stop") == []
    assert received(specialist, "recording") == []
    session.expire_all()
    recording = session.get(Recording, rid)
    assert recording.status == "recording" and recording.stop_requested_at is None
    assert recording_actions(session, consult_case) == ["requested", "started"]
    # The specialist who asked for it can stop it.
    assert specialist.emit("record-stop", {}, namespace=NS, callback=True)["ok"]
    assert received(recorder, "record-stop") == [{"recording_id": rid}]


# ---------------------------------------------------------------- with real media, through `referral serve`


@pytest.fixture
def loopback_ice():
    restrict_ice_hosts(["127.0.0.1"])


def requested_recording(live_server, case_id: int, username: str) -> int:
    """A recording asked for by `username` (as `record-start` does), for a recorder run by the test."""
    database = Database(live_server.database_url)
    try:
        with database.session() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            return request_recording(session, user, case_id).id
    finally:
        database.engine.dispose()


async def drop_signalling(client: RoomClient) -> None:
    """Cut the client's WebSocket as a flapping village link would (the client reconnects on its own)."""
    await client.sio.eio.ws.close()


def test_the_agent_rejoins_after_its_signalling_drops_and_saves_one_recording(live_server, loopback_ice, tmp_path):
    case_id = live_server.consult_case()
    rid = requested_recording(live_server, case_id, "county.specialist")
    settings = Settings(data_dir=live_server.data_dir, database_url=live_server.database_url, secret_key="x")
    states: list[dict] = []
    recorders: list[str] = []
    left: list[str] = []

    async def scenario() -> dict:
        doctor = CountingPeer(live_server.url, live_server.token("village.doctor"), case_id, (200, 40, 40))
        specialist = CountingPeer(live_server.url, live_server.token("county.specialist"), case_id, (40, 40, 200))
        specialist.client.sio.on("recording", states.append, namespace=NS)
        doctor.client.sio.on("peer-joined", lambda p: p["role"] == "recorder" and recorders.append(p["sid"]),
                             namespace=NS)
        doctor.client.sio.on("peer-left", lambda p: left.append(p["sid"]), namespace=NS)
        await doctor.join()
        await specialist.join()
        await asyncio.gather(doctor.wait_frames(10), specialist.wait_frames(10))
        recorder = RoomClient(live_server.url, live_server.token("county.specialist"), case_id, role="recorder",
                              recording_id=rid)
        t0 = time.monotonic()
        job = asyncio.get_running_loop().create_task(
            record(live_server.url, live_server.token("county.specialist"), case_id, rid, settings, client=recorder))

        def media_to_both() -> bool:
            return len(recorder.peers) == 2 and all(p.pc.connectionState == "connected"
                                                    for p in recorder.peers.values())

        await wait_for(media_to_both, 30, recorder.connection_states)
        await asyncio.sleep(1.5)
        # First drop: the recorder comes back as a new participant and the media flows to it again.
        await drop_signalling(recorder)
        await wait_for(lambda: len(recorders) == 2, 30, recorders)
        assert recorders[0] in left
        await wait_for(media_to_both, 30, recorder.connection_states)
        await asyncio.sleep(1.5)
        # Second drop, and the specialist stops the recording while the recorder is away.
        recorder.sio.reconnection_delay, recorder.sio.randomization_factor = 3, 0
        await drop_signalling(recorder)
        await wait_for(lambda: recorders[1] in left, 30, left)
        stopped = await specialist.client.sio.call("record-stop", {}, namespace=NS)
        assert stopped["ok"] and stopped["recording"]["state"] == "stopping", stopped
        path = await asyncio.wait_for(job, 60)
        elapsed = time.monotonic() - t0
        await wait_for(lambda: any(s["state"] == "ready" for s in states), 30, states)
        await doctor.client.close()
        await specialist.client.close()
        return {"path": path, "elapsed": elapsed}

    result = asyncio.run(asyncio.wait_for(scenario(), 150))
    assert len(recorders) == 3, recorders  # joined, and rejoined after each drop
    assert [s["state"] for s in states][-2:] == ["stopping", "ready"], states
    with av.open(str(result["path"])) as container:
        video = container.streams.video[0]
        frames = list(container.decode(video))
    duration = float(frames[-1].pts * video.time_base)
    assert 4 <= duration <= result["elapsed"] + 1, (duration, result)  # one file across both drops
    events = live_server.api("GET", "county.specialist", f"/api/v1/cases/{case_id}/events").json()
    items = events["items"] if isinstance(events, dict) else events
    actions = [e["payload"]["action"] for e in items if e["kind"] == "consult_recording"]
    assert actions == ["requested", "started", "stop_requested", "saved"]


def test_the_recording_stops_by_itself_when_the_recorder_is_left_alone(live_server, loopback_ice):
    case_id = live_server.consult_case()
    states: list[dict] = []

    async def scenario() -> float:
        doctor = CountingPeer(live_server.url, live_server.token("village.doctor"), case_id, (200, 40, 40))
        specialist = CountingPeer(live_server.url, live_server.token("county.specialist"), case_id, (40, 40, 200))
        specialist.client.sio.on("recording", states.append, namespace=NS)
        await doctor.join()
        await specialist.join()
        await asyncio.gather(doctor.wait_frames(10), specialist.wait_frames(10))
        assert (await specialist.client.sio.call("record-start", {}, namespace=NS))["ok"]
        await wait_for(lambda: any(s["state"] == "recording" for s in states), 45, states)
        await asyncio.sleep(2)
        # Everybody leaves without pressing stop.
        await doctor.client.close()
        await specialist.client.close()
        return time.monotonic()

    left_at = asyncio.run(asyncio.wait_for(scenario(), 90))

    def saved() -> list[dict]:
        events = live_server.api("GET", "county.specialist", f"/api/v1/cases/{case_id}/events").json()
        items = events["items"] if isinstance(events, dict) else events
        return [e for e in items if e["kind"] in ("consult_recording", "consult_ended")]

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(e["payload"].get("action") == "saved" for e in saved()):
        time.sleep(0.5)
    alone_for = time.monotonic() - left_at
    events = saved()
    actions = [e["payload"].get("action") for e in events if e["kind"] == "consult_recording"]
    assert actions == ["requested", "started", "saved"], (events, live_server.log())
    assert alone_for < 40  # about ten seconds alone, then the file is saved
    # The recorder then leaves too, and with it the last participant: the consult ends.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(e["kind"] == "consult_ended" for e in saved()):
        time.sleep(0.5)
    assert any(e["kind"] == "consult_ended" for e in saved())
