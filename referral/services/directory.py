"""The facility directory over the database, as routing needs it."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..domain.routing import FacilityRef
from ..domain.vocabulary import FacilityKind, Tier
from ..models import Facility, Partnership


def ref(f: Facility) -> FacilityRef:
    return FacilityRef(id=f.id, tier=Tier(f.tier), kind=FacilityKind(f.kind), name=f.name)


class DbDirectory:
    """Implements `domain.routing.Directory` with queries."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _get(self, facility_id: int) -> Facility:
        return self.session.get(Facility, facility_id)

    def parent(self, facility: FacilityRef) -> FacilityRef | None:
        f = self._get(facility.id)
        return ref(f.parent) if f.parent is not None else None

    def _root(self, facility_id: int) -> Facility:
        f = self._get(facility_id)
        while f.parent is not None:
            f = f.parent
        return f

    def county_facility(self, facility: FacilityRef, kind: FacilityKind) -> FacilityRef | None:
        root = self._root(facility.id)
        stmt = select(Facility).where(
            Facility.tier == Tier.COUNTY.value, Facility.kind == kind.value,
            or_(Facility.parent_id == root.id, Facility.id == root.id),
        )
        found = self.session.scalars(stmt.order_by(Facility.id)).first()
        return ref(found) if found else None

    def partner(self, facility: FacilityRef, specialty: str) -> FacilityRef | None:
        rows = self.session.scalars(
            select(Partnership).where(
                Partnership.facility_id == facility.id,
                or_(Partnership.specialty == specialty, Partnership.specialty.is_(None)),
            )
        ).all()
        # A partnership for the specialty wins over the catch-all one.
        rows = sorted(rows, key=lambda p: (p.specialty is None, p.id))
        return ref(rows[0].partner) if rows else None
