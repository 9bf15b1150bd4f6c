"""Statements built once and reused.

SQLAlchemy works out a statement's cache key on first execution and keeps it on the
statement object; a statement built anew for every request pays for building it and for
its key each time, which on the small, frequent queries of a page costs more than running
them. Callers keep a statement per distinct question here, under a key that names
everything the statement depends on (the caller's access scope, the filters).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

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
