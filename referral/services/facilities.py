"""The facility directory (not sensitive: every signed-in user may read it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import ValidationFailed
from ..domain.vocabulary import Tier
from ..models import Facility


def list_facilities(session: Session, *, tier: str | None = None, parent: int | None = None) -> list[Facility]:
    if tier and tier not in Tier.__members__.values():
        raise ValidationFailed("invalid filter", fields={"tier": "one of village, township, county, provincial"})
    stmt = select(Facility).order_by(Facility.tier, Facility.code)
    if tier:
        stmt = stmt.where(Facility.tier == tier)
    if parent is not None:
        stmt = stmt.where(Facility.parent_id == parent)
    return list(session.scalars(stmt))
