"""Attachments and imaging: content-addressed files, photos and PDF reports on a case,
and the DICOM index (study -> series -> instance).

A study belongs either to a case (uploaded to it, or attached from an inbox) or
to a facility's DICOM inbox (received over the network and not yet attached).
The index is kept per owner, so a case shows exactly what was attached to it;
the files themselves are shared by content (SHA-256) and stored once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONType, UTCDateTime, utcnow
from .user import User


class StoredFile(Base):
    """One file under the data directory, named by the SHA-256 of its bytes."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(Base):
    """A photo (JPEG/PNG) or a PDF report attached to a case."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("case_id", "file_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    kind: Mapped[str] = mapped_column(String(16))  # photo | pdf
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    file: Mapped[StoredFile] = relationship(lazy="joined")
    uploaded_by: Mapped[User | None] = relationship(lazy="joined")


class Study(Base):
    """A DICOM study as attached to one case, or waiting in one facility's inbox.

    `safety` is the patient-identity check against the case's patient: `ok`
    (nothing disagrees), `mismatch` (hidden from specialists until the doctor
    confirms) or `confirmed` (a doctor confirmed it belongs to this patient).
    """

    __tablename__ = "studies"
    __table_args__ = (
        UniqueConstraint("case_id", "study_uid"),
        UniqueConstraint("inbox_facility_id", "study_uid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_uid: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    inbox_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), index=True)
    patient_name: Mapped[str] = mapped_column(String(200), default="")
    patient_id: Mapped[str] = mapped_column(String(64), default="")
    patient_sex: Mapped[str] = mapped_column(String(16), default="")
    patient_birth_date: Mapped[date | None] = mapped_column(Date)
    study_date: Mapped[date | None] = mapped_column(Date)
    study_time: Mapped[str] = mapped_column(String(16), default="")
    accession_number: Mapped[str] = mapped_column(String(16), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    modalities: Mapped[list[str]] = mapped_column(JSONType, default=list)
    instance_count: Mapped[int] = mapped_column(Integer, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    safety: Mapped[str] = mapped_column(String(16), default="ok")
    differences: Mapped[list] = mapped_column(JSONType, default=list)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(100), default="")  # upload | stow | AE title of the sender
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    series: Mapped[list[Series]] = relationship(
        back_populates="study", order_by="[Series.number, Series.id]", cascade="all, delete-orphan"
    )
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id], lazy="joined")


class Series(Base):
    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("study_id", "series_uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    series_uid: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(16), default="")
    number: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200), default="")
    body_part: Mapped[str] = mapped_column(String(64), default="")
    instance_count: Mapped[int] = mapped_column(Integer, default=0)

    study: Mapped[Study] = relationship(back_populates="series")
    instances: Mapped[list[Instance]] = relationship(
        back_populates="series", order_by="[Instance.sort_key, Instance.id]", cascade="all, delete-orphan"
    )


class Instance(Base):
    """One DICOM object (an image, possibly multi-frame) and the facts needed to show it."""

    __tablename__ = "instances"
    __table_args__ = (
        UniqueConstraint("study_id", "sop_uid"),
        Index("ix_instances_series_sort", "series_id", "sort_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"))
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"), index=True)
    sop_uid: Mapped[str] = mapped_column(String(64))
    sop_class_uid: Mapped[str] = mapped_column(String(64), default="")
    transfer_syntax: Mapped[str] = mapped_column(String(64), default="")
    number: Mapped[int | None] = mapped_column(Integer)
    sort_key: Mapped[float] = mapped_column(default=0.0)
    frames: Mapped[int] = mapped_column(Integer, default=1)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    columns: Mapped[int] = mapped_column(Integer, default=0)
    # Display facts: pixel spacing, default window, photometric interpretation, key tags.
    facts: Mapped[dict] = mapped_column(JSONType, default=dict)
    filename: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    series: Mapped[Series] = relationship(back_populates="instances")
    file: Mapped[StoredFile] = relationship(lazy="joined")


class UploadSession(Base):
    """A chunked, resumable upload in progress; the received bytes live in a part file.

    The bytes on disk are the truth about how much arrived (each chunk is fsynced
    before it is acknowledged), so a dropped connection resumes where it stopped.
    """

    __tablename__ = "upload_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
