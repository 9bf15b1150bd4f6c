"""The case aggregate: the referral, its hops between facilities, its timeline and messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONType, UTCDateTime, utcnow
from .facility import Facility
from .patient import Patient
from .user import User


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_origin_status", "origin_facility_id", "status"),
        Index("ix_cases_author_status", "author_id", "status"),
        # Reports: the cases submitted in a period, read from the index alone (a covering index).
        Index("ix_cases_submitted_report", "submitted_at", "origin_facility_id", "status", "outcome", "urgency",
              "specialty", "id"),
        # Home pages: a jurisdiction's cases, most recently changed first, without sorting them all.
        Index("ix_cases_updated", "updated_at", "id"),
        Index("ix_cases_status_updated", "status", "updated_at", "id"),
        # Reports: the origin of each hop's case outside the jurisdiction, read from the index alone.
        Index("ix_cases_id_origin", "id", "origin_facility_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    origin_facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    urgency: Mapped[str] = mapped_column(String(16))
    specialty: Mapped[str] = mapped_column(String(40))
    chief_complaint: Mapped[str] = mapped_column(Text)
    clinical_question: Mapped[str] = mapped_column(Text)
    history: Mapped[str] = mapped_column(Text, default="")
    vitals: Mapped[dict] = mapped_column(JSONType, default=dict)
    diagnoses: Mapped[list] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(20), index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))
    current_hop_id: Mapped[int | None] = mapped_column(
        ForeignKey("hops.id", use_alter=True, name="fk_cases_current_hop_id_hops"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The application sets `version` itself (see services/cases.py) and SQLAlchemy adds
    # "WHERE version = <old>" to every UPDATE: two writers racing get one StaleDataError.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    patient: Mapped[Patient] = relationship(lazy="joined")
    origin_facility: Mapped[Facility] = relationship(foreign_keys=[origin_facility_id], lazy="joined")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    hops: Mapped[list[Hop]] = relationship(
        back_populates="case", order_by="Hop.seq", foreign_keys="Hop.case_id", lazy="selectin"
    )
    current_hop: Mapped[Hop | None] = relationship(foreign_keys=[current_hop_id], post_update=True)


class Hop(Base):
    """One stay of a case at one facility; escalation closes a hop and opens the next."""

    __tablename__ = "hops"
    __table_args__ = (
        Index("ix_hops_facility_open", "facility_id", "closed_at"),
        Index("ix_hops_case_seq", "case_id", "seq", unique=True),
        # Reports: the stays that began in a period, read from the index alone (a covering index).
        Index("ix_hops_opened_report", "opened_at", "case_id", "facility_id", "tier", "specialty", "outcome",
              "claimed_at", "closed_at", "due_claim_at", "due_advice_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(16))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    specialty: Mapped[str] = mapped_column(String(40))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    routed_by: Mapped[str] = mapped_column(String(100), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_claim_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_advice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))

    case: Mapped[Case] = relationship(back_populates="hops", foreign_keys=[case_id])
    facility: Mapped[Facility] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(lazy="joined")

    @property
    def due_at(self) -> datetime | None:
        """The next deadline: to claim while unclaimed, to advise once claimed."""
        if self.closed_at is not None:
            return None
        return self.due_advice_at if self.claimed_at else self.due_claim_at


class Event(Base):
    """The append-only timeline of a case: every transition, message and attachment."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_case_id_id", "case_id", "id"), Index("ix_events_kind_at", "kind", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    hop_id: Mapped[int | None] = mapped_column(ForeignKey("hops.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None = the system
    kind: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="joined")


class Message(Base):
    """A message between the doctor and the specialist (information requests, answers, follow-ups)."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")
