"""Whose queue shows a case waiting at a facility: the rule, in one place.

A specialist's queue holds the submitted cases whose current hop is open at their facility
in one of their specialties; a general practitioner triages everything that reaches their
facility. The services turn the same answer into SQL (`worklists.queue_filter`) and into the
list of people to notify (`notifications.service.queue_specialists`).
"""

from __future__ import annotations

from collections.abc import Iterable

from .vocabulary import Role

TRIAGES_EVERYTHING = "general_practice"


def queued_specialties(roles: Iterable[str], specialties: Iterable[str]) -> frozenset[str] | None:
    """The specialties whose cases the person's queue shows: None for all of them (a general
    practitioner), an empty set for someone who is not a specialist."""
    if Role.SPECIALIST.value not in set(roles or ()):
        return frozenset()
    own = frozenset(specialties or ())
    return None if TRIAGES_EVERYTHING in own else own


def shows_in_queue(roles: Iterable[str], specialties: Iterable[str], specialty: str) -> bool:
    """Whether a case of `specialty` waiting at the person's facility is in their queue."""
    queued = queued_specialties(roles, specialties)
    return queued is None or specialty in queued
