"""Facilities of the county medical community and their partnerships with provincial hospitals."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONType


class Facility(Base):
    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    tier: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), index=True)
    specialties: Mapped[list[str]] = mapped_column(JSONType, default=list)
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")

    parent: Mapped[Facility | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Facility]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Facility {self.code} {self.tier}>"


class Partnership(Base):
    """A county hospital's partner at the provincial tier, for a specialty (None = any)."""

    __tablename__ = "partnerships"
    __table_args__ = (UniqueConstraint("facility_id", "partner_id", "specialty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    specialty: Mapped[str | None] = mapped_column(String(40))

    partner: Mapped[Facility] = relationship(foreign_keys=[partner_id])
