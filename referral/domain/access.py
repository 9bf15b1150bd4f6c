"""The access rule: who may see which cases. One rule, two forms.

`case_scope(actor, jurisdiction)` computes the caller's scope once; the scope
answers for a single case (`admits`) and is turned into a SQL filter by the
service layer (`services/access.py`) from the same fields, so the predicate
and the query can never disagree.

- A doctor sees the cases their facility originated.
- A specialist sees the cases that are or were at their facility, and the cases
  whose consult they were invited to (until the invitation is revoked): an
  invited provincial expert must read the case to advise on it.
- An admin sees the cases that originated in or passed through their
  jurisdiction (their facility and every facility below it).
- A sysadmin's jurisdiction is everything.
- Nobody sees anything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .vocabulary import Role
from .workflow import ActorFacts


@dataclass(frozen=True)
class CaseScope:
    everything: bool = False
    origin_facility_ids: frozenset[int] = frozenset()
    hop_facility_ids: frozenset[int] = frozenset()
    invited_user_id: int | None = None

    @property
    def empty(self) -> bool:
        return not (self.everything or self.origin_facility_ids or self.hop_facility_ids or self.invited_user_id)

    def admits(
        self, origin_facility_id: int, hop_facility_ids: Iterable[int], invited_user_ids: Iterable[int] = ()
    ) -> bool:
        """Whether a case with these facts is inside the scope."""
        if self.everything or origin_facility_id in self.origin_facility_ids:
            return True
        if any(f in self.hop_facility_ids for f in hop_facility_ids):
            return True
        return self.invited_user_id is not None and self.invited_user_id in set(invited_user_ids)


def case_scope(actor: ActorFacts, jurisdiction: frozenset[int] = frozenset()) -> CaseScope:
    """The set of cases `actor` may see. `jurisdiction` is the admin's facility subtree."""
    if actor.has_role(Role.SYSADMIN):
        return CaseScope(everything=True)
    origin: set[int] = set()
    hops: set[int] = set()
    if actor.has_role(Role.DOCTOR):
        origin.add(actor.facility_id)
    if actor.has_role(Role.SPECIALIST):
        hops.add(actor.facility_id)
    if actor.has_role(Role.ADMIN):
        area = jurisdiction or frozenset({actor.facility_id})
        origin |= area
        hops |= area
    invited = actor.user_id if actor.has_role(Role.SPECIALIST) else None
    return CaseScope(False, frozenset(origin), frozenset(hops), invited)


def can_administer(actor: ActorFacts) -> bool:
    """Reports, user management of the jurisdiction."""
    return actor.has_role(Role.ADMIN) or actor.has_role(Role.SYSADMIN)
