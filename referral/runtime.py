"""What an application instance holds at run time, and the request-scoped database session."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g
from sqlalchemy.orm import Session

from .config import Settings
from .db import Database
from .services.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter


@dataclass
class Runtime:
    settings: Settings
    database: Database
    login_limiter: RateLimiter
    redis: object | None = None

    @classmethod
    def build(cls, settings: Settings) -> "Runtime":
        redis_client = None
        if settings.redis_url:
            import redis

            redis_client = redis.Redis.from_url(settings.redis_url)
            limiter: RateLimiter = RedisRateLimiter(
                redis_client, settings.login_max_failures, settings.login_window_seconds
            )
        else:
            limiter = MemoryRateLimiter(settings.login_max_failures, settings.login_window_seconds)
        from .services.auth import use_reentry_limiter

        use_reentry_limiter(limiter)
        return cls(settings, Database(settings.database_url), limiter, redis_client)


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
