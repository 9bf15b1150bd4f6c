"""One transaction per use case, committed at the service boundary."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..domain.errors import Conflict

P = ParamSpec("P")
R = TypeVar("R")


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a service function (whose first argument is the session) as one transaction.

    Commit on success, roll back on any error. A concurrent writer who got there
    first (stale version, or SQLite's lock upgrade failure) becomes `Conflict`.
    """

    @functools.wraps(fn)
    def wrapper(session: Session, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = fn(session, *args, **kwargs)
            session.commit()
            return result
        except StaleDataError:
            session.rollback()
            raise Conflict("someone else changed this case first; reload it and try again") from None
        except OperationalError as exc:
            session.rollback()
            if "database is locked" in str(exc):
                raise Conflict("the case is being changed by someone else; try again") from None
            raise
        except BaseException:
            session.rollback()
            raise

    return wrapper
