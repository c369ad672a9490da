"""Orders from hospital systems, HL7 facility mappings and endpoints, and the HL7 result outbox."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from storage.models import Event, Hl7Delivery, Hl7Endpoint, Hl7Facility, Order, Patient, Report, Study


class OrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, order: Order) -> Order:
        self.session.add(order)
        self.session.flush()
        return order

    def get(self, order_id: int) -> Order | None:
        return self.session.get(Order, order_id)

    def by_placer_number(self, site_id: int, placer_order_number: str) -> Order | None:
        stmt = select(Order).where(Order.site_id == site_id, Order.placer_order_number == placer_order_number)
        return self.session.scalar(stmt)

    def for_study(self, study_id: uuid.UUID) -> Order | None:
        return self.session.scalar(select(Order).where(Order.study_id == study_id).order_by(Order.id).limit(1))

    def scheduled_for_patient(self, site_id: int, patient_id: int) -> list[Order]:
        """The patient's open orders, oldest requested first."""
        stmt = (select(Order).where(Order.site_id == site_id, Order.patient_id == patient_id,
                                    Order.status == "scheduled").order_by(Order.requested_at, Order.id))
        return list(self.session.scalars(stmt))

    def search(self, *, site_id: int | None, status: str | None = None, patient_external_id: str | None = None,
               patient_ids: list[int] | None = None,
               requested_from: dt.datetime | None = None, requested_to: dt.datetime | None = None,
               limit: int = 100) -> list[Order]:
        """Orders newest requested first; ``site_id=None`` means all sites (hub admins)."""
        stmt = select(Order).join(Patient, Patient.id == Order.patient_id)
        if site_id is not None:
            stmt = stmt.where(Order.site_id == site_id)
        if status is not None:
            stmt = stmt.where(Order.status == status)
        if patient_external_id is not None:
            stmt = stmt.where(Patient.external_id == patient_external_id)
        if patient_ids is not None:
            stmt = stmt.where(Order.patient_id.in_(patient_ids))
        if requested_from is not None:
            stmt = stmt.where(Order.requested_at >= requested_from)
        if requested_to is not None:
            stmt = stmt.where(Order.requested_at < requested_to)
        return list(self.session.scalars(stmt.order_by(Order.requested_at.desc(), Order.id.desc()).limit(limit)))


class Hl7Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- sending-facility mapping -----------------------------------------------------
    def site_for_facility(self, sending_facility: str) -> int | None:
        stmt = select(Hl7Facility.site_id).where(Hl7Facility.sending_facility == sending_facility)
        return self.session.scalar(stmt)

    def facilities(self, site_id: int) -> list[Hl7Facility]:
        stmt = select(Hl7Facility).where(Hl7Facility.site_id == site_id).order_by(Hl7Facility.sending_facility)
        return list(self.session.scalars(stmt))

    def facility(self, sending_facility: str) -> Hl7Facility | None:
        return self.session.scalar(select(Hl7Facility).where(Hl7Facility.sending_facility == sending_facility))

    def set_facilities(self, site_id: int, names: list[str]) -> None:
        """Replace the site's mapped facilities (callers check that none belongs to another site)."""
        for f in self.facilities(site_id):
            if f.sending_facility not in names:
                self.session.delete(f)
        have = {f.sending_facility for f in self.facilities(site_id)}
        for name in names:
            if name not in have:
                self.session.add(Hl7Facility(sending_facility=name, site_id=site_id))
        self.session.flush()

    # -- endpoints --------------------------------------------------------------------
    def endpoint(self, site_id: int) -> Hl7Endpoint | None:
        return self.session.get(Hl7Endpoint, site_id)

    def set_endpoint(self, endpoint: Hl7Endpoint | None, site_id: int) -> None:
        old = self.endpoint(site_id)
        if old is not None:
            self.session.delete(old)
            self.session.flush()
        if endpoint is not None:
            self.session.add(endpoint)
        self.session.flush()

    # -- outbox -----------------------------------------------------------------------
    #: Events are looked at from ``event_cursor - CURSOR_MARGIN`` on: an event whose transaction
    #: committed after this many later ids were queued would otherwise be missed.
    CURSOR_MARGIN = 1000

    def unqueued_report_events(self, limit: int = 50) -> list[tuple[Event, Hl7Endpoint]]:
        """Report events of sites with an endpoint, raised after it was set, that have no delivery yet."""
        stmt = (
            select(Event, Hl7Endpoint)
            .join(Hl7Endpoint, Hl7Endpoint.site_id == Event.site_id)
            .outerjoin(Hl7Delivery, Hl7Delivery.event_id == Event.id)
            .where(Event.type.in_(("report.signed", "report.amended")), Hl7Delivery.id.is_(None),
                   and_(Event.created_at >= Hl7Endpoint.enabled_at),
                   Event.id > Hl7Endpoint.event_cursor - self.CURSOR_MARGIN)
            .order_by(Event.id)
            .limit(limit)
        )
        return [(e, ep) for e, ep in self.session.execute(stmt)]

    def add_delivery(self, delivery: Hl7Delivery) -> Hl7Delivery:
        self.session.add(delivery)
        self.session.flush()
        return delivery

    def due_deliveries(self, now: dt.datetime, limit: int = 20, lock: bool = True) -> list[Hl7Delivery]:
        """Pending deliveries whose time has come, locked (unless ``lock`` is false, to only look)
        so that two dispatchers never send one twice."""
        stmt = (
            select(Hl7Delivery)
            .where(Hl7Delivery.status == "pending", Hl7Delivery.next_attempt_at <= now)
            .order_by(Hl7Delivery.next_attempt_at, Hl7Delivery.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt.with_for_update(skip_locked=True) if lock else stmt))

    def deliveries_for_site(self, site_id: int, limit: int = 200) -> list[Hl7Delivery]:
        stmt = (select(Hl7Delivery).where(Hl7Delivery.site_id == site_id)
                .order_by(Hl7Delivery.id.desc()).limit(limit))
        return list(self.session.scalars(stmt))


class FhirRepository:
    """Read-only look-ups behind the FHIR search API (tenancy: ``site_id=None`` is every site)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def patient(self, patient_id: int, site_id: int | None) -> Patient | None:
        p = self.session.get(Patient, patient_id)
        return p if p is not None and (site_id is None or p.site_id == site_id) else None

    def patients(self, site_id: int | None, external_id: str | None, limit: int) -> list[Patient]:
        stmt = select(Patient).order_by(Patient.id).limit(limit)
        if site_id is not None:
            stmt = stmt.where(Patient.site_id == site_id)
        if external_id is not None:
            stmt = stmt.where(Patient.external_id == external_id)
        return list(self.session.scalars(stmt))

    def reported_studies(self, site_id: int | None, patient_ids: list[int] | None, acquired_from: dt.datetime | None,
                         acquired_to: dt.datetime | None, limit: int) -> list[Study]:
        """Studies with at least one signed report, newest acquisition first."""
        signed = select(Report.id).where(Report.study_id == Study.id).exists()
        stmt = select(Study).where(signed).order_by(Study.acquired_at.desc(), Study.id).limit(limit)
        if site_id is not None:
            stmt = stmt.where(Study.site_id == site_id)
        if patient_ids is not None:
            stmt = stmt.where(Study.patient_id.in_(patient_ids))
        if acquired_from is not None:
            stmt = stmt.where(Study.acquired_at >= acquired_from)
        if acquired_to is not None:
            stmt = stmt.where(Study.acquired_at < acquired_to)
        return list(self.session.scalars(stmt).unique())
