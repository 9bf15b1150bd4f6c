"""Plain rows of what lists and pages show of cases, facilities, people and hops.

Readers that change nothing load these instead of models (see worklists.py and
case_view.py): they carry the models' attribute names, so templates, serializers and
the workflow's `case_facts` take either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table

from ..models import Hop


@dataclass(frozen=True, slots=True)
class FacilityLabel:
    id: int
    code: str
    name: str
    name_en: str
    tier: str


@dataclass(frozen=True, slots=True)
class PersonLabel:
    display_name: str


@dataclass(frozen=True, slots=True)
class UserLabel:
    """A person named on a row: who wrote or holds the case."""

    id: int
    username: str
    display_name: str
    title: str | None


@dataclass(frozen=True, slots=True)
class HopRow:
    """One stay of a case at a facility; `due_at` is the model's own rule."""

    id: int
    seq: int
    tier: str
    facility_id: int
    specialty: str
    assignee_id: int | None
    routed_by: str
    opened_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None
    due_claim_at: datetime | None
    due_advice_at: datetime | None
    outcome: str | None
    facility: FacilityLabel
    assignee: UserLabel | None

    due_at = property(Hop.due_at.fget)


def hop_columns(hop: Table, facility: Table, assignee: Table) -> tuple:
    """The columns `hop_row` reads, from (aliases of) the hops, facilities and users tables."""
    return (hop.c.id, hop.c.seq, hop.c.tier, hop.c.facility_id, hop.c.specialty, hop.c.assignee_id, hop.c.routed_by,
            hop.c.opened_at, hop.c.claimed_at, hop.c.closed_at, hop.c.due_claim_at, hop.c.due_advice_at,
            hop.c.outcome, facility.c.code, facility.c.name, facility.c.name_en, facility.c.tier,
            assignee.c.username, assignee.c.display_name, assignee.c.title)


HOP_WIDTH = 20  # len(hop_columns(...))


def hop_row(values: Sequence) -> HopRow | None:
    """The hop of `hop_columns` values; None when they are empty (an outer join found no hop)."""
    (hid, seq, tier, facility_id, specialty, assignee_id, routed_by, opened_at, claimed_at, closed_at, due_claim_at,
     due_advice_at, outcome, f_code, f_name, f_name_en, f_tier, a_username, a_name, a_title) = values
    if hid is None:
        return None
    return HopRow(
        hid, seq, tier, facility_id, specialty, assignee_id, routed_by, opened_at, claimed_at, closed_at,
        due_claim_at, due_advice_at, outcome,
        FacilityLabel(facility_id, f_code, f_name, f_name_en or "", f_tier),
        UserLabel(assignee_id, a_username, a_name, a_title) if assignee_id is not None else None,
    )
