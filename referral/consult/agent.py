"""The consult agent: an aiortc participant of a case's room, in its own asyncio process.

It joins through the same `/consult` signalling as a browser (python-socketio's AsyncClient, a
bearer token) and keeps one RTCPeerConnection per peer, like the mesh of the browsers. Two jobs:

- `record`: receive every participant's audio and video, mix them into one picture (a grid) and one
  sound, and write a WebM file (VP8 + Opus) that lands atomically under `<data dir>/recordings/` and
  is attached to the case. The agent is listed in the room as "Recorder" for everyone to see.
- `stream`: send a video file or a capture device (an ultrasound machine's output on
  /dev/video0, say) into the room through aiortc's MediaPlayer.

Started by `referral consult-agent ...`, or by `referral serve` itself when a specialist asks for a
recording (see launcher.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import hashlib
import logging
import math
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger("referral.consult.agent")
NAMESPACE = "/consult"


def restrict_ice_hosts(addresses: list[str]) -> None:
    """Gather ICE host candidates on these addresses only (e.g. 127.0.0.1 for a loopback test)."""
    import aioice.ice

    chosen = list(addresses)
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: chosen


def ice_configuration(servers: list[dict]):
    """aiortc's configuration from the room's ICE servers; an empty list means host candidates only
    (never aiortc's default public STUN server)."""
    from aiortc import RTCConfiguration, RTCIceServer

    return RTCConfiguration(iceServers=[
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential")) for s in servers
    ])


def parse_candidate(data: dict | None):
    """A browser's trickled candidate as aiortc's RTCIceCandidate (None: end of candidates)."""
    from aiortc.sdp import candidate_from_sdp

    if not data or not data.get("candidate"):
        return None
    text = data["candidate"]
    candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
    candidate.sdpMid = data.get("sdpMid")
    candidate.sdpMLineIndex = data.get("sdpMLineIndex")
    return candidate


@dataclass
class Peer:
    sid: str
    pc: object
    pc_id: str
    info: dict = field(default_factory=dict)


class RoomClient:
    """One participant of a room: the signalling client and a peer connection per other participant.

    The newcomer offers to everyone already in the room; an offer from a new connection id replaces
    the previous connection with that peer (a peer that reconnected).
    """

    def __init__(self, base_url: str, token: str, case_id: int, *, role: str = "participant",
                 recording_id: int | None = None, label: str = "",
                 send_tracks: Callable[[], list] | None = None, receive: bool = True,
                 on_track: Callable[[str, object], None] | None = None) -> None:
        import socketio

        self.base_url, self.token, self.case_id = base_url, token, case_id
        self.role, self.recording_id, self.label = role, recording_id, label
        self.send_tracks = send_tracks or (lambda: [])
        self.receive = receive
        self.on_track = on_track
        self.peers: dict[str, Peer] = {}
        self.joined: dict | None = None
        self.events: dict[str, asyncio.Event] = {"left": asyncio.Event(), "stop": asyncio.Event()}
        self.connection_states: dict[str, str] = {}
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5)
        self._ice_servers: list[dict] = []
        self._register()

    # ------------------------------------------------------------ signalling

    def _register(self) -> None:
        sio = self.sio
        sio.on("connect", self._on_connect, namespace=NAMESPACE)
        sio.on("peer-joined", self._on_peer_joined, namespace=NAMESPACE)
        sio.on("peer-left", self._on_peer_left, namespace=NAMESPACE)
        sio.on("offer", self._on_offer, namespace=NAMESPACE)
        sio.on("answer", self._on_answer, namespace=NAMESPACE)
        sio.on("ice", self._on_ice, namespace=NAMESPACE)
        sio.on("record-stop", self._on_record_stop, namespace=NAMESPACE)
        sio.on("error", self._on_error, namespace=NAMESPACE)

    async def connect(self) -> dict:
        """Connect and join the room; the join answer (peers, ICE servers, ...) is returned."""
        self._first_join = asyncio.get_running_loop().create_future()
        await self.sio.connect(self.base_url, namespaces=[NAMESPACE], auth={"token": self.token},
                               transports=["websocket"], wait_timeout=10)
        return await asyncio.wait_for(self._first_join, 15)

    async def _on_connect(self) -> None:
        """Join (again, after a dropped connection: the peers see a new participant and reconnect)."""
        asyncio.get_running_loop().create_task(self._join())

    async def _join(self) -> None:
        payload = {"case_id": self.case_id, "role": self.role, "label": self.label}
        if self.recording_id is not None:
            payload["recording_id"] = self.recording_id
        answer = await self.sio.call("join", payload, namespace=NAMESPACE, timeout=15)
        if not answer.get("ok"):
            if not self._first_join.done():
                self._first_join.set_exception(RuntimeError(f"join refused: {answer}"))
            else:  # back after a drop, but no longer let in (the recording ended, membership revoked)
                log.warning("rejoining the room was refused: %s", answer)
                self.events["stop"].set()
            return
        await self._close_all()
        self.joined = answer
        self._ice_servers = answer.get("ice_servers", [])
        for peer in answer.get("peers", []):
            await self._offer_to(peer["sid"], peer)
        if not self._first_join.done():
            self._first_join.set_result(answer)

    async def _on_peer_joined(self, data: dict) -> None:
        log.info("peer joined: %s", data.get("user", {}).get("name"))

    async def _on_peer_left(self, data: dict) -> None:
        await self._close_peer(data.get("sid", ""))

    async def _on_error(self, data: dict) -> None:
        log.warning("signalling error: %s", data)

    async def _on_record_stop(self, data: dict) -> None:
        self.events["stop"].set()

    async def send(self, event: str, data: dict) -> None:
        await self.sio.emit(event, data, namespace=NAMESPACE)

    # ------------------------------------------------------------ peer connections

    def _new_pc(self, sid: str, pc_id: str, info: dict | None = None) -> Peer:
        from aiortc import RTCPeerConnection

        pc = RTCPeerConnection(ice_configuration(self._ice_servers))
        peer = Peer(sid, pc, pc_id, info or {})
        self.peers[sid] = peer

        @pc.on("connectionstatechange")
        async def _state() -> None:
            self.connection_states[sid] = pc.connectionState
            if pc.connectionState == "failed" and self.peers.get(sid) is peer:
                await self._close_peer(sid)

        @pc.on("track")
        def _track(track) -> None:
            if self.on_track is not None:
                self.on_track(sid, track)

        return peer

    async def _offer_to(self, sid: str, info: dict | None = None) -> None:
        peer = self._new_pc(sid, uuid.uuid4().hex[:12], info)
        tracks = self.send_tracks()
        kinds = {t.kind for t in tracks}
        for track in tracks:
            peer.pc.addTransceiver(track, direction="sendrecv" if self.receive else "sendonly")
        if self.receive:
            for kind in ("audio", "video"):
                if kind not in kinds:
                    peer.pc.addTransceiver(kind, direction="recvonly")
        await peer.pc.setLocalDescription(await peer.pc.createOffer())
        await self.send("offer", {"to": sid, "sdp": peer.pc.localDescription.sdp, "pc": peer.pc_id})

    async def _on_offer(self, data: dict) -> None:
        from aiortc import RTCSessionDescription

        sid, pc_id = data.get("from", ""), data.get("pc", "")
        current = self.peers.get(sid)
        mine = (self.joined or {}).get("self", {}).get("sid", "")
        if current is not None and current.pc.signalingState == "have-local-offer" and mine < sid:
            return  # both offered at once: the smaller id's offer wins, the other side answers it
        await self._close_peer(sid)
        peer = self._new_pc(sid, pc_id)
        await peer.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
        tracks = {t.kind: t for t in self.send_tracks()}
        for transceiver in peer.pc.getTransceivers():
            track = tracks.pop(transceiver.kind, None)
            if track is not None:
                transceiver.sender.replaceTrack(track)
                transceiver.direction = "sendrecv" if self.receive else "sendonly"
            elif not self.receive:
                transceiver.direction = "inactive"
        await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        await self.send("answer", {"to": sid, "sdp": peer.pc.localDescription.sdp, "pc": pc_id})

    async def _on_answer(self, data: dict) -> None:
        from aiortc import RTCSessionDescription

        peer = self.peers.get(data.get("from", ""))
        if peer is None or peer.pc_id != data.get("pc", "") or peer.pc.signalingState != "have-local-offer":
            return
        await peer.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "answer"))

    async def _on_ice(self, data: dict) -> None:
        peer = self.peers.get(data.get("from", ""))
        if peer is None or (data.get("pc") and peer.pc_id != data.get("pc")):
            return
        candidate = parse_candidate(data.get("candidate"))
        if candidate is not None and peer.pc.remoteDescription is not None:
            with contextlib.suppress(Exception):
                await peer.pc.addIceCandidate(candidate)

    async def _close_peer(self, sid: str) -> None:
        peer = self.peers.pop(sid, None)
        if peer is not None:
            await peer.pc.close()

    async def _close_all(self) -> None:
        for sid in list(self.peers):
            await self._close_peer(sid)

    async def close(self) -> None:
        await self._close_all()
        if self.sio.connected:
            with contextlib.suppress(Exception):
                await self.sio.call("leave", {}, namespace=NAMESPACE, timeout=5)
            await self.sio.disconnect()


