"""Administration of a jurisdiction: the facility tree and the accounts of its staff.

An admin's jurisdiction is their facility and every facility below it (a
township admin: the health center and its village clinics; the county admin:
the whole county). Accounts and facilities outside it answer `not_found`, the
same as absent ones. Every change is recorded in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..domain.access import can_administer
from ..domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..domain.vocabulary import Role
from ..models import AuditEntry, Facility, Partnership, User
from .actors import actor_facts, facility_subtree
from .auth import end_sessions, hash_password
from .inputs import has_control_character
from .transaction import transactional
from .users import password_problem, profile_problems, role_problems, validate_new_user

MAX_USERS_LISTED = 500


def _require_admin(user: User) -> None:
    if not can_administer(actor_facts(user)):
        raise Forbidden("only administrators manage facilities and accounts")


def _is_sysadmin(user: User) -> bool:
    return Role.SYSADMIN.value in (user.roles or ())


def jurisdiction(session: Session, admin: User) -> frozenset[int]:
    """The facility ids the admin manages (everything for a sysadmin)."""
    _require_admin(admin)
    if _is_sysadmin(admin):
        return frozenset(session.scalars(select(Facility.id)))
    return facility_subtree(session, admin.facility_id)


@dataclass
class FacilityNode:
    facility: Facility
    children: list[FacilityNode] = field(default_factory=list)
    partners: list[tuple[Facility, str | None]] = field(default_factory=list)  # (partner, specialty or None)

    @property
    def size(self) -> int:
        """This facility and everything under it."""
        return 1 + sum(child.size for child in self.children)


_TIER_RANK = {"village": 0, "township": 1, "county": 2, "provincial": 3}


def facility_tree(session: Session, admin: User) -> list[FacilityNode]:
    """The jurisdiction as a tree (county -> townships -> villages), with each facility's
    provincial partners; a county-tier admin also sees the provincial partner hospitals."""
    ids = jurisdiction(session, admin)
    facilities = {f.id: f for f in session.scalars(select(Facility).where(Facility.id.in_(sorted(ids))))}
    nodes = {fid: FacilityNode(f) for fid, f in facilities.items()}
    partnerships = session.scalars(select(Partnership).where(Partnership.facility_id.in_(sorted(ids)))).all()
    for p in sorted(partnerships, key=lambda p: (p.specialty is None, p.specialty or "", p.id)):
        nodes[p.facility_id].partners.append((p.partner, p.specialty))
    roots = []
    for fid, node in nodes.items():
        parent = node.facility.parent_id
        (nodes[parent].children if parent in nodes else roots).append(node)

    def order(items: list[FacilityNode]) -> list[FacilityNode]:
        # Hospitals and services before townships; then by code.
        items.sort(key=lambda n: (-_TIER_RANK.get(n.facility.tier, 0), n.facility.code))
        for n in items:
            order(n.children)
        return items

    return order(roots)


def partner_hospitals(session: Session, admin: User) -> list[Facility]:
    """The provincial partners of the facilities in the jurisdiction."""
    ids = jurisdiction(session, admin)
    stmt = (select(Facility).join(Partnership, Partnership.partner_id == Facility.id)
            .where(Partnership.facility_id.in_(sorted(ids))).distinct().order_by(Facility.code))
    return list(session.scalars(stmt))


def facilities_for_accounts(session: Session, admin: User) -> list[Facility]:
    """Facilities where the admin may create accounts, by tier then code."""
    ids = jurisdiction(session, admin)
    rows = session.scalars(select(Facility).where(Facility.id.in_(sorted(ids)))).all()
    return sorted(rows, key=lambda f: (-_TIER_RANK.get(f.tier, 0), f.code))


def list_users(session: Session, admin: User, *, query: str = "", facility_id: int | None = None) -> list[User]:
    """Accounts at facilities of the jurisdiction, optionally filtered by name or facility."""
    ids = jurisdiction(session, admin)
    stmt = select(User).where(User.facility_id.in_(sorted(ids)))
    if facility_id is not None:
        stmt = stmt.where(User.facility_id == facility_id)
    q = (query or "").strip()
    if has_control_character(q):
        return []  # no stored name holds one, and PostgreSQL refuses NUL even in a search
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(User.username.like(pattern, escape="\\"), User.display_name.like(pattern, escape="\\")))
    return list(session.scalars(stmt.order_by(User.facility_id, User.username).limit(MAX_USERS_LISTED)))


def get_user(session: Session, admin: User, user_id: int) -> User:
    """One account of the jurisdiction; `not_found` for anyone else."""
    ids = jurisdiction(session, admin)
    user = session.get(User, user_id)
    if user is None or user.facility_id not in ids:
        raise NotFound("no such account")
    return user


def _require_may_manage(admin: User, user: User) -> None:
    """Accounts answer to the level above: only a system administrator changes a system
    administrator, and an administrator's account is changed by an administrator of a
    facility above theirs, not by a colleague at the same facility (who could otherwise
    take it over by resetting its password). Anyone may edit their own account."""
    if _is_sysadmin(admin) or user.id == admin.id:
        return
    if Role.SYSADMIN.value in (user.roles or ()):
        raise Forbidden("only a system administrator may change a system administrator")
    if Role.ADMIN.value in (user.roles or ()) and user.facility_id == admin.facility_id:
        raise Forbidden("an administrator's account is managed by an administrator of the facility above")


def _check_roles(admin: User, roles: list[str], specialties: list[str]) -> None:
    fields = {}
    if Role.SYSADMIN.value in roles and not _is_sysadmin(admin):
        fields["roles"] = "only a system administrator may grant sysadmin"
    if Role.SPECIALIST.value in roles and not specialties:
        fields["specialties"] = "a specialist needs at least one specialty"
    if fields:
        raise ValidationFailed("cannot save the account", fields=fields)


def _audit(session: Session, admin: User, action: str, target: User, **details) -> None:
    session.add(AuditEntry(actor_id=admin.id, action=action, object_type="user", object_id=target.id,
                           details=details))


@transactional
def create_account(session: Session, admin: User, *, username: str, password: str, display_name: str,
                   facility_id: int, roles: list[str], specialties: list[str], title: str = "") -> User:
    """A new account at a facility of the jurisdiction."""
    username = (username or "").strip().lower()
    validate_new_user(username, password, list(roles), list(specialties), display_name=display_name, title=title)
    _check_roles(admin, list(roles), list(specialties))
    if facility_id not in jurisdiction(session, admin):
        raise ValidationFailed("cannot save the account", fields={"facility_id": "not a facility you manage"})
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise Conflict(f"the username {username} is taken", fields={"username": "this username is taken"})
    user = User(username=username, display_name=(display_name or "").strip() or username, title=(title or "").strip(),
                password_hash=hash_password(password), facility_id=facility_id, roles=list(roles),
                specialties=list(specialties))
    session.add(user)
    session.flush()
    _audit(session, admin, "user.create", user, roles=list(roles), specialties=list(specialties))
    return user


@transactional
def update_account(session: Session, admin: User, user_id: int, *, display_name: str, title: str,
                   roles: list[str], specialties: list[str]) -> User:
    """Change an account's name, title, roles and specialties."""
    user = get_user(session, admin, user_id)
    if fields := {**profile_problems(display_name, title), **role_problems(list(roles), list(specialties))}:
        raise ValidationFailed("cannot save the account", fields=fields)
    _check_roles(admin, list(roles), list(specialties))
    if user.id == admin.id and Role.ADMIN.value not in roles and not _is_sysadmin(admin):
        raise ValidationFailed("cannot save the account", fields={"roles": "you cannot remove your own admin role"})
    _require_may_manage(admin, user)
    user.display_name = (display_name or "").strip() or user.username
    user.title = (title or "").strip()
    user.roles, user.specialties = list(roles), list(specialties)
    _audit(session, admin, "user.update", user, roles=list(roles), specialties=list(specialties))
    return user


@transactional
def set_active(session: Session, admin: User, user_id: int, active: bool) -> User:
    """Deactivate (sign-in refused, every session and token ended) or reactivate an account."""
    user = get_user(session, admin, user_id)
    if user.id == admin.id and not active:
        raise ValidationFailed("cannot deactivate", fields={"active": "you cannot deactivate your own account"})
    _require_may_manage(admin, user)
    user.active = active
    if not active:
        end_sessions(session, user)
    _audit(session, admin, "user.activate" if active else "user.deactivate", user)
    return user


@transactional
def reset_password(session: Session, admin: User, user_id: int, new_password: str) -> User:
    """Set a new password for an account (e.g. forgotten); its sessions and tokens end."""
    user = get_user(session, admin, user_id)
    if user.id == admin.id:
        raise Forbidden("change your own password on your account page, with your current password")
    if (problem := password_problem(new_password)) is not None:
        raise ValidationFailed("cannot set this password", fields={"password": problem})
    _require_may_manage(admin, user)
    user.password_hash = hash_password(new_password)
    end_sessions(session, user)
    _audit(session, admin, "user.reset_password", user)
    return user
