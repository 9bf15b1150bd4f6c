"""Pooled PostgreSQL connections that the server dropped (a restart, an idle timeout) are
replaced before a request uses them; recently used ones are used without a ping."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from referral.db import Database, ping_when_idle
from tests.conftest import _pg_admin_url, pg_database

pytestmark = pytest.mark.skipif(_pg_admin_url() is None, reason="REFERRAL_TEST_DATABASE_URL is not set")


def _kill_other_backends(url: str) -> int:
    """Terminate every server process of the database except the one asking (a server restart, as the pool sees it)."""
    killer = Database(url)
    with killer.engine.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    killer.engine.dispose()
    return killed


def test_a_connection_dropped_while_idle_is_replaced_before_use():
    with pg_database("referral_conn") as url:
        database = Database(url)
        ping_when_idle(database.engine, idle=0.0)  # every checkout counts as idle here
        with database.session() as session:
            first = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert _kill_other_backends(url) >= 1
        with database.session() as session:  # no error: the dead connection was found and replaced
            second = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
        database.engine.dispose()


def test_a_connection_used_moments_ago_is_not_pinged():
    with pg_database("referral_conn") as url:
        database = Database(url)
        statements: list[str] = []
        event.listen(database.engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *args: statements.append(statement))
        pings: list[int] = []
        original = database.engine.dialect.do_ping
        database.engine.dialect.do_ping = lambda dbapi_conn: pings.append(1) or original(dbapi_conn)
        for _ in range(5):
            with database.session() as session:
                session.execute(text("SELECT 1")).scalar_one()
        assert pings == []  # each request's connection was returned less than the idle time ago
        assert len(statements) == 5
        database.engine.dispose()