# ---------------------------------------------------------------- recording


class Compositor:
    """Every incoming picture in one grid, every incoming voice in one mix, written as WebM in real time."""

    def __init__(self, path: Path, width: int = 640, height: int = 360, fps: int = 15) -> None:
        self.path, self.width, self.height, self.fps = path, width, height, fps
        self.latest: dict[str, object] = {}
        self.audio: dict[str, deque] = {}
        self.tasks: list[asyncio.Task] = []
        self.duration = 0.0
        self.frames_written = 0
        self._grid_key: tuple = ()
        self._canvas: np.ndarray | None = None

    def add_track(self, key: str, track) -> None:
        reader = self._read_video if track.kind == "video" else self._read_audio
        self.tasks.append(asyncio.get_running_loop().create_task(reader(f"{key}:{track.id}", track)))

    async def _read_video(self, key: str, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                self.latest[key] = await track.recv()
        except MediaStreamError:
            pass
        finally:
            self.latest.pop(key, None)

    async def _read_audio(self, key: str, track) -> None:
        import av
        from aiortc.mediastreams import MediaStreamError

        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        buffer: deque = deque()
        self.audio[key] = buffer
        try:
            while True:
                frame = await track.recv()
                for out in resampler.resample(frame):
                    buffer.append(out.to_ndarray().reshape(-1).astype(np.int16))
                while len(buffer) > 50:  # keep at most ~1 s: never let a slow writer drift
                    buffer.popleft()
        except MediaStreamError:
            pass
        finally:
            self.audio.pop(key, None)

    def _grid(self) -> np.ndarray:
        """The picture of everyone; recomposed only when some participant's picture changed."""
        frames = [f for _, f in sorted(self.latest.items())]
        key = tuple(id(f) for f in frames)
        if key == self._grid_key and self._canvas is not None:
            return self._canvas
        canvas = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        self._grid_key, self._canvas = key, canvas
        if not frames:
            return canvas
        cols = math.ceil(math.sqrt(len(frames)))
        rows = math.ceil(len(frames) / cols)
        tw, th = (self.width // cols) & ~1, (self.height // rows) & ~1
        for i, frame in enumerate(frames):
            scale = min(tw / frame.width, th / frame.height)
            w, h = max(2, int(frame.width * scale) & ~1), max(2, int(frame.height * scale) & ~1)
            tile = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
            x = (i % cols) * tw + (tw - w) // 2
            y = (i // cols) * th + (th - h) // 2
            canvas[y:y + h, x:x + w] = tile
        return canvas

    def _mix(self, samples: int) -> np.ndarray:
        total = np.zeros(samples, dtype=np.int32)
        for buffer in list(self.audio.values()):
            taken, need = [], samples
            while need > 0 and buffer:
                chunk = buffer.popleft()
                if len(chunk) > need:
                    buffer.appendleft(chunk[need:])
                    chunk = chunk[:need]
                taken.append(chunk)
                need -= len(chunk)
            if taken:
                data = np.concatenate(taken)
                total[: len(data)] += data
        return np.clip(total, -32768, 32767).astype(np.int16)

    async def first_picture(self, stop: asyncio.Event, timeout: float) -> None:
        """Wait for the first participant's picture (the peer connections take a few seconds after the
        recorder joins), so that a recording does not open on seconds of black."""
        deadline = time.monotonic() + timeout
        while not self.latest and not stop.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def run(self, stop: asyncio.Event, max_seconds: float, first_picture_timeout: float = 15) -> float:
        """Write until `stop` is set; returns the duration written. The file appears only when complete."""
        import av

        await self.first_picture(stop, first_picture_timeout)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        container = av.open(str(tmp), mode="w", format="webm")
        video = container.add_stream("libvpx", rate=self.fps)
        video.width, video.height, video.pix_fmt = self.width, self.height, "yuv420p"
        video.bit_rate = 600_000
        video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        audio = container.add_stream("libopus", rate=48000, layout="mono")
        video_tb = fractions.Fraction(1, self.fps)
        chunk = 960
        written_samples = 0
        start = time.monotonic()
        next_pts = 0
        try:
            while not stop.is_set():
                elapsed = time.monotonic() - start
                if elapsed >= max_seconds:
                    break
                pts = int(elapsed * self.fps)
                if pts >= next_pts:
                    frame = av.VideoFrame.from_ndarray(self._grid(), format="rgb24").reformat(format="yuv420p")
                    frame.pts, frame.time_base = pts, video_tb
                    for packet in video.encode(frame):
                        container.mux(packet)
                    self.frames_written += 1
                    next_pts = pts + 1
                while written_samples + chunk <= int(elapsed * 48000):
                    samples = self._mix(chunk).reshape(1, -1)
                    aframe = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
                    aframe.sample_rate, aframe.pts = 48000, written_samples
                    aframe.time_base = fractions.Fraction(1, 48000)
                    for packet in audio.encode(aframe):
                        container.mux(packet)
                    written_samples += chunk
                await asyncio.sleep(max(0.0, (next_pts / self.fps) - (time.monotonic() - start)))
            self.duration = max(next_pts / self.fps, written_samples / 48000)
            for packet in video.encode(None):
                container.mux(packet)
            for packet in audio.encode(None):
                container.mux(packet)
        finally:
            container.close()
            for task in self.tasks:
                task.cancel()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        return self.duration


async def record(base_url: str, token: str, case_id: int, recording_id: int, settings,
                 *, max_seconds: float = 4 * 3600, idle_seconds: float = 10,
                 until: asyncio.Event | None = None, client: RoomClient | None = None) -> Path:
    """Join as the room's recorder, record until asked to stop (or alone in the room for
    `idle_seconds`), attach the file. A dropped signalling connection is rejoined by the client
    itself; the recording goes on meanwhile. `client` lets a caller hold the room client."""
    from ..db import Database
    from .recordings import finish_recording, recordings_root, relative_path

    relative = relative_path(case_id, recording_id)
    target = Path(settings.data_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    compositor = Compositor(target)
    client = client or RoomClient(base_url, token, case_id, role="recorder", recording_id=recording_id)
    client.on_track = lambda sid, track: compositor.add_track(sid, track)
    await client.connect()
    stop = client.events["stop"]
    writer = asyncio.get_running_loop().create_task(compositor.run(stop, max_seconds))
    alone_since: float | None = None
    while not writer.done() and not stop.is_set():
        await asyncio.sleep(0.5)
        if until is not None and until.is_set():
            stop.set()
            break
        if client.peers:
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since > idle_seconds:
            log.info("everyone left: stopping the recording")
            stop.set()
    duration = await writer
    data = target.read_bytes()
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            finish_recording(session, recording_id, path=relative, size_bytes=len(data),
                             sha256=hashlib.sha256(data).hexdigest(), duration_seconds=duration)
    finally:
        database.engine.dispose()
    with contextlib.suppress(Exception):
        await client.sio.call("recording-saved", {"recording_id": recording_id}, namespace=NAMESPACE, timeout=5)
    await client.close()
    assert recordings_root(settings.data_dir) in target.parents
    return target


# ---------------------------------------------------------------- streaming a source


async def stream(base_url: str, token: str, case_id: int, source: str, *, fmt: str | None = None,
                 options: dict | None = None, loop: bool = False, label: str = "",
                 until: asyncio.Event | None = None) -> None:
    """Send a video file or a capture device into the room until it ends (or `until` is set)."""
    from aiortc.contrib.media import MediaPlayer, MediaRelay

    player = MediaPlayer(source, format=fmt, options=options or {}, loop=loop)
    relay = MediaRelay()

    def tracks() -> list:
        return [relay.subscribe(t) for t in (player.video, player.audio) if t is not None]

    client = RoomClient(base_url, token, case_id, role="streamer", label=label, send_tracks=tracks, receive=False)
    await client.connect()
    stop = until or asyncio.Event()
    try:
        while not stop.is_set():
            await asyncio.sleep(0.5)
            video = player.video
            if video is not None and video.readyState == "ended":
                break
    finally:
        for track in (player.video, player.audio):  # stops the player's decoding thread first
            if track is not None:
                track.stop()
        await client.close()
