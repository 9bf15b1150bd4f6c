"""Diagnostic advice: versioned, signed; each version is immutable once issued."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONType, UTCDateTime, utcnow
from .user import User


class Advice(Base):
    __tablename__ = "advice"
    __table_args__ = (Index("ix_advice_case_version", "case_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    hop_id: Mapped[int] = mapped_column(ForeignKey("hops.id"))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSONType)
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The signer's credentials as they were at signing time (title, specialties, facility).
    signer_credentials: Mapped[dict] = mapped_column(JSONType, default=dict)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verify_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    pdf_path: Mapped[str | None] = mapped_column(String(300))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    signer: Mapped[User] = relationship(lazy="joined")
