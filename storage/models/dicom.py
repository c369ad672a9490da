"""Hospital integration over DICOM: ECG carts (AE titles) mapped to sites, PACS destinations, PACS deliveries."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class DicomPeer(Base):
    """An ECG cart (or a modality gateway) known by its calling AE title, whose studies belong to ``site_id``.

    An association from an AE title not in this table is rejected; the worklist a
    peer sees and the studies it sends are those of its site only.
    """

    __tablename__ = "dicom_peers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ae_title: Mapped[str] = mapped_column(String(16), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DicomPacs(Base):
    """Where signed results go over DICOM C-STORE: a site's PACS, or (``site_id`` null) the hub's
    (from ``ECGHUB_DICOM_PACS``), used for sites without their own. Only report events raised after
    ``enabled_at`` are sent."""

    __tablename__ = "dicom_pacs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), unique=True, nullable=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    ae_title: Mapped[str] = mapped_column(String(16))
    enabled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Highest event id queued for this destination (the outbox scans from here, less a margin).
    event_cursor: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


class DicomDelivery(Base):
    """One signed report version sent to a PACS (the waveform object and the report as Encapsulated PDF),
    retried with backoff until the PACS stores both (durable outbox, like ``Hl7Delivery``)."""

    __tablename__ = "dicom_deliveries"
    __table_args__ = (Index("ix_dicom_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id"),
                                          unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    study_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("studies.id"))
    report_version: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    ae_title: Mapped[str] = mapped_column(String(16))
    study_instance_uid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
