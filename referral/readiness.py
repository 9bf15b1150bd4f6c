"""Readiness: can this process do its work right now? (`/healthz` only says it is alive.)

A monitor, the province's load balancer or the county's administrator asks `GET /readyz`: the
database answers, Redis answers (when several processes share it), and the data directory is
writable with room left. Every check is quick and reads nothing of any patient.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text

from .disk_space import space_of
from .runtime import Runtime


def readiness(rt: Runtime) -> tuple[bool, dict]:
    """(ready, what each check found). Low disk space is reported but not fatal; none left is."""
    checks = {"database": _database(rt), "redis": _redis(rt)}
    data = Path(rt.settings.data_dir)
    space = space_of(data)
    writable = data.is_dir() and os.access(data, os.W_OK | os.X_OK)
    checks["data_directory"] = {
        "status": "ok" if writable and space is not None and space.free > 0 else "unavailable",
        "writable": writable,
        "free_bytes": space.free if space else None,
        "total_bytes": space.total if space else None,
        "low": bool(space and space.low),
    }
    ready = all((c if isinstance(c, str) else c["status"]) in ("ok", "not configured") for c in checks.values())
    return ready, checks


def _database(rt: Runtime) -> str:
    try:
        with rt.database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure to answer is "not ready"; the requests that fail log why
        return "unavailable"
    return "ok"


def _redis(rt: Runtime) -> str:
    if rt.redis is None:
        return "not configured"
    try:
        rt.redis.ping()
    except Exception:  # noqa: BLE001
        return "unavailable"
    return "ok"
