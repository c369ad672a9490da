"""Patients, studies, their recordings and analyses."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Index,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, JSONType, UTCDateTime, str_enum, utcnow
from storage.models.enums import ReaderPool, Sex, StudyStatus, Urgency


class Patient(Base):
    """A patient as known to one site (the clinic's own id). Minimal personal data."""

    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("site_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, 1))
    birth_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class Study(Base):
    """One ECG examination uploaded by a site."""

    __tablename__ = "studies"
    __table_args__ = (
        UniqueConstraint("site_id", "idempotency_key"),
        Index("ix_studies_site_received", "site_id", "received_at"),
        Index("ix_studies_status", "status"),
        Index("ix_studies_queue", "status", "priority_rank", "due_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    acquired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: Where ``acquired_at`` (and so the patient's age) came from: 'device' (the file's header),
    #: 'form' (typed by the clinic) or 'server_receipt' (the device clock was wrong). Null: stored
    #: before this was recorded.
    acquired_at_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    indication: Mapped[str] = mapped_column(Text, default="")
    clinic_urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency, 16))
    status: Mapped[StudyStatus] = mapped_column(str_enum(StudyStatus, 32))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[Urgency] = mapped_column(str_enum(Urgency, 16))
    #: 0 stat, 1 urgent, 2 routine: lets the queue order by an index instead of a CASE.
    priority_rank: Mapped[int] = mapped_column(SmallInteger, default=2)
    pool: Mapped[ReaderPool | None] = mapped_column(str_enum(ReaderPool, 16), nullable=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    analysis_attempts: Mapped[int] = mapped_column(Integer, default=0)

    patient: Mapped[Patient] = relationship(lazy="joined")
    # Eager: code that renders a study after its commit must not start a new transaction lazily
    # (on SQLite that would take the write lock from a thread the request no longer owns).
    recording: Mapped["Recording"] = relationship(back_populates="study", lazy="joined")


class Recording(Base):
    """What was uploaded for a study: normalised metadata plus the original files, kept unchanged."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("studies.id"), unique=True)
    format: Mapped[str] = mapped_column(String(32))
    fs_hz: Mapped[float] = mapped_column(Float)
    leads: Mapped[list[str]] = mapped_column(JSONType)
    n_samples: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float] = mapped_column(Float)
    start_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    warnings: Mapped[list[str]] = mapped_column(JSONType, default=list)
    file_demographics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    study: Mapped[Study] = relationship(back_populates="recording")
    files: Mapped[list["RecordingFile"]] = relationship(
        lazy="selectin", order_by="RecordingFile.position", cascade="all, delete-orphan"
    )


class RecordingFile(Base):
    """One original uploaded file (a WFDB record is a .hea plus one or more .dat files)."""

    __tablename__ = "recording_files"
    __table_args__ = (UniqueConstraint("recording_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    blob_key: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)


class Analysis(Base):
    """Result of the automated pipeline; recomputable from the recording."""

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("studies.id"), index=True)
    pipeline_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    duration_ms: Mapped[float] = mapped_column(Float)
    quality_verdict: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
