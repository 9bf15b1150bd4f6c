"""The access rule: who may see which cases. One rule, two forms.

`case_scope(actor, jurisdiction)` computes the caller's scope once; the scope
answers for a single case (`admits`) and is turned into a SQL filter by the
service layer (`services/access.py`) from the same fields, so the predicate
and the query can never disagree.

- A doctor sees the cases their facility originated.
- A specialist sees the cases that are or were at their facility.
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

    @property
    def empty(self) -> bool:
        return not (self.everything or self.origin_facility_ids or self.hop_facility_ids)

    def admits(self, origin_facility_id: int, hop_facility_ids: Iterable[int]) -> bool:
        """Whether a case with these facts is inside the scope."""
        if self.everything or origin_facility_id in self.origin_facility_ids:
            return True
        return any(f in self.hop_facility_ids for f in hop_facility_ids)


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
    return CaseScope(False, frozenset(origin), frozenset(hops))


def can_administer(actor: ActorFacts) -> bool:
    """Reports, user management of the jurisdiction."""
    return actor.has_role(Role.ADMIN) or actor.has_role(Role.SYSADMIN)
