"""Who is connected to which room right now, for every server process.

One process (the embedded default) keeps it in memory; several processes sharing Redis keep it in
a Redis hash per room, so that a participant on one process sees and reaches a participant on
another. Each process also keeps a heartbeat key alive: entries of a process that died are dropped
the next time anyone reads the room.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Protocol

PROCESS_TTL = 30  # seconds a process's entries survive without its heartbeat


class Presence(Protocol):
    def add(self, case_id: int, sid: str, info: dict) -> None: ...

    def remove(self, case_id: int, sid: str) -> None: ...

    def members(self, case_id: int) -> dict[str, dict]: ...

    def get(self, case_id: int, sid: str) -> dict | None: ...

    def heartbeat(self) -> None: ...


class MemoryPresence:
    """Rooms of the single-process default."""

    def __init__(self) -> None:
        self._rooms: dict[int, dict[str, dict]] = {}
        self._lock = threading.Lock()

    def add(self, case_id: int, sid: str, info: dict) -> None:
        with self._lock:
            self._rooms.setdefault(case_id, {})[sid] = dict(info)

    def remove(self, case_id: int, sid: str) -> None:
        with self._lock:
            room = self._rooms.get(case_id)
            if room is not None:
                room.pop(sid, None)
                if not room:
                    del self._rooms[case_id]

    def members(self, case_id: int) -> dict[str, dict]:
        with self._lock:
            return {sid: dict(info) for sid, info in self._rooms.get(case_id, {}).items()}

    def get(self, case_id: int, sid: str) -> dict | None:
        with self._lock:
            info = self._rooms.get(case_id, {}).get(sid)
            return dict(info) if info is not None else None

    def heartbeat(self) -> None:
        """Nothing to keep alive in one process."""


class RedisPresence:
    """Rooms shared by every process through Redis: `referral:consult:room:<case>` maps socket id to
    the participant, tagged with the process that holds the socket."""

    def __init__(self, redis_client, prefix: str = "referral:consult:", process_id: str | None = None,
                 clock=time.time) -> None:
        self.redis, self.prefix = redis_client, prefix
        self.process_id = process_id or uuid.uuid4().hex
        self.clock = clock
        self.heartbeat()

    def _room(self, case_id: int) -> str:
        return f"{self.prefix}room:{case_id}"

    def _process(self, process_id: str) -> str:
        return f"{self.prefix}process:{process_id}"

    def heartbeat(self) -> None:
        self.redis.set(self._process(self.process_id), "1", ex=PROCESS_TTL)

    def add(self, case_id: int, sid: str, info: dict) -> None:
        entry = json.dumps({**info, "process": self.process_id}, ensure_ascii=False)
        self.redis.hset(self._room(case_id), sid, entry)

    def remove(self, case_id: int, sid: str) -> None:
        self.redis.hdel(self._room(case_id), sid)

    def members(self, case_id: int) -> dict[str, dict]:
        raw = self.redis.hgetall(self._room(case_id))
        entries = {k.decode() if isinstance(k, bytes) else k: json.loads(v) for k, v in raw.items()}
        processes = sorted({e.get("process", "") for e in entries.values()})
        alive = dict(zip(processes, self.redis.mget([self._process(p) for p in processes]) if processes else []))
        dead = [sid for sid, e in entries.items() if alive.get(e.get("process", "")) is None]
        if dead:
            self.redis.hdel(self._room(case_id), *dead)
        return {sid: e for sid, e in entries.items() if sid not in dead}

    def get(self, case_id: int, sid: str) -> dict | None:
        raw = self.redis.hget(self._room(case_id), sid)
        if raw is None:
            return None
        entry = json.loads(raw)
        if self.redis.exists(self._process(entry.get("process", ""))) == 0:
            self.redis.hdel(self._room(case_id), sid)
            return None
        return entry
