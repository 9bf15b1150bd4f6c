"""Notifications per recipient, county emergency notices with per-facility acknowledgement,
the editable SLA policy, and the record of SLA deadlines already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONType, UTCDateTime, utcnow
from .facility import Facility
from .user import User


class Notification(Base):
    """Something one person should know or act on; persisted so that an offline user finds it waiting."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_recipient_unread", "recipient_id", "read_at"),
        Index("ix_notifications_recipient_id_id", "recipient_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("emergency_notices.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(300), default="")
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmergencyNotice(Base):
    """A county-wide notice (an outbreak, a mass casualty); it stays on the record once sent."""

    __tablename__ = "emergency_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # What the author chose (tiers and facility ids), kept as written; `targets` are the facilities it resolved to.
    audience: Mapped[dict] = mapped_column(JSONType, default=dict)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    resent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resend_count: Mapped[int] = mapped_column(Integer, default=0)

    author: Mapped[User] = relationship(lazy="joined")
    targets: Mapped[list[NoticeTarget]] = relationship(
        back_populates="notice", order_by="NoticeTarget.id", lazy="selectin"
    )
    attachments: Mapped[list[NoticeAttachment]] = relationship(
        back_populates="notice", order_by="NoticeAttachment.id", lazy="selectin"
    )


class NoticeTarget(Base):
    """One facility a notice was sent to, and its acknowledgement (by whoever of its staff read it first)."""

    __tablename__ = "notice_targets"
    __table_args__ = (UniqueConstraint("notice_id", "facility_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("emergency_notices.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    send_count: Mapped[int] = mapped_column(Integer, default=1)
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    notice: Mapped[EmergencyNotice] = relationship(back_populates="targets")
    facility: Mapped[Facility] = relationship(lazy="joined")
    acknowledged_by: Mapped[User | None] = relationship(lazy="joined")


class NoticeAttachment(Base):
    """A file sent with a notice, stored content-addressed (SHA-256) under the data directory."""

    __tablename__ = "notice_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("emergency_notices.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))

    notice: Mapped[EmergencyNotice] = relationship(back_populates="attachments")


class SlaPolicyRow(Base):
    """One window of the SLA policy as the county admin set it; `tier` None is the default for every tier."""

    __tablename__ = "sla_policy"
    __table_args__ = (UniqueConstraint("urgency", "tier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    urgency: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(16))
    claim_minutes: Mapped[int] = mapped_column(Integer)
    advice_minutes: Mapped[int] = mapped_column(Integer)
    on_breach: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SlaMark(Base):
    """A warning or breach of one deadline of one hop, handled once: the unique key makes the
    timer idempotent (and makes a second runner racing the first fail instead of acting twice)."""

    __tablename__ = "sla_marks"
    __table_args__ = (UniqueConstraint("hop_id", "kind", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hop_id: Mapped[int] = mapped_column(ForeignKey("hops.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # claim_warning, claim_breach, advice_warning, advice_breach
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(16), default="notify")
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
