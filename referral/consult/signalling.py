"""The consult room's signalling over Socket.IO (namespace `/consult`): a thin adapter that parses
each message (protocol.py), checks the sender's membership (rooms.py) and rate (limits.py), calls one
service and relays. Every event, payload and error is in docs/consult-signalling.md.

State that must be shared by several server processes is not kept here: the Socket.IO rooms go
through the message queue, who is in which room lives in the presence store (Redis when
configured), sessions, chat and recordings in the database. What is kept here is per connection
(its user, its rate buckets), and a connection lives in exactly one process.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from flask import current_app, request
from flask_socketio import Namespace, disconnect, join_room, leave_room
import redis

from ..domain.errors import DomainError, NotFound, RateLimited, Unauthorized, ValidationFailed
from ..models import Recording, User, utcnow
from ..realtime import socket_user
from ..runtime import db_session, runtime
from . import protocol
from .limits import Buckets
from .recordings import ACTIVE, active_recording, fail_recording, recorder_joined, request_recording, request_stop
from .rooms import ice_servers_for, require_member
from .sessions import join_session, leave_session, post_chat, recent_chat

NAMESPACE = "/consult"
log = logging.getLogger(__name__)


def room_name(case_id: int) -> str:
    return consult_runtime().room(case_id)


@dataclass
class Connection:
    """One socket of this process: who it is, where it is, how fast it may talk."""

    user_id: int
    public: dict
    rt: object = None  # this app's ConsultRuntime
    sessionmaker: object = None  # this app's database sessions
    buckets: Buckets = field(default_factory=Buckets)
    case_id: int | None = None
    role: str = "participant"
    recording_id: int | None = None


def public_user(user: User) -> dict:
    """What the other participants see of a person."""
    return {"id": user.id, "name": user.display_name or user.username, "title": user.title,
            "facility": user.facility.name if user.facility else ""}


def consult_runtime():
    return current_app.extensions["referral.consult"]


class ConsultNamespace(Namespace):
    """Join, leave, relay offers/answers/ICE between members, chat, media state, quality, recording."""

    def __init__(self, namespace: str = NAMESPACE) -> None:
        super().__init__(namespace)
        self.connections: dict[str, Connection] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ dispatch

    def trigger_event(self, event, *args):
        """Route `record-start` to `on_record_start` etc.; turn every refusal into an error reply.

        Offers, answers and candidates, the bulk of the traffic, take a fast path that needs no Flask
        request context (see `_fast_relay`)."""
        parse = _RELAYED.get(event)
        if parse is not None and args:
            return self._fast_relay(event, parse, args[0], args[1] if len(args) > 1 else None)
        name = "on_" + (event or "").replace("-", "_")
        handler = getattr(self, name, None)
        if handler is None:
            return None
        try:
            return self.socketio._handle_event(handler, event, self.namespace, *args)
        except TypeError:
            if event == "disconnect":
                return self.socketio._handle_event(handler, event, self.namespace, *args[:-1])
            raise

    def _guard(self, event: str, fn, *args, sid: str | None = None):
        """Run a handler body; a refusal or a bug answers the sender with an error, never crashes."""
        try:
            result = fn(*args)
            return {"ok": True, **(result or {})}
        except DomainError as exc:
            body = {"ok": False, "error": exc.code, "message": exc.message}
            if isinstance(exc, ValidationFailed):
                body["fields"] = exc.fields
        except _SlowPath:
            raise
        except redis.RedisError as exc:  # the province's shared room list is away for a moment
            log.warning("consult event %s: Redis cannot be reached (%s)", event, exc)
            body = {"ok": False, "error": "unavailable",
                    "message": "the consult service cannot reach its shared store; try again in a moment"}
        except Exception:  # noqa: BLE001 - a handler bug must not take the connection down
            log.exception("consult event %s failed", event)
            body = {"ok": False, "error": "internal", "message": "the server could not handle this message"}
        self.socketio.emit("error", {**body, "event": event}, to=sid or request.sid, namespace=self.namespace)
        return body

    def _fast_relay(self, event: str, parse, sid: str, data):
        """Relay an offer, answer or candidate with the same checks as every message (connected,
        rate, well-formed, joined, still a member, addressee in the same room) but without Flask's
        per-event request context. Anything unusual goes the slow way through the full handler."""
        conn = self.connections.get(sid)
        if conn is None or conn.rt is None or conn.case_id is None:
            return self.socketio._handle_event(getattr(self, "on_" + event), event, self.namespace, sid, data)

        def relay():
            if not conn.buckets.allow("signal"):
                if conn.buckets.abusive:
                    self.socketio.server.disconnect(sid, namespace=self.namespace)
                raise RateLimited("too many signal messages; slow down")
            msg = parse(data)
            case_id = conn.case_id
            if case_id is None or not conn.rt.cache.admits(conn.sessionmaker, case_id, conn.user_id):
                raise _SlowPath()
            target = msg.pop("to")
            if target == sid or conn.rt.presence.get(case_id, target) is None:
                raise NotFound("no such participant in the room")
            # python-socketio's own emit: no Flask context is needed to send to one socket id.
            self.socketio.server.emit(event, {**msg, "from": sid}, to=target, namespace=self.namespace)

        try:
            return self._guard(event, relay, sid=sid)
        except _SlowPath:
            return self.socketio._handle_event(getattr(self, "on_" + event), event, self.namespace, sid, data)

    def _connection(self) -> Connection:
        conn = self.connections.get(request.sid)
        if conn is None:
            raise Unauthorized("not connected")
        return conn

    def _limit(self, conn: Connection, kind: str) -> None:
        if conn.buckets.allow(kind):
            return
        if conn.buckets.abusive:
            log.warning("disconnecting %s: too many messages", request.sid)
            disconnect(request.sid, namespace=self.namespace)
        raise RateLimited(f"too many {kind} messages; slow down")

    def _joined(self, conn: Connection) -> int:
        """The sender's room, after checking again that the sender is still a member of it."""
        if conn.case_id is None:
            raise NotFound("join a room first")
        rt = consult_runtime()
        if not rt.cache.admits(runtime().database.sessionmaker, conn.case_id, conn.user_id):
            case_id = conn.case_id
            self._leave(conn, request.sid)
            raise NotFound(f"you are no longer a member of the room of case {case_id}")
        return conn.case_id

    # ------------------------------------------------------------ connection

    def on_connect(self, auth=None):
        try:
            user = socket_user(auth)
        except Unauthorized:
            log.info("refused consult connection from %s", request.remote_addr)
            return False
        with self._lock:
            self.connections[request.sid] = Connection(user.id, public_user(user), consult_runtime(),
                                                       runtime().database.sessionmaker)
        consult_runtime().ensure_heartbeat()
        return True

    def on_disconnect(self, reason=None):
        with self._lock:
            conn = self.connections.pop(request.sid, None)
        if conn is not None and conn.case_id is not None:
            try:
                self._leave(conn, request.sid)
            except Exception:  # noqa: BLE001 - the socket is gone either way
                log.exception("leaving the room on disconnect failed")

    # ------------------------------------------------------------ the room

    def on_join(self, data=None):
        return self._guard("join", self._join, data)

    def _join(self, data):
        conn = self._connection()
        self._limit(conn, "join")
        msg = protocol.parse_join(data)
        sid, case_id, role = request.sid, msg["case_id"], msg["role"]
        session = db_session()
        user = session.get(User, conn.user_id)
        consult_runtime().cache.prime(require_member(session, user, case_id))
        if role == "recorder" and msg["recording_id"] is None:
            raise ValidationFailed("a recorder names its recording", fields={"recording_id": "required"})
        mine = None
        if role == "recorder":  # validated before leaving any room, so a refusal changes nothing
            mine = recorder_joined(session, user, case_id, msg["recording_id"])
            conn.recording_id = msg["recording_id"]
        if conn.case_id is not None:
            self._leave(conn, sid)
        rt = consult_runtime()
        me = {"sid": sid, "user": conn.public, "role": role, "label": msg["label"],
              "media": {"audio": role != "recorder", "video": role != "recorder", "screen": False, "preset": None}}
        # In the room's presence before looking who else is there: of two people joining at the same
        # moment (on two processes, say) at least one sees the other and offers (clients settle glare).
        rt.presence.add(case_id, sid, me)
        try:
            live = rt.presence.members(case_id)
            joined = join_session(session, user, case_id, sid, role=role, live_sids=live.keys(),
                                  ip=request.remote_addr or "")
        except Exception:
            rt.presence.remove(case_id, sid)
            raise
        conn.case_id, conn.role = case_id, role
        join_room(room_name(case_id), sid=sid, namespace=self.namespace)
        self.socketio.emit("peer-joined", me, to=room_name(case_id), skip_sid=sid, namespace=self.namespace)
        recording = active_recording(session, case_id)
        if mine is not None:
            self._recorder_arrived(case_id, sid, mine)
        return {
            "self": me,
            "peers": [p for s, p in live.items() if s != sid],
            "ice_servers": ice_servers_for(runtime().settings, user.id, utcnow()),
            "session": {"id": joined.consult.id, "started_at": joined.consult.started_at.isoformat()},
            "chat": [chat_json(e) for e in recent_chat(session, user, case_id)],
            "recording": recording_json(recording),
        }

    def _recorder_arrived(self, case_id: int, sid: str, recording: Recording) -> None:
        """Tell the room the recorder is (back) in it. A stop asked for while the recorder's connection
        was down reached nobody: it is delivered now, so the recording ends as the specialist wanted."""
        stopping = recording.stop_requested_at is not None
        self._broadcast_recording(case_id, recording, "stopping" if stopping else "recording")
        if stopping:
            self.socketio.emit("record-stop", {"recording_id": recording.id}, to=sid, namespace=self.namespace)

    def on_leave(self, data=None):
        return self._guard("leave", self._leave_event)

    def _leave_event(self):
        conn = self._connection()
        if conn.case_id is not None:
            self._leave(conn, request.sid)
        return {}

    def _leave(self, conn: Connection, sid: str) -> None:
        case_id, conn.case_id = conn.case_id, None
        if case_id is None:
            return
        rt = consult_runtime()
        rt.presence.remove(case_id, sid)
        try:
            leave_room(room_name(case_id), sid=sid, namespace=self.namespace)
        except Exception:  # noqa: BLE001 - already gone with a disconnected socket
            pass
        self.socketio.emit("peer-left", {"sid": sid}, to=room_name(case_id), namespace=self.namespace)
        database = runtime().database
        with database.session() as session:
            leave_session(session, case_id, sid, live_sids=rt.presence.members(case_id).keys())

    # ------------------------------------------------------------ relaying WebRTC negotiation

    def on_offer(self, data=None):
        return self._guard("offer", self._relay, "offer", protocol.parse_description, data)

    def on_answer(self, data=None):
        return self._guard("answer", self._relay, "answer", protocol.parse_description, data)

    def on_ice(self, data=None):
        return self._guard("ice", self._relay, "ice", protocol.parse_ice, data)

    def _relay(self, event: str, parse, data):
        conn = self._connection()
        self._limit(conn, "signal")
        msg = parse(data)
        case_id = self._joined(conn)
        target = msg.pop("to")
        if target == request.sid or consult_runtime().presence.get(case_id, target) is None:
            raise NotFound("no such participant in the room")
        self.socketio.emit(event, {**msg, "from": request.sid}, to=target, namespace=self.namespace)
        return {}

    # ------------------------------------------------------------ chat, media state, quality

    def on_chat(self, data=None):
        return self._guard("chat", self._chat, data)

    def _chat(self, data):
        conn = self._connection()
        self._limit(conn, "chat")
        case_id = self._joined(conn)
        text = data.get("text") if isinstance(data, dict) else None
        session = db_session()
        event = post_chat(session, session.get(User, conn.user_id), case_id, text)
        line = chat_json(event, sid=request.sid)
        self.socketio.emit("chat", line, to=room_name(case_id), namespace=self.namespace)
        return {"id": line["id"]}

    def on_media(self, data=None):
        return self._guard("media", self._media, data)

    def _media(self, data):
        conn = self._connection()
        self._limit(conn, "status")
        msg = protocol.parse_media(data)
        case_id = self._joined(conn)
        presence = consult_runtime().presence
        me = presence.get(case_id, request.sid)
        if me is not None:
            me["media"] = msg
            me.pop("process", None)
            presence.add(case_id, request.sid, me)
        self.socketio.emit("media-state", {"sid": request.sid, **msg}, to=room_name(case_id),
                           skip_sid=request.sid, namespace=self.namespace)
        return {}

    def on_quality(self, data=None):
        return self._guard("quality", self._quality, data)

    def _quality(self, data):
        conn = self._connection()
        self._limit(conn, "status")
        msg = protocol.parse_quality(data)
        case_id = self._joined(conn)
        self.socketio.emit("quality", {"from": request.sid, **msg}, to=room_name(case_id),
                           skip_sid=request.sid, namespace=self.namespace)
        return {}

    # ------------------------------------------------------------ recording

    def on_record_start(self, data=None):
        return self._guard("record-start", self._record_start)

    def _record_start(self):
        conn = self._connection()
        self._limit(conn, "record")
        case_id = self._joined(conn)
        session = db_session()
        user = session.get(User, conn.user_id)
        recording = request_recording(session, user, case_id)
        self._broadcast_recording(case_id, recording, "starting")
        consult_runtime().launcher.record(current_app._get_current_object(), recording.id, case_id, user.id,
                                          agent_base_url(runtime().settings, request.environ))
        return {"recording": recording_json(recording)}

    def on_record_stop(self, data=None):
        return self._guard("record-stop", self._record_stop)

    def _record_stop(self):
        conn = self._connection()
        self._limit(conn, "record")
        case_id = self._joined(conn)
        session = db_session()
        recording = request_stop(session, session.get(User, conn.user_id), case_id)
        recorders = [sid for sid, p in consult_runtime().presence.members(case_id).items()
                     if p.get("role") == "recorder"]
        if not recorders and recording.status == "starting":  # stopped before the recorder arrived
            cancelled = fail_recording(session, recording.id, "stopped before the recorder joined")
            self._broadcast_recording(case_id, cancelled or recording, "failed")
            return {"recording": recording_json(cancelled or recording, "failed")}
        for sid in recorders:
            self.socketio.emit("record-stop", {"recording_id": recording.id}, to=sid, namespace=self.namespace)
        self._broadcast_recording(case_id, recording, "stopping")
        return {"recording": recording_json(recording, "stopping")}

    def on_recording_saved(self, data=None):
        return self._guard("recording-saved", self._recording_saved, data)

    def _recording_saved(self, data):
        """The recorder tells the room its file is attached to the case (the database says so)."""
        conn = self._connection()
        self._limit(conn, "record")
        msg = protocol.parse_recording_ref(data)
        case_id = self._joined(conn)
        if conn.role != "recorder" or conn.recording_id != msg["recording_id"]:
            raise NotFound("no such recording")
        recording = db_session().get(Recording, msg["recording_id"])
        if recording is None or recording.case_id != case_id:
            raise NotFound("no such recording")
        self._broadcast_recording(case_id, recording, recording.status)
        return {}

    def _broadcast_recording(self, case_id: int, recording, state: str) -> None:
        self.socketio.emit("recording", recording_json(recording, state), to=room_name(case_id),
                           namespace=self.namespace)


