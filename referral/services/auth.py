"""Authentication: argon2 passwords, expiring revocable bearer tokens, login rate limiting."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, lazyload

from ..domain.errors import RateLimited, Unauthorized
from ..models import ApiToken, User, utcnow
from .ratelimit import MemoryRateLimiter, RateLimiter
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


# Passwords typed again to confirm who is acting (signing advice, changing one's password)
# are limited like sign-ins: a session left open must not let anyone guess the password.
_reentry_limiter: RateLimiter = MemoryRateLimiter(5, 900)


def use_reentry_limiter(limiter: RateLimiter) -> None:
    """Count re-entered passwords with the application's limiter (shared through Redis when configured)."""
    global _reentry_limiter
    _reentry_limiter = limiter


def reentered_password_matches(user: User, password: str) -> bool:
    """Whether the signed-in `user` typed their password; `rate_limited` after repeated failures."""
    key = f"reauth:{user.id}"
    if _reentry_limiter.blocked(key):
        raise RateLimited("too many wrong passwords; wait a few minutes and try again")
    if not password_matches(user, password):
        _reentry_limiter.hit(key)
        return False
    _reentry_limiter.reset(key)
    return True


def check_credentials(session: Session, limiter: RateLimiter, username: str, password: str, ip: str = "") -> User:
    """The active user with these credentials; `rate_limited` after repeated failures."""
    key = f"login:{username.strip().lower()}:{ip}"
    if limiter.blocked(key):
        # The window is the longest wait (the oldest failure may leave it sooner): a program is told when
        # trying again is certain to be counted afresh.
        raise RateLimited("too many failed sign-in attempts; wait a few minutes and try again",
                          retry_after=str(getattr(limiter, "window", 300)))
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
    """The active user a live bearer token belongs to.

    Every API request asks this, so it is one statement that loads the user alone (their
    facility only if someone asks for it)."""
    params = {"digest": _digest(token), "now": now or utcnow()}
    user = session.scalars(_LIVE_TOKEN_USER, params).first()
    if user is None:
        raise Unauthorized("the token is missing, expired or revoked")
    return user


_LIVE_TOKEN_USER = (
    select(User).join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None),
           ApiToken.expires_at > bindparam("now"), User.active.is_(True))
    .options(lazyload(User.facility))
)


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
