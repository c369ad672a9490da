"""Admin: which ECG carts (calling AE titles) belong to which site, each site's PACS, the PACS delivery log.

/api/v1/admin/dicom-peers (GET, POST; DELETE /{id}) and
/api/v1/admin/sites/{id}/pacs (GET, PUT) + /pacs/deliveries.
"""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from app.deps import AdminOnly, SessionDep
from app.errors import Conflict, NotFound
from app.params import RowId
from storage.models import DicomPacs, DicomPeer, utcnow_aware
from storage.repositories import AuditRepository, DicomRepository, SiteRepository

router = APIRouter(prefix="/api/v1/admin", tags=["admin", "dicom"])

#: An AE title: 1-16 characters of the default repertoire, no backslash, not only spaces (PS3.5 6.2).
AE_TITLE = r"^[!-\[\]-~]([ -\[\]-~]{0,14}[!-\[\]-~])?$"  # no leading/trailing space (they are padding)


class PeerIn(BaseModel):
    ae_title: str = Field(pattern=AE_TITLE, description="the cart's calling AE title (case-sensitive)")
    site_id: int = Field(ge=1, le=2**31 - 1)
    description: str = Field("", max_length=200, pattern=r"^[^\x00-\x1f]*$")


class PeerOut(PeerIn):
    id: int
    created_at: dt.datetime


class PacsIn(BaseModel):
    host: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.:\-\[\]]+$")
    port: int = Field(ge=1, le=65535)
    ae_title: str = Field(pattern=AE_TITLE, description="the PACS's (called) AE title")


class PacsOut(PacsIn):
    enabled_at: dt.datetime


class PacsSettingsIn(BaseModel):
    pacs: PacsIn | None = Field(None, description="null: the site uses the hub's PACS (ECGHUB_DICOM_PACS), if any")


class PacsSettingsOut(BaseModel):
    pacs: PacsOut | None


class DicomDeliveryOut(BaseModel):
    id: int
    event_id: int
    study_id: uuid.UUID
    report_version: int
    host: str
    port: int
    ae_title: str
    study_instance_uid: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None


def _site(session: SessionDep, site_id: int) -> None:
    if SiteRepository(session).get(site_id) is None:
        raise NotFound("no such site")


@router.get("/dicom-peers", response_model=list[PeerOut])
def list_peers(session: SessionDep, _: AdminOnly) -> list[PeerOut]:
    out = [PeerOut.model_validate(p, from_attributes=True) for p in DicomRepository(session).peers()]
    session.rollback()
    return out


@router.post("/dicom-peers", response_model=PeerOut, status_code=201)
def add_peer(body: PeerIn, session: SessionDep, admin: AdminOnly) -> PeerOut:
    """Map a cart's AE title to a site: from now on its associations are accepted, it sees that site's
    worklist and its objects become that site's studies."""
    _site(session, body.site_id)
    repo = DicomRepository(session)
    if repo.peer(body.ae_title) is not None:
        raise Conflict(f"AE title {body.ae_title!r} is already mapped")
    try:
        peer = repo.add_peer(DicomPeer(ae_title=body.ae_title, site_id=body.site_id, description=body.description,
                                       created_at=utcnow_aware()))
    except IntegrityError as exc:  # a concurrent request mapped it first
        raise Conflict(f"AE title {body.ae_title!r} is already mapped") from exc
    AuditRepository(session).add(actor=admin.actor, actor_site_id=admin.site_id, action="dicom.peer_added",
                                 object_type="site", object_id=str(body.site_id), detail={"ae_title": body.ae_title})
    return PeerOut.model_validate(peer, from_attributes=True)


@router.delete("/dicom-peers/{peer_id}", status_code=204)
def delete_peer(peer_id: RowId, session: SessionDep, admin: AdminOnly) -> Response:
    repo = DicomRepository(session)
    peer = repo.peer_by_id(peer_id)
    if peer is None:
        raise NotFound("no such DICOM peer")
    AuditRepository(session).add(actor=admin.actor, actor_site_id=admin.site_id, action="dicom.peer_removed",
                                 object_type="site", object_id=str(peer.site_id), detail={"ae_title": peer.ae_title})
    repo.delete_peer(peer)
    return Response(status_code=204)


def _pacs_out(repo: DicomRepository, site_id: int) -> PacsSettingsOut:
    p = repo.pacs(site_id)
    return PacsSettingsOut(pacs=PacsOut(host=p.host, port=p.port, ae_title=p.ae_title, enabled_at=p.enabled_at)
                           if p else None)


@router.get("/sites/{site_id}/pacs", response_model=PacsSettingsOut)
def get_pacs(site_id: RowId, session: SessionDep, _: AdminOnly) -> PacsSettingsOut:
    _site(session, site_id)
    out = _pacs_out(DicomRepository(session), site_id)
    session.rollback()
    return out


@router.put("/sites/{site_id}/pacs", response_model=PacsSettingsOut)
def set_pacs(site_id: RowId, body: PacsSettingsIn, session: SessionDep, admin: AdminOnly) -> PacsSettingsOut:
    """Set the site's PACS: reports signed from now on are sent there (the waveform and the PDF)."""
    _site(session, site_id)
    repo = DicomRepository(session)
    old = repo.pacs(site_id)
    if body.pacs is None:
        repo.set_pacs(site_id, None)
    elif old is None or (old.host, old.port, old.ae_title) != (body.pacs.host, body.pacs.port, body.pacs.ae_title):
        repo.set_pacs(site_id, DicomPacs(site_id=site_id, enabled_at=utcnow_aware(), event_cursor=0,
                                         **body.pacs.model_dump()))
    AuditRepository(session).add(actor=admin.actor, actor_site_id=admin.site_id, action="site.pacs_set",
                                 object_type="site", object_id=str(site_id),
                                 detail={"pacs": body.pacs.model_dump() if body.pacs else None})
    return _pacs_out(repo, site_id)


@router.get("/sites/{site_id}/pacs/deliveries", response_model=list[DicomDeliveryOut])
def pacs_deliveries(site_id: RowId, session: SessionDep, _: AdminOnly) -> list[DicomDeliveryOut]:
    """The site's PACS deliveries, newest first: status, attempts, the last error."""
    _site(session, site_id)
    out = [DicomDeliveryOut.model_validate(d, from_attributes=True)
           for d in DicomRepository(session).deliveries_for_site(site_id)]
    session.rollback()
    return out
