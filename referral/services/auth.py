"""Authentication: argon2 passwords, expiring revocable bearer tokens, login rate limiting."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import RateLimited, Unauthorized
from ..models import ApiToken, User, utcnow
from .ratelimit import RateLimiter
from .transaction import transactional

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_credentials(session: Session, limiter: RateLimiter, username: str, password: str, ip: str = "") -> User:
    """The active user with these credentials; `rate_limited` after repeated failures."""
    key = f"login:{username.strip().lower()}:{ip}"
    if limiter.blocked(key):
        raise RateLimited("too many failed sign-in attempts; wait a few minutes and try again")
    user = session.scalars(select(User).where(User.username == username.strip())).first()
    if user is None:
        _hasher.verify(_DUMMY_HASH, "not a real password")
        ok = False
    else:
        ok = password_matches(user, password) and user.active
    if not ok:
        limiter.hit(key)
        raise Unauthorized("wrong username or password")
    limiter.reset(key)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transactional
def issue_token(session: Session, user: User, ttl: timedelta) -> tuple[str, ApiToken]:
    """A new bearer token; the plain token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_digest(token), expires_at=utcnow() + ttl)
    session.add(row)
    return token, row


def user_for_token(session: Session, token: str, now: datetime | None = None) -> User:
    """The user a bearer token belongs to, if the token is live."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(token))).first()
    now = now or utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.active:
        raise Unauthorized("the token is missing, expired or revoked")
    return row.user


@transactional
def revoke_token(session: Session, token: str) -> None:
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(token))).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def end_sessions(session: Session, user: User, *, revoke_tokens: bool = True) -> None:
    """End every signed-in browser session of `user` (their cookies carry an older epoch from
    now on), optionally every API token, and, once committed, the live pushes to their sockets."""
    from ..notifications.delivery import queue_session_end

    user.session_epoch += 1
    if revoke_tokens:
        revoke_all_tokens(session, user)
    queue_session_end(session, user.id)


def revoke_all_tokens(session: Session, user: User) -> None:
    """Revoke every token of `user` (inside the caller's transaction)."""
    for row in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        row.revoked_at = utcnow()
