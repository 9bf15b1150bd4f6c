"""Consult room benchmark: (1) time from `join` to a `connected` peer connection on loopback, and
(2) the signalling relay round trip (p50/p99) with 200 connected clients, each measured against our
`referral serve` and against a bare python-socketio server (same threading stack, same protocol, no
authentication, no membership checks, no presence) started in the same run. Prints the ratios.

    .venv/bin/python bench/consult_bench.py [--clients 200] [--pings 20] [--interval 0.2] [--joins 5]

Goals: connected within 1 s; relay p99 within 1.5x of the bare server. Not a test: run it by hand.
The load is paced (each pair pings every --interval seconds) to keep CPU use modest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-pass-2026"
NS = "/consult"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the bare server (a subprocess)


def bare_server(port: int) -> None:
    """python-socketio alone: join answers with the others' sids, offer/answer/ice are relayed as is."""
    import socketio
    from werkzeug.serving import run_simple

    sio = socketio.Server(async_mode="threading", cors_allowed_origins=[])
    rooms: dict[int, list[str]] = {}

    @sio.on("join", namespace=NS)
    def join(sid, data):
        case_id = data["case_id"]
        peers = [{"sid": s, "user": {"name": ""}, "role": "participant"} for s in rooms.get(case_id, [])]
        rooms.setdefault(case_id, []).append(sid)
        sio.enter_room(sid, f"c{case_id}", namespace=NS)
        return {"ok": True, "self": {"sid": sid}, "peers": peers, "ice_servers": []}

    def relay(event):
        def handler(sid, data):
            target = data.pop("to")
            sio.emit(event, {**data, "from": sid}, to=target, namespace=NS)
            return {"ok": True}
        return handler

    for name in ("offer", "answer", "ice"):
        sio.on(name, relay(name), namespace=NS)

    @sio.on("leave", namespace=NS)
    def leave(sid, data=None):
        for members in rooms.values():
            if sid in members:
                members.remove(sid)
        return {"ok": True}

    @sio.on("disconnect", namespace=NS)
    def gone(sid, reason=None):
        leave(sid)

    run_simple("127.0.0.1", port, socketio.WSGIApp(sio), threaded=True)


# ---------------------------------------------------------------- our server


def prepare_database(data_dir: Path, pairs: int) -> tuple[str, list[tuple[int, str, str]]]:
    """A seeded SQLite database with `pairs` cases, each with its author and assignee, and tokens."""
    from datetime import timedelta

    from sqlalchemy import select

    from referral.db import Database
    from referral.demo.seed import seed_demo
    from referral.models import Base, User
    from referral.services import inputs
    from referral.services.auth import issue_token
    from referral.services.cases import create_draft, perform_action

    url = f"sqlite:///{data_dir / 'bench.db'}"
    database = Database(url)
    Base.metadata.create_all(database.engine)
    rooms = []
    with database.session() as session:
        seed_demo(session, PASSWORD)
        users = {u.username: u for u in session.scalars(select(User))}
        doctor, specialist = users["village.doctor"], users["township.specialist"]
        body = {"patient": {"name": "压测患者", "sex": "female", "birth_date": "1970-01-01"}, "urgency": "routine",
                "specialty": "general_practice", "chief_complaint": "头晕", "clinical_question": "是否转诊？"}
        for _ in range(pairs):
            case = create_draft(session, doctor, inputs.parse(inputs.CaseIn, body))
            perform_action(session, doctor, case.id, "submit")
            perform_action(session, specialist, case.id, "claim")
            a, _ = issue_token(session, doctor, timedelta(hours=2))
            b, _ = issue_token(session, specialist, timedelta(hours=2))
            rooms.append((case.id, a, b))
    database.engine.dispose()
    return url, rooms


