"""Accounts: creation and password changes."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.specialties import specialty_codes
from ..domain.vocabulary import Role
from ..models import Facility, User
from .auth import end_sessions, hash_password
from .transaction import transactional

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 8


def validate_new_user(username: str, password: str, roles: list[str], specialties: list[str]) -> None:
    fields = {}
    if not USERNAME.match(username or ""):
        fields["username"] = "3-64 characters: lower-case letters, digits, . _ -"
    if len(password or "") < MIN_PASSWORD:
        fields["password"] = f"at least {MIN_PASSWORD} characters"
    if not roles or any(r not in Role.__members__.values() for r in roles):
        fields["roles"] = "one or more of doctor, specialist, admin, sysadmin"
    if any(s not in specialty_codes() for s in specialties):
        fields["specialties"] = "unknown specialty code"
    if fields:
        raise ValidationFailed("cannot create the account", fields=fields)


@transactional
def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str,
    facility_code: str,
    roles: list[str],
    specialties: list[str] = (),
    title: str = "",
) -> User:
    """A new account at the facility with this code."""
    validate_new_user(username, password, list(roles), list(specialties))
    facility = session.scalars(select(Facility).where(Facility.code == facility_code)).first()
    if facility is None:
        raise NotFound(f"no facility with code {facility_code}")
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise Conflict(f"the username {username} is taken")
    user = User(
        username=username, display_name=display_name or username, title=title,
        password_hash=hash_password(password), facility_id=facility.id,
        roles=list(roles), specialties=list(specialties),
    )
    session.add(user)
    return user


@transactional
def change_password(session: Session, user: User, new_password: str) -> None:
    """Set a new password and end every session and token of the user."""
    if len(new_password or "") < MIN_PASSWORD:
        raise ValidationFailed("password too short", fields={"password": f"at least {MIN_PASSWORD} characters"})
    user = session.merge(user)
    user.password_hash = hash_password(new_password)
    end_sessions(session, user)


LOCALES = ("zh", "en")


@transactional
def end_web_sessions(session: Session, user: User) -> None:
    """Void every signed-in browser session of `user` (sign-out): sessions carry the epoch they
    started in, and one older than the user's is refused."""
    user = session.merge(user)
    end_sessions(session, user, revoke_tokens=False)


@transactional
def set_locale(session: Session, user: User, locale: str) -> None:
    """Remember the interface language the user chose."""
    if locale not in LOCALES:
        raise ValidationFailed("unknown language", fields={"locale": "one of " + ", ".join(LOCALES)})
    user = session.merge(user)
    user.locale = locale


def change_own_password(session: Session, user: User, current_password: str, new_password: str) -> None:
    """A user changing their own password must know the current one; every other session ends."""
    from .auth import reentered_password_matches

    fields = {}
    if not reentered_password_matches(user, current_password or ""):
        fields["current_password"] = "the current password does not match"
    if len(new_password or "") < MIN_PASSWORD:
        fields["new_password"] = f"at least {MIN_PASSWORD} characters"
    elif new_password == current_password:
        fields["new_password"] = "the new password must differ from the current one"
    if fields:
        raise ValidationFailed("cannot change the password", fields=fields)
    change_password(session, user, new_password)
