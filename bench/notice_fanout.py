"""Fan-out of one emergency notice to 1,000 connected clients, against a bare Socket.IO broadcast.

The server is the app as `referral serve` runs it (Werkzeug, threading, Socket.IO), on a
fresh SQLite demo database with 1,000 extra accounts spread over the 286 village clinics.
1,000 python-socketio clients (asyncio, websocket transport, each signed in with its own
token) run in a second process. Each round measures the time from the start of the
action until the last client has received its event:

  broadcast  `socketio.emit("notification", payload)` to everyone: the floor, no database
  notice     `notices.service.send_notice(...)` to every village clinic: resolve the 286
             facilities, store one notification per user, commit, push to each user's room

Both clocks are CLOCK_MONOTONIC, shared by the two processes. Goal: notice within 2x of
broadcast, and under 2 s.

    .venv/bin/python bench/notice_fanout.py [--clients 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIENT = r"""
import asyncio, json, sys, time
import socketio

url, tokens = sys.argv[1], json.loads(sys.stdin.readline())
expected = len(tokens)
rounds = {}

def on_event(payload):
    title = (payload or {}).get("title", "")
    if "bench-round-" not in title:
        return
    key = title.rsplit("bench-round-", 1)[1]
    now = time.monotonic()
    first, last, count = rounds.get(key, (now, now, 0))
    rounds[key] = (min(first, now), max(last, now), count + 1)
    if count + 1 == expected:
        print(json.dumps({"round": key, "first": first, "last": now, "count": count + 1}), flush=True)

async def connect(token, gate):
    async with gate:
        client = socketio.AsyncClient(reconnection=False)
        client.on("notification", on_event)
        await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=60)
        return client

async def main():
    gate = asyncio.Semaphore(50)
    clients = await asyncio.gather(*(connect(t, gate) for t in tokens))
    print(json.dumps({"ready": len(clients)}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # the parent says when it is done
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)

asyncio.run(main())
"""


def prepare(data_dir: Path, clients: int) -> tuple[str, list[str]]:
    """A seeded demo database with `clients` extra village accounts, and a token for each."""
    from sqlalchemy import select

    from referral.db import Database
    from referral.demo.seed import seed_demo
    from referral.models import ApiToken, Base, Facility, User
    from referral.services.auth import hash_password, issue_token

    url = f"sqlite:///{data_dir / 'referral.db'}"
    database = Database(url)
    Base.metadata.create_all(database.engine)
    with database.session() as session:
        seed_demo(session, "bench-pass-2026")
        villages = session.scalars(select(Facility).where(Facility.tier == "village").order_by(Facility.code)).all()
        hashed = hash_password("bench-pass-2026")
        people = [User(username=f"bench.{i:04d}", display_name=f"村医{i}", password_hash=hashed,
                       facility_id=villages[i % len(villages)].id, roles=["doctor"], specialties=["general_practice"])
                  for i in range(clients)]
        session.add_all(people)
        session.commit()
        tokens = [issue_token(session, u, timedelta(hours=2))[0] for u in people]
        assert session.query(ApiToken).count() >= clients
    database.engine.dispose()
    return url, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from werkzeug.serving import make_server

    from referral.app import create_app
    from referral.config import Settings
    from referral.models import User
    from referral.notices import service as notices
    from referral.realtime import socketio

    data_dir = Path(tempfile.mkdtemp(prefix="notice-fanout-"))
    print(f"preparing a demo database with {args.clients} extra accounts in {data_dir} ...", flush=True)
    url, tokens = prepare(data_dir, args.clients)
    app = create_app(Settings(data_dir=data_dir, database_url=url, secret_key="bench", session_cookie_secure=False,
                              extra={"notify_channels": []}))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.server_port
    threading.Thread(target=server.serve_forever, daemon=True).start()

    client = subprocess.Popen([sys.executable, "-c", CLIENT, f"http://127.0.0.1:{port}"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    client.stdin.write(json.dumps(tokens) + "\n")
    client.stdin.flush()
    started = time.monotonic()
    ready = json.loads(client.stdout.readline())
    print(f"{ready['ready']} clients connected in {time.monotonic() - started:.1f} s", flush=True)

    database = app.extensions["referral"].database
    with database.session() as session:
        admin_id = session.query(User.id).filter(User.username == "county.admin").scalar()

    def broadcast(tag: str) -> float:
        payload = {"id": 0, "kind": "emergency_notice", "case_id": None, "title": f"【橙色预警】bench-round-{tag}",
                   "created_at": "2026-01-01T00:00:00Z"}
        t0 = time.monotonic()
        socketio.emit("notification", payload)
        return t0

    def notice(tag: str) -> float:
        with database.session() as session:
            admin = session.get(User, admin_id)
            t0 = time.monotonic()
            notices.send_notice(session, admin, {"title": f"bench-round-{tag}", "body": "演练", "level": "orange",
                                                 "tiers": ["village"]}, data_dir=data_dir)
        return t0

    def measure(kind: str, tag: str) -> float:
        t0 = (broadcast if kind == "broadcast" else notice)(tag)
        line = json.loads(client.stdout.readline())
        assert line["round"] == tag and line["count"] == args.clients, line
        return line["last"] - t0

    results: dict[str, list[float]] = {"broadcast": [], "notice": []}
    for kind in ("broadcast", "notice"):
        measure(kind, f"warmup-{kind}")
    for r in range(args.rounds):
        for kind in ("broadcast", "notice"):
            elapsed = measure(kind, f"{kind}-{r}")
            results[kind].append(elapsed)
            print(f"  round {r + 1} {kind:9s} last client after {elapsed * 1000:7.1f} ms", flush=True)

    client.stdin.write("done\n")
    client.stdin.flush()
    client.wait(60)
    server.shutdown()

    bare, fan = statistics.median(results["broadcast"]), statistics.median(results["notice"])
    ratio = fan / bare if bare > 0 else float("inf")
    print(f"\nclients: {args.clients}   rounds: {args.rounds} (median)")
    print(f"bare python-socketio broadcast : {bare * 1000:8.1f} ms")
    print(f"emergency notice fan-out       : {fan * 1000:8.1f} ms  (286 facilities, one row per user, per-user rooms)")
    print(f"ratio notice / broadcast       : {ratio:8.2f}x   goal <= 2x and < 2000 ms: "
          f"{'met' if ratio <= 2 and fan < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
