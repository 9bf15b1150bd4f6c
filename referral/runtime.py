"""What an application instance holds at run time, and the request-scoped database session."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g
from sqlalchemy.orm import Session

from .config import Settings
from .db import Database
from .services.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter


class RedisUnavailable(RuntimeError):
    """Configured for several processes, but their meeting point is not there: refuse to start
    (a process running alone among others would miss their events and they its)."""


@dataclass
class Runtime:
    settings: Settings
    database: Database
    login_limiter: RateLimiter
    redis: object | None = None

    @classmethod
    def build(cls, settings: Settings) -> "Runtime":
        redis_client = _redis(settings.redis_url) if settings.redis_url else None
        if redis_client is not None:
            limiter: RateLimiter = RedisRateLimiter(
                redis_client, settings.login_max_failures, settings.login_window_seconds
            )
        else:
            limiter = MemoryRateLimiter(settings.login_max_failures, settings.login_window_seconds)
        from .services.auth import use_reentry_limiter

        use_reentry_limiter(limiter)
        return cls(settings, Database(settings.database_url), limiter, redis_client)


def _redis(url: str):
    """The shared Redis, reachable now, or `RedisUnavailable` saying where it was looked for."""
    import redis

    # Bounded waits: a Redis that hangs must not hang sign-in (a URL's own options win).
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        where = client.connection_pool.connection_kwargs  # not the URL: it may hold a password
        address = where.get("path") or f"{where.get('host')}:{where.get('port')}"
        raise RedisUnavailable(f"REFERRAL_REDIS_URL is set, but Redis at {address} cannot be reached ({exc}). "
                               "Start Redis, or unset REFERRAL_REDIS_URL to run as a single process.") from None
    return client


def runtime() -> Runtime:
    return current_app.extensions["referral"]


def db_session() -> Session:
    """The session of the current request or app context, opened on first use."""
    if "db_session" not in g:
        g.db_session = runtime().database.sessionmaker()
    return g.db_session


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
