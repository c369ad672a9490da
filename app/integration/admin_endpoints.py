"""/api/v1/admin/sites/{id}/hl7: a site's HL7 result endpoint, its sending facilities, the delivery log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.deps import AdminOnly, SessionDep
from app.errors import Conflict, NotFound
from app.params import RowId
from storage.models import Hl7Endpoint, utcnow_aware
from storage.repositories import AuditRepository, Hl7Repository, SiteRepository

router = APIRouter(prefix="/api/v1/admin/sites/{site_id}/hl7", tags=["admin", "hl7"])

_NAME = r"^[^\x00-\x1f|^~\\&]+$"  # an HL7 HD namespace id: no control characters, no HL7 delimiters


class EndpointIn(BaseModel):
    host: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.:\-\[\]]+$")
    port: int = Field(ge=1, le=65535)
    receiving_application: str = Field("", max_length=100, pattern=r"^[^\x00-\x1f|^~\\&]*$")
    receiving_facility: str = Field("", max_length=100, pattern=r"^[^\x00-\x1f|^~\\&]*$")


class Hl7SettingsIn(BaseModel):
    endpoint: EndpointIn | None = Field(None, description="null: results are not sent over HL7")
    sending_facilities: list[Annotated[str, Field(min_length=1, max_length=100, pattern=_NAME)]] = Field(
        default_factory=list, max_length=50,
                                          description="MSH-4.1 values whose orders belong to this site")


class EndpointOut(EndpointIn):
    enabled_at: dt.datetime


class Hl7SettingsOut(BaseModel):
    endpoint: EndpointOut | None
    sending_facilities: list[str]


class Hl7DeliveryOut(BaseModel):
    id: int
    event_id: int
    study_id: uuid.UUID
    report_version: int
    host: str
    port: int
    control_id: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    ack_code: str
    last_error: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None


def _settings_out(repo: Hl7Repository, site_id: int) -> Hl7SettingsOut:
    ep = repo.endpoint(site_id)
    return Hl7SettingsOut(
        endpoint=EndpointOut(host=ep.host, port=ep.port, receiving_application=ep.receiving_application,
                             receiving_facility=ep.receiving_facility, enabled_at=ep.enabled_at) if ep else None,
        sending_facilities=[f.sending_facility for f in repo.facilities(site_id)])


def _site(session: SessionDep, site_id: int) -> None:
    if SiteRepository(session).get(site_id) is None:
        raise NotFound("no such site")


@router.get("", response_model=Hl7SettingsOut)
def get_hl7(site_id: RowId, session: SessionDep, _: AdminOnly) -> Hl7SettingsOut:
    _site(session, site_id)
    out = _settings_out(Hl7Repository(session), site_id)
    session.rollback()
    return out


@router.put("", response_model=Hl7SettingsOut)
def set_hl7(site_id: RowId, body: Hl7SettingsIn, session: SessionDep, admin: AdminOnly) -> Hl7SettingsOut:
    """Replace the site's HL7 settings. A new endpoint receives results of reports signed from now on."""
    _site(session, site_id)
    repo = Hl7Repository(session)
    names = sorted({n.strip() for n in body.sending_facilities})
    for name in names:
        other = repo.facility(name)
        if other is not None and other.site_id != site_id:
            raise Conflict(f"sending facility {name!r} already belongs to site {other.site_id}")
    repo.set_facilities(site_id, names)
    old = repo.endpoint(site_id)
    if body.endpoint is None:
        repo.set_endpoint(None, site_id)
    elif old is None or (old.host, old.port) != (body.endpoint.host, body.endpoint.port):
        repo.set_endpoint(Hl7Endpoint(site_id=site_id, enabled_at=utcnow_aware(), **body.endpoint.model_dump()),
                          site_id)
    else:
        old.receiving_application = body.endpoint.receiving_application
        old.receiving_facility = body.endpoint.receiving_facility
    AuditRepository(session).add(actor=admin.actor, actor_site_id=admin.site_id, action="site.hl7_set",
                                 object_type="site", object_id=str(site_id),
                                 detail={"endpoint": body.endpoint.model_dump() if body.endpoint else None,
                                         "sending_facilities": names})
    return _settings_out(repo, site_id)


@router.get("/deliveries", response_model=list[Hl7DeliveryOut])
def deliveries(site_id: RowId, session: SessionDep, _: AdminOnly) -> list[Hl7DeliveryOut]:
    """The site's ORU deliveries, newest first: status, attempts, the peer's ACK code, the last error."""
    _site(session, site_id)
    out = [Hl7DeliveryOut.model_validate(d, from_attributes=True)
           for d in Hl7Repository(session).deliveries_for_site(site_id)]
    session.rollback()
    return out
