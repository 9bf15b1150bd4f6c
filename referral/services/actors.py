"""Turning a user row into the facts the domain rules reason about."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.access import CaseScope, case_scope
from ..domain.vocabulary import Role
from ..domain.workflow import ActorFacts
from ..models import Facility, User


def actor_facts(user: User) -> ActorFacts:
    return ActorFacts(
        user_id=user.id,
        facility_id=user.facility_id,
        roles=frozenset(user.roles or ()),
        specialties=frozenset(user.specialties or ()),
    )


def facility_subtree(session: Session, root_id: int) -> frozenset[int]:
    """The facility and every facility below it (the admin's jurisdiction)."""
    parents = dict(session.execute(select(Facility.id, Facility.parent_id)).all())
    children: dict[int | None, list[int]] = {}
    for fid, pid in parents.items():
        children.setdefault(pid, []).append(fid)
    seen, stack = {root_id}, [root_id]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return frozenset(seen)


def scope_of(session: Session, user: User) -> CaseScope:
    """The cases `user` may see (see domain/access.py for the rule)."""
    facts = actor_facts(user)
    jurisdiction = facility_subtree(session, user.facility_id) if facts.has_role(Role.ADMIN) else frozenset()
    return case_scope(facts, jurisdiction)
