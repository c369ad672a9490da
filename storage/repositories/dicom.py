"""DICOM peers (AE title -> site), the worklist's order look-ups, PACS destinations and the PACS outbox."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from storage.models import DicomDelivery, DicomPacs, DicomPeer, Event, Order, Patient


class DicomRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- peers ------------------------------------------------------------------------
    def peer(self, ae_title: str) -> DicomPeer | None:
        return self.session.scalar(select(DicomPeer).where(DicomPeer.ae_title == ae_title))

    def peer_by_id(self, peer_id: int) -> DicomPeer | None:
        return self.session.get(DicomPeer, peer_id)

    def peers(self) -> list[DicomPeer]:
        return list(self.session.scalars(select(DicomPeer).order_by(DicomPeer.ae_title)))

    def add_peer(self, peer: DicomPeer) -> DicomPeer:
        self.session.add(peer)
        self.session.flush()
        return peer

    def delete_peer(self, peer: DicomPeer) -> None:
        self.session.delete(peer)
        self.session.flush()

    # -- orders -------------------------------------------------------------------------
    def order_by_accession(self, site_id: int, accession_number: str) -> Order | None:
        """The site's order with this accession number that is not cancelled (newest first)."""
        stmt = (select(Order).where(Order.site_id == site_id, Order.accession_number == accession_number,
                                    Order.status != "cancelled").order_by(Order.id.desc()).limit(1))
        return self.session.scalar(stmt)

    def worklist(self, site_id: int, *, requested_from: dt.datetime | None, requested_to: dt.datetime | None,
                 patient_external_id: str | None, accession_number: str | None, limit: int) -> list[Order]:
        """The site's scheduled orders, earliest requested first; an order without a requested time
        is left out when a date range is asked for."""
        stmt = (select(Order).join(Patient, Patient.id == Order.patient_id)
                .where(Order.site_id == site_id, Order.status == "scheduled"))
        if requested_from is not None:
            stmt = stmt.where(Order.requested_at >= requested_from)
        if requested_to is not None:
            stmt = stmt.where(Order.requested_at < requested_to)
        if patient_external_id is not None:
            stmt = stmt.where(Patient.external_id == patient_external_id)
        if accession_number is not None:
            stmt = stmt.where(Order.accession_number == accession_number)
        return list(self.session.scalars(stmt.order_by(Order.requested_at, Order.id).limit(limit)))

    # -- PACS destinations ----------------------------------------------------------------
    def pacs(self, site_id: int | None) -> DicomPacs | None:
        """The site's own PACS (``site_id`` None: the hub's)."""
        cond = DicomPacs.site_id.is_(None) if site_id is None else DicomPacs.site_id == site_id
        return self.session.scalar(select(DicomPacs).where(cond).order_by(DicomPacs.id).limit(1))

    def set_pacs(self, site_id: int | None, pacs: DicomPacs | None) -> None:
        """Replace the site's (or the hub's) destination; None removes it. Every hub row goes (NULL is
        not unique: two replicas syncing a new setting at once may each have added one)."""
        cond = DicomPacs.site_id.is_(None) if site_id is None else DicomPacs.site_id == site_id
        for old in self.session.scalars(select(DicomPacs).where(cond)):
            self.session.delete(old)
        self.session.flush()
        if pacs is not None:
            self.session.add(pacs)
        self.session.flush()

    # -- outbox ---------------------------------------------------------------------------
    #: Events from ``event_cursor - CURSOR_MARGIN`` on are looked at (late-committing transactions).
    CURSOR_MARGIN = 1000

    def unqueued_report_events(self, limit: int = 50) -> list[tuple[Event, DicomPacs]]:
        """Report events without a PACS delivery, each with its destination: the site's own PACS,
        else the hub's; only events raised after that destination was set."""
        own = aliased(DicomPacs)
        has_own = exists().where(own.site_id == Event.site_id)
        dest = or_(DicomPacs.site_id == Event.site_id, and_(DicomPacs.site_id.is_(None), ~has_own))
        stmt = (
            select(Event, DicomPacs)
            .join(DicomPacs, dest)
            .outerjoin(DicomDelivery, DicomDelivery.event_id == Event.id)
            .where(Event.type.in_(("report.signed", "report.amended")), DicomDelivery.id.is_(None),
                   Event.created_at >= DicomPacs.enabled_at, Event.id > DicomPacs.event_cursor - self.CURSOR_MARGIN)
            .order_by(Event.id)
            .limit(limit)
        )
        return [(e, p) for e, p in self.session.execute(stmt)]

    def add_delivery(self, delivery: DicomDelivery) -> DicomDelivery:
        self.session.add(delivery)
        self.session.flush()
        return delivery

    def due_deliveries(self, now: dt.datetime, limit: int = 10, lock: bool = True) -> list[DicomDelivery]:
        """Pending deliveries whose time has come, locked unless ``lock`` is false (to only look)."""
        stmt = (select(DicomDelivery)
                .where(DicomDelivery.status == "pending", DicomDelivery.next_attempt_at <= now)
                .order_by(DicomDelivery.next_attempt_at, DicomDelivery.id).limit(limit))
        return list(self.session.scalars(stmt.with_for_update(skip_locked=True) if lock else stmt))

    def deliveries_for_site(self, site_id: int, limit: int = 200) -> list[DicomDelivery]:
        stmt = (select(DicomDelivery).where(DicomDelivery.site_id == site_id)
                .order_by(DicomDelivery.id.desc()).limit(limit))
        return list(self.session.scalars(stmt))
