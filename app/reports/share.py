"""Share links: one report, a random token (only its sha256 is stored), an expiry, revocable.

The token is 256 bits from ``secrets``: unguessable, so it needs no signature;
storing only its hash means a database leak does not leak working links.
Every open is audited as ``share_link:<id>``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.errors import Conflict, NotFound
from app.settings import Settings
from app.studies.service import get_study
from storage.models import Role, ShareLink, Study, StudyStatus, utcnow_aware
from storage.repositories import AuditRepository, DeliveryRepository, StudyRepository


class LinkRefused(Exception):
    """The token is unknown (``expired=False``) or expired/revoked (``expired=True``)."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


@dataclass(frozen=True)
class NewLink:
    link: ShareLink
    token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, principal: Principal, settings: Settings, study_id: uuid.UUID, hours: int | None) -> NewLink:
    study = get_study(session, principal, study_id, audit_action="share_link.create")
    if study.status == StudyStatus.withdrawn:
        raise Conflict("the study was withdrawn; it cannot be shared")
    hours = hours or settings.share_link_default_hours
    if hours > settings.share_link_max_hours:
        raise Conflict(f"a link can live at most {settings.share_link_max_hours} hours")
    token = secrets.token_urlsafe(32)
    link = DeliveryRepository(session).add_link(ShareLink(
        study_id=study.id, token_hash=_hash(token), created_by=principal.actor, created_at=utcnow_aware(),
        expires_at=utcnow_aware() + dt.timedelta(hours=hours)))
    return NewLink(link, token)


def list_links(session: Session, principal: Principal, study_id: uuid.UUID) -> list[ShareLink]:
    study = get_study(session, principal, study_id, audit_action="share_link.list")
    return DeliveryRepository(session).links_for_study(study.id)


def revoke(session: Session, principal: Principal, link_id: int) -> ShareLink:
    repo = DeliveryRepository(session)
    link = repo.link(link_id)
    study = StudyRepository(session).get(link.study_id) if link else None
    if link is None or study is None or (principal.role != Role.admin and study.site_id != principal.site_id):
        raise NotFound("no such share link")
    if link.revoked_at is None:
        link.revoked_at = utcnow_aware()
        AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id,
                                     action="share_link.revoked", object_type="study", object_id=str(study.id),
                                     detail={"link": link.id})
    return link


def open_link(session: Session, token: str, what: str) -> Study:
    """The study behind a valid link, audited; ``LinkRefused`` otherwise (nothing about the patient)."""
    link = DeliveryRepository(session).link_by_hash(_hash(token)) if len(token) <= 100 else None
    if link is None:
        raise LinkRefused(expired=False)
    if link.revoked_at is not None or link.expires_at <= utcnow_aware():
        AuditRepository(session).add(actor=f"share_link:{link.id}", actor_site_id=None, action="share_link.refused",
                                     object_type="study", object_id=str(link.study_id))
        raise LinkRefused(expired=True)
    AuditRepository(session).add(actor=f"share_link:{link.id}", actor_site_id=None, action=f"report.shared_{what}",
                                 object_type="study", object_id=str(link.study_id))
    return StudyRepository(session).get_one(link.study_id)
