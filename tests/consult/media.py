"""aiortc helpers for the tests: a track of solid-colour frames, and a peer that counts what it receives."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from referral.consult.agent import RoomClient


class ColourTrack:
    """Video frames of one colour (so the receiver can tell whose picture it got), 15 fps."""

    def __new__(cls, rgb: tuple[int, int, int], width: int = 320, height: int = 240):
        from aiortc import VideoStreamTrack

        class _Track(VideoStreamTrack):
            async def recv(self):
                import av

                pts, time_base = await self.next_timestamp()
                image = np.zeros((height, width, 3), dtype=np.uint8)
                image[:, :] = rgb
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts, frame.time_base = pts, time_base
                return frame

        return _Track()


class CountingPeer:
    """A room participant sending one colour and counting the frames (and their colour) it receives."""

    def __init__(self, base_url: str, token: str, case_id: int, rgb: tuple[int, int, int]) -> None:
        self.frames: dict[str, int] = {}
        self.colours: dict[str, tuple[int, int, int]] = {}
        self.track = ColourTrack(rgb)
        self.started = time.monotonic()
        self.first_connected: float | None = None
        self.client = RoomClient(base_url, token, case_id, send_tracks=lambda: [self.track],
                                 on_track=self._on_track)

    def _on_track(self, sid: str, track) -> None:
        if track.kind == "video":
            asyncio.get_running_loop().create_task(self._count(sid, track))

    async def _count(self, sid: str, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                frame = await track.recv()
                self.frames[sid] = self.frames.get(sid, 0) + 1
                rgb = frame.to_ndarray(format="rgb24")
                self.colours[sid] = tuple(int(v) for v in rgb[rgb.shape[0] // 2, rgb.shape[1] // 2])
        except MediaStreamError:
            return

    async def join(self) -> dict:
        self.started = time.monotonic()
        return await self.client.connect()

    def connected(self) -> bool:
        return any(state == "connected" for state in self.client.connection_states.values())

    async def wait_frames(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connected() and self.first_connected is None:
                self.first_connected = time.monotonic() - self.started
            if self.frames and max(self.frames.values()) >= count:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"received {self.frames} frames, states {self.client.connection_states}")
