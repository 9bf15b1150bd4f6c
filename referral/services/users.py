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
from .inputs import CONTROL_MESSAGE, has_control_character
from .transaction import transactional

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 8
# What sign-in takes (the API's token request, the login form): a longer password could be set
# but never used, and the account would be locked out.
MAX_PASSWORD = 200
# The columns' own lengths: a longer text is a clear message here, not a database error.
MAX_DISPLAY_NAME = User.__table__.c.display_name.type.length
MAX_TITLE = User.__table__.c.title.type.length


def password_problem(password: str | None) -> str | None:
    """Why a new password cannot be set (None: it can)."""
    length = len(password or "")
    if length < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters"
    if length > MAX_PASSWORD:
        return f"at most {MAX_PASSWORD} characters"
    return None


def profile_problems(display_name: str | None, title: str | None) -> dict[str, str]:
    """What is wrong with an account's name and title (trimmed, as they are stored), by field."""
    fields = {}
    for name, value, limit in (("display_name", display_name, MAX_DISPLAY_NAME), ("title", title, MAX_TITLE)):
        value = (value or "").strip()
        if has_control_character(value):
            fields[name] = CONTROL_MESSAGE
        elif len(value) > limit:
            fields[name] = f"at most {limit} characters"
    return fields


def role_problems(roles: list[str], specialties: list[str]) -> dict[str, str]:
    """Roles and specialty codes that do not exist, by field."""
    fields = {}
    if not roles or any(r not in Role.__members__.values() for r in roles):
        fields["roles"] = "one or more of doctor, specialist, admin, sysadmin"
    if any(s not in specialty_codes() for s in specialties):
        fields["specialties"] = "unknown specialty code"
    return fields


def validate_new_user(username: str, password: str, roles: list[str], specialties: list[str], *,
                      display_name: str = "", title: str = "") -> None:
    """Everything wrong with a new account's fields at once."""
    fields = {}
    if not USERNAME.match(username or ""):
        fields["username"] = "3-64 characters: lower-case letters, digits, . _ -"
    if (problem := password_problem(password)) is not None:
        fields["password"] = problem
    fields.update(profile_problems(display_name, title))
    fields.update(role_problems(roles, specialties))
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
    validate_new_user(username, password, list(roles), list(specialties), display_name=display_name, title=title)
    facility = session.scalars(select(Facility).where(Facility.code == facility_code)).first()
    if facility is None:
        raise NotFound(f"no facility with code {facility_code}")
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise Conflict(f"the username {username} is taken")
    user = User(
        username=username, display_name=(display_name or "").strip() or username, title=(title or "").strip(),
        password_hash=hash_password(password), facility_id=facility.id,
        roles=list(roles), specialties=list(specialties),
    )
    session.add(user)
    return user


@transactional
def change_password(session: Session, user: User, new_password: str) -> None:
    """Set a new password and end every session and token of the user."""
    if (problem := password_problem(new_password)) is not None:
        raise ValidationFailed("cannot set this password", fields={"password": problem})
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
    if (problem := password_problem(new_password)) is not None:
        fields["new_password"] = problem
    elif new_password == current_password:
        fields["new_password"] = "the new password must differ from the current one"
    if fields:
        raise ValidationFailed("cannot change the password", fields=fields)
    change_password(session, user, new_password)
