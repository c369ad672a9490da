"""/api/v1/orders: ECG orders received from the sites' hospital systems (tenancy as for studies)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.deps import ClinicOrAdmin, SessionDep
from app.errors import NotFound
from app.params import RowId
from storage.models import Order, Role, Urgency
from storage.repositories import AuditRepository, OrderRepository

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])
OrderStatus = Literal["scheduled", "completed", "cancelled"]


class OrderPatient(BaseModel):
    id: str
    name: str
    sex: str
    birth_date: dt.date | None


class OrderOut(BaseModel):
    id: int
    site_id: int
    status: OrderStatus
    placer_order_number: str
    filler_order_number: str
    accession_number: str
    service_code: str
    service_text: str
    requested_at: dt.datetime | None
    urgency: Urgency
    patient: OrderPatient
    study_id: uuid.UUID | None
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


def order_out(o: Order) -> OrderOut:
    p = o.patient
    return OrderOut(id=o.id, site_id=o.site_id, status=o.status, placer_order_number=o.placer_order_number,
                    filler_order_number=o.filler_order_number, accession_number=o.accession_number,
                    service_code=o.service_code, service_text=o.service_text, requested_at=o.requested_at,
                    urgency=o.urgency, study_id=o.study_id, created_at=o.created_at, cancelled_at=o.cancelled_at,
                    patient=OrderPatient(id=p.external_id, name=p.name, sex=p.sex.value, birth_date=p.birth_date))


def scope(principal: ClinicOrAdmin) -> int | None:
    """The site whose orders ``principal`` sees; None for hub admins (all sites)."""
    return None if principal.role == Role.admin else principal.site_id


@router.get("", response_model=list[OrderOut])
def list_orders(
    session: SessionDep, principal: ClinicOrAdmin,
    status: OrderStatus | None = "scheduled",
    patient_id: Annotated[str | None, Query(max_length=64, description="the site's patient id (PID-3)")] = None,
    requested_from: dt.datetime | None = None, requested_to: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OrderOut]:
    """The site's orders, newest requested first; by default the scheduled ones (the day's worklist)."""
    orders = OrderRepository(session).search(site_id=scope(principal), status=status,
                                             patient_external_id=patient_id, requested_from=requested_from,
                                             requested_to=requested_to, limit=limit)
    out = [order_out(o) for o in orders]
    session.rollback()
    return out


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: RowId, session: SessionDep, principal: ClinicOrAdmin) -> OrderOut:
    """One order; another site's order is answered 404, as if it did not exist."""
    order = OrderRepository(session).get(order_id)
    site = scope(principal)
    if order is None or (site is not None and order.site_id != site):
        raise NotFound("no such order")
    AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id, action="order.read",
                                 object_type="order", object_id=str(order.id))
    return order_out(order)
