"""The reading queue: reader coverage, claims (leases), signed reports, critical notices, escalations."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, JSONType, UTCDateTime, str_enum, utcnow
from storage.models.enums import ClaimOutcome


class ReaderCoverage(Base):
    """A reader covers (may read studies of) a site."""

    __tablename__ = "reader_coverage"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)


class Claim(Base):
    """A reader's lease on a study. At most one open claim (``ended_at`` null) per study."""

    __tablename__ = "claims"
    __table_args__ = (
        Index("ix_claims_reader", "reader_id", "ended_at"),
        # The housekeeper's scan for lapsed leases reads open claims only (a few per reader),
        # never the history of ended ones.
        Index("ix_claims_open_lease", "lease_until", postgresql_where=text("ended_at IS NULL"),
              sqlite_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("studies.id"), index=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outcome: Mapped[ClaimOutcome | None] = mapped_column(str_enum(ClaimOutcome, 16), nullable=True)
    #: Non-null while open (the study id), null once ended: a unique index on it allows
    #: one open claim per study on SQLite and PostgreSQL alike.
    open_study_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, unique=True)


class Report(Base):
    """A signed report version. Never updated: an amendment is a new row that supersedes it."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("study_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("studies.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    statements: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    free_text: Mapped[str] = mapped_column(Text, default="")
    measurements: Mapped[dict[str, Any]] = mapped_column(JSONType)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), nullable=True)
    amendment_reason: Mapped[str] = mapped_column(Text, default="")
    #: The reader's plain-language words for the family (phone page, PDF); empty when none were written.
    patient_explanation: Mapped[str] = mapped_column(Text, default="", server_default="")


class CriticalNotice(Base):
    """A critical result the clinic must acknowledge (closed-loop critical-value reporting)."""

    __tablename__ = "critical_notices"
    __table_args__ = (UniqueConstraint("study_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("studies.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The closed loop (危急值报告制度): who at the clinic received the value, whom they told and when,
    # what that person repeated back (复述), and what was done. Null until acknowledged.
    received_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    received_by_role: Mapped[str | None] = mapped_column(String(100), nullable=True)
    told_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    told_role: Mapped[str | None] = mapped_column(String(100), nullable=True)
    told_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    read_back: Mapped[str | None] = mapped_column(Text, nullable=True)
    action_taken: Mapped[str | None] = mapped_column(Text, nullable=True)


class Escalation(Base):
    """Something late: an unacknowledged critical notice, an unclaimed stat study, an overdue read.

    Raised once per (kind, study); the notification layer reads these rows.
    """

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("kind", "study_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("studies.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    detail: Mapped[str] = mapped_column(Text, default="")
