"""The consult aggregate: a case's video room sessions, who took part, invitations, recordings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .user import User


class ConsultSession(Base):
    """One life of a case's room: from the first person joining to the last one leaving."""

    __tablename__ = "consult_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # Set to case_id while the session is open, NULL once it ends: the unique index lets at most one
    # session per case be open, even when two server processes start one at the same moment.
    open_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column()

    participants: Mapped[list[ConsultParticipant]] = relationship(
        back_populates="session", order_by="ConsultParticipant.id", lazy="selectin"
    )


class ConsultParticipant(Base):
    """One connection's stay in a session (a person who reconnects has several)."""

    __tablename__ = "consult_participants"
    __table_args__ = (Index("ix_consult_participants_sid", "sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("consult_sessions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sid: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="participant")  # participant, recorder, streamer
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[ConsultSession] = relationship(back_populates="participants")
    user: Mapped[User] = relationship(lazy="joined")


class ConsultInvitation(Base):
    """A specialist brought into a case's room by an assignee; a member until revoked."""

    __tablename__ = "consult_invitations"
    __table_args__ = (Index("ix_consult_invitations_case_invitee", "case_id", "invitee_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    invitee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    inviter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invitee: Mapped[User] = relationship(foreign_keys=[invitee_id], lazy="joined")
    inviter: Mapped[User] = relationship(foreign_keys=[inviter_id], lazy="joined")


class Recording(Base):
    """A recorded consult: a WebM file under the data directory, attached to the case."""

    __tablename__ = "consult_recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("consult_sessions.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="starting")  # starting, recording, ready, failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stop_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    path: Mapped[str | None] = mapped_column(String(300))  # relative to the data directory
    content_type: Mapped[str] = mapped_column(String(60), default="video/webm")
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(Text, default="")

    requested_by: Mapped[User] = relationship(lazy="joined")