def start(command: list[str], env: dict, port: int, log: Path) -> subprocess.Popen:
    out = open(log, "wb")
    proc = subprocess.Popen(command, env=env, cwd=str(ROOT), stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


# ---------------------------------------------------------------- measurements


async def time_to_connected(url: str, rooms: list[tuple[int, str, str]], joins: int) -> list[float]:
    """Second participant's `join` to both peer connections `connected`, `joins` times."""
    from aiortc import VideoStreamTrack

    from referral.consult.agent import RoomClient

    results = []
    for case_id, token_a, token_b in rooms[:joins]:
        a = RoomClient(url, token_a, case_id, send_tracks=lambda: [VideoStreamTrack()])
        b = RoomClient(url, token_b, case_id, send_tracks=lambda: [VideoStreamTrack()])
        await a.connect()
        t0 = time.monotonic()
        await b.connect()
        while not (any(s == "connected" for s in a.connection_states.values())
                   and any(s == "connected" for s in b.connection_states.values())):
            if time.monotonic() - t0 > 20:
                raise RuntimeError(f"no connection: {a.connection_states} {b.connection_states}")
            await asyncio.sleep(0.005)
        results.append(time.monotonic() - t0)
        await a.close()
        await b.close()
    return results


async def relay_round_trips(url: str, rooms: list[tuple[int, str, str]], pings: int, interval: float) -> list[float]:
    """Every pair of a room pings the other through the server (`ice` relayed there and back)."""
    import socketio

    clients: list[socketio.AsyncClient] = []
    samples: list[float] = []

    async def connect(token: str) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(url, namespaces=[NS], auth={"token": token}, transports=["websocket"], wait_timeout=30)
        clients.append(client)
        return client

    async def pair(case_id: int, token_a: str, token_b: str) -> None:
        a, b = await connect(token_a), await connect(token_b)
        ja = await a.call("join", {"case_id": case_id}, namespace=NS, timeout=30)
        jb = await b.call("join", {"case_id": case_id}, namespace=NS, timeout=30)
        sid_a, sid_b = ja["self"]["sid"], jb["self"]["sid"]
        waiting: dict[str, asyncio.Future] = {}

        async def echo(data):  # b answers every ping at once
            await b.emit("ice", {"to": data["from"], "pc": data["pc"], "candidate": None}, namespace=NS)

        async def pong(data):
            future = waiting.pop(data.get("pc", ""), None)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())

        b.on("ice", echo, namespace=NS)
        a.on("ice", pong, namespace=NS)
        await ready.wait()
        for i in range(pings):
            key = f"p{i}"
            future = asyncio.get_running_loop().create_future()
            waiting[key] = future
            sent = time.perf_counter()
            await a.emit("ice", {"to": sid_b, "pc": key, "candidate": None}, namespace=NS)
            got = await asyncio.wait_for(future, 10)
            samples.append(got - sent)
            await asyncio.sleep(interval)
        assert sid_a

    ready = asyncio.Event()
    tasks = [asyncio.create_task(pair(*room)) for room in rooms]
    while len(clients) < 2 * len(rooms):
        await asyncio.sleep(0.1)
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()
    await asyncio.sleep(1.0)
    ready.set()
    await asyncio.gather(*tasks)
    await asyncio.gather(*(c.disconnect() for c in clients))
    return samples


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="connected clients (pairs of two)")
    parser.add_argument("--pings", type=int, default=20, help="round trips per pair")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between a pair's pings")
    parser.add_argument("--joins", type=int, default=5, help="join-to-connected measurements")
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server(args.bare_server)
        return

    from referral.consult.agent import restrict_ice_hosts

    restrict_ice_hosts(["127.0.0.1"])
    pairs = max(args.clients // 2, args.joins)
    work = Path(tempfile.mkdtemp(prefix="consult-bench-"))
    procs = []
    try:
        print(f"preparing {pairs} rooms ...", flush=True)
        database_url, rooms = prepare_database(work, pairs)
        ours_port, bare_port = free_port(), free_port()
        env = {**os.environ, "REFERRAL_DATABASE_URL": database_url, "REFERRAL_DATA_DIR": str(work),
               "REFERRAL_SECRET_KEY": "bench"}
        env.pop("REFERRAL_REDIS_URL", None)
        procs.append(start([sys.executable, "-m", "referral.cli", "serve", "--port", str(ours_port)], env, ours_port,
                           work / "serve.log"))
        procs.append(start([sys.executable, __file__, "--bare-server", str(bare_port)], env, bare_port,
                           work / "bare.log"))
        ours, bare = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{bare_port}"

        join_ours = asyncio.run(time_to_connected(ours, rooms, args.joins))
        join_bare = asyncio.run(time_to_connected(bare, rooms[args.joins:2 * args.joins] or rooms, args.joins))
        print(f"\njoin -> connected (loopback, {args.joins} runs)")
        print(f"  referral serve: median {statistics.median(join_ours) * 1000:7.1f} ms  max {max(join_ours) * 1000:7.1f} ms")
        print(f"  bare server:    median {statistics.median(join_bare) * 1000:7.1f} ms  max {max(join_bare) * 1000:7.1f} ms")
        print(f"  ratio {statistics.median(join_ours) / statistics.median(join_bare):.2f}x; goal: within 1 s -> "
              f"{'met' if max(join_ours) <= 1.0 else 'NOT met'}")

        relay_rooms = rooms[: args.clients // 2]
        r_bare = asyncio.run(relay_round_trips(bare, relay_rooms, args.pings, args.interval))
        r_ours = asyncio.run(relay_round_trips(ours, relay_rooms, args.pings, args.interval))
        print(f"\nrelay round trip ({2 * len(relay_rooms)} connected clients, {len(r_ours)} round trips per server)")
        for name, values in (("referral serve", r_ours), ("bare server", r_bare)):
            print(f"  {name:15s} p50 {percentile(values, 50) * 1000:6.2f} ms  p99 {percentile(values, 99) * 1000:6.2f} ms")
        p50 = percentile(r_ours, 50) / percentile(r_bare, 50)
        p99 = percentile(r_ours, 99) / percentile(r_bare, 99)
        print(f"  ratio p50 {p50:.2f}x  p99 {p99:.2f}x; goal p99 within 1.5x -> {'met' if p99 <= 1.5 else 'NOT met'}")
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
