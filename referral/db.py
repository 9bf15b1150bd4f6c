"""Engine and session factory; the only place that knows how to reach the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine tuned for the backend: WAL and foreign keys on SQLite."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    if "connect_timeout" not in url:  # a database host that does not answer fails a request in seconds, not minutes
        kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 10)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_when_idle(engine)
    return engine


def is_unavailable(error: BaseException) -> bool:
    """Whether the database could not be reached or could not answer in time (a restart, a network
    cut, a lock held too long): worth a 503 and another try, not a 500. (A full disk is told apart
    before this: `disk_space.is_disk_full`.)"""
    return isinstance(error, exc.OperationalError) or (
        isinstance(error, exc.DBAPIError) and error.connection_invalidated)


IDLE_BEFORE_PING = 10.0  # seconds


def ping_when_idle(engine: Engine, idle: float = IDLE_BEFORE_PING) -> None:
    """Check a pooled connection before use when it has been idle for `idle` seconds.

    After a database restart or an idle timeout the pool holds dead connections; a ping on
    checkout finds them and the pool replaces them, so no request fails. SQLAlchemy's
    `pool_pre_ping` pings on every checkout: one more round trip on every request, which a
    busy threaded server pays in waiting for the GIL too. A connection returned moments ago
    is alive; only the idle ones are pinged.
    """

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_conn, record) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn, record) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy) -> None:
        if time.monotonic() - record.info.get("returned_at", 0.0) < idle:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


class Database:
    """Holds the engine and the session factory for one application."""

    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for a job or command; services commit, this only closes."""
        session = self.sessionmaker()
        try:
            yield session
        finally:
            session.close()
