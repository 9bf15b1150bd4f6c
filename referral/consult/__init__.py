"""The live video consult room of every case: membership, invitations, sessions on the timeline,
Socket.IO signalling (`/consult`), TURN credentials, the room page, recordings and the aiortc agent.

`init_consult(app)` wires it into an application; nothing happens at import time.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
import redis

from .launcher import AgentLauncher
from .presence import MemoryPresence, Presence, RedisPresence
from .rooms import MembershipCache

log = logging.getLogger(__name__)
_registered = threading.Lock()
_namespace = None


@dataclass
class ConsultRuntime:
    """What the consult adapters of one application share: presence, membership cache, agent launcher."""

    presence: Presence
    cache: MembershipCache
    launcher: AgentLauncher
    scope: str = ""
    _beating: bool = field(default=False)

    def room(self, case_id: int) -> str:
        """The Socket.IO room of a case's consult. Scoped by deployment (its database), so that two
        deployments sharing one Redis never hear each other's rooms."""
        return f"consult:{self.scope}:{case_id}"

    def ensure_heartbeat(self) -> None:
        """Keep this process's presence entries alive (several processes only)."""
        if self._beating or not isinstance(self.presence, RedisPresence):
            return
        self._beating = True
        from ..realtime import socketio

        def beat():
            while True:
                try:
                    self.presence.heartbeat()
                except redis.RedisError as exc:  # Redis briefly away: try again next beat
                    log.warning("presence heartbeat: Redis cannot be reached (%s)", exc)
                except Exception:  # noqa: BLE001 - whatever it was, the next beat tries again
                    log.exception("presence heartbeat failed")
                socketio.sleep(10)

        socketio.start_background_task(beat)


def membership_changed(app: Flask, case_id: int) -> None:
    """An invitation of the case was given or taken back: this process re-reads the room's members
    at once (other processes within the membership cache's refresh, about 2 s)."""
    consult = app.extensions.get("referral.consult")
    if consult is not None:
        consult.cache.forget(case_id)


def init_consult(app: Flask) -> None:
    """Register the room page and recordings (blueprint) and the `/consult` Socket.IO namespace."""
    global _namespace
    from ..realtime import socketio
    from ..web.i18n import add_catalog
    from .signalling import NAMESPACE, ConsultNamespace, recording_json
    from .views import bp

    rt = app.extensions["referral"]
    scope = hashlib.sha256(rt.settings.database_url.encode()).hexdigest()[:10]
    presence: Presence = (RedisPresence(rt.redis, prefix=f"referral:consult:{scope}:") if rt.redis is not None
                          else MemoryPresence())

    def failed(case_id, recording):
        socketio.emit("recording", recording_json(recording, "failed"), to=consult.room(case_id), namespace=NAMESPACE)

    add_catalog(app, Path(__file__).parent / "translations")  # the room's strings
    consult = ConsultRuntime(presence, MembershipCache(), AgentLauncher(failed), scope)
    app.extensions["referral.consult"] = consult
    app.register_blueprint(bp)
    with _registered:
        if _namespace is None:
            _namespace = ConsultNamespace(NAMESPACE)
        # On the server `init_realtime` just bound to this app (Flask-SocketIO keeps a handler given
        # after binding only on that server, so every new app registers it again).
        socketio.on_namespace(_namespace)
