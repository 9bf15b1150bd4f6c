"""Statements built once and reused.

SQLAlchemy works out a statement's cache key on first execution and keeps it on the
statement object; a statement built anew for every request pays for building it and for
its key each time, which on the small, frequent queries of a page costs more than running
them. Callers keep a statement per distinct question here, under a key that names
everything the statement depends on (the caller's access scope, the filters).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from sqlalchemy import Executable, Result
from sqlalchemy.orm import Session

STATEMENT_CACHE_SIZE = 2000
_statements: dict[Hashable, tuple] = {}


def cached_statements(key: Hashable, build: Callable[[], tuple]) -> tuple:
    """The statements `build` makes for `key`, which names everything they depend on."""
    found = _statements.get(key)
    if found is None:
        if len(_statements) >= STATEMENT_CACHE_SIZE:
            _statements.clear()
        found = _statements[key] = build()
    return found


def plain_rows(session: Session, statement: Executable, params: dict) -> Result:
    """Run a read-model SELECT (plain columns, no entities) on the session's connection.

    `Session.execute` treats a SELECT of mapped attributes as an ORM query and sets up its
    loading machinery even when no entity is loaded; on a page of small queries that setup
    costs as much as the queries. This runs the statement in the same transaction, after the
    flush the session would have done itself, and returns plain rows."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    return session.connection().execute(statement, params)