class _SlowPath(Exception):
    """The fast relay path hands over to the full handler (e.g. the sender just lost membership)."""


_RELAYED = {"offer": protocol.parse_description, "answer": protocol.parse_description, "ice": protocol.parse_ice}


def chat_json(event, sid: str | None = None) -> dict:
    actor = event.actor
    return {"id": event.id, "from": {"sid": sid, "user_id": event.actor_id,
                                     "name": (actor.display_name or actor.username) if actor else ""},
            "text": event.payload.get("text", ""), "at": event.created_at.isoformat()}


def recording_json(recording, state: str | None = None) -> dict | None:
    if recording is None:
        return None
    if state is None:  # the stored status has no "stopping": a running recording asked to stop is one
        stopping = recording.status in ACTIVE and recording.stop_requested_at is not None
        state = "stopping" if stopping else recording.status
    body = {"id": recording.id, "state": state,
            "by": recording.requested_by.display_name if recording.requested_by else "",
            "started_at": recording.started_at.isoformat() if recording.started_at else None}
    if recording.status == "ready":
        body.update(url=f"/cases/{recording.case_id}/recordings/{recording.id}",
                    duration_seconds=recording.duration_seconds)
    if recording.status == "failed":
        body["error"] = recording.error
    return body


def agent_base_url(settings, environ: dict) -> str:
    """Where a consult agent started by this process reaches it: configured, or this server's own address."""
    if settings.consult_agent_url:
        return settings.consult_agent_url.rstrip("/")
    host = environ.get("SERVER_NAME") or "127.0.0.1"
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{environ.get('SERVER_PORT', '5000')}"
