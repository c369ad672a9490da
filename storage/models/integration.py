"""Hospital integration: orders received from a HIS over HL7 v2, HL7 endpoints and their result deliveries."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, UTCDateTime, str_enum, utcnow
from storage.models.clinical import Patient
from storage.models.enums import Urgency


class Order(Base):
    """An ECG order placed by a hospital information system (HL7 ORM^O01 / OML^O21).

    One row per (site, placer order number): a retransmitted order is the same
    order. ``status`` is ``scheduled`` until a study fulfils it (``completed``)
    or the HIS cancels it (``cancelled``).
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("site_id", "placer_order_number"),
        Index("ix_orders_site_status", "site_id", "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    placer_order_number: Mapped[str] = mapped_column(String(64))
    filler_order_number: Mapped[str] = mapped_column(String(64), default="")
    accession_number: Mapped[str] = mapped_column(String(64), default="")
    service_code: Mapped[str] = mapped_column(String(64), default="")
    service_text: Mapped[str] = mapped_column(String(200), default="")
    requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency, 16))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    study_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("studies.id"), nullable=True, index=True)
    sending_facility: Mapped[str] = mapped_column(String(100))
    message_type: Mapped[str] = mapped_column(String(16))
    message_control_id: Mapped[str] = mapped_column(String(64))
    cancel_control_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    patient: Mapped[Patient] = relationship(lazy="joined")


class Hl7Facility(Base):
    """Admin-configured mapping of an HL7 sending facility (MSH-4.1) to one of our sites."""

    __tablename__ = "hl7_facilities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sending_facility: Mapped[str] = mapped_column(String(100), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)


class Hl7Endpoint(Base):
    """Where a site's results go: an MLLP peer (host, port). Only events after ``enabled_at`` are sent."""

    __tablename__ = "hl7_endpoints"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    receiving_application: Mapped[str] = mapped_column(String(100), default="")
    receiving_facility: Mapped[str] = mapped_column(String(100), default="")
    enabled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Highest event id queued for this site: the outbox scans only events after it (less a margin
    #: for transactions that committed out of id order), not the site's whole event history.
    event_cursor: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


class Hl7Delivery(Base):
    """One ORU^R01 for one report event to a site's MLLP endpoint, retried with backoff (durable outbox)."""

    __tablename__ = "hl7_deliveries"
    __table_args__ = (Index("ix_hl7_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id"),
                                          unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("studies.id"))
    report_version: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    control_id: Mapped[str] = mapped_column(String(64), unique=True)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ack_code: Mapped[str] = mapped_column(String(2), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
